"""Raw history in, forecast out, both in original units: the scaler and the lookback travel with
the model, so a caller never scales anything."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnops.data.preprocess import fill_missing
from rnnops.data.validate import Rules, check_names, parse_times, usual_step, validated
from rnnops.errors import DataError
from rnnops.names import level_name
from rnnops.serving import MODEL, SERVICE, write_manifest
from rnnops.serving.network import ONNX, OnnxNetwork, export_onnx, run

if TYPE_CHECKING:  # torch loads only where the torch module runs (rnnops.serving.network)
    import torch

    from rnnops.data.prepared import PreparedData


@dataclass
class ForecastService:
    model: Any  # the torch module, or its ONNX copy (rnnops.serving.network)
    columns: list[str]  # the inputs, in the order the model reads them
    target_columns: list[int]
    shift: np.ndarray
    scale: np.ndarray
    lookback: int
    horizon: int
    time_column: str | None = None  # data.time_column at training: a history's order is checked
    missing: str | None = None  # data.missing at training: a history's gaps are filled alike
    na_values: tuple = ()  # data.na_values at training: the cells that mean missing
    duplicates: str = "error"  # data.duplicates at training (models from before it: error)
    # a global model (data.stack): `columns` are the series' ids, each forecast on its own by
    # the univariate network with its own scaling; a history holds any of them
    per_series: bool = False
    # split-conformal half-widths on scaled data, {"levels": [...], "half_widths": (levels, H,
    # targets)} (evaluation/intervals.py): forecast bounds on request; None: none calibrated
    intervals: dict | None = None
    # columns known over the horizon (data.future_covariates, then data.calendar's, which are
    # the last 2 x len(calendar) columns and computed from the times): a history then ends with
    # the horizon's rows, its targets empty and its future covariates given
    future_columns: list[int] = field(default_factory=list)
    calendar: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        return [self.columns[c] for c in self.target_columns]

    @classmethod
    def from_training(cls, model: torch.nn.Module, data: PreparedData, lookback: int,
                      horizon: int, intervals: dict | None = None) -> ForecastService:
        settings = data.meta.get("data_settings") or {}
        per_series = bool(getattr(model, "per_series", False))
        if per_series:
            columns, (shift, scale) = data.series_ids(), data.series_scaling()
            targets = list(range(len(columns)))
        else:
            columns, targets = list(data.columns), list(data.target_columns)
            shift, scale = data.scaler.shift, data.scaler.scale
        return cls(model, columns, targets, shift, scale, lookback, horizon,
                   settings.get("time_column"), settings.get("missing"),
                   tuple(settings.get("na_values") or ()), settings.get("duplicates") or "error",
                   per_series, intervals, data.future_columns,
                   list(settings.get("calendar") or []))

    def for_series(self, frame: pd.DataFrame) -> ForecastService:
        """A global model's service for the series a history frame holds (every column named by
        a series id), in the frame's order: the same network, those series' scaling."""
        ids = [c for c in map(str, frame.columns) if c in self.columns]
        if not ids:
            raise DataError(f"history names none of the model's series (got "
                            f"{', '.join(map(str, frame.columns))}); name each column by a "
                            f"series id: {', '.join(self.columns[:10])}"
                            + (", ..." if len(self.columns) > 10 else ""),
                            "history names none of the model's series")
        picked = [self.columns.index(c) for c in ids]  # the widths are every series' own
        return replace(self, columns=ids, target_columns=list(range(len(ids))),
                       shift=self.shift[picked], scale=self.scale[picked])

    def interface(self) -> dict[str, Any]:
        """What MLflow records of this model (rnnops.tracking.log_service): the output columns
        (no input schema: a history of any length >= lookback, as a frame or an array, which
        predict checks itself) and the metadata `rnnops predict` reads."""
        return {"inputs": None,
                "outputs": [("long", "step"), *(("double", name) for name in self.targets)],
                **({"params": {"intervals": False}} if self.intervals else {}),
                "metadata": {"rnnops_kind": "forecaster", "columns": self.columns,
                             "targets": self.targets, "lookback": self.lookback,
                             "horizon": self.horizon}}

    def save(self, folder: Path) -> None:
        from rnnops.models.io import save_model

        folder.mkdir(parents=True, exist_ok=True)
        save_model(self.model, folder / MODEL)
        export_onnx(self.model, self.lookback + (self.horizon if self.future_columns else 0),
                    1 if self.per_series else len(self.columns), folder / ONNX)
        (folder / SERVICE).write_text(json.dumps({
            "kind": "forecaster", "columns": self.columns, "target_columns": self.target_columns,
            "shift": self.shift.tolist(), "scale": self.scale.tolist(),
            "lookback": self.lookback, "horizon": self.horizon, "time_column": self.time_column,
            "missing": self.missing, "na_values": list(self.na_values),
            "duplicates": self.duplicates, **({"per_series": True} if self.per_series else {}),
            **({"intervals": self.intervals} if self.intervals else {}),
            **({"future_columns": self.future_columns, "calendar": self.calendar}
               if self.future_columns else {}),
        }, indent=2) + "\n")
        write_manifest(folder)  # checked whenever the model is loaded

    @classmethod
    def load(cls, folder: Path, onnx: bool = False) -> ForecastService:
        """The service saved in `folder`, its network run by ONNX Runtime where `onnx` and the
        folder holds the copy, else by torch."""
        meta = json.loads((folder / SERVICE).read_text())
        if onnx and (folder / ONNX).is_file():
            network = OnnxNetwork(folder / ONNX)
        else:
            from rnnops.models.io import load_model

            network = load_model(folder / MODEL)
        return cls(network, meta["columns"], meta["target_columns"],
                   np.asarray(meta["shift"]), np.asarray(meta["scale"]), meta["lookback"],
                   meta["horizon"], meta.get("time_column"), meta.get("missing"),
                   tuple(meta.get("na_values") or ()), meta.get("duplicates") or "error",
                   meta.get("per_series", False), meta.get("intervals"),
                   meta.get("future_columns", []), meta.get("calendar", []))

    def history(self, model_input: Any) -> np.ndarray:
        """(B, L, C) float64: the last lookback rows of each history, checked as prepare checks a
        training file (rnnops.data.validate) and with its gaps filled as prepare filled the
        training data's. A DataFrame (columns by name; others, such as a date, ignored), a (T,)
        array for one channel, a (T, C) or a (B, T, C) array."""
        if self.future_columns:
            raise DataError("this model reads future covariates: give the history as a table "
                            "that ends with the horizon's rows (targets empty, covariates given)")
        if isinstance(model_input, pd.DataFrame):
            return self.read_rows(self.checked_frame(model_input), "history")[None]
        try:
            values = np.asarray(model_input)
        except ValueError:  # rows of different lengths
            raise DataError("history is not a table: its rows have different lengths") from None
        if values.ndim == 1 and len(self.columns) == 1:
            values = values[:, None]
        if values.ndim == 2:
            values = values[None]
        if values.ndim != 3 or values.shape[-1] != len(self.columns):
            raise DataError(f"history of shape {values.shape} does not fit the model's "
                            f"{len(self.columns)} channel(s) ({', '.join(self.columns)}): pass "
                            "(time, channels) or (batch, time, channels)")
        rules = Rules(None, self.na_values, self.duplicates)
        origins = ["history"] if len(values) == 1 else [f"history {b + 1} of {len(values)}"
                                                         for b in range(len(values))]
        return np.stack([
            self.read_rows(validated(pd.DataFrame(series, columns=self.columns), self.columns,
                                     origin, rules, self.columns), origin)
            for origin, series in zip(origins, values, strict=True)])

    def checked_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's columns of a history frame as float32, indexed by its times if it has
        them: the checks prepare runs on a training file, under the rules it ran them with."""
        known = {*self.columns, *(c for c in (self.time_column,) if c)}
        check_names(frame.columns, "history", known)
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            reads = f"the model reads {', '.join(self.columns)}"
            raise DataError(f"history has no column {absent[0]!r} ({reads}; got "
                            f"{', '.join(map(str, frame.columns))})",
                            f"history has no column {absent[0]!r} ({reads})")
        frame, time_column = self.with_times(frame)
        if time_column is None and isinstance(frame.index, pd.DatetimeIndex) and \
                not frame.index.is_monotonic_increasing:
            raise DataError("history's time index is not sorted; sort it oldest first")
        return validated(frame, self.columns, "history",
                         Rules(time_column, self.na_values, self.duplicates), known)

    def with_times(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
        """The model reads the last rows as the latest: a history with times must be oldest
        first, as prepare requires of its file (a newest-first export gave a wrong forecast).
        Its times are data.time_column at training, else a column named date, time or timestamp
        that holds times throughout (then parsed here, once)."""
        column = next((c for c in (self.time_column, "date", "time", "timestamp")
                       if c is not None and c in frame.columns), None)
        if column is None or column == self.time_column:
            return frame, column
        try:
            times = parse_times(frame[column], column, "history")
        except DataError:  # whole numbers that are not years: not a time column
            return frame, None
        if times.isna().any():
            return frame, None
        return frame.assign(**{column: times}), column

    def read_rows(self, frame: pd.DataFrame, origin: str) -> np.ndarray:
        """(L, C) float64: the last lookback rows of a checked history after its gaps are filled
        as data.missing filled the training data's. Only the rows that takes are read: the
        lookback, and before it each column's last value where the lookback starts in a gap (or,
        for drop, the rows back to the lookback-th complete one), so a long history costs no
        more than a short one once checked."""
        frame = frame.iloc[self.first_row_read(frame.to_numpy()):]
        if self.missing in ("interpolate", "ffill", "drop"):
            frame = fill_missing(frame, self.missing, origin)[0]
        values = frame.to_numpy(dtype=np.float64)
        if len(values) < self.lookback:
            raise DataError(f"{origin} has {len(values)} rows"
                            + (" with no missing value" if self.missing == "drop" else "")
                            + f"; the model needs at least {self.lookback} (its lookback)")
        values = values[-self.lookback:]
        if np.isnan(values).any():
            raise DataError(f"{origin} has missing values in its last {self.lookback} rows (the "
                            f"model was trained with data.missing={self.missing or 'error'}); "
                            "fill them first")
        return values

    def first_row_read(self, values: np.ndarray) -> int:
        """Where the rows that the forecast depends on start (see read_rows)."""
        n, lookback = len(values), self.lookback
        if n <= lookback:
            return 0
        gaps = np.isnan(values)
        if self.missing == "drop":
            complete = np.flatnonzero(~gaps.any(axis=1))
            return int(complete[-lookback]) if len(complete) >= lookback else 0
        first = n - lookback
        if self.missing not in ("interpolate", "ffill"):
            return first
        start = first
        for column in np.flatnonzero(gaps[first]):  # filled from the value before the gap
            before = np.flatnonzero(~gaps[:first, column])
            if len(before):
                start = min(start, int(before[-1]))
        return start

    def forecast(self, history: np.ndarray) -> np.ndarray:
        """(B, L, C) original units -> (B, H, targets) original units."""
        x = ((history - self.shift) / self.scale).astype(np.float32)
        if self.future_columns:  # the horizon's rows hold the future covariates alone
            unknown = [c for c in range(x.shape[2]) if c not in self.future_columns]
            x[:, self.lookback :, unknown] = 0
        if self.per_series:  # one univariate forecast per series (the ONNX copy reads one)
            batch, lookback, series = x.shape
            y = run(self.model, x.transpose(0, 2, 1).reshape(batch * series, lookback, 1))
            y = y.reshape(batch, series, -1).transpose(0, 2, 1)
        else:
            y = run(self.model, x)
        return y * self.scale[self.target_columns] + self.shift[self.target_columns]

    @property
    def given(self) -> list[str]:
        """The columns a history holds: all but the calendar's, which come from its times."""
        return self.columns[: len(self.columns) - 2 * len(self.calendar)]

    @property
    def covariates(self) -> list[str]:
        """The future covariates a request gives for the horizon."""
        return [self.columns[c] for c in self.future_columns if self.columns[c] in self.given]

    def with_future(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """A history that ends with the horizon's rows (targets empty, future covariates given)
        as the model's (1, L + H, C) input in original units, and the checked history part."""
        targets = [c for c in self.targets if c in frame.columns]
        empty = frame[targets].isna().all(axis=1).to_numpy() if targets else np.zeros(0, bool)
        ahead = len(empty) - int(np.flatnonzero(~empty)[-1]) - 1 if (~empty).any() else 0
        names = ", ".join(self.covariates) or "none: the calendar's come from the times"
        if ahead < self.horizon:
            raise DataError(f"history has {ahead} rows after its last value of "
                            f"{', '.join(self.targets)}, fewer than the horizon {self.horizon}: "
                            f"end it with the horizon's rows, targets empty and the future "
                            f"covariates given ({names})")
        absent = [c for c in self.covariates if c not in frame.columns]
        if absent:
            raise DataError(f"history has no column {absent[0]!r}, a future covariate the "
                            f"model reads for each step of the horizon ({names})")
        history, future = frame.iloc[: len(frame) - ahead], frame.iloc[len(frame) - ahead:]
        future = future.iloc[: self.horizon]
        given = replace(self, columns=self.given, calendar=[], future_columns=[])
        checked = given.checked_frame(history)
        rows = given.read_rows(checked, "history")  # (L, given columns)
        ahead_values = np.zeros((self.horizon, len(self.columns)))
        for name in self.covariates:
            cells = pd.to_numeric(future[name], errors="coerce").to_numpy(dtype=np.float64)
            if not np.isfinite(cells).all():
                step = int(np.flatnonzero(~np.isfinite(cells))[0]) + 1
                raise DataError(f"history's future covariate {name!r} has no number at horizon "
                                f"step {step}; give it for each of the {self.horizon} steps")
            ahead_values[:, self.columns.index(name)] = cells
        if self.calendar:
            from rnnops.data.features import calendar_features

            if not isinstance(checked.index, pd.DatetimeIndex):
                raise DataError("history has no times, which the model's calendar features "
                                f"({', '.join(self.calendar)}) are computed from")
            past = checked.index[-self.lookback:]
            times = pd.DatetimeIndex(future_times(checked.index, self.horizon) or [])
            start = len(self.given)
            rows = np.concatenate([rows, calendar_features(past, self.calendar).to_numpy()], 1)
            ahead_values[:, start:] = calendar_features(times, self.calendar).to_numpy()
        return np.concatenate([rows, ahead_values])[None], checked

    def bounds(self, point: np.ndarray) -> pd.DataFrame:
        """The conformal intervals around one (H, targets) forecast in original units: columns
        TARGET_lo_80, TARGET_hi_80, ... per target and level; a model without them is refused
        in one line."""
        if not self.intervals:
            raise DataError("this model has no calibrated intervals (trained with "
                            "evaluate.interval_levels=[]); retrain it with levels to serve them")
        levels = self.intervals["levels"]
        widths = np.asarray(self.intervals["half_widths"])  # (levels, H, targets or 1)
        scale = self.scale[self.target_columns]
        columns = {}
        for t, target in enumerate(self.targets):
            for k, level in enumerate(levels):
                width = widths[k, :, min(t, widths.shape[2] - 1)] * scale[t]
                name = level_name(level)
                columns[f"{target}_lo_{name}"] = point[:, t] - width
                columns[f"{target}_hi_{name}"] = point[:, t] + width
        return pd.DataFrame(columns)

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        """MLflow's entry point. A DataFrame or a 2-D array gives a DataFrame (step, then one
        column per target); a 3-D batch gives a (B, H, targets) array. A history with times gets
        the forecast's times too, after step, in a column named as its own (ISO 8601 text)."""
        times = None
        if isinstance(model_input, pd.DataFrame) and self.per_series:
            wanted = self.for_series(model_input)
            if wanted.columns != self.columns:
                return wanted.predict(model_input, params)
        if isinstance(model_input, pd.DataFrame) and self.future_columns:
            history, checked = self.with_future(model_input)
            times = future_times(checked.index, self.horizon)
        elif isinstance(model_input, pd.DataFrame):
            checked = self.checked_frame(model_input)
            history = self.read_rows(checked, "history")[None]
            times = future_times(checked.index, self.horizon)
        else:
            history = self.history(model_input)
        out = self.forecast(history)
        if not isinstance(model_input, pd.DataFrame) and np.ndim(model_input) == 3:
            return out
        frame = pd.DataFrame(out[0], columns=self.targets)
        if (params or {}).get("intervals"):
            frame = frame.join(self.bounds(out[0]))
        frame.insert(0, "step", np.arange(1, self.horizon + 1))
        if times is not None:
            frame.insert(1, checked.index.name or "time", times)
        return frame


def future_times(index: pd.Index, horizon: int) -> list[str] | None:
    """The `horizon` times after a history's last one, at its spacing: its calendar frequency
    where pandas can name one (months, weeks ending on a Saturday), else its usual step. None
    for a history without times."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    recent = index[-min(len(index), 100):]
    freq = pd.infer_freq(recent) if len(recent) >= 3 else None
    if freq is not None:
        future = pd.date_range(index[-1], periods=horizon + 1, freq=freq)[1:]
    else:
        step = usual_step(recent)
        if step is None:
            return None
        future = pd.DatetimeIndex([index[-1] + pd.Timedelta(step) * k
                                   for k in range(1, horizon + 1)])
    return [t.isoformat() for t in future]
