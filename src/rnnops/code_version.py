"""The identity of the code that runs: a hash of the rnnops package's source files.

A result that is kept and reused (an Optuna study that a rerun resumes) is tied to this hash, so
that changed code starts afresh instead of resuming trials that older code scored. Unlike the
git commit it also sees uncommitted edits, and it is the same on every machine that runs the
same files.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SUFFIXES = (".py", ".cpp")


@functools.cache
def source_hash() -> str:
    """sha256 of the package's source files (path and content, in path order), 12 hex digits."""
    h = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.suffix in SUFFIXES):
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:12]
