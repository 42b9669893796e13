"""Metric names shared by training, early stopping, pruning, the sweep objective, metrics.json and
MLflow, so that every consumer reads the same key."""

TRAIN_LOSS = "train/loss"
VAL_LOSS = "val/loss"
TEST_MSE = "test/mse"
TEST_MAE = "test/mae"
TEST_RMSE = "test/rmse"

#: Forecasters (the model, then the baselines) reported side by side by the evaluate stage.
MODEL = "model"
LAST_VALUE = "last_value"
SEASONAL_NAIVE = "seasonal_naive"
