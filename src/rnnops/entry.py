"""Running a stage from a composed config: validation first, one seed, user errors as one line.

Shared by the Hydra scripts in pipelines/ and the `rnnops` command.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from typing import Any

from rnnops.errors import UserError

STAGES = ("prepare", "sweep", "train", "evaluate")

log = logging.getLogger("rnnops")


def run_stage(name: str, dictconfig: Any, pipeline: bool = False) -> Any:
    """Validate `dictconfig`, seed once, run stage `name`; a UserError exits 2 with one line.

    `pipeline`: the stage runs as part of the whole pipeline (dvc repro, `rnnops run`), where a
    sweep whose result train would not read is skipped (stages/sweep.py: skip)."""
    # pytorch_lightning 2.6 on torch 2.13 warns about its own pytree use on every run.
    warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated")
    try:
        from rnnops.config import from_dictconfig

        cfg = from_dictconfig(dictconfig)
        from rnnops.models.build import check_model_config

        check_model_config(cfg.model)  # an unknown cell or architecture fails before any work
        seed_everything(cfg.seed)
        module = importlib.import_module(f"rnnops.stages.{name}")
        stage = getattr(module, name)
        if pipeline and name == "sweep" and not cfg.train.use_best_params:
            stage = module.skip
        return stage(cfg)
    except UserError as exc:
        from rnnops.sweep.job import in_sweep_job

        if in_sweep_job():  # the Optuna sweeper records it as this trial's error and goes on
            raise
        print(f"rnnops {name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
