"""Where rnnops keeps what it learns about a machine (the autotuner's choices, the compiled C++
loops): $RNNOPS_CACHE/rnnops, else $XDG_CACHE_HOME/rnnops, else ~/.cache/rnnops."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    base = os.environ.get("RNNOPS_CACHE") or os.environ.get("XDG_CACHE_HOME") or (
        Path.home() / ".cache")
    return Path(base) / "rnnops"
