"""prepare: raw series -> gaps filled -> chronological splits -> train-fit scaling -> saved."""

from __future__ import annotations

import logging

import numpy as np

from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler, fill_missing, split_rows
from rnnops.data.sources import load_source
from rnnops.errors import ConfigError

log = logging.getLogger(__name__)


def prepare(cfg: Config) -> PreparedData:
    d = cfg.data
    frame = load_source(d)
    if d.target not in frame.columns:
        raise ConfigError(
            "data.target",
            f"no column {d.target!r} in {d.source} dataset {d.dataset!r}; "
            f"columns are {', '.join(map(str, frame.columns))}",
        )
    frame = frame[[d.target]]
    frame, n_missing = fill_missing(frame, d.missing, f"{d.source} dataset {d.dataset!r}")
    log.info("%s: %d rows, %d missing values (%s)", d.name, len(frame), n_missing, d.missing)

    values = frame.to_numpy(dtype=np.float64)
    splits = split_rows(values, d)
    scaler = Scaler.fit(d.scaler, splits.train)
    arrays = {
        name: scaler.transform(getattr(splits, name)).astype(np.float32)
        for name in ("train", "val", "test")
    }
    index = frame.index
    prepared = PreparedData(
        arrays=arrays,
        columns=[d.target],
        target_columns=[0],
        scaler=scaler,
        meta={
            "dataset": d.name,
            "rows": len(frame),
            "missing_values": n_missing,
            "missing_policy": d.missing,
            "borders": splits.borders,
            "first_time": str(index[0]),
            "last_time": str(index[-1]),
            "test_start_time": str(index[splits.borders["test"][0] + d.lookback]),
        },
    )
    with staged(cfg.paths.prepared) as (folder,):
        prepared.save(folder)
    log.info("prepared data written to %s", cfg.paths.prepared)
    return prepared
