"""The prepare stage's output: scaled split arrays plus what is needed to read them back.

Saved as `splits.npz` (arrays) and `meta.json` (columns, scaler, borders, counts, hashes) in one
folder, which is the DVC output of the prepare stage.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnops.data import prepared_text
from rnnops.data.preprocess import Scaler
from rnnops.data.windows import WindowDataset
from rnnops.errors import UserError

ARRAYS = "splits.npz"
META = "meta.json"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PreparedData:
    arrays: dict[str, np.ndarray]  # split name -> (rows, channels) float32, scaled
    columns: list[str]
    target_columns: list[int]
    scaler: Scaler
    meta: dict[str, Any]

    @property
    def n_channels(self) -> int:
        return len(self.columns)

    def windows(self, split: str, lookback: int, horizon: int, stride: int = 1) -> WindowDataset:
        return WindowDataset(
            torch.from_numpy(self.arrays[split]), lookback, horizon, stride, self.target_columns
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(1) as pool:
            # hashlib releases the GIL: the arrays are hashed on the side while they are written
            digest = pool.submit(array_hash, self.arrays)
            with open(folder / ARRAYS, "wb") as f:
                np.savez(f, **self.arrays)
            sha256 = digest.result()
        meta = dict(self.meta)
        meta.update(
            columns=self.columns,
            target_columns=self.target_columns,
            scaler={"shift": self.scaler.shift.tolist(), "scale": self.scaler.scale.tolist()},
            sha256=sha256,
        )
        (folder / META).write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> PreparedData:
        if (folder / prepared_text.TOKENS).exists():
            raise UserError(f"{folder}: holds a prepared text corpus (data.kind=text); this "
                            "stage needs a series: prepare one first (e.g. data=co2)")
        if not (folder / ARRAYS).exists() or not (folder / META).exists():
            raise UserError(
                f"{folder}: no prepared data here; run the prepare stage first "
                "(dvc repro prepare, or python pipelines/prepare.py)"
            )
        meta = json.loads((folder / META).read_text())
        with np.load(folder / ARRAYS) as npz:
            arrays = {name: npz[name] for name in SPLITS}
        scaler = Scaler(np.asarray(meta["scaler"]["shift"]), np.asarray(meta["scaler"]["scale"]))
        return cls(arrays, meta["columns"], meta["target_columns"], scaler, meta)


def array_hash(arrays: dict[str, np.ndarray]) -> str:
    """Content hash of the split arrays: the data hash that MLflow runs are tagged with."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(memoryview(np.ascontiguousarray(arrays[name])).cast("B"))
    return h.hexdigest()
