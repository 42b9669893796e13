"""What this process may use of the machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def usable_cores() -> int:
    """Cores this process may run on: a container or taskset can withhold some of those that
    os.cpu_count() (and torch's own default) counts."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


ROW_CHUNK = 1 << 15  # rows per task: a chunk of a few columns stays in the CPU's cache


def map_row_chunks(fn: Callable[[np.ndarray], T], x: np.ndarray) -> list[T]:
    """`fn` of each run of ROW_CHUNK rows of `x`, in row order, spread over the usable cores:
    numpy's loops release the GIL, so threads share the work of a pass over a large array."""
    chunk = ROW_CHUNK
    chunks = [x[start : start + chunk] for start in range(0, len(x), chunk)]
    workers = min(usable_cores(), len(chunks))
    if workers < 2:
        return [fn(c) for c in chunks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, chunks))


def is_global_zero() -> bool:
    """Whether this process is rank 0 of its training: the one that logs, writes and registers.
    Read from the environment before training starts (an MLflow run must not open in the other
    ranks): torchrun and SLURM set RANK or SLURM_PROCID on every process; Lightning's own
    launcher starts ranks 1.. of a node with LOCAL_RANK and NODE_RANK, rank 0 with neither."""
    env = os.environ
    if int(env.get("LOCAL_RANK", 0)) != 0 or int(env.get("NODE_RANK", 0)) != 0:
        return False  # first: Lightning's children inherit a one-task SLURM job's SLURM_PROCID=0
    for key in ("RANK", "SLURM_PROCID"):
        if key in env:
            return int(env[key]) == 0
    return True
