"""PNG plots for MLflow and the report; the data behind each goes to CSV for `dvc plots show`
(the caller writes those frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib  # lazy: the Agg backend is chosen before pyplot is imported

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def forecast_plot(frame: pd.DataFrame, path: Path, title: str, unit: str) -> None:
    """frame: columns step, actual, forecast and any baselines, in original units; with
    forecast_lo_80, forecast_hi_80, ... the model's intervals are drawn as a fan (wider paler)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    bands = sorted({c.rsplit("_", 1)[1] for c in frame.columns if c.startswith("forecast_lo_")},
                   key=float, reverse=True)
    for shade, level in enumerate(bands):
        ax.fill_between(frame["step"], frame[f"forecast_lo_{level}"],
                        frame[f"forecast_hi_{level}"], color="tab:blue",
                        alpha=0.15 + 0.15 * shade, lw=0, label=f"model {level} % interval")
    ax.plot(frame["step"], frame["actual"], color="black", lw=1.5, label="actual")
    for column in frame.columns.drop(["step", "actual"]):
        if not column.startswith(("forecast_lo_", "forecast_hi_")):
            ax.plot(frame["step"], frame[column], lw=1, label=column.replace("_", " "))
    ax.set_xlabel("test step")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small", ncol=2)
    _save(fig, path)


def window_plot(frame: pd.DataFrame, path: Path, unit: str) -> None:
    """Sample test windows with their lookback. frame: window, step (negative in the lookback,
    1..H in the horizon), actual, forecast and baselines (NaN in the lookback)."""
    plt = _pyplot()
    windows = frame["window"].unique()
    fig, axes = plt.subplots(len(windows), 1, figsize=(10, 2.6 * len(windows)), squeeze=False)
    forecasters = frame.columns.drop(["window", "step", "actual"])
    for ax, window in zip(axes[:, 0], windows, strict=True):
        part = frame[frame["window"] == window]
        ax.plot(part["step"], part["actual"], color="black", lw=1.5, label="actual")
        for column in forecasters:
            ax.plot(part["step"], part[column], lw=1.2 if column == "forecast" else 0.8,
                    label=column.replace("_", " "))
        ax.axvline(0.5, color="grey", ls="--", lw=1)
        ax.set_title(f"test window {window}: lookback, then forecast", fontsize="medium")
        ax.set_ylabel(unit)
    axes[0, 0].legend(loc="upper left", fontsize="small", ncol=4)
    axes[-1, 0].set_xlabel("step relative to the forecast origin")
    _save(fig, path)


def learning_curve_plot(history: pd.DataFrame, path: Path, best_epoch: int,
                        ylabel: str = "MSE (scaled)") -> None:
    """history: columns epoch, train_loss, val_loss."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for column in ("train_loss", "val_loss"):
        if column in history:
            ax.plot(history["epoch"], history[column], marker=".", label=column.replace("_", " "))
    ax.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"best epoch {best_epoch}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    _save(fig, path)


def horizon_plot(frame: pd.DataFrame, path: Path, metric: str) -> None:
    """frame: column step and one column per forecaster (error at that step)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for column in frame.columns.drop("step"):
        ax.plot(frame["step"], frame[column], marker="." if column == "model" else None,
                lw=2 if column == "model" else 1, label=column.replace("_", " "))
    ax.set_xlabel("horizon step")
    ax.set_ylabel(f"test {metric.upper()} (scaled)")
    ax.set_title("error per horizon step")
    ax.legend(fontsize="small", ncol=2)
    _save(fig, path)


def comparison_plot(frame: pd.DataFrame, path: Path, metric: str) -> None:
    """frame: columns forecaster and test_error (the metric); bars sorted, the model
    highlighted."""
    plt = _pyplot()
    frame = frame.sort_values("test_error")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(frame) + 1.2))
    colors = ["tab:red" if name == "model" else "tab:blue" for name in frame["forecaster"]]
    ax.barh(frame["forecaster"], frame["test_error"], color=colors)
    for y, value in enumerate(frame["test_error"]):
        ax.text(value, y, f" {value:.4g}", va="center", fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel(f"test {metric.upper()} (scaled)")
    ax.set_title("model against the baselines, same test windows")
    _save(fig, path)


def backtest_plot(frame: pd.DataFrame, path: Path, metric: str) -> None:
    """frame: the backtest table (fold, forecaster, metric columns)."""
    plt = _pyplot()
    table = frame.pivot(index="fold", columns="forecaster", values=metric)
    fig, ax = plt.subplots(figsize=(8, 4))
    for column in table.columns:
        ax.plot(table.index, table[column], marker="o", lw=2 if column == "model" else 1,
                label=column.replace("_", " "))
    ax.set_xticks(table.index)
    ax.set_xlabel("fold (rolling origin)")
    ax.set_ylabel(f"test {metric.upper()} (scaled)")
    ax.set_title("rolling-origin backtest")
    ax.legend(fontsize="small", ncol=2)
    _save(fig, path)


def attention_plot(mean: np.ndarray, sample: np.ndarray, path: Path) -> None:
    """Attention weights (H, L): the mean over test windows and one window."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, weights, title in ((axes[0], mean, "mean over test windows"),
                               (axes[1], sample, "first test window")):
        image = ax.imshow(weights, aspect="auto", cmap="viridis", origin="lower")
        ax.set_xlabel("lookback step (encoder position)")
        ax.set_ylabel("horizon step (decoder)")
        ax.set_title(f"attention, {title}")
        fig.colorbar(image, ax=ax)
    _save(fig, path)


def gates_plot(gates: dict[str, np.ndarray], series: np.ndarray | None, path: Path,
               cell: str) -> None:
    """Gate activations (T, hidden) of one window, one heat map per gate, under its input
    (scaled) when the layer reads the window step by step."""
    plt = _pyplot()
    panels = len(gates) + (series is not None)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 1.8 + 2.2 * len(gates)), sharex=True,
                             squeeze=False)
    axes = list(axes[:, 0])
    if series is not None:
        top = axes.pop(0)
        top.plot(np.arange(len(series)), series, color="black", lw=1)
        top.set_ylabel("input (scaled)")
    fig.suptitle(f"{cell}: gate activations of the first layer over one test window")
    for ax, (name, values) in zip(axes, gates.items(), strict=True):
        image = ax.imshow(values.T, aspect="auto", cmap="magma", vmin=0, vmax=1, origin="lower",
                          extent=(-0.5, len(values) - 0.5, -0.5, values.shape[1] - 0.5))
        ax.set_ylabel(f"{name} gate\nunit")
        fig.colorbar(image, ax=ax, pad=0.01)
    axes[-1].set_xlabel("time step in the lookback")
    _save(fig, path)


def note_plot(text: str, path: Path) -> None:
    """An image that says why a plot does not apply to this model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    _save(fig, path)
