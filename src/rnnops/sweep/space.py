"""Turn the declared search space (conf/sweep) into Optuna suggestions."""

from __future__ import annotations

from typing import Any

from rnnops.config import ParamSpec


def suggest(trial: Any, space: dict[str, ParamSpec]) -> dict[str, Any]:
    """One value per dotted config key, drawn by the trial's sampler."""
    values: dict[str, Any] = {}
    for key, spec in space.items():
        if spec.type == "float":
            values[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log)
        elif spec.type == "int":
            values[key] = trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
        else:
            values[key] = trial.suggest_categorical(key, list(spec.choices))
    return values
