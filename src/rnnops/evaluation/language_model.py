"""Evaluating a language model: its loss on the test stream (the validation stream when the
corpus has no test part, as Tiny Shakespeare), as perplexity for words and bits per character
for characters, with the state carried across the whole stream; the champion gate against a
uniform guess; the learning curve and the report. Returns values and writes files only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rnnops.config import Config
from rnnops.data.prepared_text import PreparedText
from rnnops.evaluation import gate as champion_gate
from rnnops.evaluation import plots as draw
from rnnops.evaluation.outcome import Evaluation
from rnnops.evaluation.report import registry_section, run_line
from rnnops.names import MODEL
from rnnops.training.language import language_metrics, stream_loss

log = logging.getLogger(__name__)

LEARNING_CURVE_PNG = "learning_curve.png"


def evaluate_language_model(cfg: Config, data: PreparedText, model: torch.nn.Module,
                            run_info: dict[str, Any], history: pd.DataFrame) -> Evaluation:
    split = "test" if "test" in data.splits else "val"
    loss = stream_loss(model, data.splits[split], cfg.train.eval_batch_size, cfg.train.bptt,
                       f"the {split} split")
    metrics = {MODEL: {**language_metrics(loss, cfg.data.level), "split": split,
                       "tokens": len(data.splits[split])}}
    log.info("%s %s: %s", cfg.data.name, split, metrics[MODEL])
    headline = "bpc" if cfg.data.level == "char" else "perplexity"  # what the champion is on
    verdict = (champion_gate.off() if cfg.evaluate.champion_gate == "none" else
               champion_gate.beats_uniform(run_info["best_val_loss"], run_info["vocab_size"]))
    rows = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                     for k, v in metrics[MODEL].items())

    def draw_all(folder: Path) -> dict[str, str]:
        draw.learning_curve_plot(history, folder / LEARNING_CURVE_PNG, run_info["best_epoch"],
                                 ylabel="cross-entropy (nats per token)")
        return {"learning curve": LEARNING_CURVE_PNG}

    def report(run: dict[str, Any] | None, champion: dict[str, Any] | None,
               figures: dict[str, str]) -> str:
        return (f"# {cfg.data.name}: {run_info['model']} language model\n\n"
                + (f"MLflow {run_line(run)}. " if run else "")
                + f"Best epoch {run_info['best_epoch'] + 1} of {run_info['epochs_run']} "
                  "(run.json counts from 0). "
                f"Champion gate {verdict.line()}.\n\n"
                f"| {split} | value |\n|---|---|\n{rows}\n\n"
                + "\n".join(registry_section(champion, headline))
                + "".join(f"\n![{title}]({path})\n" for title, path in figures.items()))

    return Evaluation(metrics, headline, verdict, report, draw_all)
