"""The task contract: what a kind of data (data.kind) provides to the pipeline's stages.

A stage is the same for every kind of data: it picks the task by data.kind (tasks.task_for),
opens the MLflow run, calls the task and writes the outputs. The task knows its data: how to
prepare it, read it back, train on it, describe the served model and evaluate one. Forecasting
series (tasks/forecasting.py) and language corpora (tasks/language.py) implement it; a new kind
of data is one module and one line in tasks/__init__.py.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd
import torch

from rnnops.config import Config
from rnnops.evaluation.outcome import Evaluation
from rnnops.training.fit import FitResult


class Prepared(Protocol):
    """Prepared data as the later stages read it: meta.json's contents (`sha256`: the hash the
    runs are tagged with) and whatever the task's own methods use."""

    meta: dict[str, Any]


class Task(Protocol):
    kind: str  # the data.kind it serves
    run_prefix: str  # MLflow run names: f"train-{run_prefix}{model label}"
    logs_weights: bool  # the train stage logs model.pt to the run as an artifact too

    def check(self, cfg: Config) -> None:
        """The task's own config checks (raising ConfigError): the stages call it before they
        read a file or open the MLflow store, so a typo costs nothing."""

    def prepare(self, cfg: Config) -> Any:
        """Read the raw data and write paths.prepared (atomically)."""

    def load(self, cfg: Config) -> Prepared:
        """The prepared data, checked against its hashes and the config's data settings."""

    def new_model(self, cfg: Config, data: Prepared) -> torch.nn.Module:
        """The untrained network cfg.model describes for this data (train.init_from's weights
        are matched against it before training starts)."""

    def fit(self, cfg: Config, data: Prepared, **options: Any) -> FitResult:
        """Train cfg.model on the data (options: max_epochs, checkpoint_dir, resume_from,
        epoch_sink, callbacks, as training.fit.run_trainer takes them; initial_state, the
        weights to start from)."""

    def fit_summary(self, cfg: Config, data: Prepared, result: FitResult
                    ) -> tuple[dict[str, float], dict[str, Any]]:
        """(the metrics of the kept epoch to log, the facts run.json adds for this kind)."""

    def service(self, cfg: Config, data: Prepared, model: torch.nn.Module) -> Any:
        """The served model (rnnops.serving): what rnnops.tracking.log_service logs."""

    def evaluate(self, cfg: Config, data: Prepared, model: torch.nn.Module,
                 run_info: dict[str, Any], history: pd.DataFrame) -> Evaluation:
        """The trained model scored on the held-out data, with its report and plots."""
