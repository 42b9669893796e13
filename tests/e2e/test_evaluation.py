"""The evaluate stage end to end on the real CO2 series: the model against every baseline on the
same test windows, the backtest, plots, report, MLflow (checked in a real browser) and the
champion alias."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, log_forecaster, promote, run_stage
from tests.e2e.conftest import mlflow_client, tiny

BASELINES = ["last_value", "seasonal_naive", "window_mean", "linear", "ets", "arima"]
METRICS = ["mse", "mae", "rmse", "smape", "mase"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    cfg = tiny(root, "train.max_epochs=6", "evaluate.backtest.folds=2")
    run_stage("prepare", cfg)
    info = run_stage("train", cfg)  # no sweep: train uses the configured values
    return root, run_stage("evaluate", cfg), info


def test_metrics_hold_the_model_and_every_baseline(evaluated):
    root, metrics, _ = evaluated
    assert json.loads((root / "reports/metrics.json").read_text()) == metrics
    assert list(metrics) == ["model", *BASELINES]
    intervals = {"coverage_80", "width_80", "coverage_95", "width_95", "pinball", "crps"}
    for values in metrics.values():
        assert set(values) == set(METRICS) | {f"{m}_original" for m in METRICS} | intervals
        assert values["mase_original"] == pytest.approx(values["mase"])  # scale-free
        assert values["width_80"] < values["width_95"] and values["crps"] > 0
    # Data-only baselines on CO2's 433 test windows (docs/benchmarks.md has the same figures)
    assert metrics["seasonal_naive"]["mse"] == pytest.approx(0.03004, abs=5e-5)
    assert metrics["last_value"]["mse"] == pytest.approx(0.08902, abs=5e-5)
    # its split-conformal intervals under-cover: the trend makes test errors exceed validation's
    assert metrics["seasonal_naive"]["coverage_80"] == pytest.approx(0.5815, abs=5e-4)
    assert metrics["seasonal_naive"]["coverage_95"] == pytest.approx(0.8154, abs=5e-4)
    # on this trending, seasonal series the linear and ARIMA models beat the seasonal naive
    # forecast, which beats the last value; ETS only the last value
    for fitted in ("linear", "arima"):
        assert metrics[fitted]["mse"] < metrics["seasonal_naive"]["mse"]
    for better in ("seasonal_naive", "ets"):
        assert metrics[better]["mase"] < metrics["last_value"]["mase"]


def test_plots_data_files_and_report(evaluated):
    root, metrics, info = evaluated
    plots = root / "reports/plots"
    for name in ["forecast", "forecast_windows", "horizon", "comparison", "backtest", "gates"]:
        assert (plots / f"{name}.png").stat().st_size > 5000, name
        assert (plots / f"{name}.csv").is_file(), name
    assert (plots / "learning_curve.png").is_file() and (plots / "attention.png").is_file()
    horizon = pd.read_csv(plots / "horizon.csv")
    assert list(horizon.columns) == ["step", "model", *BASELINES] and len(horizon) == 26
    # the per-step MAE averages to the overall MAE (every step has the same windows)
    assert horizon["model"].mean() == pytest.approx(metrics["model"]["mae"], rel=1e-9)
    original = pd.read_csv(plots / "horizon_original.csv")
    assert list(original.columns) == list(horizon.columns) and len(original) == 26
    assert original["model"].mean() == pytest.approx(metrics["model"]["mae_original"], rel=1e-6)
    gates = pd.read_csv(plots / "gates.csv")
    assert list(gates.columns) == ["step", "gate", "mean"]
    assert gates.groupby("gate")["step"].count().to_dict() == {
        "input": 104, "forget": 104, "output": 104}
    assert gates["mean"].between(0, 1).all()
    assert list(pd.read_csv(plots / "attention.csv").columns) == [  # no attention: header only
        "horizon_step", "lookback_step", "weight"]
    table = pd.read_csv(plots / "backtest_table.csv")
    assert sorted(table["fold"].unique()) == [1, 2]
    assert table.groupby("forecaster")["windows"].sum().eq(433).all()
    assert (table["fit_end"] == table["first_origin"] + 1).all()  # nothing after the origin
    report = (root / "reports/report.md").read_text()
    for name in ["model", *BASELINES]:
        assert f"| {name} | {metrics[name]['mse']:.4g} |" in report
    assert "![Forecast against actual, test period](plots/forecast.png)" in report
    # reports/report.md is a DVC output: nothing in it depends on the MLflow store
    assert info["run_id"] not in report and "MLflow copy of this report" in report
    client = mlflow_client(root)
    mlflow_copy = Path(client.download_artifacts(info["run_id"], "evaluation/report.md",
                                                 str(root / "downloaded"))).read_text()
    assert f"run {info['run_id']}, rnnops-co2-forecaster v{info['model_version']}" in mlflow_copy
    assert f"Version {info['model_version']} of `rnnops-co2-forecaster`" in mlflow_copy


def test_mlflow_run_has_metrics_curves_artifacts_and_champion(evaluated):
    root, metrics, info = evaluated
    client = mlflow_client(root)
    run = client.get_run(info["run_id"])
    for name in BASELINES:
        assert run.data.metrics[f"test/{name}/mase"] == pytest.approx(metrics[name]["mase"])
    curve = client.get_metric_history(info["run_id"], "test/mae_by_step")
    assert [m.step for m in sorted(curve, key=lambda m: m.step)] == list(range(1, 27))
    files = {a.path for a in client.list_artifacts(info["run_id"], "evaluation")}
    assert {"evaluation/plots", "evaluation/report.md", "evaluation/metrics.json"} <= files
    plots = {a.path for a in client.list_artifacts(info["run_id"], "evaluation/plots")}
    assert "evaluation/plots/forecast.png" in plots
    champion = client.get_model_version_by_alias("rnnops-co2-forecaster", "champion")
    assert str(champion.version) == info["model_version"]
    assert float(champion.tags["rnnops.test_mse"]) == pytest.approx(metrics["model"]["mse"])
    assert champion.tags["rnnops.champion_test_mse"] == "none"


def test_champion_moves_only_on_improvement(evaluated):
    import mlflow

    from rnnops.data.prepared import PreparedData
    from rnnops.models.io import load_model

    root, metrics, info = evaluated
    name, first = "rnnops-co2-forecaster", info["model_version"]
    best = metrics["model"]["mse"]
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    model = load_model(root / "models/train/model.pt")
    data = PreparedData.load(root / "data/prepared")
    client = mlflow_client(root)
    with mlflow.start_run():
        worse = log_forecaster(model, data, 104, 26, name)
        decision = promote(name, worse, "mse", best * 1.5)
        assert not decision["promoted"]
        assert str(client.get_model_version_by_alias(name, "champion").version) == first
        tags = client.get_model_version(name, worse).tags
        assert float(tags["rnnops.test_mse"]) == pytest.approx(best * 1.5)
        assert float(tags["rnnops.champion_test_mse"]) == pytest.approx(best)
        assert tags["rnnops.champion_version"] == first
        tie = log_forecaster(model, data, 104, 26, name)
        assert not promote(name, tie, "mse", best)["promoted"]
        better = log_forecaster(model, data, 104, 26, name)
        assert promote(name, better, "mse", best * 0.5)["promoted"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == better
    assert float(client.get_model_version(name, better).tags["rnnops.champion_test_mse"]) == \
        pytest.approx(best)
    # evaluating the champion again keeps it
    again = promote(name, better, "mse", best * 0.5)
    assert again["promoted"] and again["already_champion"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == better


def test_champion_is_not_compared_across_test_sets(evaluated):
    """A model scored on other data (here another horizon) never takes the alias by a lower
    score: its forecasts have another shape, so `rnnops predict` would change under users."""
    import dataclasses

    import mlflow

    from rnnops.config import DataConfig
    from rnnops.data.prepared import PreparedData
    from rnnops.data.provenance import test_set_id
    from rnnops.evaluation.report import registry_section
    from rnnops.models.io import load_model

    root, metrics, info = evaluated
    name = "rnnops-co2-forecaster-sets"
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    model = load_model(root / "models/train/model.pt")
    data = PreparedData.load(root / "data/prepared")
    h26 = test_set_id(DataConfig())
    h52 = test_set_id(dataclasses.replace(DataConfig(), horizon=52))
    assert h26 != h52 and h26 == test_set_id(DataConfig(root="/elsewhere"))
    client = mlflow_client(root)
    with mlflow.start_run():
        first = log_forecaster(model, data, 104, 26, name)
        assert promote(name, first, "mse", 1.0, h26)["promoted"]
        other = log_forecaster(model, data, 104, 26, name)
        decision = promote(name, other, "mse", 0.1, h52)
        assert not decision["promoted"] and decision["champion_other_data"]
        assert "scored on other data" in " ".join(registry_section(decision, "mse"))
        assert client.get_model_version(name, other).tags["rnnops.test_set"] == h52
        same = log_forecaster(model, data, 104, 26, name)
        assert promote(name, same, "mse", 0.5, h26)["promoted"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == same


def test_seq2seq_attention_heat_map(tmp_path):
    cfg = tiny(tmp_path, "model=seq2seq", "train.max_epochs=1", "train.limit_batches=4",
               "evaluate.backtest.folds=0", "evaluate.baselines=[last_value]")
    for stage in ("prepare", "train"):
        run_stage(stage, cfg)
    metrics = run_stage("evaluate", cfg)
    assert list(metrics) == ["model", "last_value"]
    attention = pd.read_csv(tmp_path / "reports/plots/attention.csv")
    assert len(attention) == 26 * 104
    # each horizon step's weights over the lookback form a distribution
    sums = attention.groupby("horizon_step")["weight"].sum()
    assert sums.to_numpy() == pytest.approx([1.0] * 26, abs=1e-5)
    assert (tmp_path / "reports/plots/attention.png").stat().st_size > 10_000
    assert "![Attention (encoder-decoder)](plots/attention.png)" in \
        (tmp_path / "reports/report.md").read_text()


def test_drop_last_windows_are_scored_beside_the_full_test_set(tmp_path, capsys):
    """evaluate.drop_last_batch=100 scores CO2's first 400 of 433 test windows too, as a test
    loader of batch 100 with drop_last would (the published ETT figures' protocol)."""
    import numpy as np

    from rnnops.config import from_dictconfig
    from rnnops.data.prepared import PreparedData

    cfg = tiny(tmp_path, "train.max_epochs=1", "evaluate.backtest.folds=0",
               "evaluate.baselines=[last_value]", "evaluate.drop_last_batch=100")
    for stage in ("prepare", "train"):
        run_stage(stage, cfg)
    metrics = run_stage("evaluate", cfg)
    # the last-value forecast on the first 400 windows, sliced here from the test rows
    c = from_dictconfig(cfg)
    data = PreparedData.load(c.paths.prepared, c.data)
    rows, (target,) = data.arrays["test"].astype(np.float64), data.target_columns
    lookback, horizon = c.data.lookback, c.data.horizon
    assert len(rows) - lookback - horizon + 1 == 433
    errors = np.stack([rows[i + lookback:i + lookback + horizon, target]
                       - rows[i + lookback - 1, target] for i in range(400)])
    first = metrics["last_value"]
    assert first["mse_drop_last"] == pytest.approx((errors ** 2).mean(), rel=1e-9)
    assert first["mae_drop_last"] == pytest.approx(np.abs(errors).mean(), rel=1e-9)
    assert first["mse_drop_last"] != pytest.approx(first["mse"], rel=1e-3)
    assert set(metrics["model"]) >= {"mse_drop_last", "mae_drop_last"}
    report = (tmp_path / "reports/report.md").read_text()
    assert "## Test metrics on the drop_last windows" in report
    assert "the first 400 also scored alone" in report
    # a batch larger than the test set would keep no window: one line naming the key
    shutil.rmtree(tmp_path / "reports")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_stage("evaluate", tiny(tmp_path, "evaluate.drop_last_batch=434"))
    assert stop.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "evaluate.drop_last_batch" in line and "433 test windows" in line
    assert not (tmp_path / "reports").exists()


def test_unknown_baseline_fails_before_any_work(evaluated, tmp_path, capsys):
    """A config mistake: one line naming the key and the choices, before the prepared data, the
    model or the MLflow store are even read (this folder has no store)."""
    root = evaluated[0]
    for folder in ("data", "models"):
        shutil.copytree(root / folder, tmp_path / folder)
    with pytest.raises(SystemExit) as stop:
        run_stage("evaluate", tiny(tmp_path, "evaluate.baselines=[last_value,prophet]"))
    assert stop.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "evaluate.baselines" in line and "'prophet'" in line and "seasonal_naive" in line
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.skipif(not shutil.which("chromium"),
                    reason="Debian's chromium is not installed (make system-packages)")
def test_mlflow_ui_shows_the_run_its_test_metric_and_the_forecast_plot(evaluated, tmp_path):
    """A real `mlflow ui` on this store, opened in headless Chromium."""
    root, metrics, info = evaluated
    ui = runpy.run_path(str(ROOT / "scripts" / "screenshots.py"))
    experiment = mlflow_client(root).get_experiment_by_name("rnnops-co2").experiment_id
    with ui["mlflow_ui"](root / "mlruns") as url, ui["browser_page"]() as page:
        text = ui["runs_page"](page, url, experiment, tmp_path / "runs.png")
        assert "train-lstm" in text and "rnnops-co2-forecaster" in text
        row = ui["run_metrics"](page, url, experiment, info["run_id"], tmp_path / "run.png")
        assert "test/mse" in row and f"{metrics['model']['mse']:.6f}"[:7] in row
        width = ui["forecast_artifact"](page, url, experiment, info["run_id"],
                                        tmp_path / "forecast.png")
        assert width == 1000  # forecast.png is 10 x 4 inches at 100 dpi
    for shot in ("runs.png", "run.png", "forecast.png"):
        assert (tmp_path / shot).stat().st_size > 10_000


def test_dvc_plots_show_renders_every_evaluate_plot(evaluated, tmp_path):
    """dvc.yaml's plot definitions against the files evaluate wrote (no sweep ran here)."""
    import os
    import subprocess
    import sys

    import yaml

    root = evaluated[0]
    project = tmp_path / "project"
    for folder in ("reports", "models/train"):
        shutil.copytree(root / folder, project / folder)
    shutil.copytree(ROOT / "plots", project / "plots")  # the custom Vega-Lite templates
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    (project / "dvc.yaml").write_text(yaml.safe_dump({"plots": plots}, sort_keys=False))
    dvc = [sys.executable, "-m", "dvc"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=project, env=env, check=True)
    out = subprocess.run([*dvc, "plots", "show", "--json"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=120)
    shown = json.loads(out.stdout)
    assert {e["name"] for e in shown.get("errors", [])} == {"sweep trials"}
    rendered = {name for name, data in shown["data"].items() if data}
    # an LSTM with the direct head has no attention weights: that plot's data is empty
    assert rendered == {next(iter(p)) if isinstance(p, dict) else p for p in plots} - \
        {"sweep trials", "attention (encoder-decoder)"}
    windows = shown["data"]["sample test windows"][0]["content"]
    assert {row["field"] for row in windows["data"]["values"]} == {"actual", "forecast"}
    assert windows["encoding"]["detail"] == {"field": "window", "type": "nominal"}
    gates = shown["data"]["gate activations (mean over units)"][0]["content"]
    assert {row["gate"] for row in gates["data"]["values"]} == {"input", "forget", "output"}


def test_a_constant_target_has_no_mase_and_the_report_says_why(tmp_path):
    """MASE divides by the seasonal-naive error of the training rows, 0 for a constant target:
    metrics.json holds null (valid JSON, no bare NaN) and report.md the reason; the season is
    read from the hourly timestamps."""
    times = pd.date_range("2024-01-01", periods=600, freq="h")
    pd.DataFrame({"date": times.strftime("%Y-%m-%d %H:%M"), "level": 5.0}).to_csv(
        tmp_path / "flat.csv", index=False)
    cfg = tiny(tmp_path, "data=csv", f"data.path={tmp_path / 'flat.csv'}", "data.target=level",
               "data.time_column=date", "data.lookback=48", "data.horizon=12",
               "train.max_epochs=1", "train.limit_batches=2", "train.use_best_params=false",
               "evaluate.backtest.folds=0")
    for stage in ("prepare", "train", "evaluate"):
        run_stage(stage, cfg)

    def no_nan(constant):
        raise AssertionError(f"bare {constant} in metrics.json")

    metrics = json.loads((tmp_path / "reports/metrics.json").read_text(), parse_constant=no_nan)
    assert {name: (m["mase"], m["mase_original"]) for name, m in metrics.items()} == {
        name: (None, None) for name in ["model", *BASELINES]}
    assert metrics["last_value"]["mse"] == 0.0
    report = (tmp_path / "reports/report.md").read_text()
    assert "**season period**: 24 (from the timestamps: a day of 24 steps of 1 hour)" in report
    assert "**MASE**: none (null in metrics.json): the training rows of 'level' repeat the " \
           "seasonal-naive forecast exactly" in report
    assert "| last_value | 0 | 0 | 0 | 0 | n/a |" in report
