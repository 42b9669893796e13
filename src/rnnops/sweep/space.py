"""The declared search space (conf/sweep) as Optuna suggestions: distributions, conditions
(`when`) and the finite grid that grid search walks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

from rnnops.config import ParamSpec
from rnnops.errors import ConfigError

# Values of config keys that a `when` names but the space does not sweep.
Lookup = Callable[[str], Any]
MAX_GRID = 1_000_000


def ordered(space: dict[str, ParamSpec]) -> list[tuple[str, ParamSpec]]:
    """Keys in an order where every swept key a condition names is drawn before it."""
    done: list[tuple[str, ParamSpec]] = []
    left = dict(space)
    while left:
        ready = [k for k, spec in left.items()
                 if not any(o in left and o != k for o in (spec.when or {}))]
        if not ready:
            raise ConfigError(f"sweep.space.{next(iter(left))}",
                              "its `when` conditions depend on each other in a cycle")
        for key in ready:
            done.append((key, left.pop(key)))
    return done


def is_active(spec: ParamSpec, drawn: dict[str, Any], space: dict[str, ParamSpec],
              lookup: Lookup) -> bool:
    """Whether every condition holds; a swept key that was not drawn (itself inactive) fails."""
    for key, allowed in (spec.when or {}).items():
        if key in space:
            if key not in drawn:
                return False
            value = drawn[key]
        else:
            value = lookup(key)
        if value not in allowed:
            return False
    return True


def suggest(trial: Any, space: dict[str, ParamSpec], lookup: Lookup) -> dict[str, Any]:
    """One value per active dotted key, drawn by the trial's sampler."""
    values: dict[str, Any] = {}
    for key, spec in ordered(space):
        if is_active(spec, values, space, lookup):
            values[key] = _draw(trial, key, spec)
    return values


def _draw(trial: Any, key: str, spec: ParamSpec) -> Any:
    if spec.type == "float":
        return trial.suggest_float(key, spec.low, spec.high, log=spec.log, step=spec.step)
    if spec.type == "int":
        return trial.suggest_int(key, int(spec.low), int(spec.high), step=int(spec.step or 1),
                                 log=spec.log)
    return trial.suggest_categorical(key, list(spec.choices))


def values_of(key: str, spec: ParamSpec) -> list[Any]:
    """The finite set a grid walks for one parameter."""
    if spec.type == "categorical":
        return list(spec.choices)
    if spec.type == "int":
        return list(range(int(spec.low), int(spec.high) + 1, int(spec.step or 1)))
    if spec.step is None:
        raise ConfigError(f"sweep.space.{key}", "the grid sampler needs a finite set: give this "
                          "float a step, or make it categorical")
    count = math.floor((spec.high - spec.low) / spec.step + 1e-9) + 1
    return [round(spec.low + i * spec.step, 12) for i in range(count)]


def grid(space: dict[str, ParamSpec], lookup: Lookup) -> list[dict[str, Any]]:
    """Every combination of the active parameters' values, each once."""
    keys = ordered(space)
    sets = {key: values_of(key, spec) for key, spec in keys}
    size = math.prod(len(v) for v in sets.values())
    if size > MAX_GRID:
        raise ConfigError("sweep.space", f"the grid has {size} points, more than {MAX_GRID}; "
                          "narrow the space or use another sampler")

    def expand(i: int, drawn: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(keys):
            yield dict(drawn)
            return
        key, spec = keys[i]
        if not is_active(spec, drawn, space, lookup):
            yield from expand(i + 1, drawn)
            return
        for value in sets[key]:
            yield from expand(i + 1, {**drawn, key: value})

    return list(itertools.islice(expand(0, {}), MAX_GRID))
