"""Where series come from. Each source returns a DataFrame indexed by time, one column per series.

A new source is one function plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from rnnops.config import DataConfig
from rnnops.errors import ConfigError


def load_statsmodels(cfg: DataConfig) -> pd.DataFrame:
    """A dataset shipped inside statsmodels (offline), e.g. the weekly Mauna Loa CO2 series."""
    import statsmodels.datasets as datasets

    module = getattr(datasets, cfg.dataset, None)
    if module is None or not hasattr(module, "load_pandas"):
        raise ConfigError("data.dataset", f"statsmodels ships no dataset named {cfg.dataset!r}")
    frame = module.load_pandas().data
    return frame if isinstance(frame, pd.DataFrame) else frame.to_frame()


SOURCES: dict[str, Callable[[DataConfig], pd.DataFrame]] = {
    "statsmodels": load_statsmodels,
}


def load_source(cfg: DataConfig) -> pd.DataFrame:
    try:
        loader = SOURCES[cfg.source]
    except KeyError:
        raise ConfigError(
            "data.source", f"unknown source {cfg.source!r}; choose one of {', '.join(SOURCES)}"
        ) from None
    return loader(cfg)
