"""The markdown report of one evaluation: what was evaluated, the metrics table, per-fold
backtest, and the plots (linked relative to the report, as they lie beside it)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rnnops.evaluation.metrics import FORECAST_METRICS

#: Suffix of the metrics scored on the drop_last subset of the test windows.
DROP_LAST = "_drop_last"


def _table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of a frame (floats with 4 significant digits)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if math.isfinite(v) else "n/a"  # MASE of a constant target
        return str(v)

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---"
                          for c in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def metrics_frame(metrics: dict[str, dict[str, float]], suffix: str = "") -> pd.DataFrame:
    rows = [{"forecaster": name, **{m: values[m + suffix] for m in FORECAST_METRICS
                                    if m + suffix in values}}
            for name, values in metrics.items()]
    return pd.DataFrame(rows)


# reports/report.md is a DVC output, made the same wherever the same inputs are evaluated; what
# depends on the MLflow store (the run, the version, the other versions) is in the MLflow copy.
IN_MLFLOW = ("The MLflow run, the registered version and the champion decision depend on the "
             "store, not on the pipeline's inputs: they are in the MLflow copy of this report "
             "(the train run's `evaluation/report.md`).")


def run_line(run: dict[str, Any]) -> str:
    """The MLflow run evaluated, and its registered version when it has one."""
    version = (f", {run['registered_model']} v{run['model_version']}"
               if run.get("model_version") else "")
    return f"run {run['run_id']}{version}"


def registry_section(champion: dict[str, Any] | None, metric: str) -> list[str]:
    """Markdown lines on the champion alias after the champion decision (evaluation.champion,
    as a dict); without one (the DVC copy of the report), where to find them."""
    if not champion:
        return ["## Registry", "", IN_MLFLOW, ""]
    previous = champion.get("champion_value")
    return ["## Registry", "", (
        f"Version {champion['version']} of `{champion['name']}` scored test {metric} "
        f"{champion['value']:.5g}; the champion before it: "
        + (f"version {champion['champion_version']}, scored on other data (another horizon, "
           "lookback or column set), so not compared. "
           if champion.get("champion_other_data") else
           f"version {champion['champion_version']} with {previous:.5g}. "
           if previous is not None else
           "this same version. " if champion.get("already_champion") else "none. ")
        + (f"It fails the champion gate (evaluate.champion_gate={champion['gate']['rule']}): "
           f"{champion['gate']['reason']}; it is registered for the record only. "
           if champion.get("gate_failed") else "")
        + ("The `champion` alias now points to this version."
           if champion["promoted"] else "The `champion` alias stays where it was.")), ""]


INTERVAL_SCORES = ("coverage_", "width_", "pinball", "crps")


def interval_section(metrics: dict[str, dict[str, float]]) -> list[str]:
    """The intervals' scores (evaluate.interval_levels), when they were scored."""
    rows = [{"forecaster": name, **{k: v for k, v in values.items()
                                    if k.startswith(INTERVAL_SCORES)}}
            for name, values in metrics.items()]
    if not any(len(row) > 1 for row in rows):
        return []
    return ["## Prediction intervals (scaled data)", "",
            "Split-conformal intervals: each forecaster's absolute errors on the validation "
            "windows, per horizon step and channel, set its half-widths. Coverage is the "
            "fraction of test values inside (nominal: the level); CRPS is twice the mean "
            "pinball loss of the intervals' ends and the point forecast as quantiles.", "",
            _table(pd.DataFrame(rows)), ""]


def render(
    header: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    backtest: pd.DataFrame | None,
    plots: dict[str, str],
    champion: dict[str, Any] | None,
    metric: str,
) -> str:
    """header: facts about the run (model, data, windows...); plots: title -> relative path."""
    lines = ["# Evaluation report", ""]
    lines += [f"- **{key}**: {value}" for key, value in header.items()]
    lines += ["", "## Test metrics (scaled data, the papers' convention)", "",
              _table(metrics_frame(metrics)), "",
              "## Test metrics in original units", "",
              _table(metrics_frame(metrics, "_original")), "",
              "sMAPE is in percent (0-200); MASE divides each channel's MAE by the in-sample "
              "MAE of the seasonal-naive forecast on the training rows.", ""]
    lines += interval_section(metrics)
    first = metrics_frame(metrics, DROP_LAST)
    if first.shape[1] > 1:  # evaluate.drop_last_batch is set
        lines += ["## Test metrics on the drop_last windows (scaled data)", "",
                  "The first windows only, as a test loader with drop_last keeps them: the "
                  "protocol most published ETT figures were scored on.", "",
                  _table(first), ""]
    lines += registry_section(champion, metric)
    if backtest is not None and len(backtest):
        cols = ["fold", "forecaster", "first_origin", "last_origin", "windows",
                *FORECAST_METRICS]
        lines += ["## Rolling-origin backtest", "", _table(backtest[cols]), ""]
    lines += ["## Plots", ""]
    for title, path in plots.items():
        lines += [f"### {title}", "", f"![{title}]({path})", ""]
    return "\n".join(lines)
