"""The Python API (rnnops.api.Forecaster): the same config and seed give the metrics `rnnops run`
gives; the long format in and out; save and load, from a folder and from the registry; bad
arguments are one line; the documented example runs as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rnnops import Forecaster
from rnnops.errors import ConfigError, UserError
from tests.conftest import ROOT

KEYS = {"model__hidden_size": 16, "train__max_epochs": 3, "train__patience": 3,
        "train__limit_batches": 10, "evaluate__backtest__folds": 0,
        "trainer__progress_bar": False}
OVERRIDES = [f"{k.replace('__', '.')}={str(v).lower()}" for k, v in KEYS.items()]


def series(rows: int = 600) -> pd.DataFrame:
    t = np.arange(rows)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=rows, freq="D"),
                         "load": 10 + np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=rows)})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    model = Forecaster("lstm", horizon=7, lookback=28, root=root, **KEYS)
    return model.fit(series(), target="load", time_column="date"), root


def test_the_api_and_rnnops_run_give_the_same_metrics(fitted, tmp_path):
    model, root = fitted
    file = tmp_path / "load.csv"
    series().to_csv(file, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "rnnops.cli", "run", "model=lstm", "data=csv",
         f"data.path={file}", "data.target=load", "data.time_column=date", "data.horizon=7",
         "data.lookback=28", "train.use_best_params=false", f"paths.root={tmp_path}",
         *OVERRIDES], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    cli = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    scores = model.evaluate()
    assert json.loads((root / "reports" / "metrics.json").read_text()) == cli
    assert scores.loc["model", "mse"] == cli["model"]["mse"]
    assert set(scores.index) == {k for k, v in cli.items() if isinstance(v, dict)}


def test_predict_gives_the_times_after_the_history(fitted):
    model, _ = fitted
    history = series().tail(60)
    out = model.predict(history)
    assert list(out.columns) == ["step", "date", "load"] and len(out) == 7
    assert out["date"].iloc[0] == history["date"].iloc[-1] + pd.Timedelta(days=1)


def test_save_and_load_from_a_folder_and_from_the_registry(fitted, tmp_path, monkeypatch):
    model, root = fitted
    history = series().tail(60)
    expected = model.predict(history)
    saved = model.save(tmp_path / "saved")
    pd.testing.assert_frame_equal(Forecaster.load(saved).predict(history), expected)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    from rnnops import tracking

    tracking.quiet_mlflow()
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    registered = Forecaster.load("models:/rnnops-csv-forecaster/1")
    np.testing.assert_allclose(registered.predict(history)["load"], expected["load"])


def test_the_long_format_in_and_out(tmp_path):
    wide = series()
    long = pd.DataFrame({"unique_id": "store-1", "ds": wide["date"], "y": wide["load"]})
    model = Forecaster("gru", horizon=7, lookback=28, root=tmp_path, **KEYS).fit(long)
    out = model.predict(long.tail(60))
    assert list(out.columns) == ["unique_id", "ds", "y"] and len(out) == 7
    assert (out["unique_id"] == "store-1").all()
    assert out["ds"].iloc[0] == long["ds"].iloc[-1] + pd.Timedelta(days=1)


def test_bad_arguments_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="train.lr.*must be > 0"):
        Forecaster(root=tmp_path, train__lr=-1)
    with pytest.raises(ConfigError) as unknown:
        Forecaster(root=tmp_path, train__lrr=0.1)
    assert "\n" not in str(unknown.value) and "lrr" in str(unknown.value)
    with pytest.raises(ConfigError, match="name the column to forecast"):
        Forecaster(root=tmp_path).fit(series())


def test_several_series_in_the_long_format_train_one_global_model(tmp_path):
    """Three stores of different lengths and levels: one model, each forecast by its id on its
    own scale, the forecast of one the same whichever others come with it."""
    levels = {"north": 10.0, "south": 200.0, "west's": 50.0}
    frames = []
    for number, (store, level) in enumerate(levels.items()):
        wide = series(600 - 100 * number)
        frames.append(pd.DataFrame({"unique_id": store, "ds": wide["date"],
                                    "y": level * wide["load"] / 10}))
    long = pd.concat(frames, ignore_index=True)
    model = Forecaster("gru", horizon=7, lookback=28, root=tmp_path, **KEYS).fit(long)
    history = long.groupby("unique_id").tail(60)
    out = model.predict(history)
    assert list(out["unique_id"].unique()) == list(levels) and len(out) == 21
    for store, level in levels.items():
        forecast = out.loc[out["unique_id"] == store, "y"]
        assert (abs(forecast - level) < 0.3 * level).all(), store
    alone = model.predict(history[history["unique_id"] == "south"])
    np.testing.assert_allclose(alone["y"], out.loc[out["unique_id"] == "south", "y"], rtol=1e-5)
    assert set(model.evaluate().index) >= {"model", "linear"}


def test_the_documented_example_runs(tmp_path):
    text = (ROOT / "docs" / "library.md").read_text()
    (example,) = re.findall(r"<!-- this example runs in tests/e2e/test_api.py -->\n```python\n"
                            r"(.*?)```", text, re.S)
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "model" in done.stdout and "seasonal_naive" in done.stdout
    assert (tmp_path / "co2-forecaster" / "service.json").is_file()


def test_a_language_model_fits_texts_generates_and_reloads(tmp_path):
    from rnnops import LanguageModel

    text = "the cat sat on the mat and the dog ran to the cat\n" * 200
    model = LanguageModel("lstm", level="char", root=tmp_path / "lm", model__hidden_size=16,
                          train__batch_size=8, train__bptt=16, train__max_epochs=2,
                          trainer__progress_bar=False).fit(text)
    continuation = model.generate("the c", max_tokens=12)
    assert isinstance(continuation, str) and continuation
    assert set(model.evaluate()["model"]) >= {"bpc"}
    saved = model.save(tmp_path / "saved")
    assert LanguageModel.load(saved).generate("the c", max_tokens=12) == continuation
    with pytest.raises(UserError, match="holds a language model, not a forecaster"):
        Forecaster.load(saved)
