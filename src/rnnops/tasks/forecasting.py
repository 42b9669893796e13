"""Forecasting series (data.kind=series): the task contract for forecasters."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from rnnops.config import Config
from rnnops.data.preparation import prepare_series
from rnnops.data.prepared import PreparedData
from rnnops.evaluation.forecasts import evaluate_forecaster
from rnnops.evaluation.intervals import model_intervals
from rnnops.evaluation.outcome import Evaluation
from rnnops.evaluation.suite import check_baselines
from rnnops.names import VAL_LOSS
from rnnops.serving.forecast import ForecastService
from rnnops.training.fit import FitResult, fit, make_model


class ForecastingTask:
    kind = "series"
    run_prefix = ""
    logs_weights = False  # model.pt reaches MLflow inside the logged model

    def check(self, cfg: Config) -> None:
        check_baselines(cfg.evaluate.baselines)

    def prepare(self, cfg: Config) -> PreparedData:
        return prepare_series(cfg)

    def load(self, cfg: Config) -> PreparedData:
        return PreparedData.load(cfg.paths.prepared, cfg.data)

    def new_model(self, cfg: Config, data: PreparedData) -> torch.nn.Module:
        return make_model(cfg, data)

    def fit(self, cfg: Config, data: PreparedData, **options: Any) -> FitResult:
        return fit(cfg, data, **options)

    def fit_summary(self, cfg: Config, data: PreparedData, result: FitResult
                    ) -> tuple[dict[str, float], dict[str, Any]]:
        return {f"best_{VAL_LOSS}": result.best_val_loss, "best_epoch": result.best_epoch}, {}

    def service(self, cfg: Config, data: PreparedData, model: torch.nn.Module
                ) -> ForecastService:
        d = cfg.data
        windows = data.series_windows if d.stack else data.windows
        intervals = model_intervals(model, windows("val", d.lookback, d.horizon),
                                    cfg.evaluate.interval_levels)
        return ForecastService.from_training(model, data, d.lookback, d.horizon,
                                             intervals and intervals.to_dict())

    def evaluate(self, cfg: Config, data: PreparedData, model: torch.nn.Module,
                 run_info: dict[str, Any], history: pd.DataFrame) -> Evaluation:
        return evaluate_forecaster(cfg, data, model, run_info, history)
