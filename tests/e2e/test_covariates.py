"""Covariates: past covariates are read, never forecast; future covariates and calendar features
are read over the horizon too. A series driven by a known plan is forecast far better with it;
zeroing it changes the forecast; a request without it is refused, naming it; bad covariate
config is one line with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from rnnops.cli import main
from rnnops.data.prepared import PreparedData
from rnnops.models.io import load_model
from tests.conftest import run_stage
from tests.e2e.conftest import TINY, compose, run_script

NAME = "rnnops-csv-forecaster"
HORIZON, LOOKBACK = 12, 48


def write_series(path):
    """Hourly load lifted by 8 whenever a promotion (planned ahead) runs."""
    rng = np.random.default_rng(0)
    n = 1200
    promo = (rng.random(n) < 0.15).astype(float)
    load = (20 + 3 * np.sin(2 * np.pi * np.arange(n) / 24) + 8 * promo
            + rng.normal(0, 0.3, n))
    pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n, freq="h"), "load": load,
                  "promo": promo, "temp": rng.normal(size=n)}).to_csv(path, index=False)


def overrides(root, *extra):
    return ["data=csv", f"data.path={root / 'plan.csv'}", "data.target=load",
            "data.time_column=date", f"data.lookback={LOOKBACK}", f"data.horizon={HORIZON}",
            "train.use_best_params=false", "evaluate.backtest.folds=0", "train.max_epochs=8",
            f"paths.root={root}", *TINY, "train.patience=8", *extra]


COVARIATES = ["data.future_covariates=[promo]", "data.calendar=[hour]",
              "data.past_covariates=[temp]"]


def trained(root, *extra):
    for stage in ("prepare", "train", "evaluate"):
        run_stage(stage, compose(*overrides(root, *extra)))
    return json.loads((root / "reports" / "metrics.json").read_text())["model"]["mse"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("covariates")
    write_series(root / "plan.csv")
    return root, trained(root, *COVARIATES)


def test_a_known_plan_is_forecast_far_better_with_it(project, tmp_path):
    root, with_plan = project
    other = tmp_path / "plain"
    other.mkdir()
    (other / "plan.csv").write_bytes((root / "plan.csv").read_bytes())
    without = trained(other)
    assert with_plan < without / 5, (with_plan, without)


def test_the_model_reads_the_covariates_it_was_given(project):
    root, _ = project
    data = PreparedData.load(root / "data" / "prepared")
    assert data.columns == ["load", "temp", "promo", "calendar_hour_sin", "calendar_hour_cos"]
    assert data.target_columns == [0] and data.future_columns == [2, 3, 4]
    model = load_model(root / "models" / "train" / "model.pt").eval()
    x, _ = data.windows("test", LOOKBACK, HORIZON).batch(list(range(64)))
    assert x.shape == (64, LOOKBACK + HORIZON, 5)
    assert (x[:, LOOKBACK:, :2] == 0).all()  # nothing but the known columns over the horizon
    zeroed = x.clone()
    zeroed[:, LOOKBACK:, 2] = 0
    with torch.no_grad():
        assert (model(x) - model(zeroed)).abs().max() > 0.1


def history(root, rows=100, ahead=HORIZON):
    frame = pd.read_csv(root / "plan.csv").iloc[900 : 900 + rows + ahead].copy()
    frame.loc[frame.index[rows:], ["load", "temp"]] = np.nan
    return frame


def test_the_served_forecast_follows_the_plan_it_is_given(project, tmp_path):
    root, _ = project
    frame = history(root)
    path, out = tmp_path / "history.csv", tmp_path / "forecast.csv"
    frame.to_csv(path, index=False)
    assert main(["predict", "-i", str(path), "-m", NAME, "-o", str(out),
                 f"paths.root={root}"]) == 0
    forecast = pd.read_csv(out)
    assert len(forecast) == HORIZON and forecast["date"].iloc[0] == "2022-02-11T16:00:00"
    promo = frame["promo"].to_numpy()[-HORIZON:].astype(bool)
    truth = pd.read_csv(root / "plan.csv")["load"].to_numpy()[1000 : 1000 + HORIZON]
    assert np.abs(forecast["load"].to_numpy() - truth).max() < 2.0
    # the same history with the plan switched off forecasts the promoted hours about 8 lower
    frame.loc[frame.index[-HORIZON:], "promo"] = 0
    frame.to_csv(path, index=False)
    assert main(["predict", "-i", str(path), "-m", NAME, "-o", str(out),
                 f"paths.root={root}"]) == 0
    lowered = forecast["load"].to_numpy() - pd.read_csv(out)["load"].to_numpy()
    assert promo.any() and (lowered[promo] > 4).all()


@pytest.mark.parametrize("change, line", [
    (lambda f: f.drop(columns=["promo"]), "history has no column 'promo', a future covariate"),
    (lambda f: f.iloc[:-3], "history has 9 rows after its last value of load, fewer than the "
                            "horizon 12"),
])
def test_a_request_without_its_future_covariates_is_refused_naming_them(project, tmp_path,
                                                                       capsys, change, line):
    import mlflow
    from mlflow.exceptions import MlflowException

    root, _ = project
    path = tmp_path / "history.csv"
    change(history(root)).to_csv(path, index=False)
    capsys.readouterr()
    assert main(["predict", "-i", str(path), "-m", NAME, f"paths.root={root}"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert line in err
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    with pytest.raises(MlflowException) as refused:  # the served model's answer: 400
        served.predict(change(history(root)))
    assert refused.value.get_http_status_code() == 400 and line in refused.value.message


@pytest.mark.parametrize("setting, key", [
    ("data.future_covariates=[price]", "data.future_covariates"),
    ("data.past_covariates=[load]", "data.past_covariates"),
    ("data.calendar=[season]", "data.calendar"),
])
def test_bad_covariate_settings_are_one_line_with_nothing_written(project, tmp_path, setting,
                                                                  key):
    root, _ = project
    out = run_script("prepare", *overrides(root, setting)[:-len(TINY) - 3],
                     f"paths.root={tmp_path}", setting)
    assert out.returncode == 2
    (line,) = [x for x in out.stderr.splitlines() if "error" in x]
    assert key in line
    assert not (tmp_path / "data").exists()


def test_a_covariate_that_is_not_a_number_names_its_column(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=300, freq="h"),
                          "load": np.arange(300.0), "plan": ["on"] * 300})
    frame.to_csv(tmp_path / "plan.csv", index=False)
    out = run_script("prepare", *overrides(tmp_path)[:5], "data.future_covariates=[plan]",
                     f"paths.root={tmp_path}")
    assert out.returncode == 2 and "'plan'" in out.stderr
    assert not (tmp_path / "data").exists()
