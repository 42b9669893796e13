"""The logged models' runtime: what `mlflow models serve`, `mlflow.pyfunc.load_model`,
`rnnops predict` and `rnnops generate` run.

A model is logged as an MLflow pyfunc with this package as its loader module and a folder of
plain files (weights + spec, scaler or vocabulary, service.json) as its data, so loading it needs
rnnops and torch but no pickled code, and this package never imports MLflow.
"""

from __future__ import annotations

import json
from pathlib import Path

SERVICE = "service.json"
MODEL = "model.pt"


def _load_pyfunc(data_path: str):
    """MLflow's loader-module entry point: the service object whose predict() it calls."""
    folder = Path(data_path)
    kind = json.loads((folder / SERVICE).read_text())["kind"]
    if kind == "forecaster":
        from rnnops.serving.forecast import ForecastService

        return ForecastService.load(folder)
    from rnnops.serving.generate import TextGenerator

    return TextGenerator.load(folder)
