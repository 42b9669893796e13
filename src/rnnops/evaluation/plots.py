"""PNG plots for MLflow and the report; the same data goes to CSV for `dvc plots show`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def forecast_plot(frame: pd.DataFrame, path: Path, title: str, unit: str) -> None:
    """frame: columns step, actual, forecast and any baselines, in original units."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(frame["step"], frame["actual"], color="black", lw=1.5, label="actual")
    for column in frame.columns.drop(["step", "actual"]):
        ax.plot(frame["step"], frame[column], lw=1, label=column.replace("_", " "))
    ax.set_xlabel("test step")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def learning_curve_plot(history: pd.DataFrame, path: Path, best_epoch: int) -> None:
    """history: columns epoch, train_loss, val_loss."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for column in ("train_loss", "val_loss"):
        if column in history:
            ax.plot(history["epoch"], history[column], marker=".", label=column.replace("_", " "))
    ax.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"best epoch {best_epoch}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
