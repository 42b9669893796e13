"""Where series come from. Each source returns a frame of raw cells, one column per series, indexed
by time or by row, or holding its times in a column that rnnops.data.validate parses; prepare
then picks features, checks them, fills gaps, splits and scales.

A new source is one function plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from rnnops.config import DataConfig
from rnnops.data import catalog, download, synthetic
from rnnops.data.tables import format_of, read_table
from rnnops.errors import ConfigError


@dataclass(frozen=True)
class Loaded:
    frame: pd.DataFrame  # raw cells; numeric conversion and checks happen in prepare
    origin: str  # how errors name the input: a file path, URL or dataset name
    sha256: str | None = None  # hash of the raw input file, when there is one
    time_column: str | None = None  # the column of `frame` holding its times, still unparsed


def require(cfg: DataConfig, key: str) -> str:
    value = getattr(cfg, key)
    if not value:
        raise ConfigError(f"data.{key}", f"source {cfg.source!r} needs data.{key}")
    return value


def choose(key: str, value: str | None, valid: list[str], what: str) -> str:
    if value not in valid:
        raise ConfigError(key, f"unknown {what} {value!r}; choose one of {', '.join(valid)}")
    return value


# statsmodels keeps some years in a column: index by it so time ranges are reported in years.
STATSMODELS_YEAR_COLUMN = {"sunspots": "YEAR", "nile": "year"}
STATSMODELS_DATASETS = ["co2", "elnino", "nile", "sunspots"]


def load_statsmodels(cfg: DataConfig, cache: Path) -> Loaded:
    """A dataset shipped inside statsmodels (offline)."""
    import statsmodels.datasets as datasets  # lazy: a second to import, for one source

    name = choose("data.dataset", cfg.dataset, STATSMODELS_DATASETS, "statsmodels dataset")
    frame = getattr(datasets, name).load_pandas().data
    if name in STATSMODELS_YEAR_COLUMN:
        year = STATSMODELS_YEAR_COLUMN[name]
        frame = frame.set_index(pd.PeriodIndex(frame[year].astype(int), freq="Y").to_timestamp())
        frame = frame.drop(columns=[year])
    elif name == "elnino":  # one row per year, one column per month: make it one monthly series
        months = frame.columns.drop("YEAR")
        long = frame.melt(id_vars="YEAR", value_vars=months, var_name="month", value_name="sst")
        long["time"] = pd.to_datetime(long["YEAR"].astype(int).astype(str) + "-" + long["month"],
                                      format="%Y-%b")
        frame = long.set_index("time").sort_index()[["sst"]]
    return Loaded(frame, f"statsmodels dataset {name!r}")


def _table(cfg: DataConfig, path: Path, origin_sha: str | None = None) -> Loaded:
    with ThreadPoolExecutor(1) as pool:
        # hashlib releases the GIL: the file is hashed on the side while it is parsed
        digest = pool.submit(download.sha256_of, path) if origin_sha is None else None
        frame = read_table(path, cfg.delimiter, cfg.time_column, cfg.format)
        return Loaded(frame, str(path), origin_sha or digest.result(), cfg.time_column)


def load_file(cfg: DataConfig, cache: Path) -> Loaded:
    """A local CSV or Parquet file: data.path, data.time_column, data.target."""
    return _table(cfg, Path(require(cfg, "path")).expanduser())


def load_url(cfg: DataConfig, cache: Path) -> Loaded:
    """A CSV or Parquet file at an http(s) URL, pinned by data.sha256."""
    url, sha256 = require(cfg, "url"), require(cfg, "sha256")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("data.url", f"{url!r} is not an http(s) URL")
    # The cached copy is named after the URL's path, which may not say the type (.../download?id=7):
    # check before downloading that the type is known one way or the other.
    if cfg.format == "auto" and format_of(urlsplit(url).path) is None:
        raise ConfigError("data.format", f"the type of {url} is not in its name; set "
                          "data.format=csv or data.format=parquet")
    return _table(cfg, download.fetch(url, f"sha256:{sha256}", cache), sha256)


ETT_DATASETS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2"]


def load_ett(cfg: DataConfig, cache: Path) -> Loaded:
    """An ETT file: the local copy in data.root (or $RNNOPS_DATA_ROOT) when there is one,
    verified against the pinned hash; otherwise downloaded once into the cache."""
    name = choose("data.dataset", cfg.dataset, ETT_DATASETS, "ETT dataset")
    path = catalog.locate(f"{name}.csv", cfg.root, cache)
    time_column = cfg.time_column or "date"
    frame = read_table(path, time_column=time_column)
    sha256 = catalog.FILES[f"{name}.csv"].sha256 or download.sha256_of(path)  # meta.json's hash
    return Loaded(frame, str(path), sha256, time_column)


def load_synthetic(cfg: DataConfig, cache: Path) -> Loaded:
    """A seeded synthetic series (data.dataset names the generator, data.length its size)."""
    name = choose("data.dataset", cfg.dataset, list(synthetic.GENERATORS), "synthetic generator")
    # the data's own seed: the same series whatever seed the training uses
    return Loaded(synthetic.generate(name, cfg.length, seed=0), f"synthetic {name!r}")


SOURCES: dict[str, Callable[[DataConfig, Path], Loaded]] = {
    "statsmodels": load_statsmodels,
    "file": load_file,
    "url": load_url,
    "ett": load_ett,
    "synthetic": load_synthetic,
}


def load_source(cfg: DataConfig, cache: Path) -> Loaded:
    """The raw frame of the configured source; `cache` holds downloads."""
    choose("data.source", cfg.source, list(SOURCES), "source")
    return SOURCES[cfg.source](cfg, cache)
