"""Atomic outputs: write into temporary siblings, then rename into place only if everything
succeeded, so a crash never leaves a half-written output for DVC to cache."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def staged(*finals: Path) -> Iterator[list[Path]]:
    """Yield one temporary path per final path (file or folder, the caller decides); on success
    each replaces its final path, on error all of them are deleted and the finals stay as they
    were."""
    token = uuid.uuid4().hex[:8]
    temps = [final.with_name(f".{final.name}.tmp-{token}") for final in finals]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield temps
    except BaseException:
        for temp in temps:
            _remove(temp)
        raise
    for temp, final in zip(temps, finals, strict=True):
        if temp.is_dir():
            _remove(final)  # a folder cannot be replaced in one rename
        os.replace(temp, final)

