"""From a raw frame to scaled, chronologically split arrays.

The validation and test splits start `lookback` rows before their border so that their first
window forecasts the first row of the split (the ETT convention); targets never cross a border.
The scaler is fit on training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnops.config import DataConfig
from rnnops.data.validate import nonfinite_columns
from rnnops.errors import DataError
from rnnops.machine import map_row_chunks


def mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and (population) standard deviation in float64 (two passes: the sum, then
    the squared deviations), one chunk of rows at a time, so a large float32 array never gets a
    float64 copy. Chunks small enough to stay in the CPU cache make this ~4x faster than one
    large float64 temporary per pass."""
    n = len(x)
    mean = sum(map_row_chunks(lambda c: np.einsum("ij->j", c.astype(np.float64)), x),
               np.zeros(x.shape[1])) / n

    def squared_deviations(c: np.ndarray) -> np.ndarray:
        d = c.astype(np.float64)
        d -= mean
        return np.einsum("ij,ij->j", d, d)

    squares = sum(map_row_chunks(squared_deviations, x), np.zeros(x.shape[1]))
    return mean, np.sqrt(squares / n)


@dataclass(frozen=True)
class Scaler:
    """Per-column affine scaling: scaled = (x - shift) / scale."""

    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, train: np.ndarray) -> Scaler:
        """Statistics of the training rows, accumulated in float64 whatever the input dtype."""
        n_cols = train.shape[1]
        if kind == "standard":
            shift, scale = mean_std(train)
        elif kind == "minmax":
            shift, scale = train.min(axis=0), train.max(axis=0) - train.min(axis=0)
        else:
            shift, scale = np.zeros(n_cols), np.ones(n_cols)
        scale = np.where(scale > 0, scale, 1.0)  # a constant column stays finite
        return cls(shift.astype(np.float64), scale.astype(np.float64))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.shift) / self.scale

    def transform_(self, x: np.ndarray) -> np.ndarray:
        """Scale a float32 array in place (no float64 temporaries on large inputs)."""
        shift, scale = self.shift.astype(x.dtype), self.scale.astype(x.dtype)

        def scale_rows(rows: np.ndarray) -> None:
            rows -= shift
            rows /= scale

        map_row_chunks(scale_rows, x)
        return x

    def inverse(self, x: np.ndarray, columns: list[int] | slice = slice(None)) -> np.ndarray:
        return x * self.scale[columns] + self.shift[columns]


def _all_float(frame: pd.DataFrame) -> bool:
    return frame.shape[1] > 0 and all(isinstance(t, np.dtype) and t.kind == "f"
                                      for t in frame.dtypes)


def fill_missing(frame: pd.DataFrame, policy: str, source: str) -> tuple[pd.DataFrame, int]:
    """Apply the missing-value policy; returns the frame and how many values were missing."""
    if _all_float(frame) and not nonfinite_columns(frame.to_numpy()).any():
        return frame, 0  # one pass of sums instead of a mask of the whole frame
    missing = int(frame.isna().sum().sum())
    if missing == 0:
        return frame, 0
    if policy == "error":
        pos = int(frame.isna().any(axis=1).to_numpy().argmax())
        column = frame.columns[frame.iloc[pos].isna().to_numpy()][0]
        at = (f"at {frame.index[pos]}" if isinstance(frame.index, pd.DatetimeIndex)
              else f"in data row {pos + 1} (the first row after the header is 1)")
        raise DataError(
            f"{source}: {missing} missing values (the first in column {column!r} {at}); "
            "set data.missing to interpolate, ffill or drop"
        )
    if policy == "interpolate":
        method = "time" if isinstance(frame.index, pd.DatetimeIndex) else "linear"
        frame = frame.interpolate(method=method, limit_direction="both")
    elif policy == "ffill":
        frame = frame.ffill().bfill()
    else:
        frame = frame.dropna()
    return frame, missing


@dataclass(frozen=True)
class Splits:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    borders: dict[str, list[int]]  # [start, end) rows of each split in the full series
    # the rows the scaler fits on: the protocol's whole training split, also where
    # data.train_fraction trains on less, so that every fraction is scored in the same units
    scaler_rows: np.ndarray


def split_sizes(n: int, cfg: DataConfig) -> tuple[int, int, int]:
    """Rows of train, val and test (before the lookback context is added)."""
    s = cfg.split
    if s.protocol == "counts":
        sizes = int(s.train), int(s.val), int(s.test)
        if sum(sizes) > n:
            raise DataError(
                f"data '{cfg.name}': the split counts need {sum(sizes)} rows but the series has "
                f"{n}; lower data.split counts or use data.split.protocol=ratio"
            )
        return sizes
    n_train, n_val = int(n * s.train), int(n * s.val)
    return n_train, n_val, int(n * (s.train + s.val + s.test)) - n_train - n_val


def split_rows(values: np.ndarray, cfg: DataConfig) -> Splits:
    """Chronological train/val/test; val and test carry `lookback` rows of context."""
    n = len(values)
    lookback, horizon = cfg.lookback, cfg.horizon
    if n < lookback + horizon:
        raise DataError(
            f"data '{cfg.name}': the series has {n} rows, fewer than lookback + horizon = "
            f"{lookback + horizon} (one window); shorten data.lookback or data.horizon"
        )
    n_train, n_val, n_test = split_sizes(n, cfg)
    kept = max(1, round(n_train * cfg.train_fraction))  # the latest rows: a short history
    borders = {
        "train": [n_train - kept, n_train],
        "val": [n_train - lookback, n_train + n_val],
        "test": [n_train + n_val - lookback, n_train + n_val + n_test],
    }
    for name, (start, end) in borders.items():
        if start < 0 or end - start < lookback + horizon:
            raise DataError(
                f"data '{cfg.name}': the {name} split has {end - max(start, 0)} rows, fewer than "
                f"lookback + horizon = {lookback + horizon}; shorten data.lookback or "
                "data.horizon, or change data.split"
                + (" or raise data.train_fraction" if name == "train" and kept < n_train else "")
            )
    return Splits(
        train=values[n_train - kept : n_train],
        val=values[borders["val"][0] : borders["val"][1]],
        test=values[borders["test"][0] : borders["test"][1]],
        borders=borders,
        scaler_rows=values[0:n_train],
    )
