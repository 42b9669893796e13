"""Language corpora (data.kind=text): the task contract for language models."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from rnnops.config import Config
from rnnops.data.preparation import prepare_text
from rnnops.data.prepared_text import PreparedText
from rnnops.data.text import TextCorpus
from rnnops.evaluation.language_model import evaluate_language_model
from rnnops.evaluation.outcome import Evaluation
from rnnops.serving.generate import TextGenerator
from rnnops.training.fit import FitResult
from rnnops.training.language import (
    fit_language_model,
    language_metrics,
    make_language_model,
)


class LanguageTask:
    kind = "text"
    run_prefix = "lm-"
    logs_weights = True  # model.pt as a run artifact too, beside the logged model

    def check(self, cfg: Config) -> None:
        pass  # a language model has no baselines to name; its settings are checked on load

    def prepare(self, cfg: Config) -> TextCorpus:
        return prepare_text(cfg)

    def load(self, cfg: Config) -> PreparedText:
        return PreparedText.load(cfg.paths.prepared, cfg.data)

    def new_model(self, cfg: Config, data: PreparedText) -> torch.nn.Module:
        return make_language_model(cfg, len(data.vocab))

    def fit(self, cfg: Config, data: PreparedText, **options: Any) -> FitResult:
        return fit_language_model(cfg, data.splits, len(data.vocab), **options)

    def fit_summary(self, cfg: Config, data: PreparedText, result: FitResult
                    ) -> tuple[dict[str, float], dict[str, Any]]:
        """The kept epoch as the field reports it (perplexity or bits per character)."""
        val = {f"best_val/{k}": v
               for k, v in language_metrics(result.best_val_loss, cfg.data.level).items()}
        return ({**val, "best_epoch": result.best_epoch},
                {"kind": "language_model", "vocab_size": len(data.vocab), **val})

    def service(self, cfg: Config, data: PreparedText, model: torch.nn.Module
                ) -> TextGenerator:
        return TextGenerator(model, data.vocab, cfg.data.level)

    def evaluate(self, cfg: Config, data: PreparedText, model: torch.nn.Module,
                 run_info: dict[str, Any], history: pd.DataFrame) -> Evaluation:
        return evaluate_language_model(cfg, data, model, run_info, history)
