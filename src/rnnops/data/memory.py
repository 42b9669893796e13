"""Handing freed memory back to the operating system while a large table is converted.

glibc's malloc keeps the small blocks that an arrow table is made of on its free lists after they
are freed, so the process stays as large as table plus array. `malloc_trim` returns those free
pages, and the array that is being filled can reuse them: the peak stays near one copy.
"""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl, Windows)
        return None


def release_free_memory() -> None:
    """Return malloc's free pages to the OS (glibc only; elsewhere nothing happens)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
