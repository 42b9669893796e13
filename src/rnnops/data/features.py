"""Which columns go in and which are forecast: S (target only), M (all inputs forecast),
MS (all inputs in, the target out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnops.config import DataConfig
from rnnops.data.validate import Rules, check_names, validated
from rnnops.errors import ConfigError


def _numeric_looking(column: pd.Series) -> bool:
    """True when any cell parses as a number (a text column such as an id is not an input)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        # parsed by the reader: no need to parse again, and the first value mostly decides
        return bool(len(column) and pd.notna(column.iloc[0])) or bool(column.notna().any())
    return bool(pd.to_numeric(column, errors="coerce").notna().any())


def rules(cfg: DataConfig, time_column: str | None) -> Rules:
    """The checks a table of this data gets (training file and served history alike)."""
    return Rules(time_column, tuple(cfg.na_values), cfg.duplicates)


def select_features(
    frame: pd.DataFrame, cfg: DataConfig, origin: str, time_column: str | None = None
) -> tuple[pd.DataFrame, list[int]]:
    """The input columns as one checked float32 frame (target first for S), indexed by
    `time_column` when the frame holds its times there, and the positions of the targets."""
    frame = frame.rename(columns=str)  # a new frame (no data copy): the caller's stays as it was
    check_names(frame.columns, origin)
    found = [c for c in frame.columns if c != time_column]
    covariates = [*cfg.past_covariates, *cfg.future_covariates]
    for key, names in (("data.target", [cfg.target]), ("data.columns", cfg.columns or []),
                       ("data.past_covariates", cfg.past_covariates),
                       ("data.future_covariates", cfg.future_covariates)):
        if time_column in names:
            raise ConfigError(key, f"{time_column!r} is the time column of {origin} (data."
                                   f"time_column); name columns of values: {', '.join(found)}")
        unknown = [c for c in names if c not in found]
        if unknown and key.endswith("covariates"):
            raise ConfigError(key, f"no column {unknown[0]!r} in {origin}; columns are "
                                   f"{', '.join(found)}")
    if cfg.target not in found:
        raise ConfigError("data.target", f"no column {cfg.target!r} in {origin}; columns are "
                                         f"{', '.join(found)}")
    if cfg.features == "S":
        inputs = [cfg.target]
    elif cfg.columns:
        unknown = [c for c in cfg.columns if c not in found]
        if unknown:
            raise ConfigError("data.columns", f"no column {unknown[0]!r} in {origin}; columns "
                                              f"are {', '.join(found)}")
        inputs = list(cfg.columns)
    else:
        inputs = [c for c in found if c == cfg.target or _numeric_looking(frame[c])]
    if cfg.target not in inputs:
        inputs.append(cfg.target)
    # the covariates last, read but never forecast
    inputs = [c for c in inputs if c not in covariates] + covariates
    numeric = validated(frame, inputs, origin, rules(cfg, time_column))
    forecast = len(inputs) - len(covariates)
    targets = list(range(forecast)) if cfg.features == "M" else [inputs.index(cfg.target)]
    return numeric, targets


#: data.calendar: each feature's value from a timestamp index, and the length of its cycle
CALENDAR_CYCLES = {
    "hour": (lambda t: t.hour + t.minute / 60, 24),
    "dayofweek": (lambda t: t.dayofweek + t.hour / 24, 7),
    "month": (lambda t: t.month - 1 + (t.day - 1) / t.days_in_month, 12),
    "dayofyear": (lambda t: t.dayofyear - 1 + t.hour / 24, 365.25),
}


def calendar_features(times: pd.DatetimeIndex, names: tuple[str, ...] | list[str]
                      ) -> pd.DataFrame:
    """The sine and cosine of each named cycle at `times` (columns calendar_NAME_sin, _cos):
    a cycle's end meets its start, which a plain hour or month number would not say."""
    columns = {}
    for name in names:
        value, cycle = CALENDAR_CYCLES[name]
        angle = 2 * np.pi * np.asarray(value(times), dtype=np.float64) / cycle
        columns[f"calendar_{name}_sin"] = np.sin(angle).astype(np.float32)
        columns[f"calendar_{name}_cos"] = np.cos(angle).astype(np.float32)
    return pd.DataFrame(columns, index=times)
