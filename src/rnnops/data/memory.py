"""The C library's allocator, tuned for the two ways rnnops uses memory (glibc only; elsewhere
nothing happens).

Prepare: glibc's malloc keeps the small blocks that an arrow table is made of on its free lists
after they are freed, so the process stays as large as table plus array. `malloc_trim` returns
those free pages, and the array that is being filled can reuse them: the peak stays near one copy.

Training: the opposite. glibc's default (a dynamic mmap threshold capped at 32 MB) sends a
recurrent step's larger buffers to mmap and unmaps them on free: ~15,900 minor page faults per
training step of the benchmark LSTM (B=64, T=96, H=128, 2 layers). Keeping freed memory in the
heap for the next step removes them (0.02 per step) and made epochs ~20 % faster.
"""

from __future__ import annotations

import ctypes
import functools

# glibc's mallopt parameters (malloc.h) and the values that keep freed memory for reuse
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 256 << 20  # below this, allocations come from the heap and are reused
_NEVER_TRIM = 2**31 - 1


@functools.cache
def _glibc(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)  # the C library this process already uses
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl, Windows)
        return None


def return_freed_memory(threshold: int = 1 << 20) -> bool:
    """From now on, buffers of `threshold` bytes or more are mapped on their own and unmapped
    when freed; False where it cannot be set. glibc's default moves its threshold up to the
    largest buffer freed so far, after which buffers of that size come from the heap, whose
    freed pages it keeps: scoring windows a batch at a time then grows the process by many
    batches' worth instead of a few (docs/benchmarks.md, evaluate's memory)."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, threshold))


def release_free_memory() -> None:
    """Return malloc's free pages to the OS."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


def retain_freed_memory() -> bool:
    """Keep freed memory in the process for reuse from now on; False where it cannot."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
