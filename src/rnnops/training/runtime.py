"""Process settings for training speed: the memory allocator, threads, precision and compilation.

Every switch is a `trainer.*` key, the measured fast choice is the default (docs/benchmarks.md,
"Training throughput"), and what was chosen is logged once per process with the reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

import torch

from rnnops.config import TrainerConfig

log = logging.getLogger("rnnops.training")

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# Below this size allocations come from the heap, where freed blocks are reused. glibc's
# default (a dynamic threshold capped at 32 MB) sends a recurrent step's larger buffers to
# mmap and unmaps them on free: ~15,900 minor page faults per training step of the benchmark
# LSTM (B=64, T=96, H=128, 2 layers), 0.02 with these settings, and epochs ~20% faster.
_MMAP_THRESHOLD = 256 << 20
_NEVER_TRIM = 2**31 - 1

_applied: dict[str, str] = {}


def _once(key: str, value: str, reason: str) -> None:
    if _applied.get(key) != value:
        _applied[key] = value
        log.info("%s: %s (%s)", key, value, reason)


def configure_allocator(mode: str) -> str:
    """`retain`: freed memory stays in the process for the next step (glibc mallopt; other C
    libraries keep their behaviour); `system`: the C library's defaults. Returns what runs."""
    if mode == "system":
        _once("trainer.allocator", "system", "the C library's defaults, as configured")
        return "system"
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        _once("trainer.allocator", "system", f"no glibc mallopt in {libc_name!r}")
        return "system"
    if not (mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD,
                                                                    _NEVER_TRIM)):
        _once("trainer.allocator", "system", "mallopt refused the settings")
        return "system"
    _once("trainer.allocator", "retain", "glibc keeps freed buffers for reuse: no page-fault "
          "storm per step")
    return "retain"


def configure_threads(threads: int) -> int:
    """Intra-op threads: `threads`, or one per core this process may run on (torch's own default
    counts every core of the machine, also those a container or taskset withholds)."""
    if threads:
        reason = "trainer.threads"
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        reason = "one per usable core"
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    _once("torch threads", str(threads), reason)
    return threads


def resolve_precision(precision: str, accelerator: str) -> str:
    """`auto`: bf16 autocast on a GPU that has bf16 (the recurrent matmuls run at tensor-core
    speed, weights and optimizer stay float32), float32 on the CPU (bf16 matmuls are slower
    than float32 ones on CPUs without AMX)."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    chosen = "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"
    _once("trainer.precision", chosen, "auto: bf16 autocast on a bf16 GPU, else float32")
    return chosen


def maybe_compile(model: torch.nn.Module, compile_: bool) -> None:
    """torch.compile of the model's forward on request (the module itself stays, so parameter
    names and checkpoints do not change). Off by default: the recurrences are fused kernels or
    hand-written autograd loops already, and on the benchmark task compilation did not pay back
    its compile time within a run (docs/benchmarks.md)."""
    if compile_:
        _once("trainer.compile", "true", "trainer.compile=true")
        model.forward = torch.compile(model.forward)


def configure_determinism() -> None:
    """Training runs with torch's deterministic algorithms (Lightning's deterministic=True),
    which by default also fill every new tensor with NaN to expose reads of uninitialised
    memory: 2-8% of a 2-layer LSTM step on the CPU, measured. Nothing in rnnops reads memory
    before writing it (the hand-written kernels fill their buffers with out= ops), so the
    filling is turned off; the algorithms stay deterministic."""
    if torch.utils.deterministic.fill_uninitialized_memory:
        torch.utils.deterministic.fill_uninitialized_memory = False
        _once("torch.utils.deterministic.fill_uninitialized_memory", "False",
              "deterministic algorithms without the NaN fill of new tensors")


def configure(trainer: TrainerConfig) -> None:
    configure_allocator(trainer.allocator)
    configure_threads(trainer.threads)
    configure_determinism()
