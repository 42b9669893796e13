"""Which data settings a prepared folder (or a model trained on it) was made with, so that a stage
run on its own with other settings stops with one line instead of silently using other data.

DVC reruns prepare when `data` changes; `rnnops train` or `python pipelines/train.py` with new
overrides does not, and would otherwise train on the old arrays and register the result under
the new dataset's name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from rnnops.config import DataConfig
from rnnops.errors import UserError
from rnnops.masking import mask

DATA_SETTINGS = "data_settings"  # the key in meta.json (prepare) and run.json (train)
PREPARE_AGAIN = ("run the prepare stage again with this run's settings (dvc repro, or rnnops "
                 "prepare with the same overrides)")

#: The data.* keys that decide what prepare writes, by data.kind (horizon too: prepare checks that
#: every split holds a window of it). Left out: data.root (where the same files are read from)
#: and the keys only later stages read (stride, season_period).
PREPARED_BY: dict[str, tuple[str, ...]] = {
    "series": ("name", "source", "dataset", "path", "url", "sha256", "format", "delimiter",
               "time_column", "target", "features", "columns", "length", "missing", "na_values",
               "duplicates", "lookback",
               "horizon", "split", "scaler", "train_fraction", "stack", "tables",
               "past_covariates", "future_covariates", "calendar"),
    "text": ("name", "source", "dataset", "path", "url", "sha256", "level", "split",
             "train_fraction"),
}


def data_settings(data: DataConfig) -> dict[str, Any]:
    """The settings that shaped the prepared data, as they read back from JSON; a password in a
    URL (data.url) masked, as they are written into meta.json, run.json and tags."""
    picked = {k: getattr(data, k) for k in PREPARED_BY[data.kind]}
    plain = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
             for k, v in picked.items()}
    return mask(json.loads(json.dumps(plain, default=str)))


def check_same_data(recorded: dict[str, Any] | None, data: DataConfig, what: str,
                    remedy: str) -> None:
    """UserError naming the first data.* key whose value differs from the recorded one.
    Nothing to compare when `recorded` is None (written before rnnops recorded it)."""
    if recorded is None:
        return
    for key, value in data_settings(data).items():
        if key in recorded and recorded[key] != value:
            raise UserError(f"{what} with data.{key}={recorded[key]!r}, but this run has "
                            f"data.{key}={value!r}; {remedy}")


def test_set_id(data: DataConfig) -> str:
    """Names the data a model is scored on (its windows, columns and horizon): equal ids, and
    only those, make two models' test metrics comparable."""
    settings = json.dumps(data_settings(data), sort_keys=True).encode()
    return f"{data.name}-{hashlib.sha256(settings).hexdigest()[:12]}"
