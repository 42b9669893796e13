"""Process settings for training speed: the memory allocator, threads, precision and compilation.

Every switch is a `trainer.*` key, the measured fast choice is the default (docs/benchmarks.md,
"Training throughput"), and what was chosen is logged once per process with the reason.
"""

from __future__ import annotations

import logging

import torch

from rnnops.config import Config, TrainerConfig, with_overrides
from rnnops.data.memory import retain_freed_memory
from rnnops.errors import ConfigError
from rnnops.machine import usable_cores

log = logging.getLogger("rnnops.training")

_applied: dict[str, str] = {}


def _once(key: str, value: str, reason: str) -> None:
    """Record a setting that runs, with its reason at DEBUG (`--verbose`); announce() gives the
    one INFO line, so a sweep's trials do not repeat them."""
    if _applied.get(key) != value:
        _applied[key] = value
        log.debug("%s: %s (%s)", key, value, reason)


_announced: set[str] = set()


def announce() -> None:
    """One line per process saying how training runs (again only if a setting changed)."""
    shown = {"torch threads": "threads", "trainer.precision": "precision",
             "trainer.allocator": "allocator", "trainer.compile": "compiled"}
    line = ", ".join(f"{name} {_applied[key]}" for key, name in shown.items() if key in _applied)
    if line and line not in _announced:
        _announced.add(line)
        log.info("training with %s (--verbose says why)", line)


def configure_allocator(mode: str) -> str:
    """`retain`: freed memory stays in the process for the next step (data/memory.py has why);
    `system`: the C library's defaults. Returns what runs. Retaining lasts for the process: a
    later `system` run in it (another sweep trial) keeps it, and says so."""
    if mode == "system":
        if _applied.get("trainer.allocator") == "retain":
            log.info("trainer.allocator: retain stays in effect (set earlier in this process)")
            return "retain"
        _once("trainer.allocator", "system", "the C library's defaults, as configured")
        return "system"
    if not retain_freed_memory():
        _once("trainer.allocator", "system", "no glibc mallopt in this process")
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
        threads = usable_cores()
        reason = "one per usable core"
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    _once("torch threads", str(threads), reason)
    return threads


def check_accelerator(accelerator: str) -> None:
    """A GPU named outright must be there; Lightning's own error would be a traceback."""
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError("trainer.accelerator", f"{accelerator!r} asks for a CUDA GPU, but torch "
                          "sees none here; use cpu, or auto to take a GPU when there is one")


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


FUSED_OPTIMIZER_DEVICES = {"cpu", "cuda"}  # where torch has fused Adam and SGD kernels


def use_fused_optimizer(requested: bool, devices: set[str]) -> bool:
    """Whether the optimizer updates all parameters in one fused kernel: on request
    (trainer.fused_optimizer, the default) and where torch has the kernel for every parameter's
    device. On the CPU benchmark task it halves Adam's update (1.8 to 0.9 ms of an 85 ms step;
    torch's CPU default updates one tensor at a time). It changes results only by rounding: fused
    Adam computes the same update in another order."""
    if not requested:
        _once("trainer.fused_optimizer", "false", "torch's default update, as configured")
        return False
    if not devices <= FUSED_OPTIMIZER_DEVICES:
        _once("trainer.fused_optimizer", "false",
              f"no fused kernel for parameters on {', '.join(sorted(devices))}")
        return False
    _once("trainer.fused_optimizer", "true", "one update kernel for all parameters")
    return True


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


def strategy(trainer: TrainerConfig) -> str:
    """Lightning's strategy: trainer.strategy, with auto over several processes meaning ddp
    (Lightning's own auto may pick a spawning strategy, whose processes skip the stage's code)."""
    processes = trainer.devices * trainer.num_nodes
    return "ddp" if processes > 1 and trainer.strategy == "auto" else trainer.strategy


def single_process(cfg: Config) -> Config:
    """`cfg` trained in one process: sweep trials, which run side by side in workers and are
    compared with each other, and evaluation stay out of multi-process training."""
    t = cfg.trainer
    if t.devices == 1 and t.num_nodes == 1:
        return cfg
    return with_overrides(cfg, {"trainer.devices": 1, "trainer.num_nodes": 1,
                                "trainer.strategy": "auto"})
