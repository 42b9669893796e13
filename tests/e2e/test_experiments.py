"""Every ready experiment (conf/experiment/) composes, prepares its real data and trains for one
short epoch; the full runs are pipelines/benchmarks' job, not the test suite's."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, compose, run_stage
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
    import yaml

    bench = ROOT / "pipelines" / "benchmarks"
    rows = yaml.safe_load((bench / "rows.yaml").read_text())["rows"]
    assert {p.stem for p in (bench / "results").glob("*.json")} <= set(rows)
    assert load_table().render() == (ROOT / "docs" / "results.md").read_text()


def load_table():
    """pipelines/benchmarks/table.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "benchmark_table", ROOT / "pipelines" / "benchmarks" / "table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    return table


def test_results_page_judges_targets_on_the_full_test_set_and_the_drop_last_windows():
    table = load_table()
    from rnnops.evaluation.report import DROP_LAST

    assert table.DROP_LAST == DROP_LAST  # the page reads the keys evaluate writes
    record = {"metrics": {"model": {"mse": 0.349, "mae": 0.380, "mse_drop_last": 0.341,
                                    "mae_drop_last": 0.375}}}
    assert table.target_met(record, {"mse": 0.345}) == "no (drop_last: yes)"
    assert table.target_met(record, {"mse": 0.35}) == "yes (drop_last: yes)"
    assert table.target_met(record, {"mse": 0.34}) == "no (drop_last: no)"
    assert table.ours(record) == "0.349 / 0.380 (drop_last windows: 0.341 / 0.375)"
    plain = {"metrics": {"model": {"mse": 0.349, "mae": 0.380}}}
    assert table.target_met(plain, {"mse": 0.345}) == "no"
    assert table.ours(plain) == "0.349 / 0.380"


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
