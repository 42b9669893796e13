"""The champion gate (evaluate.champion_gate): a registered version takes the `champion` alias only
if it beats forecasts that need no training, on the validation windows. A diverged model can end
with a finite loss (train.lr=1e6: val MSE 8e9) and would otherwise win on an empty registry; it
stays registered, for the record, and `rnnops predict` and servers never get it.

Validation, not test: the gate is part of model selection, and the test set only ranks the
versions that pass it. The verdict depends only on the pipeline's inputs, so the DVC report states
it too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

NAIVE = ("last_value", "seasonal_naive")
GATES = ("naive", "none")


@dataclass(frozen=True)
class Verdict:
    rule: str  # evaluate.champion_gate
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        if self.rule == "none":
            return self.reason
        return f"{self.rule}: {'passed' if self.passed else 'FAILED'} ({self.reason})"


def off() -> Verdict:
    return Verdict("none", True, "off (evaluate.champion_gate=none)")


def beats_naive(metric: str, model: float, naive: dict[str, float]) -> Verdict:
    """The model's validation `metric` must be lower than each naive forecast's (a NaN fails)."""
    others = ", ".join(f"{name} {value:.5g}" for name, value in naive.items())
    best = min(naive.values())
    passed = math.isfinite(model) and model < best
    verb = "is below" if passed else "is not below"
    return Verdict("naive", passed, f"validation {metric} {model:.5g} {verb} the naive "
                   f"forecasts': {others}")


def beats_uniform(loss: float, vocab_size: int) -> Verdict:
    """A language model must beat a uniform guess over its vocabulary: ln(V) nats per token."""
    uniform = math.log(vocab_size)
    passed = math.isfinite(loss) and loss < uniform
    verb = "is below" if passed else "is not below"
    return Verdict("naive", passed, f"best validation loss {loss:.5g} nats per token {verb} "
                   f"{uniform:.5g}, a uniform guess over the {vocab_size} tokens")
