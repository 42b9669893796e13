"""The files each stage writes, by name, and the readers a later stage uses: one place, so that
no stage imports another (and so depends on its code, as DVC sees it) to find its inputs.

Folders come from conf/paths (paths.sweep, paths.model, paths.reports).
"""

from __future__ import annotations

import json
from typing import Any

from rnnops.config import Config
from rnnops.data.download import sha256_of
from rnnops.data.provenance import DATA_SETTINGS, check_same_data
from rnnops.errors import UserError

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
