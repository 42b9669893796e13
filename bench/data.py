"""Data benchmarks: the prepare stage against pandas.read_csv alone on one large CSV, and the
memory of windowing a long series (views against materialized windows).

    python bench/data.py                    # 10 million rows x 8 columns (about 1.4 GB of CSV)
    python bench/data.py --rows 1000000     # quicker
    python bench/data.py --time-column      # plus a column of timestamps (data.time_column)

Each side runs in its own child process (wall time and peak RSS of that process); the ratios
are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

CHILD = r"""
import json, sys, time
start = time.perf_counter()
{body}
# VmHWM is this process's own peak; ru_maxrss would keep the starting process's size across exec
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": time.perf_counter() - start, "peak_rss": peak}}))
"""

READ_CSV = "import pandas as pd\npd.read_csv({path!r})"
PREPARE = """
from hydra import compose, initialize_config_dir
from rnnops.entry import run_stage
from rnnops.stages.prepare import prepare
with initialize_config_dir({conf!r}, version_base="1.3"):
    cfg = compose("config", overrides={overrides!r})
run_stage("prepare", prepare, cfg)
"""


def child(body: str) -> dict[str, float]:
    # imports are part of neither figure: each child imports before the clock starts
    os.sync()  # no child's clock runs while the CSV or an earlier child's output is written back
    prelude = "import pandas, numpy\n" + ("import rnnops.stages.prepare\n" if "rnnops" in body
                                           else "")
    code = prelude + CHILD.format(body=body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_csv(path: Path, rows: int, columns: int = 8, time_column: bool = False) -> None:
    """Float32 noise; with `time_column`, a first column `date` of ISO minute timestamps."""
    rng = np.random.default_rng(0)
    chunk = 1_000_000
    start_time = np.datetime64("2000-01-01T00:00", "m")
    with open(path, "w") as f:
        f.write(",".join((["date"] if time_column else []) + [f"c{i}" for i in range(columns)])
                + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            block = rng.standard_normal((n, columns)).astype(np.float32)
            if not time_column:
                np.savetxt(f, block, fmt="%.6g", delimiter=",")
                continue
            text = io.StringIO()
            np.savetxt(text, block, fmt="%.6g", delimiter=",")
            stamps = np.datetime_as_string(start_time + np.arange(start, start + n), unit="s")
            f.writelines(f"{t.replace('T', ' ')},{line}\n"
                         for t, line in zip(stamps, text.getvalue().splitlines(), strict=True))


def window_memory(lookback: int = 720, horizon: int = 96) -> tuple[str, int, int, int]:
    import torch

    from rnnops.data.windows import WindowDataset

    if (SHARED_DATA / "ETTm1.csv").exists():
        import pandas as pd

        values = pd.read_csv(SHARED_DATA / "ETTm1.csv").drop(columns="date").to_numpy()
        name = "ETTm1 train rows"
    else:
        values = np.random.default_rng(0).standard_normal((69_680, 7))
        name = "ETTm1-sized synthetic"
    train = torch.from_numpy(values[:34_560].astype(np.float32))
    ds = WindowDataset(train, lookback, horizon)
    view_bytes = ds.series.untyped_storage().nbytes()
    materialized = len(ds) * (lookback + horizon) * train.shape[1] * 4
    return name, len(ds), view_bytes, materialized


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--time-column", action="store_true",
                   help="add a first column of ISO timestamps, parsed as data.time_column")
    args = p.parse_args()
    columns = 8
    with tempfile.TemporaryDirectory(prefix="rnnops-bench-data-") as tmp:
        csv = Path(tmp) / "big.csv"
        write_csv(csv, args.rows, columns, args.time_column)
        overrides = [f"paths.root={tmp}", "data=csv", f"data.path={csv}", "data.target=c0",
                     "data.features=M", "data.missing=error", "trainer.progress_bar=false"]
        if args.time_column:
            overrides.append("data.time_column=date")
        reads, prepares = [], []
        for _ in range(args.repeats):  # interleaved, so drift hits both sides alike
            reads.append(child(READ_CSV.format(path=str(csv))))
            prepares.append(child(PREPARE.format(conf=str(ROOT / "conf"), overrides=overrides)))
        size = csv.stat().st_size
    read = min(reads, key=lambda r: r["seconds"])
    prep = min(prepares, key=lambda r: r["seconds"])
    raw = args.rows * columns * 4  # the data as one float32 array
    print(f"CSV: {args.rows:,} rows x {columns} columns"
          f"{' and a time column' if args.time_column else ''}, {size / 1e9:.2f} GB")
    print(f"{'what':<34}{'value':>14}  {'against':<26}{'ratio':>7}")
    print(f"{'prepare wall (s)':<34}{prep['seconds']:>14.1f}  {'pandas.read_csv alone':<26}"
          f"{prep['seconds'] / read['seconds']:>7.2f}")
    print(f"{'pandas.read_csv wall (s)':<34}{read['seconds']:>14.1f}")
    print(f"{'prepare peak RSS (MB)':<34}{prep['peak_rss'] / 1e6:>14.0f}  "
          f"{'raw float32 array':<26}{prep['peak_rss'] / raw:>7.2f}")
    print(f"{'read_csv peak RSS (MB)':<34}{read['peak_rss'] / 1e6:>14.0f}  "
          f"{'raw float32 array':<26}{read['peak_rss'] / raw:>7.2f}")
    name, n, view, full = window_memory()
    print(f"{'windows L=720 H=96, ' + name:<34}{n:>14,}")
    print(f"{'  as views (MB), O(N)':<34}{view / 1e6:>14.1f}  {'materialized, O(N*L)':<26}"
          f"{view / full:>7.4f}")
    print(f"{'  materialized (MB)':<34}{full / 1e6:>14.1f}")


if __name__ == "__main__":
    main()
