"""A global model (data.stack): one univariate network trained on every series of a table and of
stacked tables, each series scaled on its own; served by series id; its weights fit any other
stack, whatever its number of series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnops.cli import main
from rnnops.data.prepared import PreparedData
from tests.conftest import run_stage
from tests.e2e.conftest import TINY, compose, mlflow_client, run_script

NAME = "rnnops-csv-forecaster"
LEVELS = {"a": 10.0, "b": 100.0, "c": 50.0}  # each series' own level: scaled on its own


def write_series(path, columns, rows, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=rows, freq="h")})
    for number, column in enumerate(columns):
        frame[column] = (LEVELS[column] + LEVELS[column] / 10 * np.sin(2 * np.pi * t / 24 + number)
                         + rng.normal(0, LEVELS[column] / 100, rows))
    frame.to_csv(path, index=False)


def stack(root, *extra):
    return ["data=csv", f"data.path={root / 'wide.csv'}", "data.target=a",
            "data.time_column=date", "data.features=M", "data.stack=true",
            f"data.tables=[{{name: other, path: {root / 'other.csv'}, target: c}}]",
            "data.lookback=24", "data.horizon=6", "data.season_period=24",
            "train.use_best_params=false", "train.max_epochs=4", f"paths.root={root}",
            *TINY, *extra]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Series a and b in one file, c (shorter) in another: one global model trained on the
    three, registered and evaluated."""
    root = tmp_path_factory.mktemp("global")
    write_series(root / "wide.csv", ["a", "b"], 400, seed=0)
    write_series(root / "other.csv", ["c"], 300, seed=1)
    for stage in ("prepare", "train", "evaluate"):
        run_stage(stage, compose(*stack(root)))
    return root


def forecast(root, tmp_path, history: pd.DataFrame, name="history.csv"):
    path = tmp_path / name
    history.to_csv(path, index=False)
    out = tmp_path / f"forecast-{name}"
    assert main(["predict", "-i", str(path), "-m", NAME, "-o", str(out),
                 f"paths.root={root}"]) == 0
    return pd.read_csv(out)


def test_the_stack_is_three_series_windows_within_each(project):
    data = PreparedData.load(project / "data" / "prepared")
    assert data.series_ids() == ["a", "b", "c"]
    windows = data.series_windows("train", 24, 6)
    per_table = [len(t.windows("train", 24, 6)) * t.n_channels for t in (data, *data.tables)]
    assert len(windows) == sum(per_table)
    x, y = windows.batch(list(range(len(windows))))
    assert x.shape[1:] == (24, 1) and y.shape[1:] == (6, 1)
    # each series' first and last windows are its own first and last rows, in order
    rows = np.concatenate([x[:, :, 0].numpy(), y[:, :, 0].numpy()], axis=1)
    start = 0
    for table in (data, *data.tables):
        n, width = len(table.windows("train", 24, 6)), table.n_channels
        for column in range(width):
            values = table.arrays["train"][:, column]
            np.testing.assert_array_equal(rows[start + column], values[:30])
            np.testing.assert_array_equal(rows[start + (n - 1) * width + column], values[-30:])
        start += n * width


def test_each_series_is_forecast_by_its_id_on_its_own_scale(project, tmp_path):
    wide = pd.read_csv(project / "wide.csv").tail(48)
    other = pd.read_csv(project / "other.csv").tail(48)
    history = pd.DataFrame({"date": wide["date"].to_numpy(), "c": other["c"].to_numpy(),
                            "a": wide["a"].to_numpy()})
    both = forecast(project, tmp_path, history)
    assert list(both.columns) == ["step", "date", "c", "a"] and len(both) == 6
    for series in ("c", "a"):  # within a tenth of its level: each read on its own scale
        assert abs(both[series] - LEVELS[series]).max() < LEVELS[series] * 0.3
        alone = forecast(project, tmp_path, history[["date", series]], f"{series}.csv")
        np.testing.assert_allclose(alone[series], both[series], rtol=1e-5)


def test_a_history_of_no_known_series_is_one_line(project, tmp_path):
    path = tmp_path / "unknown.csv"
    pd.DataFrame({"date": pd.date_range("2021-01-01", periods=30, freq="h"),
                  "z": np.ones(30)}).to_csv(path, index=False)
    out = run_script_cli(["predict", "-i", str(path), "-m", NAME, f"paths.root={project}"])
    assert out.returncode == 2
    (line,) = [x for x in out.stderr.splitlines() if "error" in x]
    assert "names none of the model's series" in line and "a, b, c" in line


def run_script_cli(args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "rnnops.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_metrics_pool_every_table(project):
    report = (project / "reports" / "report.md").read_text()
    assert "csv (2 series, " in report and "other (1 series, " in report


def test_its_weights_start_a_stack_of_another_width(project, tmp_path):
    """The global model's weights fit a stack of one table and two series: transfer learning
    from many series to a short new one loads every layer."""
    root = tmp_path / "fine"
    root.mkdir()
    write_series(root / "wide.csv", ["a", "b"], 200, seed=3)
    overrides = [*stack(root), "data.tables=[]", f"train.init_from=models:/{NAME}/1",
                 f"tracking.uri=sqlite:///{project / 'mlruns' / 'mlflow.db'}"]
    run_stage("prepare", compose(*overrides))
    info = run_stage("train", compose(*overrides))
    assert mlflow_client(project).get_run(info["run_id"]).data.tags["rnnops.init_from"] == \
        f"models:/{NAME}/1"


def test_stacking_asks_for_what_it_needs():
    out = run_script("prepare", "data=csv", "data.path=x.csv", "data.target=a",
                     "data.tables=[{path: y.csv}]")
    assert out.returncode == 2
    assert "data.tables" in out.stderr and "set data.stack=true" in out.stderr
    out = run_script("prepare", "data=csv", "data.path=x.csv", "data.target=a",
                     "data.stack=true", "data.tables=[{path: y.csv, lookback: 5}]")
    assert out.returncode == 2 and "data.tables.0.lookback" in out.stderr


def test_intervals_are_served_on_each_series_scale(project, tmp_path):
    wide = pd.read_csv(project / "wide.csv").tail(48)
    path = tmp_path / "both.csv"
    wide.to_csv(path, index=False)
    out = tmp_path / "bounds.csv"
    assert main(["predict", "-i", str(path), "-m", NAME, "-o", str(out), "--intervals",
                 f"paths.root={project}"]) == 0
    bounds = pd.read_csv(out)
    for series in ("a", "b"):
        assert (bounds[f"{series}_lo_95"] <= bounds[f"{series}_lo_80"]).all()
        assert (bounds[f"{series}_lo_80"] < bounds[series]).all()
        assert (bounds[series] < bounds[f"{series}_hi_80"]).all()
    # one network's widths, each in its series' units: b's spread is ten times a's
    ratio = (bounds["b_hi_80"] - bounds["b_lo_80"]) / (bounds["a_hi_80"] - bounds["a_lo_80"])
    assert np.allclose(ratio, ratio.iloc[0]) and 5 < ratio.iloc[0] < 20
