"""Saving a trained forecaster as weights plus constructor arguments (no pickled code)."""

from __future__ import annotations

from pathlib import Path

import torch

from rnnops.errors import UserError
from rnnops.models.forecaster import RecurrentForecaster


def save_model(model: RecurrentForecaster, path: Path) -> None:
    torch.save({"init_kwargs": model.init_kwargs, "state_dict": model.state_dict()}, path)


def load_model(path: Path) -> RecurrentForecaster:
    if not path.exists():
        raise UserError(f"{path}: no trained model here; run the train stage first")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = RecurrentForecaster(**saved["init_kwargs"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()
