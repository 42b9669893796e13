"""Which columns go in and which are forecast: S (target only), M (all inputs forecast),
MS (all inputs in, the target out)."""

from __future__ import annotations

import pandas as pd

from rnnops.config import DataConfig
from rnnops.data.tables import to_numeric
from rnnops.errors import ConfigError


def _numeric_looking(column: pd.Series) -> bool:
    """True when any cell parses as a number (a text column such as an id is not an input)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        # parsed by the reader: no need to parse again, and the first value mostly decides
        return bool(len(column) and pd.notna(column.iloc[0])) or bool(column.notna().any())
    return bool(pd.to_numeric(column, errors="coerce").notna().any())


def select_features(
    frame: pd.DataFrame, cfg: DataConfig, origin: str
) -> tuple[pd.DataFrame, list[int]]:
    """The input columns as float64 (target first for S) and the positions of the targets."""
    frame = frame.rename(columns=str)  # a new frame (no data copy): the caller's stays as it was
    found = list(frame.columns)
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
    numeric = to_numeric(frame, inputs, origin)
    targets = list(range(len(inputs))) if cfg.features == "M" else [inputs.index(cfg.target)]
    return numeric, targets
