"""Evaluating a forecaster: the trained model against baselines on the same test windows (scaled
and original units, per horizon step), a rolling-origin backtest, the champion gate on the
validation windows, plots (PNG + CSV) and the report. Everything here returns values or writes
files; the evaluate stage logs and decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnops.config import Config, table_configs
from rnnops.data.memory import return_freed_memory
from rnnops.data.prepared import PreparedData
from rnnops.data.windows import WindowDataset, window_batches
from rnnops.errors import ConfigError, UserError
from rnnops.evaluation import gate as champion_gate
from rnnops.evaluation import plots as draw
from rnnops.evaluation.backtest import Fold, backtest, make_folds
from rnnops.evaluation.interpret import attention_weights, gate_activations, sample_index
from rnnops.evaluation.intervals import LEVELS, QuantileIntervals, calibrate_forecasters
from rnnops.evaluation.metrics import ErrorSums, naive_scale
from rnnops.evaluation.outcome import Evaluation
from rnnops.evaluation.report import render, run_line
from rnnops.evaluation.scoring import Scores, pooled, score
from rnnops.evaluation.series import choose_season, described, full_series, window_origins
from rnnops.evaluation.suite import (
    BASELINES,
    Predict,
    Setting,
    applicable,
    check_baselines,
    fit_baselines,
)
from rnnops.names import MODEL, level_name, test_metric
from rnnops.training.fit import fit, predict

log = logging.getLogger(__name__)

FORECAST_CSV = "forecast.csv"
FORECAST_PNG = "forecast.png"
WINDOWS_CSV, WINDOWS_PNG = "forecast_windows.csv", "forecast_windows.png"
LEARNING_CURVE_PNG = "learning_curve.png"
HORIZON_CSV, HORIZON_PNG = "horizon.csv", "horizon.png"
HORIZON_ORIGINAL_CSV = "horizon_original.csv"  # the same MAE per step, in the data's units
COMPARISON_CSV, COMPARISON_PNG = "comparison.csv", "comparison.png"
BACKTEST_CSV, BACKTEST_PNG = "backtest.csv", "backtest.png"  # the champion metric per fold
BACKTEST_TABLE = "backtest_table.csv"  # every metric per fold and forecaster
ATTENTION_CSV, ATTENTION_PNG = "attention.csv", "attention.png"
GATES_CSV, GATES_PNG = "gates.csv", "gates.png"


def drop_last_windows(windows: int, batch: int | None) -> int:
    """How many test windows a loader of `batch` with drop_last=True yields: the subset most
    published ETT figures were scored on (the Informer lineage's test loader; Qiu et al. 2024).
    0 when evaluate.drop_last_batch is off."""
    if batch is None:
        return 0
    if batch > windows:
        raise ConfigError("evaluate.drop_last_batch", f"{batch} is more than the {windows} test "
                          "windows, so a drop_last loader would keep none; lower it or set null")
    return windows // batch * batch


def model_per_fold(cfg: Config, data: PreparedData, series: np.ndarray,
                   trained: torch.nn.Module):
    """The network for each backtest fold: the trained one, or one retrained on the fold's rows
    (the last validation-split's worth of them held out for early stopping)."""

    def as_is(fold: Fold) -> Predict:
        return lambda x, origins: predict(trained, x)

    if not cfg.evaluate.backtest.refit_model:
        return as_is

    def refit(fold: Fold) -> Predict:
        rows = series[fold.rows].astype(np.float32)
        held_out = len(data.arrays["val"]) - cfg.data.lookback
        if held_out < cfg.data.horizon or len(rows) - held_out <= cfg.data.lookback:
            raise UserError(f"backtest fold {fold.number} has {len(rows)} rows, too few to "
                            "retrain on; lower evaluate.backtest.folds or set "
                            "evaluate.backtest.refit_model=false")
        arrays = {"train": rows[:-held_out], "val": rows[-held_out - cfg.data.lookback:],
                  "test": rows[-cfg.data.lookback - cfg.data.horizon:]}
        fold_data = PreparedData(arrays, data.columns, data.target_columns, data.scaler,
                                 data.meta)
        model = fit(cfg, fold_data).model
        return lambda x, origins: predict(model, x)

    return refit


def gate_verdict(cfg: Config, data: PreparedData, model: torch.nn.Module, setting: Setting,
                 scale: torch.Tensor) -> champion_gate.Verdict:
    """evaluate.champion_gate on the validation windows: the model against the naive forecasts
    (seasonal_naive only where a season fits the lookback)."""
    if cfg.evaluate.champion_gate == "none":
        return champion_gate.off()
    names = [n for n in champion_gate.NAIVE
             if n != "seasonal_naive" or setting.period <= cfg.data.lookback]
    val = data.windows("val", cfg.data.lookback, cfg.data.horizon)
    forecasters = {MODEL: lambda x, origins: predict(model, x),
                   **fit_baselines(names, setting, slice(0, len(data.arrays["train"])))}
    sums = {name: ErrorSums() for name in forecasters}
    for index in window_batches(val):  # a batch at a time, as the test windows
        x, y = val.batch(index)
        for name, forecaster in forecasters.items():
            sums[name].add(forecaster(x, None), y)
    metric = cfg.evaluate.metric
    errors = {name: s.errors(scale)[metric] for name, s in sums.items()}
    return champion_gate.beats_naive(metric, errors.pop(MODEL), errors)


@dataclass(frozen=True)
class TableScores:
    """One table's test windows scored, with what the backtest and the gate reuse."""
    scores: Scores
    setting: Setting
    test: WindowDataset
    origins: np.ndarray
    kept: int  # windows a drop_last loader keeps (0: not scored alone)
    scale: torch.Tensor  # MASE's per-channel scale


def table_scores(cfg: Config, data: PreparedData, model: torch.nn.Module,
                 names: list[str], alone: bool = True) -> TableScores:
    """The model and the baselines `names` (fit on the table's training rows) on the same test
    windows of one table, a batch at a time (scoring.py). `alone`: not one of a stack's tables,
    whose windows are pooled (a drop_last subset of each would not be the published one)."""
    ev, d = cfg.evaluate, cfg.data
    targets = data.target_columns
    period, period_key = choose_season(cfg, data.meta, d.lookback, len(data.arrays["train"]),
                                       names)
    setting = Setting(full_series(data), targets, d.lookback, d.horizon, period, period_key, ev)
    test = data.windows("test", d.lookback, d.horizon)
    kept = drop_last_windows(len(test), ev.drop_last_batch) if alone else 0
    origins = window_origins(data, d.lookback, len(test))
    forecasters = {MODEL: lambda x, origins: predict(model, x),
                   **fit_baselines(names, setting, slice(0, len(data.arrays["train"])))}
    conformal = None
    if ev.interval_levels:  # every forecaster's errors on the validation windows
        val = data.windows("val", d.lookback, d.horizon)
        conformal = calibrate_forecasters(forecasters, val, window_origins(
            data, d.lookback, len(val), "val"), ev.interval_levels)
        if getattr(model, "quantiles", None):  # a quantile model has intervals of its own
            conformal[MODEL] = QuantileIntervals(model, ev.interval_levels)
    scale = naive_scale(data.arrays["train"][:, targets], period)
    scores = score(forecasters, test, origins, data.scaler, scale, kept, ev.sample_windows,
                   conformal)
    return TableScores(scores, setting, test, origins, kept, scale)


def stacked_scores(cfg: Config, data: PreparedData, model: torch.nn.Module, names: list[str],
                   first: TableScores) -> tuple[Scores, str]:
    """A stack's scores pooled over every table's series (data.tables), and how the report
    says so; the first table's own where it stands alone."""
    if not data.tables:
        return first.scores, ""
    parts = [(first.scores, len(first.test) * len(data.target_columns))]
    described_tables = [f"{data.meta['dataset']} ({data.n_channels} series, "
                        f"{len(first.test)} windows)"]
    for table, table_cfg in zip(data.tables, table_configs(cfg.data), strict=True):
        scored = table_scores(replace(cfg, data=table_cfg), table, model, names, alone=False)
        parts.append((scored.scores, len(scored.test) * len(table.target_columns)))
        described_tables.append(f"{table_cfg.name} ({table.n_channels} series, "
                                f"{len(scored.test)} windows)")
    return pooled(parts), (", ".join(described_tables) + "; the test metrics are pooled over "
                           "every series' windows, the plots, backtest and champion gate read "
                           f"{data.meta['dataset']} alone")


def evaluate_forecaster(cfg: Config, data: PreparedData, model: torch.nn.Module,
                        run_info: dict[str, Any], history: pd.DataFrame) -> Evaluation:
    """The model and the baselines on the test windows, the backtest and the gate; `history`
    is the training's learning curve."""
    ev = cfg.evaluate
    check_baselines(ev.baselines)  # a misspelt name fails before anything is scored
    return_freed_memory()  # batches come and go: their buffers go back to the system at once
    targets = data.target_columns
    widest = max(len(t.target_columns) for t in (data, *data.tables))
    names = applicable(ev.baselines, widest)
    first = table_scores(cfg, data, model, names, alone=not data.tables)
    setting, test, origins, kept, scale = (first.setting, first.test, first.origins, first.kept,
                                           first.scale)
    series = setting.series
    period, period_key = setting.period, setting.period_key
    scores, stack_line = stacked_scores(cfg, data, model, names, first)
    undefined = mase_undefined(data, scale)
    train_rows = slice(0, len(data.arrays["train"]))

    folds = make_folds(origins, ev.backtest.folds, ev.backtest.mode, train_rows.stop) \
        if ev.backtest.folds else []
    folds_table = backtest(folds, setting, names, test, origins,
                           model_per_fold(cfg, data, series, model), scale) if folds else None

    # What the model does inside, on a sample of windows, for models that have it to show.
    shown = test.batch(sample_index(len(test)))[0]
    gates = gate_activations(model, shown[:1])
    attention = attention_weights(model, shown)
    verdict = gate_verdict(cfg, data, model, setting, scale)

    header = {
        "model": run_info["model"],
        "data": f"{cfg.data.name}, columns {', '.join(data.columns)}, targets "
                f"{', '.join(data.columns[c] for c in targets)}",
        "test windows": f"{len(test)} (lookback {cfg.data.lookback}, horizon "
                        f"{cfg.data.horizon}, from {data.meta.get('test_start_time')})"
                        + (f"; the first {kept} also scored alone, as a test loader of "
                           f"batch {ev.drop_last_batch} with drop_last keeps them "
                           "(evaluate.drop_last_batch)" if kept else ""),
        **({"stacked tables": stack_line} if stack_line else {}),
        "season period": described(period, period_key),
        **({"MASE": undefined} if undefined else {}),
        "baselines": ", ".join(names) + " (fit on the training rows only)",
        "backtest": (f"{len(folds)} folds, {ev.backtest.mode} window, network "
                     + ("retrained per fold" if ev.backtest.refit_model else "as trained"))
                    if folds else "off",
        "champion gate": verdict.line(),
    }

    def draw_all(folder: Path) -> dict[str, str]:
        return write_plots(folder, cfg, data, run_info, scores, folds_table, gates, attention,
                           shown[:1], history)

    def report(run: dict[str, Any] | None, champion: dict[str, Any] | None,
               figures: dict[str, str]) -> str:
        lines = {**header, "MLflow": run_line(run)} if run else header
        return render(lines, scores.metrics, folds_table, figures, champion, ev.metric)

    return Evaluation(scores.metrics, ev.metric, verdict, report, draw_all,
                      curves=step_curves(scores, cfg.data.horizon))


def step_curves(scores: Scores, horizon: int) -> list[dict[str, float]]:
    """The error per horizon step as MLflow curves: one dict of metrics per step."""
    return [{test_metric(name, f"{m}{units}_by_step"): float(v[m][step])
             for units, errors in (("", scores.by_step), ("_original", scores.by_step_original))
             for name, v in errors.items() for m in ("mse", "mae")}
            for step in range(horizon)]


def mase_undefined(data: PreparedData, scale: torch.Tensor) -> str | None:
    """Why MASE has no value (null in metrics.json), or None when it has one: a target channel
    whose training rows repeat one season exactly, so the naive error it divides by is 0."""
    flat = [data.columns[c] for c, s in zip(data.target_columns, scale.tolist(), strict=True)
            if not s > 0]
    if not flat:
        return None
    reason = (f"none (null in metrics.json): the training rows of {', '.join(map(repr, flat))} "
              "repeat the seasonal-naive forecast exactly (a constant target, for one), so the "
              "naive error MASE divides by is 0")
    log.warning("MASE: %s", reason)
    return reason


#: the model's interval bands dvc.yaml's forecast plot names (evaluate.interval_levels' default)
DVC_BANDS = [f"forecast_{end}_{level_name(level)}" for level in LEVELS for end in ("lo", "hi")]


def for_dvc_plots(frame: pd.DataFrame, bands: bool = False) -> pd.DataFrame:
    """The frame with a column for every baseline (and with `bands` the default levels' model
    intervals), empty for those that did not run (another evaluate.baselines or
    interval_levels, or ets and arima on several targets): dvc.yaml's plots name them all, and
    DVC drops a plot whose data lacks a named column."""
    named = [*BASELINES, *(DVC_BANDS if bands else [])]
    return frame.reindex(columns=[*frame.columns, *(c for c in named if c not in frame)])


def write_plots(folder: Path, cfg: Config, data: PreparedData, run_info: dict[str, Any],
                scores: Scores, folds: pd.DataFrame | None, gates, attention,
                first_window: torch.Tensor, history: pd.DataFrame) -> dict[str, str]:
    """Every plot as PNG (and its data as CSV, for dvc.yaml's plots) into folder; returns
    title -> PNG name. The CSV of a plot that does not apply to the model (attention, gates)
    is written with its header only, so `dvc plots show` draws it empty instead of failing."""
    ev, unit = cfg.evaluate, ", ".join(data.columns[c] for c in data.target_columns)
    metrics = scores.metrics
    written = {}

    for_dvc_plots(scores.curve, bands=True).to_csv(folder / FORECAST_CSV, index=False)
    draw.forecast_plot(scores.curve, folder / FORECAST_PNG,
                       f"{cfg.data.name}: {run_info['model']} vs baselines, test period", unit)
    written["Forecast against actual, test period"] = FORECAST_PNG

    scores.windows.to_csv(folder / WINDOWS_CSV, index=False)
    draw.window_plot(scores.windows, folder / WINDOWS_PNG, unit)
    written["Sample test windows with their lookback"] = WINDOWS_PNG

    draw.learning_curve_plot(history, folder / LEARNING_CURVE_PNG, run_info["best_epoch"])
    written["Learning curve"] = LEARNING_CURVE_PNG

    steps = np.arange(1, cfg.data.horizon + 1)
    horizon = pd.DataFrame({"step": steps, **{name: v["mae"] for name, v in
                                              scores.by_step.items()}})
    for_dvc_plots(horizon).to_csv(folder / HORIZON_CSV, index=False)
    for_dvc_plots(pd.DataFrame({"step": steps, **{name: v["mae"] for name, v in
                                                  scores.by_step_original.items()}})
                  ).to_csv(folder / HORIZON_ORIGINAL_CSV, index=False)
    draw.horizon_plot(horizon, folder / HORIZON_PNG, "mae")
    written["Error per horizon step"] = HORIZON_PNG

    comparison = pd.DataFrame([{"forecaster": name, "test_error": values[ev.metric],
                                "metric": ev.metric} for name, values in metrics.items()])
    comparison.to_csv(folder / COMPARISON_CSV, index=False)
    draw.comparison_plot(comparison, folder / COMPARISON_PNG, ev.metric)
    written["Model against the baselines"] = COMPARISON_PNG

    if folds is not None:
        folds.to_csv(folder / BACKTEST_TABLE, index=False)
        wide = folds.pivot(index="fold", columns="forecaster", values=ev.metric)
        for_dvc_plots(wide[list(metrics)].reset_index()).to_csv(folder / BACKTEST_CSV,
                                                               index=False)
        draw.backtest_plot(folds, folder / BACKTEST_PNG, ev.metric)
        written["Rolling-origin backtest"] = BACKTEST_PNG

    if attention is not None:
        mean = attention.mean(dim=0).numpy()
        steps_h, steps_l = np.meshgrid(np.arange(1, mean.shape[0] + 1),
                                       np.arange(-mean.shape[1] + 1, 1), indexing="ij")
        pd.DataFrame({"horizon_step": steps_h.ravel(), "lookback_step": steps_l.ravel(),
                      "weight": mean.ravel()}).to_csv(folder / ATTENTION_CSV, index=False)
        draw.attention_plot(mean, attention[0].numpy(), folder / ATTENTION_PNG)
        written["Attention (encoder-decoder)"] = ATTENTION_PNG
    else:  # dvc.yaml lists the plot for every model: say why it is empty
        pd.DataFrame(columns=["horizon_step", "lookback_step", "weight"]).to_csv(
            folder / ATTENTION_CSV, index=False)
        draw.note_plot(f"{run_info['model']} has no attention weights: the heat map is drawn "
                       "for model.architecture=seq2seq", folder / ATTENTION_PNG)

    if gates is not None:
        if gates.max_error > 1e-4:
            log.warning("gate replay differs from the layer's output by %.2g", gates.max_error)
        # long form (step, gate, mean over units): one line per gate in dvc plots
        means = pd.concat([pd.DataFrame({"step": np.arange(1, len(g) + 1), "gate": name,
                                         "mean": g.mean(dim=1).numpy()})
                           for name, g in gates.gates.items()], ignore_index=True)
        means.to_csv(folder / GATES_CSV, index=False)
        # the layer reads the window itself, or (SegRNN) one embedded segment per step
        steps_read = len(next(iter(gates.gates.values())))
        inputs = first_window[0, :, data.target_columns[0]].numpy() \
            if steps_read == first_window.shape[1] else None
        draw.gates_plot({k: v.numpy() for k, v in gates.gates.items()}, inputs,
                        folder / GATES_PNG, gates.cell)
        written["Gate activations over time"] = GATES_PNG
    else:
        pd.DataFrame(columns=["step", "gate", "mean"]).to_csv(folder / GATES_CSV, index=False)
        draw.note_plot(f"{run_info['model']}: its first recurrent layer has no gates to show "
                       "(drawn for lstm, peephole_lstm, gru and gru_classic)", folder / GATES_PNG)
    return written
