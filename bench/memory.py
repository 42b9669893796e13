"""Peak memory of each pipeline stage against the size of the prepared arrays, for series of 1, 7
and 21 channels at lookback 96 and 720 (horizon 96).

    python bench/memory.py                         # ETTh1-sized series (17,420 hourly rows)
    python bench/memory.py --rows 52696 --channels 21 --lookbacks 720   # weather-sized
    python bench/memory.py --code /old/checkout    # evaluate of another checkout's src/ too

The series are ETT files from ../shared/data where they are (1: ETTh1's OT; 7: ETTh1; 21:
ETTh1, ETTh2 and ETTm1's first rows side by side), else seeded sines with noise of the same
shape. Each stage runs in its own child process (prepare, then a short train of SegRNN, then
evaluate without the backtest), which reports its peak RSS and its resident size after the
imports; the table gives both and the ratio of the stage's own growth (peak - imports) to the
prepared arrays. `--code` runs evaluate a second time with another checkout's src/ and conf/ on
the same prepared data and model, under an address-space limit (`--limit-gb`) so that a version
that would take the machine's memory stops instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

CHILD = r"""
import json, resource, sys
from hydra import compose, initialize_config_dir
from rnnops.cli import stage_function
from rnnops.entry import run_stage
stage = {stage!r}
function = stage_function(stage)  # the stage's own imports (torch, Lightning, MLflow...)
if {limit!r}:
    resource.setrlimit(resource.RLIMIT_AS, ({limit!r}, {limit!r}))
with initialize_config_dir({conf!r}, version_base="1.3"):
    cfg = compose("config", overrides={overrides!r})
imports = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()  # resident
try:
    run_stage(stage, function, cfg)
    failed = None
except MemoryError:
    failed = "MemoryError"
# VmHWM is this process's own peak; ru_maxrss would keep the starting process's size across exec
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({{"imports": imports, "failed": failed, "peak": peak}}))
"""


def run_child(stage: str, overrides: list[str], src: Path = ROOT / "src",
              conf: Path = ROOT / "conf", limit: int = 0) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore"}
    code = CHILD.format(stage=stage, conf=str(conf), overrides=overrides, limit=limit)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"failed": f"exit {out.returncode}: {tail[0][:120]}"}
    return json.loads(lines[-1])


def wide_series(channels: int, rows: int | None) -> tuple[pd.DataFrame, str]:
    """(frame with a date column and `channels` value columns, what it is)."""
    files = [SHARED_DATA / f for f in ("ETTh1.csv", "ETTh2.csv", "ETTm1.csv")]
    if rows is None and all(f.exists() for f in files):
        parts = [pd.read_csv(f) for f in files]
        n = len(parts[0])
        date = parts[0]["date"]
        values = pd.concat([p.drop(columns="date").iloc[:n].reset_index(drop=True)
                            .add_prefix(f"{f.stem}_") for p, f in zip(parts, files, strict=True)],
                           axis=1)
        if channels == 1:
            values = values[["ETTh1_OT"]]
        else:
            values = values.iloc[:, :channels]
        return pd.concat([date, values], axis=1), "ETT (ETTh1, ETTh2, ETTm1 side by side)"
    rows = rows or 17_420
    rng = np.random.default_rng(0)
    t = np.arange(rows)[:, None]
    phase = rng.uniform(0, 2 * np.pi, channels)
    values = (np.sin(2 * np.pi * t / 144 + phase) + 0.3 * np.sin(2 * np.pi * t / 1008)
              + 0.1 * rng.standard_normal((rows, channels)).cumsum(axis=0) / 30)
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(channels)])
    frame.insert(0, "date", pd.date_range("2020-01-01", periods=rows, freq="10min")
                 .strftime("%Y-%m-%d %H:%M"))
    return frame, "synthetic 10-minute sines with noise"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, nargs="+", default=[1, 7, 21])
    p.add_argument("--lookbacks", type=int, nargs="+", default=[96, 720])
    p.add_argument("--horizon", type=int, default=96)
    p.add_argument("--rows", type=int, help="synthetic rows (default: the ETT files' 17,420)")
    p.add_argument("--code", type=Path, help="another checkout: its evaluate runs too")
    p.add_argument("--limit-gb", type=float, default=8.0,
                   help="address-space limit of --code's evaluate (GB)")
    args = p.parse_args()
    print(f"{'ch':>3} {'L':>4} {'prepared MB':>11} | {'stage':<9}{'peak MB':>8}"
          f"{'imports MB':>11}{'own MB':>8}{'own/prepared':>13}")
    for channels in args.channels:
        frame, what = wide_series(channels, args.rows)
        for lookback in args.lookbacks:
            with tempfile.TemporaryDirectory(prefix="rnnops-bench-memory-") as tmp:
                csv = Path(tmp) / "series.csv"
                frame.to_csv(csv, index=False)
                n = len(frame)
                overrides = [
                    f"paths.root={tmp}", "data=csv", f"data.path={csv}", "data.time_column=date",
                    f"data.target={frame.columns[-1]}",
                    f"data.features={'S' if channels == 1 else 'M'}",
                    f"data.lookback={lookback}", f"data.horizon={args.horizon}",
                    "data.split.protocol=counts", f"data.split.train={int(n * 0.6)}",
                    f"data.split.val={int(n * 0.2)}", f"data.split.test={int(n * 0.2)}",
                    "model=segrnn", "model.hidden_size=32", "model.segrnn.segment_length=24",
                    "train.max_epochs=1", "train.limit_batches=4", "train.use_best_params=false",
                    "trainer.progress_bar=false", "evaluate.backtest.folds=0",
                ]
                results = {stage: run_child(stage, overrides)
                           for stage in ("prepare", "train", "evaluate")}
                prepared = sum(f.stat().st_size for f in (Path(tmp) / "data/prepared")
                               .glob("*.npy")) if (Path(tmp) / "data/prepared").exists() else 0
                if args.code is not None:
                    results["evaluate (--code)"] = run_child(
                        "evaluate", overrides, args.code / "src", args.code / "conf",
                        int(args.limit_gb * 1e9))
                for i, (stage, r) in enumerate(results.items()):
                    head = (f"{channels:>3} {lookback:>4} {prepared / 1e6:>11.1f}" if i == 0
                            else " " * 20)
                    if r.get("failed"):
                        print(f"{head} | {stage:<9} {r['failed']}")
                        continue
                    own = r["peak"] - r["imports"]
                    print(f"{head} | {stage:<9}{r['peak'] / 1e6:>8.0f}{r['imports'] / 1e6:>11.0f}"
                          f"{own / 1e6:>8.0f}{own / prepared:>13.1f}", flush=True)
        print(f"    ({channels} channel(s): {what}, {len(frame):,} rows)")


if __name__ == "__main__":
    main()
