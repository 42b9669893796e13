"""Every ready experiment (conf/experiment/) composes, prepares its real data and trains for one
short epoch; the full runs are pipelines/benchmarks' job, not the test suite's."""

from __future__ import annotations

import pytest

from rnnops.entry import run_stage
from tests.conftest import ROOT, compose
from tests.data.conftest import SHARED_DATA

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no local data at {SHARED_DATA}")
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_runs_one_short_epoch(tmp_path, experiment):
    cfg = compose(f"experiment={experiment}", f"paths.root={tmp_path}",
                  f"data.root={SHARED_DATA}", "train.max_epochs=1", "train.limit_batches=2")
    run_stage("prepare", cfg)
    result = run_stage("train", cfg)
    assert result["epochs_run"] == 1
    assert (tmp_path / "models" / "train" / "model.pt").is_file()


def test_every_benchmark_row_names_an_experiment():
    import yaml

    rows = yaml.safe_load((ROOT / "pipelines/benchmarks/rows.yaml").read_text())["rows"]
    assert {row["experiment"] for row in rows.values()} <= set(EXPERIMENTS)


def test_results_page_is_in_step_with_the_row_records():
    """docs/results.md is what table.py renders from rows.yaml and the tracked results/*.json,
    and every record belongs to a row: a row rerun without regenerating the page, or a record
    left behind by a renamed row, fails here."""
    import importlib.util

    import yaml

    bench = ROOT / "pipelines" / "benchmarks"
    rows = yaml.safe_load((bench / "rows.yaml").read_text())["rows"]
    assert {p.stem for p in (bench / "results").glob("*.json")} <= set(rows)
    spec = importlib.util.spec_from_file_location("benchmark_table", bench / "table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    assert table.render() == (ROOT / "docs" / "results.md").read_text()


def test_row_script_checks_its_arguments_before_any_work(tmp_path):
    """A misspelt stage, a data root that is not a folder and a bad override each stop row.py
    with one line before anything runs (a typo used to surface only after hours of training)."""
    import subprocess
    import sys

    def row(*args):
        return subprocess.run([sys.executable, "pipelines/benchmarks/row.py", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    cases = [
        (["etth1-univariate-24", "--stages", "train,evalute"], "unknown stage 'evalute'"),
        (["etth1-univariate-24", "--data-root", str(tmp_path / "none")], "is not a folder"),
        (["etth1-univariate-24", "trian.lr=1"], "trian"),
        (["no-such-row"], "unknown row 'no-such-row'"),
    ]
    for args, message in cases:
        out = row(*args)
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
