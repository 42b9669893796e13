"""Sweeps on a real series: TPE with Hyperband pruning against random search without pruning at
the same budget of training epochs, then trials per hour with 1 and 2 worker processes.

Both searches run the sweep's own objective (the train stage's `fit`) over one search space, side
by side in this process, and stop starting trials once they have trained `--budget` epochs. The
table gives each search's best val/loss at the budget (and at half of it), and the epochs each
needed to reach the best val/loss that random search found. Throughput runs the sweep stage
itself (`sweep.workers=1` and `=2`, MLflow logging included) on one fixed set of trials.

    python bench/sweep.py                     # weekly Mauna Loa CO2 (ships with statsmodels)
    python bench/sweep.py --data etth1        # ETTh1's OT column from ../shared/data (slower)
    python bench/sweep.py --data shakespeare  # a character model of Tiny Shakespeare's opening
    python bench/sweep.py --seeds 1 2 3 --throughput-trials 0   # the search comparison, 3 seeds
    python bench/sweep.py --stride 1 ...      # every training window: 4x the steps per epoch
    python bench/sweep.py --arms tpe tpe-hyperband ...   # the sampler's and the pruner's shares
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

SPACE = [
    "sweep.space.train.lr.low=1e-4", "sweep.space.train.lr.high=3e-2",
    "sweep.space.model.hidden_size.low=8", "sweep.space.model.hidden_size.high=48",
    "~sweep.space.train.l2",
]


# Each arm of the comparison: a name, then its sampler and pruner overrides. Random search
# without pruning is the reference every other arm is measured against.
ARMS = {
    "random": ("random, no pruning", ["sweep.sampler=random", "sweep.pruner=none"]),
    "tpe-hyperband": ("TPE + Hyperband", ["sweep.sampler=tpe", "sweep.pruner=hyperband"]),
    "tpe": ("TPE, no pruning", ["sweep.sampler=tpe", "sweep.pruner=none"]),
    "tpe-hyperband-3": ("TPE + Hyperband from 3", ["sweep.sampler=tpe", "sweep.pruner=hyperband",
                                                   "sweep.min_epochs=3"]),
    "tpe-median": ("TPE + median", ["sweep.sampler=tpe", "sweep.pruner=median",
                                    "sweep.warmup_epochs=3"]),
    # Optuna's own default of 10 random start-up trials instead of the bench's 4
    "tpe-hyperband-10": ("TPE (10 start-up) + Hyperband",
                         ["sweep.sampler=tpe", "sweep.pruner=hyperband",
                          "sweep.n_startup_trials=10"]),
    # the same with one joint model of learning rate and width (multivariate TPE)
    "tpe-mv-hyperband-10": ("TPE (10 start-up, multivariate) + Hyperband",
                            ["sweep.sampler=tpe", "sweep.pruner=hyperband",
                             "sweep.n_startup_trials=10", "sweep.multivariate=true"]),
}
REFERENCE = ARMS["random"][0]


# --data shakespeare: the opening characters of Tiny Shakespeare, cut 90/10 into train and val.
# A task for the comparison where width and learning rate should matter more than on the series
# above, whose outcomes were flat (ETTh1) or bimodal by rounding (CO2): see docs/benchmarks.md.
SHAKESPEARE_TEXT = "shakespeare.txt"  # written into the bench's temporary root


def compose(root: Path, data: str, stride: int, *overrides: str) -> Any:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    if data == "shakespeare":
        source = ["data=text", f"data.path={root / SHAKESPEARE_TEXT}", "data.level=char",
                  "data.split.train=0.9", "data.split.val=0.1", "data.split.test=0.0",
                  "train.batch_size=32", "train.bptt=64"]
    elif data == "etth1":
        if not (SHARED / "ETTh1.csv").exists():
            raise SystemExit(f"{SHARED / 'ETTh1.csv'} not found; use --data co2")
        source = ["data=etth1", f"data.root={SHARED}", "data.features=S", "data.horizon=24",
                  f"data.stride={stride}"]
    else:
        source = ["data=co2", f"data.stride={stride}"]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=[
            f"paths.root={root}", *source, "model=lstm", "trainer.progress_bar=false",
            "train.patience=100", *SPACE, *overrides])


def search(cfg: Any, data: Any, budget: int, name: str) -> list[dict[str, Any]]:
    """Trials in the order they ended, each with the epochs trained so far in this search.
    `name` names the study: a fresh one per arm and seed (an existing one would be resumed)."""
    from optuna.trial import TrialState

    from rnnops.sweep.algorithms import specs
    from rnnops.sweep.objective import run_trial
    from rnnops.sweep.queue import Budget, TrialQueue
    from rnnops.sweep.space import suggest
    from rnnops.sweep.storage import open_storage
    from rnnops.sweep.study import load_or_create, lookup
    from rnnops.tasks import task_for

    storage = open_storage(f"sqlite:///{cfg.paths.optuna / 'bench.db'}")
    sampler, pruner = specs(cfg.sweep, cfg.seed)
    study = load_or_create(name, storage, sampler, pruner)
    queue = TrialQueue(study, storage, Budget(n_trials=1000), sampler)
    ended: list[dict[str, Any]] = []
    used = 0

    def run(trials: list[Any]) -> None:
        nonlocal used
        for trial in trials:
            params = suggest(trial, cfg.sweep.params, lookup(cfg))
            result = run_trial(cfg, data, trial, params, task_for(cfg).fit)
            pruned = result.pruned_at is not None
            trial.study.tell(trial, None if pruned else result.value,
                             state=TrialState.PRUNED if pruned else TrialState.COMPLETE)
            used += result.epochs
            ended.append({"epochs": used, "value": None if pruned else result.value})

    queue.work(run, stop=lambda: used >= budget)
    return ended


def best_within(ended: list[dict[str, Any]], epochs: float) -> float:
    values = [e["value"] for e in ended if e["value"] is not None and e["epochs"] <= epochs]
    return min(values) if values else float("nan")


def epochs_to_reach(ended: list[dict[str, Any]], target: float) -> int | None:
    for e in ended:
        if e["value"] is not None and e["value"] <= target:
            return e["epochs"]
    return None


def throughput(root: Path, data: str, stride: int, workers: int, trials: int,
               epochs: int) -> float:
    from rnnops.config import from_dictconfig
    from rnnops.stages.sweep import sweep

    cfg = from_dictconfig(compose(root, data, stride, "sweep.sampler=random",
                                  "sweep.pruner=none", f"sweep.n_trials={trials}",
                                  f"sweep.max_epochs={epochs}", f"sweep.workers={workers}",
                                  f"sweep.study_name=throughput-{workers}"))
    start = time.perf_counter()
    sweep(cfg)
    return trials / (time.perf_counter() - start) * 3600


def report(args: argparse.Namespace, seed: int, results: dict[str, list[dict[str, Any]]],
           seconds: dict[str, float]) -> dict[str, float | None]:
    """Print one seed's table; for each arm but random search, the ratio of the epochs it needed
    to reach random search's best to the epochs random search needed (None: never got there)."""
    random_best = best_within(results[REFERENCE], float("inf"))
    random_reach = epochs_to_reach(results[REFERENCE], random_best)
    task = (f"character LSTM on {args.chars} characters" if args.data == "shakespeare"
            else f"window stride {args.stride}: LSTM forecaster")
    print(f"\n{args.data}, {task}, {args.budget} training "
          f"epochs per search, {args.max_epochs} epochs per unpruned trial, seed {seed}, "
          f"{os.cpu_count()} cores")
    width = max(len(label) for label in results)  # the longest arm's label
    print(f"{'search':<{width}} {'trials':>6} {'epochs':>6} {'best@half':>10} "
          f"{'best@budget':>11} {'best':>8} {'epochs to random best':>22} {'seconds':>8}")
    ratios: dict[str, float | None] = {}
    for label, ended in results.items():
        reach = epochs_to_reach(ended, random_best)
        print(f"{label:<{width}} {len(ended):>6} {ended[-1]['epochs']:>6} "
              f"{best_within(ended, args.budget / 2):>10.5f} "
              f"{best_within(ended, args.budget):>11.5f} "
              f"{best_within(ended, float('inf')):>8.5f} "
              f"{'not reached' if reach is None else reach:>22} {seconds[label]:>8.1f}")
        if label != REFERENCE:
            ratios[label] = None if reach is None else reach / random_reach
    for label, ratio in ratios.items():
        if ratio is not None:
            print(f"{label} reached random search's best ({random_best:.5f}) in {ratio:.2f}x "
                  f"the epochs random search needed")
    return ratios


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=("co2", "etth1", "shakespeare"), default="co2")
    p.add_argument("--chars", type=int, default=100_000,
                   help="--data shakespeare: the opening characters used (90 %% train)")
    p.add_argument("--budget", type=int, default=60, help="training epochs per search")
    p.add_argument("--max-epochs", type=int, default=9, help="epochs of an unpruned trial")
    p.add_argument("--stride", type=int, default=4,
                   help="train on every Nth window: 4 keeps epochs cheap (6 optimizer steps on "
                        "CO2, too few for the first rungs to rank trials); 1 uses every window")
    p.add_argument("--seeds", type=int, nargs="+", default=[42],
                   help="one pair of searches per seed (the ratio is read over several)")
    p.add_argument("--arms", nargs="+", choices=[a for a in ARMS if a != "random"],
                   default=["tpe-hyperband"], help="searches compared with random search")
    p.add_argument("--throughput-trials", type=int, default=6, help="0 skips throughput")
    p.add_argument("--throughput-epochs", type=int, default=2)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)

    from rnnops.config import from_dictconfig
    from rnnops.entry import run_stage, seed_everything
    from rnnops.stages.prepare import prepare
    from rnnops.tasks import task_for

    with tempfile.TemporaryDirectory(prefix="rnnops-bench-sweep-") as folder:
        root = Path(folder)
        if args.data == "shakespeare":
            if not (SHARED / "tinyshakespeare.txt").exists():
                raise SystemExit(f"{SHARED / 'tinyshakespeare.txt'} not found; use --data co2")
            text = (SHARED / "tinyshakespeare.txt").read_text(encoding="utf-8")
            (root / SHAKESPEARE_TEXT).write_text(text[: args.chars], encoding="utf-8")
        prepared = compose(root, args.data, args.stride)
        run_stage("prepare", prepare, prepared)
        data = task_for(from_dictconfig(prepared)).load(from_dictconfig(prepared))
        # One LSTM implementation for every trial: the autotuner picks by timing, and on this
        # series the kernels' rounding differences alone can decide a trial's outcome, which
        # would make the same seed give other figures on another day.
        common = [f"sweep.max_epochs={args.max_epochs}", "sweep.n_startup_trials=4",
                  "sweep.min_epochs=1", "sweep.reduction_factor=3", "model.implementation=fused"]
        ratios: dict[str, list[float | None]] = {ARMS[a][0]: [] for a in args.arms}
        for seed in args.seeds:  # one seed is one draw of luck: the ratio is read over several
            results, seconds = {}, {}
            for arm in ("random", *args.arms):
                label, overrides = ARMS[arm]
                cfg = from_dictconfig(compose(root, args.data, args.stride, *common, *overrides,
                                              f"seed={seed}"))
                cfg.paths.optuna.mkdir(parents=True, exist_ok=True)
                seed_everything(cfg.seed)
                start = time.perf_counter()
                results[label] = search(cfg, data, args.budget, f"{arm}-{seed}")
                seconds[label] = time.perf_counter() - start
            for label, ratio in report(args, seed, results, seconds).items():
                ratios[label].append(ratio)
        if len(args.seeds) > 1:  # a seed where an arm never got there counts as infinitely long
            print("\nepochs to reach random search's best, against random search, per seed:")
            for label, per_seed in ratios.items():
                median = statistics.median(float("inf") if r is None else r for r in per_seed)
                shown = ", ".join("not reached" if r is None else f"{r:.2f}x" for r in per_seed)
                print(f"  {label}: {shown}; median {median:.2f}x")
        if not args.throughput_trials:
            return

        rates = {w: throughput(root, args.data, args.stride, w, args.throughput_trials,
                               args.throughput_epochs) for w in (1, 2)}
        print(f"\nthroughput ({args.throughput_trials} random trials x "
              f"{args.throughput_epochs} epochs, sweep stage with MLflow):")
        for workers, rate in rates.items():
            print(f"  {workers} worker(s): {rate:8.1f} trials/hour  ({rate / rates[1]:.2f}x)")


if __name__ == "__main__":
    main()
