"""Which registered version serves: the champion decision, as a pure function of what the
registry holds and what the new version scored (no MLflow here; rnnops.tracking reads the
current champion and records the decision).

A new version takes the `champion` alias when its test metric is lower than the champion's, or
there is none. Not when the champion was scored on other data (another horizon, lookback or
column set: its forecasts have another shape, and a lower number means nothing), nor when the
champion has no score to compare with, nor when the new version fails the champion gate
(evaluation/gate.py). A version evaluated again while it holds the alias keeps it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnops.evaluation.gate import Verdict


@dataclass(frozen=True)
class Holder:
    """The version holding the alias as the registry knows it (all None: no champion)."""

    version: str | None = None
    value: float | None = None  # its test metric, when it has one
    test_set: str | None = None  # provenance.test_set_id of the data it was scored on


@dataclass(frozen=True)
class Decision:
    name: str
    version: str
    metric: str
    value: float
    promoted: bool
    champion_version: str | None  # the holder compared with (None: none, or this version)
    champion_value: float | None
    already_champion: bool
    champion_other_data: bool
    gate_failed: bool
    gate: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for the log."""
        against = (f"v{self.champion_version} (other data)" if self.champion_other_data else
                   "none" if self.champion_value is None else
                   f"v{self.champion_version} {self.champion_value:.5g}")
        outcome = "champion" if self.promoted else "alias unchanged" + (
            " (gate failed)" if self.gate_failed else "")
        return (f"{self.name} v{self.version}: test {self.metric} {self.value:.5g} vs champion "
                f"{against}: {outcome}")


def decide(name: str, version: str, metric: str, value: float, holder: Holder,
           test_set: str | None, verdict: Verdict | None) -> Decision:
    """Whether `version` (test `metric` = `value`, scored on `test_set`) takes the alias from
    `holder`, given the champion gate's `verdict` (None: no gate)."""
    already = holder.version == version
    other_data = (test_set is not None and holder.test_set is not None
                  and holder.test_set != test_set)
    compared_with, previous = holder.version, holder.value
    if already:
        promoted, compared_with, previous = True, None, None  # evaluated again: it stays
    elif other_data:
        promoted, previous = False, None
    elif holder.version is not None and previous is None:
        promoted = False  # nothing to compare with: moving the alias is the user's call
    else:
        promoted = previous is None or value < previous
    gate_failed = verdict is not None and not verdict.passed and not already
    if gate_failed:
        promoted = False
    return Decision(name, version, metric, float(value), promoted, compared_with, previous,
                    already, other_data, gate_failed,
                    verdict.as_dict() if verdict is not None else None)
