"""The champion decision is a pure function of the registry's holder and the new score."""

import pytest

from rnnops.evaluation.champion import Holder, decide
from rnnops.evaluation.gate import Verdict

PASSED = Verdict("naive", True, "below the naive forecasts")
FAILED = Verdict("naive", False, "not below the naive forecasts")


def new(value: float, holder: Holder, test_set: str | None = "co2-a", verdict=PASSED,
        version: str = "2"):
    return decide("m", version, "mse", value, holder, test_set, verdict)


@pytest.mark.parametrize(("holder", "value", "promoted"), [
    (Holder(), 0.5, True),  # no champion yet
    (Holder("1", 0.4, "co2-a"), 0.3, True),  # lower on the same data
    (Holder("1", 0.4, "co2-a"), 0.4, False),  # a tie keeps the holder
    (Holder("1", 0.4, "co2-a"), 0.5, False),  # higher
    (Holder("1", 0.4, "co2-b"), 0.1, False),  # scored on other data: not compared
    (Holder("1", None, "co2-a"), 0.1, False),  # nothing to compare with: the user's call
])
def test_the_alias_moves_only_to_a_lower_score_on_the_same_data(holder, value, promoted):
    decision = new(value, holder)
    assert decision.promoted is promoted
    assert decision.champion_other_data is (holder.test_set == "co2-b")


def test_a_version_failing_the_gate_never_takes_the_alias():
    decision = new(0.1, Holder(), verdict=FAILED)
    assert not decision.promoted and decision.gate_failed
    assert decision.gate == {"rule": "naive", "passed": False,
                             "reason": "not below the naive forecasts"}


def test_the_holder_evaluated_again_keeps_the_alias_whatever_it_scores():
    decision = new(9.0, Holder("2", 0.1, "co2-a"), verdict=FAILED)
    assert decision.promoted and decision.already_champion and not decision.gate_failed
    assert decision.champion_version is None and decision.champion_value is None


def test_the_summary_names_both_scores():
    line = new(0.3, Holder("1", 0.4, "co2-a")).summary()
    assert line == "m v2: test mse 0.3 vs champion v1 0.4: champion"
