"""Saving a trained forecaster as weights plus its spec (plain values, no pickled code)."""

from __future__ import annotations

from pathlib import Path

import torch

from rnnops.errors import UserError
from rnnops.models.build import build_from_spec
from rnnops.models.forecaster import Forecaster


def save_model(model: Forecaster, path: Path) -> None:
    torch.save({"spec": model.spec, "state_dict": model.state_dict()}, path)


def load_model(path: Path) -> Forecaster:
    if not path.exists():
        raise UserError(f"{path}: no trained model here; run the train stage first")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if "spec" not in saved:
        raise UserError(f"{path}: saved by an older rnnops without a model spec; "
                        "train it again (dvc repro)")
    model = build_from_spec(saved["spec"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()
