"""The fastest exact implementation of each recurrent layer, chosen by measurement at the run's
shape rather than by assumption.

A cell with `implementation: auto` and several exact implementations (its `tunable` tuple: the
library kernel and the hand-written one for `lstm`, the scan and the sequential loop for minGRU
and minLSTM) is timed forward + backward on the input it will see in training. The winner is set
on the cell, logged with the times, and remembered per (cell, shape, device, threads, torch
version) in this process and in a JSON file, so sweep trials and reruns pay for it once. All
candidates compute the same equations, so the choice changes results only within floating-point
rounding.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from rnnops.atomic import staged
from rnnops.cache import cache_root
from rnnops.models.cells.kernels import native

log = logging.getLogger("rnnops.models")

ROUNDS = 5
MARGIN = 0.15  # how much faster than the first candidate another must be to replace it
_memory: dict[str, str] = {}


def cache_file() -> Path:
    return cache_root() / "implementations.json"


def _key(cell: nn.Module, x: torch.Tensor, needs_grad: bool) -> str:
    batch, steps, _ = x.shape
    return (f"{type(cell).__name__}:in{cell.input_size}:hid{cell.hidden_size}:b{batch}:t{steps}:"
            f"dx{int(needs_grad)}:{x.device.type}:{x.dtype}:threads{torch.get_num_threads()}:"
            f"torch{torch.__version__}:loops-{native.build_id()}")


def _load() -> dict[str, str]:
    try:
        return json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _remember(key: str, choice: str) -> None:
    _memory[key] = choice
    try:
        stored = _load()
        stored[key] = choice
        path = cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with staged(path) as (temp,):
            temp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    except OSError as exc:  # a read-only home only costs a re-measurement next time
        log.debug("autotune cache not written: %s", exc)


def _seconds(cell: nn.Module, x: torch.Tensor, needs_grad: bool) -> float:
    """One forward + backward pass of `cell` as it is set now."""
    x = x.detach().requires_grad_(needs_grad)
    start = time.perf_counter()
    y, _ = cell(x)
    y.sum().backward()
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - start


def _measure(cell: nn.Module, x: torch.Tensor, needs_grad: bool) -> dict[str, float]:
    """Median seconds per candidate over ROUNDS rounds that alternate the candidates, after a
    warm-up round: timed one after the other, the first candidate paid for the allocator's and
    caches' warm-up and a slower kernel won."""
    times: dict[str, list[float]] = {c: [] for c in cell.tunable}
    for round_ in range(ROUNDS + 1):
        for candidate in cell.tunable:
            cell.implementation = candidate
            seconds = _seconds(cell, x, needs_grad)
            if round_:
                times[candidate].append(seconds)
    cell.zero_grad(set_to_none=True)
    return {c: statistics.median(t) for c, t in times.items()}


def _winner(candidates: tuple[str, ...], times: dict[str, float]) -> str:
    """The fastest candidate, but the first (the library kernel, or the parallel scan) keeps its
    place unless another beats it by MARGIN: a layer timed alone leaves out what a training step
    adds (the allocator, the other layers' use of the caches), and measured on the throughput
    benchmark (docs/benchmarks.md) a hand-written LSTM 10 % faster alone made the epoch 7 %
    slower."""
    fastest = min(times, key=times.get)
    first = candidates[0]
    if fastest != first and times[fastest] > times[first] * (1 - MARGIN):
        return first
    return fastest


def tunable_cells(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules()
            if len(getattr(m, "tunable", ())) > 1 and getattr(m, "implementation", None) == "auto"]


def tune(model: nn.Module, example: torch.Tensor) -> dict[str, str]:
    """Set every `auto` cell of `model` to its fastest implementation for inputs like `example`
    (one training batch). Returns {cell module name: implementation}. The random state is left
    as it was, so tuning does not change what training draws."""
    cells = tunable_cells(model)
    if not cells:
        return {}
    devices = [example.device] if example.is_cuda else []
    with torch.random.fork_rng(devices=devices):
        return _tune(model, cells, example)


def _tune(model: nn.Module, cells: list[nn.Module], example: torch.Tensor) -> dict[str, str]:
    # Each cell's input as training gives it, and whether its gradient is needed (not for data
    # entering the first layer; the kernels skip dx then, which changes the ranking).
    inputs: dict[nn.Module, tuple[torch.Tensor, bool]] = {}

    def record(cell: nn.Module, args: tuple) -> None:  # returns None: the input is unchanged
        inputs.setdefault(cell, (args[0].detach(), args[0].requires_grad))

    hooks = [c.register_forward_pre_hook(record) for c in cells]
    was_training = model.training
    try:
        with torch.enable_grad():
            model.train()
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    names = {m: n for n, m in model.named_modules()}
    stored = _load()
    chosen = {}
    for cell in cells:
        if cell not in inputs:  # not on the forward path of a training batch
            continue
        x, needs_grad = inputs[cell]
        key = _key(cell, x, needs_grad)
        choice = _memory.get(key) or stored.get(key)
        if choice in cell.tunable:
            reason = "measured before at this shape"
        else:
            times = _measure(cell, x, needs_grad)
            choice = _winner(cell.tunable, times)
            reason = "measured " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items())
            _remember(key, choice)
        cell.implementation = choice
        chosen[names[cell]] = choice
        log.debug("%s (%s, B=%d, T=%d) runs %s: %s", names[cell], type(cell).__name__,
                 x.shape[0], x.shape[1], choice, reason)
    return chosen
