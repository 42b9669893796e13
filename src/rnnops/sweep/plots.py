"""Pictures of a finished study (PNG): optimization history, parameter importances and
parallel coordinates, drawn by Optuna's matplotlib backend."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import optuna

log = logging.getLogger(__name__)

PLOTS = ("optimization_history", "param_importances", "parallel_coordinate")


def save_plots(study: Any, folder: Path) -> list[Path]:
    """Write each plot the study has data for; returns the files written."""
    import matplotlib  # lazy: the Agg backend is chosen before pyplot is imported

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    # The importances come from a random forest: seeded, so that the same study draws the same
    # picture (the plots are a DVC output, compared by hash).
    options = {"param_importances": {"evaluator": optuna.importance.FanovaImportanceEvaluator(
        seed=0)}}
    folder.mkdir(parents=True, exist_ok=True)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    written = []
    for name in PLOTS:
        # Importances need two finished trials that differ; the others need one.
        if len(complete) < (2 if name == "param_importances" else 1):
            log.info("sweep plot %s skipped: %d complete trials", name, len(complete))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            try:
                axes = getattr(vis, f"plot_{name}")(study, **options.get(name, {}))
            except (ValueError, RuntimeError) as exc:  # e.g. no parameter varied
                log.info("sweep plot %s skipped: %s", name, exc)
                continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 5.5)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
