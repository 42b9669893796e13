"""Which config keys a stage reads, recorded while it runs: the evidence that dvc.yaml's params
list every key a stage's outputs depend on (and not much more).

A read is an attribute access on a config dataclass from the project's code. Bulk copies are
not reads: `to_dict` (the MLflow params, the fingerprints that name checkpoint folders and
Optuna studies), re-validation in `load_config` and `dataclasses.replace`; code that picks
values out of a copy would hide from this recorder, so the project reads keys by attribute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator

from rnnops import config as schema

# Whole-config operations whose reads are copies, not uses.
BULK = {(schema.__file__, name) for name in ("to_dict", "load_config", "fingerprint")}
DATACLASSES = dataclasses.__file__


def group_paths() -> dict[type, str]:
    """Each config dataclass and the dotted path it sits at ('' for the root)."""
    paths: dict[type, str] = {schema.Config: ""}
    todo = [schema.Config]
    while todo:
        cls = todo.pop()
        for f in dataclasses.fields(cls):
            inner = schema.__dict__.get(str(f.type).split(" ")[0])
            if dataclasses.is_dataclass(inner) and inner not in paths:
                paths[inner] = f"{paths[cls]}.{f.name}".lstrip(".")
                todo.append(inner)
    return paths


def _bulk(frame) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_filename == DATACLASSES or (code.co_filename, code.co_name) in BULK:
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def recorded() -> Iterator[set[str]]:
    """Yields the set that collects the dotted keys read while the block runs."""
    reads: set[str] = set()
    originals = {}
    for cls, prefix in group_paths().items():
        names = {f.name for f in dataclasses.fields(cls)}
        originals[cls] = cls.__getattribute__

        def getattribute(self, name, _prefix=prefix, _names=names):
            if name in _names and not _bulk(sys._getframe(1)):
                reads.add(f"{_prefix}.{name}".lstrip("."))
            return object.__getattribute__(self, name)

        cls.__getattribute__ = getattribute
    try:
        yield reads
    finally:
        for cls, original in originals.items():
            cls.__getattribute__ = original
