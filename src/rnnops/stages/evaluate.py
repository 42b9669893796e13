"""evaluate: the trained model scored on held-out data by its task (a forecaster against
baselines on the same test windows, with a backtest; a language model's test perplexity or bits
per character), the champion gate, plots, a markdown report and the metrics file that
`dvc metrics show` reads. Everything is reported into the train stage's MLflow run, and the
registered version becomes the champion when it beats the current one (evaluation/champion.py).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from rnnops import tracking
from rnnops.config import Config
from rnnops.data.provenance import test_set_id
from rnnops.evaluation.champion import Holder, decide
from rnnops.evaluation.metrics import finite_or_none
from rnnops.models.io import load_model
from rnnops.stages import outputs
from rnnops.tasks import task_for

log = logging.getLogger(__name__)


def evaluate(cfg: Config) -> dict[str, Any]:
    task = task_for(cfg)
    task.check(cfg)
    data = task.load(cfg)
    run_info = outputs.load_run_info(cfg)
    model_file = cfg.paths.model / outputs.MODEL_FILE
    run = tracking.find_train_run(tracking.configure(cfg), model_file)  # before any scoring
    history = pd.read_csv(cfg.paths.model / outputs.HISTORY)
    result = task.evaluate(cfg, data, load_model(model_file), run_info, history)
    log.info("champion gate %s", result.verdict.line())
    metrics = finite_or_none(result.metrics)  # metrics.json: null, never a bare NaN
    with tracking.train_run(run["run_id"]):
        tracking.set_tags({tracking.TAG_EVALUATED: tracking.git_commit()})
        tracking.log_metrics(result.logged())
        tracking.describe_run(result.summary(), evaluated=True)
        for step, curve in enumerate(result.curves, start=1):  # MLflow draws these as curves
            tracking.log_metrics(curve, step=step)
        champion = None
        if run["model_version"]:
            name, test_set = run["registered_model"], test_set_id(cfg.data)
            holder = Holder(**tracking.champion_holder(name, result.headline))
            decision = decide(name, run["model_version"], result.headline, result.value, holder,
                              test_set, result.verdict)
            tracking.record_champion(decision, test_set)
            champion = decision.as_dict()
        figures = outputs.write_report(cfg.paths.reports, metrics, result.draw,
                                       lambda figures: result.render(None, None, figures))
        tracking.log_artifacts(sorted((cfg.paths.reports / outputs.PLOTS).iterdir()),
                               f"evaluation/{outputs.PLOTS}")
        tracking.log_text(result.render(run, champion, figures), f"evaluation/{outputs.REPORT}")
        tracking.log_dict(metrics, f"evaluation/{outputs.METRICS}")
    return result.metrics
