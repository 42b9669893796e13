"""Training throughput: one small forecasting task trained by a raw PyTorch loop, by rnnops'
trainer, and by Darts and NeuralForecast when they are installed, side by side in one run.

The task (issue 9): ETTh1's OT column, the ETT train rows (8,640), scaled on them; lookback 96,
horizon 24, batch 64 (134 steps per epoch); a 2-layer LSTM of 128 with a linear head on the last
state; Adam at 1e-3; MSE. Every contestant runs in its own process (peak RSS and page faults are
its own), rounds interleave the contestants, and the table gives the median steady epoch (the
first epoch of each process is dropped), windows per second, each ratio to the raw loop, peak
RSS (and the resident memory when training starts: imports, data and model) and minor page faults
per step. Only training time counts: validation is paused out.

    python bench/throughput.py                       # rnnops venv: raw loop and rnnops
    make bench-throughput                            # + Darts and NeuralForecast (.venv-bench)
    python bench/throughput.py --peers .venv-bench/bin/python --rounds 3 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

LOOKBACK, HORIZON, BATCH, HIDDEN, LAYERS, LR = 96, 24, 64, 128, 2, 1e-3
TRAIN_ROWS = 8640  # the ETT protocol's train split (12 months of hours)
WINDOWS = TRAIN_ROWS - LOOKBACK - HORIZON + 1
STEPS = -(-WINDOWS // BATCH)

# name -> (runs in the peers' interpreter, rnnops config overrides)
CONTESTANTS = {
    "raw": (False, []),
    "raw-retain": (False, ["trainer.allocator=retain"]),  # the raw loop with rnnops' allocator
    "rnnops": (False, []),
    "rnnops-glibc": (False, ["trainer.allocator=system"]),  # the fault storm, for comparison
    "rnnops-torch-lstm": (False, ["model.implementation=fused"]),  # torch's kernel, not tuned
    "rnnops-stepwise": (False, ["model.implementation=stepwise"]),  # the C++ time loops
    "rnnops-compile": (False, ["trainer.compile=true"]),  # compile time shows in the first epoch
    "rnnops-unfused": (False, ["trainer.fused_optimizer=false"]),  # torch's per-tensor Adam
    "darts": (True, []),
    "neuralforecast": (True, []),
}


# ---------------------------------------------------------------- measured in the worker process


def ot_train(data_root: Path):
    """ETTh1's OT over the train rows, standard-scaled on them, float32 (rows,)."""
    import numpy as np
    import pandas as pd

    path = data_root / "ETTh1.csv"
    if not path.exists():
        raise SystemExit(f"{path} not found; pass --data-root FOLDER holding ETTh1.csv")
    ot = pd.read_csv(path, usecols=["OT"])["OT"].to_numpy(np.float64)[:TRAIN_ROWS]
    return ((ot - ot.mean()) / ot.std()).astype(np.float32)


class Clock:
    """Training time: wall time with validation paused out; one mark per finished step."""

    def __init__(self):
        self.paused = 0.0
        self.marks: list[float] = []
        self.faults: list[int] = []
        self.start_mb = 0.0  # resident memory when training starts (imports, data, model)
        self._pause_start = None

    def now(self) -> float:
        return time.perf_counter() - self.paused

    def mark(self) -> None:
        if not self.marks:
            with open("/proc/self/statm") as statm:
                self.start_mb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        self.marks.append(self.now())
        self.faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)

    def pause(self) -> None:
        self._pause_start = time.perf_counter()

    def resume(self) -> None:
        self.paused += time.perf_counter() - self._pause_start

    def epochs(self) -> tuple[list[float], float]:
        """Per-epoch seconds (every STEPS marks after the start mark) and faults per step after
        the first epoch."""
        ends = self.marks[::STEPS]
        times = [b - a for a, b in zip(ends, ends[1:], strict=False)]
        steady = self.faults[STEPS:]
        faults = (steady[-1] - steady[0]) / max(len(steady) - 1, 1) if len(steady) > 1 else 0.0
        return times, faults


def lightning_clock(clock: Clock):
    """The clock as a Lightning callback (lightning or pytorch_lightning, whichever the peer
    library trains with)."""
    try:
        import pytorch_lightning as pl
    except ImportError:
        import lightning.pytorch as pl

    class Timer(pl.Callback):
        def on_train_start(self, trainer, module):
            clock.mark()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            clock.mark()

        def on_validation_start(self, trainer, module):
            clock.pause()

        def on_validation_end(self, trainer, module):
            clock.resume()

    return Timer()


