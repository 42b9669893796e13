"""Preparing data: the raw data -> what the models train on, in one folder written atomically
(paths.prepared, the prepare stage's DVC output).

Series (data.kind=series): features -> gaps filled -> chronological splits -> train-fit scaling;
writes the split arrays, the scaler statistics and meta.json (sizes, columns, time ranges, the
hash of the raw input).
Text (data.kind=text): tokens -> train-only vocabulary -> token-id streams; writes the streams,
vocab.json and meta.json (level, counts of tokens and types, hashes of the raw files).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnops.atomic import staged
from rnnops.config import Config, DataConfig, table_configs
from rnnops.data.corpora import load_corpus
from rnnops.data.features import calendar_features, select_features
from rnnops.data.prepared import FUTURE_COLUMNS, SPLITS, PreparedData
from rnnops.data.prepared_text import save_prepared_text, text_meta
from rnnops.data.preprocess import Scaler, fill_missing, split_rows
from rnnops.data.provenance import DATA_SETTINGS, data_settings
from rnnops.data.sources import load_source
from rnnops.data.text import TextCorpus
from rnnops.data.validate import usual_step
from rnnops.errors import ConfigError

log = logging.getLogger(__name__)


def prepare_series(cfg: Config) -> PreparedData:
    """The configured table (and with data.tables, each stacked table) prepared and written."""
    prepared = prepared_table(cfg.data, cfg.paths.downloads)
    if cfg.data.tables:
        prepared = replace(prepared, tables=[prepared_table(table, cfg.paths.downloads)
                                             for table in table_configs(cfg.data)])
    with staged(cfg.paths.prepared) as (folder,):
        prepared.save(folder)
    log.info("prepared data written to %s", cfg.paths.prepared)
    return prepared


def prepared_table(d: DataConfig, downloads: Path) -> PreparedData:
    """One table: features -> gaps filled -> chronological splits -> train-fit scaling."""
    loaded = load_source(d, downloads)
    frame, target_columns = select_features(loaded.frame, d, loaded.origin, loaded.time_column)
    frame, n_missing = fill_missing(frame, d.missing, loaded.origin)
    log.info("%s: %d rows x %d columns, %d missing values (%s)", d.name, len(frame),
             frame.shape[1], n_missing, d.missing)
    if d.calendar:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ConfigError("data.calendar", f"needs the timestamps of {loaded.origin}: set "
                              "data.time_column")
        frame = frame.join(calendar_features(frame.index, d.calendar))
    future = [list(frame.columns).index(c) for c in d.future_covariates] + \
        list(range(frame.shape[1] - 2 * len(d.calendar), frame.shape[1]))
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
    scaler = Scaler.fit(d.scaler, splits.scaler_rows)
    scaler.transform_(values)
    arrays = {name: getattr(splits, name) for name in SPLITS}

    def time_range(start: int, end: int) -> list[str]:
        return [str(index[start]), str(index[end - 1])]

    return PreparedData(
        arrays=arrays,
        columns=columns,
        target_columns=target_columns,
        scaler=scaler,
        meta={
            "dataset": d.name,
            DATA_SETTINGS: data_settings(d),
            "origin": origin,
            "source_sha256": sha256,
            "features": d.features,
            **({FUTURE_COLUMNS: future} if future else {}),
            "rows": len(values),
            "missing_values": n_missing,
            "missing_policy": d.missing,
            "borders": splits.borders,
            "split_rows": {name: len(arrays[name]) for name in SPLITS},
            "time_ranges": {name: time_range(*splits.borders[name]) for name in SPLITS},
            "time_step": usual_step(index),
            "first_time": str(index[0]),
            "last_time": str(index[-1]),
            "test_start_time": str(index[splits.borders["test"][0] + d.lookback]),
        },
    )


def prepare_text(cfg: Config) -> TextCorpus:
    d = cfg.data
    loaded = load_corpus(d, cfg.paths.downloads)
    corpus = loaded.corpus
    meta = {
        "dataset": d.name,
        DATA_SETTINGS: data_settings(d),
        "kind": "text",
        "level": d.level,
        "origin": loaded.origin,
        "source_sha256": loaded.sha256,
        "splits": loaded.layout,
        **text_meta(corpus),
    }
    log.info("%s: %s tokens, %d types (%s level)", d.name,
             ", ".join(f"{n} {split}" for split, n in meta["tokens"].items()), meta["types"],
             d.level)
    with staged(cfg.paths.prepared) as (folder,):
        save_prepared_text(folder, corpus, meta)
    log.info("prepared corpus written to %s", cfg.paths.prepared)
    return corpus


# By data.kind. The prepare stage looks its kind up here rather than through rnnops.tasks, so that
# its DVC deps stay the data package: the tasks also hold training and evaluation code.
PREPARERS = {"series": prepare_series, "text": prepare_text}
