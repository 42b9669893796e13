"""Recurrent models: cells behind a registry, layers around them, and the forecasters and
language model built on them."""

from __future__ import annotations

from rnnops.models.build import ARCHITECTURES, build_from_spec, build_model, model_spec
from rnnops.models.forecaster import Forecaster
from rnnops.models.registry import CELLS, cell_class

__all__ = ["ARCHITECTURES", "CELLS", "Forecaster", "build_from_spec", "build_model",
           "cell_class", "model_spec"]
