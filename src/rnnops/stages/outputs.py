"""The files each stage writes, by name, with their writers and the readers a later stage uses:
one place, so that no stage imports another (and so depends on its code, as DVC sees it) to find
its inputs.

Folders come from conf/paths (paths.sweep, paths.model, paths.reports).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.data.download import sha256_of
from rnnops.data.provenance import DATA_SETTINGS, check_same_data, data_settings
from rnnops.errors import UserError
from rnnops.models.io import save_model
from rnnops.names import TRAIN_LOSS, VAL_LOSS, VAL_MSE
from rnnops.training.fit import FitResult

log = logging.getLogger(__name__)

# sweep (paths.sweep)
BEST_PARAMS = "best_params.yaml"
SKIPPED = "skipped.txt"
TRIALS = "trials.csv"
SWEEP_PLOTS = "plots"

# train (paths.model)
MODEL_FILE = "model.pt"
HISTORY = "history.csv"
RUN_INFO = "run.json"
MODEL_HASH = "model_sha256"  # run.json: the sha256 of model.pt as train wrote it

# evaluate (paths.reports)
METRICS = "metrics.json"
REPORT = "report.md"
PLOTS = "plots"


def load_run_info(cfg: Config) -> dict[str, Any]:
    """run.json of the trained model, which must have been trained with this run's data."""
    path = cfg.paths.model / RUN_INFO
    if not path.exists():
        raise UserError(f"{path}: no trained model here; run the train stage first")
    info = json.loads(path.read_text())
    check_same_data(info.get(DATA_SETTINGS), cfg.data, f"{cfg.paths.model}: trained",
                    "run the train stage again with this run's settings")
    model = cfg.paths.model / MODEL_FILE
    if MODEL_HASH in info and model.exists() and sha256_of(model) != info[MODEL_HASH]:
        raise UserError(f"{model}: does not match the sha256 train recorded in {path} (changed "
                        f"or corrupted since); restore it with `dvc checkout {cfg.paths.model}`, "
                        "or train again (`dvc repro -f train`)")
    return info


def best_params(cfg: Config) -> dict[str, Any] | None:
    """The sweep's best values for this model (best_params.yaml's `params`), or None where
    train.use_best_params is false, there is no such file, or it was tuned for another model."""
    path = cfg.paths.sweep / BEST_PARAMS
    if not cfg.train.use_best_params:
        if path.exists():
            log.info("train.use_best_params=false: %s not applied", path)
        return None
    if not path.exists():
        log.info("no %s; training with the configured values", path)
        return None
    best = yaml.safe_load(path.read_text())
    if not isinstance(best, dict) or not isinstance(best.get("params"), dict):
        raise UserError(f"{path}: not a best-params file; rerun the sweep stage or delete it")
    if best.get("model") != cfg.model.label:
        log.warning("%s was tuned for model %s, not %s; training with the configured values",
                    path, best.get("model"), cfg.model.label)
        return None
    log.info("applying best params from %s: %s", path, best["params"])
    return best["params"]


def run_info(cfg: Config, result: FitResult, **extra: Any) -> dict[str, Any]:
    """run.json: the fit and the data it was trained on. The MLflow run and registered version
    are not in it: outputs that DVC caches hold only what the same inputs make again on any
    machine (evaluate finds the run by the model file's hash, tracking.find_train_run)."""
    best = next(r for r in result.history if r["epoch"] == result.best_epoch)
    if VAL_MSE in best:  # trained on another loss: the MSE that compares runs
        extra = {"best_val_mse": best[VAL_MSE], **extra}
    return {
        "registered_model": cfg.tracking.registered_model,
        "model": cfg.model.label,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "epochs_run": result.epochs_run,
        DATA_SETTINGS: data_settings(cfg.data),  # evaluate checks that it tests on the same
        **extra,
    }


def write_model(folder: Path, result: FitResult, info: dict[str, Any]) -> str:
    """model.pt, history.csv and run.json (with model.pt's sha256, which evaluate checks) into
    `folder` as one atomic folder; returns the model file's sha256."""
    history = pd.DataFrame(result.history).rename(
        columns={TRAIN_LOSS: "train_loss", VAL_LOSS: "val_loss", VAL_MSE: "val_mse"})
    with staged(folder) as (partial,):
        partial.mkdir()
        save_model(result.model, partial / MODEL_FILE)
        model_hash = sha256_of(partial / MODEL_FILE)  # the same bytes for the same inputs
        history.to_csv(partial / HISTORY, index=False)
        (partial / RUN_INFO).write_text(json.dumps({**info, MODEL_HASH: model_hash}, indent=2)
                                        + "\n")
    return model_hash


def write_report(folder: Path, metrics: dict[str, Any],
                 draw: Callable[[Path], dict[str, str]],
                 render: Callable[[dict[str, str]], str]) -> dict[str, str]:
    """metrics.json, report.md and the plots folder into `folder` (paths.reports), atomically
    together: `draw(plots folder)` writes the plots (title -> file name), `render(figures)` the
    report that shows them. Returns the figures, title -> path relative to the report."""
    paths = (folder / PLOTS, folder / METRICS, folder / REPORT)
    with staged(*paths) as (plots, metrics_tmp, report_tmp):
        plots.mkdir()
        figures = {title: f"{PLOTS}/{name}" for title, name in draw(plots).items()}
        metrics_tmp.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
        report_tmp.write_text(render(figures))
    return figures
