"""Raw history in, forecast out, both in original units: the scaler and the lookback travel with
the model, so a caller never scales anything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import fill_missing
from rnnops.data.tables import set_time_index
from rnnops.errors import DataError
from rnnops.models.io import load_model, save_model
from rnnops.serving import MODEL, SERVICE


@dataclass
class ForecastService:
    model: torch.nn.Module
    columns: list[str]  # the inputs, in the order the model reads them
    target_columns: list[int]
    shift: np.ndarray
    scale: np.ndarray
    lookback: int
    horizon: int
    time_column: str | None = None  # data.time_column at training: a history's order is checked
    missing: str | None = None  # data.missing at training: a history's gaps are filled alike

    @property
    def targets(self) -> list[str]:
        return [self.columns[c] for c in self.target_columns]

    @classmethod
    def from_training(cls, model: torch.nn.Module, data: PreparedData, lookback: int,
                      horizon: int) -> ForecastService:
        settings = data.meta.get("data_settings") or {}
        return cls(model, list(data.columns), list(data.target_columns), data.scaler.shift,
                   data.scaler.scale, lookback, horizon, settings.get("time_column"),
                   settings.get("missing"))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_model(self.model, folder / MODEL)
        (folder / SERVICE).write_text(json.dumps({
            "kind": "forecaster", "columns": self.columns, "target_columns": self.target_columns,
            "shift": self.shift.tolist(), "scale": self.scale.tolist(),
            "lookback": self.lookback, "horizon": self.horizon, "time_column": self.time_column,
            "missing": self.missing,
        }, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ForecastService:
        meta = json.loads((folder / SERVICE).read_text())
        return cls(load_model(folder / MODEL), meta["columns"], meta["target_columns"],
                   np.asarray(meta["shift"]), np.asarray(meta["scale"]), meta["lookback"],
                   meta["horizon"], meta.get("time_column"), meta.get("missing"))

    def history(self, model_input: Any) -> np.ndarray:
        """(B, T, C) float64 history from a DataFrame (columns by name; others, such as a date,
        ignored), a (T,) array for one channel, a (T, C) or a (B, T, C) array."""
        if isinstance(model_input, pd.DataFrame):
            missing = [c for c in self.columns if c not in model_input.columns]
            if missing:
                got = ", ".join(map(str, model_input.columns))
                raise DataError(f"history has no column {missing[0]!r} (the model reads "
                                f"{', '.join(self.columns)}; got {got})")
            self.check_time_order(model_input)
        try:
            if isinstance(model_input, pd.DataFrame):  # nullable columns' <NA> become NaN
                values = model_input[self.columns].to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                values = np.asarray(model_input).astype(np.float64)
        except (TypeError, ValueError):
            raise DataError("history holds values that are not numbers") from None
        if values.ndim == 1 and len(self.columns) == 1:
            values = values[:, None]
        if values.ndim == 2:
            values = values[None]
        if values.ndim != 3 or values.shape[-1] != len(self.columns):
            raise DataError(f"history of shape {values.shape} does not fit the model's "
                            f"{len(self.columns)} channel(s) ({', '.join(self.columns)}): pass "
                            "(time, channels) or (batch, time, channels)")
        values = self.fill_gaps(values)
        if values.shape[1] < self.lookback:
            raise DataError(f"history has {values.shape[1]} rows; the model needs at least "
                            f"{self.lookback} (its lookback)")
        if not np.isfinite(values[:, -self.lookback:]).all():
            raise DataError("history has missing or infinite values in its last "
                            f"{self.lookback} rows (the model was trained with data.missing="
                            f"{self.missing or 'error'}); fill them first")
        return values[:, -self.lookback:]

    def fill_gaps(self, values: np.ndarray) -> np.ndarray:
        """Missing values handled as prepare handled the training data's (data.missing), so a
        raw history with gaps forecasts as the training series did; drop needs one series."""
        if self.missing not in ("interpolate", "ffill", "drop") or not np.isnan(values).any():
            return values
        if self.missing == "drop":
            return values[:, ~np.isnan(values[0]).any(axis=1)] if len(values) == 1 else values
        return np.stack([fill_missing(pd.DataFrame(series), self.missing, "history")[0]
                         .to_numpy() for series in values])

    def check_time_order(self, frame: pd.DataFrame) -> None:
        """The model reads the last rows as the latest: a history with times must be oldest
        first, as prepare requires of its file (a newest-first export gave a wrong forecast)."""
        column = next((c for c in (self.time_column, "date", "time", "timestamp")
                       if c is not None and c in frame.columns), None)
        if column is None:
            if isinstance(frame.index, pd.DatetimeIndex) and \
                    not frame.index.is_monotonic_increasing:
                raise DataError("history's time index is not sorted; sort it oldest first")
            return
        # A column found by its name alone is checked only if it holds times throughout.
        if column != self.time_column and \
                pd.to_datetime(frame[column], errors="coerce", utc=True).isna().any():
            return
        set_time_index(frame[[column]], column, "history")

    @torch.no_grad()
    def forecast(self, history: np.ndarray) -> np.ndarray:
        """(B, L, C) original units -> (B, H, targets) original units."""
        x = torch.from_numpy((history - self.shift) / self.scale).float()
        self.model.eval()
        y = self.model(x).double().numpy()
        return y * self.scale[self.target_columns] + self.shift[self.target_columns]

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        """MLflow's entry point. A DataFrame or a 2-D array gives a DataFrame (step, then one
        column per target); a 3-D batch gives a (B, H, targets) array."""
        batched = not isinstance(model_input, pd.DataFrame) and np.ndim(model_input) == 3
        out = self.forecast(self.history(model_input))
        if batched:
            return out
        frame = pd.DataFrame(out[0], columns=self.targets)
        frame.insert(0, "step", np.arange(1, self.horizon + 1))
        return frame
