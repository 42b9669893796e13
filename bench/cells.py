"""Forward + backward time of every cell and implementation against torch.nn.LSTM and GRU.

One layer, batch-first input (B, T, I) -> hidden H, loss = sum of outputs, gradients for inputs
and weights. The cells run interleaved (one timing of each per round) so that machine noise hits
them alike; the table gives the median per cell and its ratios to torch.nn.LSTM's and
torch.nn.GRU's medians. `*` marks the implementation that `model.implementation=auto` runs.

    python bench/cells.py                     # B=64, I=7, H=128, T=96, 720, 1024; CPU (+ GPU)
    python bench/cells.py --lengths 96 --rounds 3 --threads 1
    python bench/cells.py --devices cuda --lengths 96 512 2048   # the GPU targets only
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from rnnops.models import CELLS
from rnnops.models.autotune import _winner
from rnnops.models.cells.kernels import native


def time_once(cell: nn.Module, x: torch.Tensor) -> float:
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    cell.zero_grad(set_to_none=True)
    x.grad = None
    sync()
    start = time.perf_counter()
    y, _ = cell(x)
    y.sum().backward()
    sync()
    return time.perf_counter() - start


def measure(device: torch.device, batch: int, length: int, inputs: int, hidden: int,
            rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    cells = {"torch.nn.LSTM": nn.LSTM(inputs, hidden, batch_first=True),
             "torch.nn.GRU": nn.GRU(inputs, hidden, batch_first=True)}
    for name, cls in CELLS.items():
        choices = [i for i in cls.implementations if i != "auto"]
        if device.type != "cpu" or native.steps() is None:  # C++ loops: CPU, where built
            choices = [i for i in choices if i != "native"]
        for implementation in choices:
            label = name if len(choices) == 1 else f"{name}[{implementation}]"
            cells[label] = cls(inputs, hidden, implementation=implementation)
    cells = {name: cell.to(device) for name, cell in cells.items()}
    x = torch.randn(batch, length, inputs, device=device, requires_grad=True)
    for cell in cells.values():  # warm-up: allocator, kernels, first-call dispatch
        time_once(cell, x)
    times: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(rounds):
        for name, cell in cells.items():
            times[name].append(time_once(cell, x))
    return {name: statistics.median(t) for name, t in times.items()}


def auto_choices(medians: dict[str, float]) -> set[str]:
    """The labels `auto` runs: training measures a cell's `tunable` implementations at the run's
    shape and keeps the fastest by models/autotune.py's rule (the first candidate unless clearly
    beaten), applied here to this run's times; other cells run their first implementation."""
    picked: set[str] = set()
    for name, cls in CELLS.items():
        candidates = getattr(cls, "tunable", ()) or [i for i in cls.implementations
                                                    if i != "auto"]
        labels = [name if len(cls.implementations) == 2 else f"{name}[{c}]" for c in candidates]
        labels = [label for label in labels if label in medians]
        # tuned cells: the autotuner's rule on these times; the others: the first that ran
        if hasattr(cls, "tunable"):
            times = {c: medians[f"{name}[{c}]"] for c in candidates}
            picked.add(f"{name}[{_winner(tuple(candidates), times)}]")
        else:
            picked.add(labels[0])
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lengths", type=int, nargs="+", default=[96, 720, 1024])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default, one per core)")
    parser.add_argument("--devices", nargs="+", choices=("cpu", "cuda"),
                        help="where to measure (default: the CPU, and the GPU when there is one)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.devices and "cuda" in args.devices and not torch.cuda.is_available():
        parser.error("--devices cuda: torch sees no CUDA device here")
    wanted = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    devices = [torch.device(d) for d in wanted]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
          f"B={args.batch} I={args.inputs} H={args.hidden}, forward+backward, "
          f"median of {args.rounds} interleaved rounds")
    for device in devices:
        name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
        for length in args.lengths:
            medians = measure(device, args.batch, length, args.inputs, args.hidden, args.rounds)
            lstm, gru = medians["torch.nn.LSTM"], medians["torch.nn.GRU"]
            picked = auto_choices(medians)
            print(f"\n{name}, T={length}")
            print(f"{'cell':<26}{'ms':>10}{'vs torch.nn.LSTM':>18}{'vs torch.nn.GRU':>17}")
            for cell, seconds in medians.items():
                label = f"{cell} *" if cell in picked else cell
                print(f"{label:<26}{seconds * 1e3:>10.2f}{seconds / lstm:>18.2f}"
                      f"{seconds / gru:>17.2f}")


if __name__ == "__main__":
    main()
