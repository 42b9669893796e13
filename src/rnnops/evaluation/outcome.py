"""What evaluating a trained model yields, whatever the kind of data: the values the evaluate
stage writes (metrics.json), logs (MLflow metrics and curves), decides on (the headline metric
and the champion gate's verdict), and the report and plots, as functions that write them.
The stage itself stays generic: it opens the run, records the champion decision and writes
these atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnops.evaluation.gate import Verdict
from rnnops.names import MODEL, test_metric

# (MLflow run {run_id, registered_model, model_version} or None, champion decision or None,
# plot title -> path relative to the report): the run and decision None make the DVC copy,
# which holds nothing that depends on the MLflow store.
Render = Callable[[dict[str, Any] | None, dict[str, Any] | None, dict[str, str]], str]


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, dict[str, Any]]  # forecaster -> metric -> value (metrics.json)
    headline: str  # the model's metric the champion is chosen on (evaluate.metric, perplexity)
    verdict: Verdict  # evaluate.champion_gate
    render: Render  # the markdown report
    # writes the plots (PNG, and CSV for dvc plots) into a folder: title -> PNG file name
    draw: Callable[[Path], dict[str, str]]
    curves: list[dict[str, float]] = field(default_factory=list)  # per horizon step, from 1

    @property
    def value(self) -> float:
        return self.metrics[MODEL][self.headline]

    def summary(self) -> str:
        """One sentence for the run's description: the headline metric against the best
        baseline that has it."""
        line = f"Test {self.headline} {self.value:.4g}"
        rivals = {name: values[self.headline] for name, values in self.metrics.items()
                  if name != MODEL and isinstance(values.get(self.headline), float)}
        if rivals:
            best = min(rivals, key=rivals.get)
            line += f" against the best baseline, {best}, {rivals[best]:.4g}"
        return line + "."

    def logged(self) -> dict[str, float]:
        """The metrics as MLflow names them (test/<forecaster>/<metric>); counts and labels
        (a language model's tokens and split) stay in metrics.json."""
        return {test_metric(name, key): value for name, values in self.metrics.items()
                for key, value in values.items() if isinstance(value, float)}