def run_raw(data_root: Path, epochs: int, device: str, clock: Clock, overrides: list[str]) -> None:
    """The reference: windows indexed from one tensor (on the device), no framework."""
    import torch
    from torch import nn

    if "trainer.allocator=retain" in overrides:
        from rnnops.training.runtime import configure_allocator

        configure_allocator("retain")
    torch.manual_seed(0)
    series = torch.from_numpy(ot_train(data_root)).to(device)
    windows = series.unfold(0, LOOKBACK + HORIZON, 1)  # (N, L+H), a view

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, HIDDEN, LAYERS, batch_first=True)
            self.head = nn.Linear(HIDDEN, HORIZON)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.head(y[:, -1])

    net = Net().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    clock.mark()
    for _ in range(epochs):
        order = torch.randperm(len(windows), device=device)
        for start in range(0, len(windows), BATCH):
            w = windows[order[start : start + BATCH]]
            loss = nn.functional.mse_loss(net(w[:, :LOOKBACK, None]), w[:, LOOKBACK:])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device != "cpu":
                torch.cuda.synchronize()  # a step ends when its kernels have run
            clock.mark()


def run_rnnops(data_root: Path, epochs: int, device: str, clock: Clock,
               overrides: list[str]) -> None:
    """rnnops' own path: the prepare stage's arrays (written by another process, as under dvc
    repro), then training.fit (the train stage's and every sweep trial's routine) with the same
    model and optimizer."""
    from hydra import compose, initialize_config_dir

    from rnnops.config import from_dictconfig
    from rnnops.data.prepared import PreparedData
    from rnnops.training.fit import fit

    with tempfile.TemporaryDirectory() as tmp:
        config = [
            f"paths.root={tmp}", "data=etth1", f"data.root={data_root}", "data.features=S",
            f"data.lookback={LOOKBACK}", f"data.horizon={HORIZON}", "model=lstm",
            f"model.hidden_size={HIDDEN}", f"model.num_layers={LAYERS}", "model.norm=none",
            f"train.batch_size={BATCH}", f"train.lr={LR}", "train.l2=0",
            "train.gradient_clip=0", f"train.max_epochs={epochs}", f"train.patience={epochs}",
            "trainer.progress_bar=false",
            f"trainer.accelerator={'cpu' if device == 'cpu' else 'gpu'}", *overrides]
        subprocess.run([sys.executable, str(ROOT / "pipelines" / "prepare.py"), *config],
                       check=True, capture_output=True)
        with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
            cfg = from_dictconfig(compose("config", overrides=config))
        data = PreparedData.load(cfg.paths.prepared)
        fit(cfg, data, callbacks=[lightning_clock(clock)])


def run_darts(data_root: Path, epochs: int, device: str, clock: Clock,
              overrides: list[str]) -> None:
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    series = TimeSeries.from_values(ot_train(data_root))
    model = BlockRNNModel(
        input_chunk_length=LOOKBACK, output_chunk_length=HORIZON, model="LSTM",
        hidden_dim=HIDDEN, n_rnn_layers=LAYERS, dropout=0.0, batch_size=BATCH, n_epochs=epochs,
        optimizer_kwargs={"lr": LR}, random_state=0,
        pl_trainer_kwargs={"accelerator": "cpu" if device == "cpu" else "gpu",
                           "callbacks": [lightning_clock(clock)],
                           "enable_progress_bar": False, "enable_model_summary": False,
                           "logger": False, "enable_checkpointing": False})
    model.fit(series, verbose=False)


def run_neuralforecast(data_root: Path, epochs: int, device: str, clock: Clock,
                       overrides: list[str]) -> None:
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    values = ot_train(data_root)
    frame = pd.DataFrame({"unique_id": "OT", "y": values,
                          "ds": pd.date_range("2016-07-01", periods=len(values), freq="h")})
    model = LSTM(h=HORIZON, input_size=LOOKBACK, encoder_n_layers=LAYERS,
                 encoder_hidden_size=HIDDEN, decoder_hidden_size=HIDDEN, decoder_layers=1,
                 windows_batch_size=BATCH, batch_size=1, max_steps=epochs * STEPS,
                 learning_rate=LR, scaler_type="identity", val_check_steps=10**9,
                 random_seed=0, enable_progress_bar=False, enable_model_summary=False,
                 logger=False, enable_checkpointing=False,
                 accelerator="cpu" if device == "cpu" else "gpu",
                 callbacks=[lightning_clock(clock)])
    NeuralForecast(models=[model], freq="h").fit(frame)


