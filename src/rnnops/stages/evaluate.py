"""evaluate: test errors of the model and of naive baselines on the same windows, plots, and the
metrics file that `dvc metrics show` reads. Reported into the train stage's MLflow run."""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd
import torch

from rnnops import tracking
from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.data.prepared import PreparedData
from rnnops.evaluation.baselines import last_value, seasonal_naive
from rnnops.evaluation.metrics import forecast_errors
from rnnops.evaluation.plots import forecast_plot, learning_curve_plot
from rnnops.models.io import load_model
from rnnops.names import LAST_VALUE, MODEL, SEASONAL_NAIVE, test_metric
from rnnops.stages.train import HISTORY, MODEL_FILE, load_run_info
from rnnops.training.fit import predict

log = logging.getLogger(__name__)

METRICS = "metrics.json"
PLOTS = "plots"
FORECAST_CSV = "forecast.csv"
FORECAST_PNG = "forecast.png"
LEARNING_CURVE_PNG = "learning_curve.png"


def forecasts(cfg: Config, data: PreparedData) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Scaled forecasts of the model and the baselines for every test window, and the truth."""
    d = cfg.data
    x, y = data.windows("test", d.lookback, d.horizon).all()
    model = load_model(cfg.paths.model / MODEL_FILE)
    preds = {
        MODEL: predict(model, x),
        LAST_VALUE: last_value(x, d.horizon, data.target_columns),
        SEASONAL_NAIVE: seasonal_naive(x, d.horizon, data.target_columns, d.season_period),
    }
    return preds, y


def to_original(data: PreparedData, t: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(data.scaler.inverse(t.double().numpy(), data.target_columns))


def stitched(preds: dict[str, torch.Tensor], y: torch.Tensor, horizon: int) -> pd.DataFrame:
    """Non-overlapping test windows laid end to end (first target channel): the test period as
    one forecast-vs-actual line."""
    starts = slice(0, len(y), horizon)
    frame = {"actual": y[starts, :, 0].reshape(-1)}
    frame.update({name: p[starts, :, 0].reshape(-1) for name, p in preds.items()})
    out = pd.DataFrame({k: v.numpy() for k, v in frame.items()})
    out.insert(0, "step", range(len(out)))
    return out.rename(columns={MODEL: "forecast"})


def evaluate(cfg: Config) -> dict[str, Any]:
    data = PreparedData.load(cfg.paths.prepared)
    run_info = load_run_info(cfg)
    preds, y = forecasts(cfg, data)
    y_orig = to_original(data, y)
    metrics: dict[str, dict[str, float]] = {}
    for name, pred in preds.items():
        scaled = forecast_errors(pred, y)
        original = forecast_errors(to_original(data, pred), y_orig)
        metrics[name] = {**scaled, **{f"{k}_original": v for k, v in original.items()}}
        log.info("test %-15s mse %.5f  mae %.5f  (original units: mae %.4f)", name,
                 scaled["mse"], scaled["mae"], original["mae"])

    history = pd.read_csv(cfg.paths.model / HISTORY)
    curve = stitched({k: to_original(data, v) for k, v in preds.items()}, y_orig, cfg.data.horizon)
    tracking.configure(cfg)
    with tracking.run(run_id=run_info["run_id"]):
        tracking.set_tags({tracking.TAG_EVALUATED: tracking.git_commit()})
        tracking.log_metrics({
            test_metric(name, k): v for name, values in metrics.items() for k, v in values.items()
        })
        plots_path, metrics_path = cfg.paths.reports / PLOTS, cfg.paths.reports / METRICS
        with staged(plots_path, metrics_path) as (plots, metrics_tmp):
            plots.mkdir()
            curve.to_csv(plots / FORECAST_CSV, index=False)
            forecast_plot(curve, plots / FORECAST_PNG,
                          f"{cfg.data.name}: {run_info['model']} vs baselines, test period",
                          unit=", ".join(data.columns))
            learning_curve_plot(history, plots / LEARNING_CURVE_PNG, run_info["best_epoch"])
            metrics_tmp.write_text(json.dumps(metrics, indent=2) + "\n")
            tracking.log_artifacts(sorted(plots.iterdir()), "evaluation")
            tracking.log_dict(metrics, "evaluation/metrics.json")
    return metrics
