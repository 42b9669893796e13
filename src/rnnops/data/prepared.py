"""The prepare stage's output: scaled split arrays plus what is needed to read them back.

Saved as one `.npy` file per split (`train.npy`, `val.npy`, `test.npy`) and `meta.json` (columns,
scaler, borders, counts, hashes) in one folder, which is the DVC output of the prepare stage.
Plain `.npy` files are written straight from the arrays' memory (a zip archive would copy and
checksum every byte on the way). Each split's content hash is recorded in meta.json and checked
on every load, so a changed or corrupted file stops the stage that reads it, naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnops.config import DataConfig
from rnnops.data import prepared_text
from rnnops.data.preprocess import Scaler
from rnnops.data.provenance import DATA_SETTINGS, PREPARE_AGAIN, check_same_data
from rnnops.data.windows import StackedWindows, WindowDataset
from rnnops.errors import DataError, UserError
from rnnops.machine import usable_cores
from rnnops.masking import mask

META = "meta.json"
SPLIT_HASHES = "split_sha256"  # meta.json: split name -> sha256 of its array's bytes
REBUILD = prepared_text.REBUILD
WRITE_BLOCK = 8 << 20  # bytes of array data per write
SPLITS = ("train", "val", "test")
TABLES = "tables"  # the subfolder holding each stacked table (data.tables), one folder each
FUTURE_COLUMNS = "future_columns"  # meta.json: columns known over the horizon (covariates)


@dataclass(frozen=True)
class PreparedData:
    arrays: dict[str, np.ndarray]  # split name -> (rows, channels) float32, scaled
    columns: list[str]
    target_columns: list[int]
    scaler: Scaler
    meta: dict[str, Any]
    tables: list[PreparedData] = field(default_factory=list)  # stacked with this one

    @property
    def n_channels(self) -> int:
        return len(self.columns)

    @property
    def future_columns(self) -> list[int]:
        """The columns whose horizon values the model reads (future covariates, calendar)."""
        return list(self.meta.get(FUTURE_COLUMNS, []))

    def windows(self, split: str, lookback: int, horizon: int, stride: int = 1) -> WindowDataset:
        return WindowDataset(
            torch.from_numpy(self.arrays[split]), lookback, horizon, stride, self.target_columns,
            self.future_columns)

    def series_windows(self, split: str, lookback: int, horizon: int,
                       stride: int = 1) -> StackedWindows:
        """Every window of every series of this table and the stacked ones, one series each:
        what a global model (data.stack) trains on."""
        return StackedWindows([t.windows(split, lookback, horizon, stride)
                               for t in (self, *self.tables)])

    def series_ids(self) -> list[str]:
        """The name each series is served by: its column, or TABLE/COLUMN where stacked
        tables share column names."""
        everything = [(t.meta["dataset"], c) for t in (self, *self.tables) for c in t.columns]
        columns = [c for _, c in everything]
        if len(set(columns)) == len(columns):
            return columns
        return [f"{table}/{c}" for table, c in everything]

    def series_scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """(shift, scale) of every series in series_ids' order."""
        tables = (self, *self.tables)
        return (np.concatenate([t.scaler.shift for t in tables]),
                np.concatenate([t.scaler.scale for t in tables]))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for number, table in enumerate(self.tables):
            table.save(folder / TABLES / str(number))
        with ThreadPoolExecutor(1) as hasher, ThreadPoolExecutor(usable_cores()) as writers:
            # hashlib releases the GIL: the arrays are hashed on the side while they are written
            digest = hasher.submit(array_hash, self.arrays)
            per_split = hasher.submit(split_hashes, self.arrays)
            for name in SPLITS:
                write_npy(array_file(folder, name), self.arrays[name], writers)
            sha256 = digest.result()
        meta = dict(self.meta)
        meta.update(
            columns=self.columns,
            target_columns=self.target_columns,
            scaler={"shift": self.scaler.shift.tolist(), "scale": self.scaler.scale.tolist()},
            sha256=stacked_hash(sha256, self.tables),
            **{SPLIT_HASHES: per_split.result()},
        )
        if self.tables:
            meta[TABLES] = [t.meta["dataset"] for t in self.tables]
        (folder / META).write_text(json.dumps(mask(meta), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path, data: DataConfig | None = None) -> PreparedData:
        """The arrays in `folder`; with `data`, only if they were prepared with its settings."""
        if (folder / prepared_text.TOKENS).exists():
            raise UserError(f"{folder}: holds a prepared text corpus (data.kind=text); this "
                            "stage needs a series: prepare one first (e.g. data=co2)")
        files = {name: array_file(folder, name) for name in SPLITS}
        if not all(f.exists() for f in files.values()) or not (folder / META).exists():
            raise UserError(
                f"{folder}: no prepared data here; run the prepare stage first "
                "(dvc repro prepare, or python pipelines/prepare.py)"
            )
        meta = json.loads((folder / META).read_text())
        if data is not None:
            check_same_data(meta.get(DATA_SETTINGS), data, f"{folder}: prepared", PREPARE_AGAIN)
        arrays = {name: read_npy(path, folder) for name, path in files.items()}
        verify(arrays, meta, folder)
        scaler = Scaler(np.asarray(meta["scaler"]["shift"]), np.asarray(meta["scaler"]["scale"]))
        tables = [cls.load(folder / TABLES / str(number))
                  for number in range(len(meta.get(TABLES, [])))]
        return cls(arrays, meta["columns"], meta["target_columns"], scaler, meta, tables)


def array_file(folder: Path, split: str) -> Path:
    return folder / f"{split}.npy"


def read_npy(path: Path, folder: Path) -> np.ndarray:
    try:
        return np.load(path)  # allow_pickle=False: a .npy holding objects is refused
    except (ValueError, OSError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: unreadable ({reason[:200]}); "
                        + REBUILD.format(folder=folder)) from None


def verify(arrays: dict[str, np.ndarray], meta: dict[str, Any], folder: Path) -> None:
    """The arrays must hash as prepare recorded: per split, so the message names the file (a
    folder prepared before per-split hashes is checked as a whole). One pass over the data."""
    recorded = meta.get(SPLIT_HASHES)
    if recorded is not None:
        found = split_hashes(arrays)
        bad = [array_file(folder, name) for name in SPLITS if found[name] != recorded.get(name)]
    else:
        bad = [folder] if "sha256" in meta and array_hash(arrays) != meta["sha256"] else []
    if bad:
        raise DataError(f"{bad[0]}: does not match the sha256 prepare recorded in "
                        f"{folder / META} (changed or corrupted since); "
                        + REBUILD.format(folder=folder))


def write_npy(path: Path, array: np.ndarray, writers: ThreadPoolExecutor) -> None:
    """`array` as a .npy file whose data the `writers` write in blocks side by side: for a new
    file most of the time goes to the kernel finding page-cache pages (about 0.3 GB/s in this
    VM), and threads share that work (os.pwrite releases the GIL)."""
    array = np.ascontiguousarray(array)  # the header then says C order, as the data is
    data = memoryview(array.reshape(-1).view(np.uint8))
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(array))
        f.flush()
        start, fd = f.tell(), f.fileno()

        def write_block(offset: int) -> None:
            block, position = data[offset : offset + WRITE_BLOCK], start + offset
            while block:
                written = os.pwrite(fd, block, position)
                block, position = block[written:], position + written

        list(writers.map(write_block, range(0, len(data), WRITE_BLOCK)))


def split_hashes(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """sha256 of each split's array bytes (C order, as written)."""
    return {name: hashlib.sha256(memoryview(np.ascontiguousarray(arrays[name])).cast("B"))
            .hexdigest() for name in sorted(arrays)}


def stacked_hash(own: str, tables: list[PreparedData]) -> str:
    """The data hash of a table with the stacked ones: its own where it stands alone."""
    if not tables:
        return own
    return hashlib.sha256(" ".join([own, *(array_hash(t.arrays) for t in tables)]).encode()
                          ).hexdigest()


def array_hash(arrays: dict[str, np.ndarray]) -> str:
    """Content hash of the split arrays: the data hash that MLflow runs are tagged with."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(memoryview(np.ascontiguousarray(arrays[name])).cast("B"))
    return h.hexdigest()
