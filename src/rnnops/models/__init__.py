"""Recurrent models: cells behind a registry and the forecasters built on them."""

from __future__ import annotations

from rnnops.config import ModelConfig
from rnnops.models.forecaster import RecurrentForecaster
from rnnops.models.registry import CELLS, cell_class


def build_model(
    cfg: ModelConfig,
    input_size: int,
    output_size: int,
    horizon: int,
    target_columns: list[int] | None = None,
) -> RecurrentForecaster:
    """The forecaster a config describes, for `input_size` channels in and `output_size` out."""
    return RecurrentForecaster(
        cell=cfg.name,
        input_size=input_size,
        output_size=output_size,
        horizon=horizon,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        dropout=cfg.dropout,
        subtract_last=cfg.subtract_last,
        target_columns=target_columns,
    )


__all__ = ["CELLS", "RecurrentForecaster", "build_model", "cell_class"]
