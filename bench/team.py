"""The scale-out figures of docs/scaling.md, measured side by side in one run on the team servers
that scripts/team_server.py starts on this machine (PostgreSQL, an S3 store, mlflow server):

1. DDP: the train stage with 2 CPU processes (one thread each) against 1 process (two threads,
   and one) at the same global batch: seconds per epoch, start-up left out;
2. sweep trials per hour with 1, 2 and 4 workers on one PostgreSQL study (`sweep.workers=N`,
   the same fixed trials);
3. what one epoch's metrics cost to log: `tracking.log_metrics` of an epoch's values into a run
   on the tracking server against the project's SQLite store.

    python bench/team.py                      # CO2, hidden 64: a few minutes
    python bench/team.py --trials 8 --workers 1 2 4
    python bench/team.py --parts ddp          # one part
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.team_server import team_servers  # noqa: E402

BIN = Path(sys.executable).parent
SMALL = ["model.hidden_size=64", "trainer.progress_bar=false", "train.use_best_params=false"]


def rnnops(root: Path, *args: str) -> str:
    done = subprocess.run([str(BIN / "rnnops"), *args, f"paths.root={root}", *SMALL], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"rnnops {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout + done.stderr


def seconds(root: Path, *args: str) -> float:
    start = time.perf_counter()
    rnnops(root, *args)
    return time.perf_counter() - start


def ddp(root: Path, epochs: int) -> dict[str, float]:
    """Seconds per epoch of one process with two threads and with one, and of two DDP processes
    with one thread each: the difference between `epochs` epochs and one, over epochs - 1, so
    the start-up (imports, the second process, the process group) is left out."""
    def run(n: int, extra: list[str]) -> float:
        return seconds(root, "train", f"train.max_epochs={n}", f"train.patience={n}",
                       "tracking.experiment=ddp", *extra)

    layouts = {"1 process x 2 threads": ["trainer.threads=2"],
               "1 process x 1 thread": ["trainer.threads=1"],
               "2 processes x 1 thread": ["trainer.threads=1", "trainer.devices=2"]}
    return {name: (run(epochs, extra) - run(1, extra)) / (epochs - 1)
            for name, extra in layouts.items()}


def trials_per_hour(root: Path, storage: str, workers: int, trials: int, epochs: int) -> float:
    start = time.perf_counter()
    rnnops(root, "sweep", "sweep.sampler=random", "sweep.pruner=none",
           f"sweep.n_trials={trials}", f"sweep.max_epochs={epochs}", f"sweep.workers={workers}",
           f"sweep.storage={storage}", f"sweep.study_name=throughput-{workers}",
           f"tracking.experiment=sweep-{workers}")
    return trials / (time.perf_counter() - start) * 3600


def logging_ms(uri: str, calls: int) -> float:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"logging-{time.time_ns()}")
    values = {"train/loss": 0.05, "val/loss": 0.04, "val/mse": 0.04}
    with mlflow.start_run():
        mlflow.log_metrics(values, step=0)  # the first call opens connections
        times = []
        for step in range(1, calls + 1):
            start = time.perf_counter()
            mlflow.log_metrics(values, step=step)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=11, help="epochs of the longer DDP runs")
    p.add_argument("--trials", type=int, default=8, help="trials of each throughput sweep")
    p.add_argument("--trial-epochs", type=int, default=4)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--calls", type=int, default=50, help="log_metrics calls per store")
    p.add_argument("--parts", nargs="+", default=["ddp", "sweep", "logging"],
                   choices=["ddp", "sweep", "logging"])
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnnops-team-bench-") as tmp:
        root = Path(tmp) / "project"
        rnnops(root, "prepare")
        layouts = ddp(root, args.epochs) if "ddp" in args.parts else {}
        rates, server = {}, None
        if {"sweep", "logging"} & set(args.parts):
            with team_servers(Path(tmp) / "servers") as team:
                if "sweep" in args.parts:
                    rates = {n: trials_per_hour(root, team.sweep_storage, n, args.trials,
                                                args.trial_epochs) for n in args.workers}
                if "logging" in args.parts:
                    server = logging_ms(team.tracking_uri, args.calls)
                    local = logging_ms(f"sqlite:///{Path(tmp) / 'mlflow.db'}", args.calls)
    print(f"{'what':<46} {'value':>9}  against")
    if layouts:
        one = layouts["1 process x 2 threads"]
        for name, value in layouts.items():
            print(f"{f'{name}: s/epoch':<46} {value:>9.3f}  1 process x 2 threads: "
                  f"{value / one:.2f}x")
    for n, rate in rates.items():
        print(f"{f'sweep on PostgreSQL, {n} worker(s): trials/hour':<46} {rate:>9.0f}  "
              f"1 worker: {rate / rates[args.workers[0]]:.2f}x")
    if server is not None:
        print(f"{'log one epoch to the tracking server: ms':<46} {server:>9.1f}  "
              f"SQLite {local:.1f} ms: {server / local:.2f}x")

if __name__ == "__main__":
    main()
