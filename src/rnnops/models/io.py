"""Saving a trained model (forecaster or language model) as weights plus its spec (plain values,
no pickled code)."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from rnnops.errors import UserError
from rnnops.models.build import build_from_spec
from rnnops.models.language import SPEC_KIND, language_model_from_spec


def save_model(model: torch.nn.Module, path: Path) -> None:
    torch.save({"spec": model.spec, "state_dict": model.state_dict()}, path)


def load_model(path: Path, remedy: str = "restore it with `dvc checkout`, or train again "
               "(`dvc repro -f train`)") -> torch.nn.Module:
    """The model saved at `path`; a missing, truncated or foreign file is one UserError naming
    it (`remedy` says what to do)."""
    if not path.exists():
        raise UserError(f"{path}: no trained model here; run the train stage first")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: unreadable, truncated or corrupted ({reason[:160]}); "
                        f"{remedy}") from None
    if not isinstance(saved, dict) or "spec" not in saved:
        raise UserError(f"{path}: saved by an older rnnops without a model spec; "
                        "train it again (dvc repro)")
    spec = saved["spec"]
    model = (language_model_from_spec(spec) if spec.get("kind") == SPEC_KIND
             else build_from_spec(spec))
    model.load_state_dict(saved["state_dict"])
    return model.eval()
