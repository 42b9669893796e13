"""evaluate on a wide series in bounded memory: test windows scored a batch at a time, the
linear baseline's normal equations accumulated per batch, interpretation on a sample. Measured
in a child process (its peak resident size against its size after the imports) under an
address-space limit, so that a regression stops there instead of taking the machine's memory."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, compose, run_stage

CHANNELS, ROWS, LOOKBACK, HORIZON = 21, 17_000, 96, 96
#: evaluate's own growth (peak RSS less the resident size after its imports) may not pass this.
#: Streaming, it measured about 0.3 GB here, most of it MLflow's client and the plots; the
#: evaluate that held every window and one design matrix took 1.6 GB on a 21-channel series of
#: 17,420 rows at the same lookback (docs/benchmarks.md).
BOUND = 600e6
HEADROOM = 3 << 30  # address space the child may add after its imports

CHILD = r"""
import json, resource, sys
from hydra import compose, initialize_config_dir
from rnnops.cli import stage_function
from rnnops.entry import run_stage
function = stage_function("evaluate")
with initialize_config_dir(sys.argv[1], version_base="1.3"):
    cfg = compose("config", overrides=sys.argv[3:])
size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
limit = size + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
imports = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()  # resident
run_stage("evaluate", function, cfg)
# VmHWM, this process's own peak: getrusage's ru_maxrss keeps the high-water mark of the
# memory exec replaced, which is the size of the process that started this one (pytest)
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({"imports": imports, "peak": peak}))
"""


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A prepared 21-channel, 10-minute series and a SegRNN trained on it for two batches."""
    root = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(0)
    t = np.arange(ROWS)[:, None]
    values = np.sin(2 * np.pi * t / 144 + rng.uniform(0, 6, CHANNELS)) \
        + 0.1 * rng.standard_normal((ROWS, CHANNELS))
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(CHANNELS)])
    frame.insert(0, "date", pd.date_range("2020-01-01", periods=ROWS, freq="10min")
                 .strftime("%Y-%m-%d %H:%M"))
    frame.to_csv(root / "wide.csv", index=False)
    overrides = [f"paths.root={root}", "data=csv", f"data.path={root / 'wide.csv'}",
                 "data.time_column=date", "data.target=c0", "data.features=M",
                 f"data.lookback={LOOKBACK}", f"data.horizon={HORIZON}", "model=segrnn",
                 "model.hidden_size=16", "model.segrnn.segment_length=24", "train.max_epochs=1",
                 "train.limit_batches=2", "train.use_best_params=false",
                 "trainer.progress_bar=false", "evaluate.backtest.folds=0"]
    for stage in ("prepare", "train"):
        run_stage(stage, compose(*overrides))
    return root, overrides


def test_evaluate_of_a_wide_series_stays_under_its_memory_bound(wide):
    root, overrides = wide
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "conf"), str(HEADROOM),
                          *overrides], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr[-3000:]
    memory = json.loads(out.stdout.strip().splitlines()[-1])
    prepared = sum(f.stat().st_size for f in (root / "data/prepared").glob("*.npy"))
    own = memory["peak"] - memory["imports"]
    assert own < BOUND, f"evaluate grew by {own / 1e6:.0f} MB (prepared {prepared / 1e6:.1f} MB)"
    # and it did its work: every forecaster scored on the 21 channels; the season the 10-minute
    # timestamps imply (a day) does not fit the lookback, so there is none, and it says why
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert list(metrics) == ["model", "last_value", "seasonal_naive", "window_mean", "linear"]
    assert all(math.isfinite(v) for m in metrics.values() for v in m.values())
    assert metrics["linear"]["mse"] < metrics["last_value"]["mse"]
    report = (root / "reports/report.md").read_text()
    assert ("**season period**: 1 (no season: a season of 144 rows (the timestamps: a day of "
            "144 steps of 10 minutes) is longer than data.lookback = 96") in report