def worker(name: str, data_root: Path, epochs: int, device: str) -> None:
    clock = Clock()
    run = globals()[f"run_{name.split('-')[0]}"]
    run(data_root, epochs, device, clock, CONTESTANTS[name][1])
    times, faults = clock.epochs()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print("RESULT " + json.dumps({"epochs": times, "faults_per_step": faults, "peak_mb": peak,
                                  "start_mb": clock.start_mb}))


# ---------------------------------------------------------------- the side-by-side driver


def measure(name: str, python: str, args: argparse.Namespace) -> dict | None:
    # rnnops' sources first, then whatever the caller's path holds (bench/gpu.sh's wheels)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [python, __file__, "--worker", name, "--epochs", str(args.epochs),
               "--data-root", str(args.data_root), "--device", args.device,
               "--hidden", str(args.hidden)]
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        print(f"{name}: failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}",
              file=sys.stderr)
        return None
    return json.loads(lines[-1][len("RESULT "):])


def available(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> None:
    global HIDDEN  # a worker trains at the width its driver was given
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", type=Path, default=Path(os.environ.get("RNNOPS_DATA_ROOT",
                                                                         SHARED)))
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per process; the first is "
                   "dropped as warm-up (default 3)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--hidden", type=int, default=HIDDEN,
                   help=f"the LSTM's width (default {HIDDEN}, the issue's task); a narrow one "
                        "leaves little but each framework's own per-step work")
    p.add_argument("--peers", default=str(ROOT / ".venv-bench" / "bin" / "python"),
                   help="the interpreter with darts and neuralforecast (make bench-throughput "
                        "builds .venv-bench)")
    p.add_argument("--only", nargs="*", choices=list(CONTESTANTS),
                   help="a subset (default: all but rnnops-compile, rnnops-torch-lstm and "
                        "rnnops-stepwise)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        HIDDEN = args.hidden
        worker(args.worker, args.data_root, args.epochs, args.device)
        return

    names = args.only or [name for name in CONTESTANTS
                          if name not in ("rnnops-compile", "rnnops-torch-lstm",
                                          "rnnops-stepwise")]
    pythons = {}
    for name in names:
        peer, _ = CONTESTANTS[name]
        python = args.peers if peer else sys.executable
        if peer and not (Path(python).exists() and available(python, name)):
            print(f"{name}: not installed in {python}; skipped (make bench-throughput)",
                  file=sys.stderr)
            continue
        pythons[name] = python
    epochs: dict[str, list[float]] = {name: [] for name in pythons}
    firsts: dict[str, list[float]] = {name: [] for name in pythons}
    extras: dict[str, dict] = {}
    for r in range(args.rounds):
        order = list(pythons)[r % len(pythons):] + list(pythons)[: r % len(pythons)]
        for name in order:
            result = measure(name, pythons[name], args)
            if result is None:
                continue
            epochs[name] += result["epochs"][1:]  # the first epoch warms up
            firsts[name] += result["epochs"][:1]
            extra = extras.setdefault(name, {"peak_mb": 0.0, "start_mb": 0.0, "faults": []})
            extra["peak_mb"] = max(extra["peak_mb"], result["peak_mb"])
            extra["start_mb"] = max(extra["start_mb"], result["start_mb"])
            extra["faults"].append(result["faults_per_step"])
            print(f"round {r + 1} {name}: epochs " +
                  " ".join(f"{t:.2f}" for t in result["epochs"]) + " s", file=sys.stderr)

    import torch

    print(f"\nTraining throughput, {args.device}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, {args.rounds} rounds x {args.epochs} epochs, "
          f"{STEPS} steps of {BATCH} windows per epoch, LSTM of {args.hidden} x {LAYERS}\n")
    print("| contestant | median epoch (s) | first epoch (s) | windows/s | vs raw loop | "
          "peak RSS (MB) | RSS at training start (MB) | minor faults/step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    reference = statistics.median(epochs["raw"]) if epochs.get("raw") else None
    for name, times in epochs.items():
        if not times:
            continue
        median = statistics.median(times)
        ratio = f"{reference / median:.2f}x" if reference else "-"
        print(f"| {name} | {median:.2f} | {statistics.median(firsts[name]):.2f} | "
              f"{WINDOWS / median:,.0f} | {ratio} | "
              f"{extras[name]['peak_mb']:.0f} | {extras[name]['start_mb']:.0f} | "
              f"{statistics.median(extras[name]['faults']):,.0f} |")


if __name__ == "__main__":
    main()
