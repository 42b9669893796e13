"""prepare: raw series -> features -> gaps filled -> chronological splits -> train-fit scaling.

Writes the split arrays, the scaler statistics and meta.json (sizes, columns, time ranges, the
hash of the raw input) as one folder, atomically.
"""

from __future__ import annotations

import logging

import numpy as np

from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.data.features import select_features
from rnnops.data.prepared import SPLITS, PreparedData
from rnnops.data.preprocess import Scaler, fill_missing, split_rows
from rnnops.data.sources import load_source

log = logging.getLogger(__name__)


def prepare(cfg: Config) -> PreparedData:
    d = cfg.data
    loaded = load_source(d, cfg.paths.downloads)
    frame, target_columns = select_features(loaded.frame, d, loaded.origin)
    frame, n_missing = fill_missing(frame, d.missing, loaded.origin)
    log.info("%s: %d rows x %d columns, %d missing values (%s)", d.name, len(frame),
             frame.shape[1], n_missing, d.missing)
    sha256, origin = loaded.sha256, loaded.origin

    # One float32 copy of the series, scaled in place; the splits are views into it.
    values = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
    if not values.flags.writeable:
        # pandas hands out read-only views (copy-on-write). The frame is dropped just below and
        # nothing else holds it, so scaling its buffer in place spares a copy of the series.
        try:
            values.flags.writeable = True
        except ValueError:
            values = values.copy()
    index, columns = frame.index, list(frame.columns)
    del frame, loaded
    splits = split_rows(values, d)
    scaler = Scaler.fit(d.scaler, splits.train)
    scaler.transform_(values)
    arrays = {name: getattr(splits, name) for name in SPLITS}

    def time_range(start: int, end: int) -> list[str]:
        return [str(index[start]), str(index[end - 1])]

    prepared = PreparedData(
        arrays=arrays,
        columns=columns,
        target_columns=target_columns,
        scaler=scaler,
        meta={
            "dataset": d.name,
            "origin": origin,
            "source_sha256": sha256,
            "features": d.features,
            "rows": len(values),
            "missing_values": n_missing,
            "missing_policy": d.missing,
            "borders": splits.borders,
            "split_rows": {name: len(arrays[name]) for name in SPLITS},
            "time_ranges": {name: time_range(*splits.borders[name]) for name in SPLITS},
            "first_time": str(index[0]),
            "last_time": str(index[-1]),
            "test_start_time": str(index[splits.borders["test"][0] + d.lookback]),
        },
    )
    with staged(cfg.paths.prepared) as (folder,):
        prepared.save(folder)
    log.info("prepared data written to %s", cfg.paths.prepared)
    return prepared
