"""prepare: the raw data -> what the models train on, in one folder written atomically
(paths.prepared): a series' scaled split arrays, or a corpus' token streams and vocabulary, each
with meta.json (data/preparation.py).

The task contract's `prepare` for each data.kind is data/preparation.py's function, looked up
there directly: importing rnnops.tasks would make this stage depend, for DVC, on training and
evaluation code it never runs.
"""

from __future__ import annotations

from typing import Any

from rnnops.config import Config
from rnnops.data.preparation import PREPARERS


def prepare(cfg: Config) -> Any:
    """The prepare stage for the configured kind of data (data.kind)."""
    return PREPARERS[cfg.data.kind](cfg)
