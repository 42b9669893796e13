"""Metric names shared by training, early stopping, pruning, the sweep objective, metrics.json and
MLflow, so that every consumer reads the same key."""

TRAIN_LOSS = "train/loss"
VAL_LOSS = "val/loss"
VAL_MSE = "val/mse"  # logged beside val/loss when train.loss is not mse, to compare runs

#: Forecasters (the model, then the baselines) reported side by side by the evaluate stage.
MODEL = "model"
LAST_VALUE = "last_value"
SEASONAL_NAIVE = "seasonal_naive"


def test_metric(forecaster: str, metric: str) -> str:
    """MLflow name of a test metric: test/mse for the model, test/last_value/mse for a baseline."""
    return f"test/{metric}" if forecaster == MODEL else f"test/{forecaster}/{metric}"
CHAMPION = "champion"  # the registry alias of the version serving by default


def level_name(level: float) -> str:
    """An interval level as metrics and served columns name it: 0.8 -> "80", 0.975 -> "97.5"."""
    return f"{level * 100:g}"
