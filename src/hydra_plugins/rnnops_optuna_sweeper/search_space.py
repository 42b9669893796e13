"""Hydra's sweep overrides as rnnops search-space dimensions, and drawn values back as overrides.

    a,b,c  choice(a,b,c)          categorical
    range(1,10,2)                 int (or float) from 1 to 9 in steps of 2
    interval(1e-4,1e-1)           float; tag(log, interval(...)) log-scale; tag(int, ...) int
Any other override is passed unchanged to every job.
"""

from __future__ import annotations

import re
from typing import Any

from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    Quote,
    QuotedString,
    RangeSweep,
)

from rnnops.config import ParamSpec
from rnnops.errors import ConfigError

_PLAIN = re.compile(r"[A-Za-z_][\w\-./]*")


def dimension(override: Override) -> ParamSpec:
    key = override.get_key_element()
    sweep = override.value()
    tags = set(sweep.tags)
    unknown = tags - {"log", "int"}
    if unknown:
        raise ConfigError(key, f"unknown tag {sorted(unknown)[0]!r}; use tag(log, ...) or "
                          "tag(int, ...)")
    if isinstance(sweep, ChoiceSweep):
        choices = tuple(c.text if isinstance(c, QuotedString) else c for c in sweep.list)
        if not all(c is None or isinstance(c, str | int | float) for c in choices):
            raise ConfigError(key, "choices must be strings, numbers or booleans")
        return ParamSpec(type="categorical", choices=choices)
    if isinstance(sweep, RangeSweep):
        values = list(override.sweep_iterator())
        if not values:
            raise ConfigError(key, f"range({sweep.start}, {sweep.stop}, {sweep.step}) is empty")
        if "log" in tags:
            raise ConfigError(key, "a range has a step and cannot be log-scale; use "
                              "tag(log, interval(low, high))")
        kind = "int" if all(isinstance(v, int) for v in values) else "float"
        return ParamSpec(type=kind, low=min(values), high=max(values), step=abs(sweep.step))
    if isinstance(sweep, IntervalSweep):
        kind = "int" if "int" in tags else "float"
        low, high = sweep.start, sweep.end
        if kind == "int":
            low, high = int(low), int(high)
        if not low <= high:
            raise ConfigError(key, f"interval({sweep.start}, {sweep.end}) needs low <= high")
        if "log" in tags and low <= 0:
            raise ConfigError(key, "a log-scale interval needs low > 0")
        return ParamSpec(type=kind, low=low, high=high, log="log" in tags)
    raise ConfigError(key, f"unsupported sweep {type(sweep).__name__}")


def split(overrides: list[Override]) -> tuple[dict[str, ParamSpec], list[str]]:
    """(search space by key, fixed overrides as strings); for a key given twice the later
    override wins, as on Hydra's command line."""
    space: dict[str, ParamSpec] = {}
    fixed: dict[str, str] = {}
    for override in overrides:
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = dimension(override)
        else:
            fixed[key] = f"{key}={override.get_value_element_as_str()}"
    return space, list(fixed.values())


def as_value(value: Any) -> str:
    """A drawn value in override syntax: quoted unless it reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    reads_as_other = text.lower() in ("true", "false", "null", "nan", "inf")
    if _PLAIN.fullmatch(text) and not reads_as_other:
        return text
    return QuotedString(text=text, quote=Quote.single).with_quotes()
