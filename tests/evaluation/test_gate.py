"""The champion gate's verdicts: a model must beat every naive forecast on validation."""

import math

from rnnops.evaluation.gate import beats_naive, beats_uniform, off


def test_a_model_must_beat_every_naive_forecast():
    good = beats_naive("mse", 0.01, {"last_value": 0.09, "seasonal_naive": 0.03})
    assert good.passed and good.line() == (
        "naive: passed (validation mse 0.01 is below the naive forecasts': last_value 0.09, "
        "seasonal_naive 0.03)")
    assert not beats_naive("mse", 0.05, {"last_value": 0.09, "seasonal_naive": 0.03}).passed
    diverged = beats_naive("mse", 8.0e9, {"last_value": 0.09, "seasonal_naive": 0.03})
    assert not diverged.passed and diverged.line().startswith(
        "naive: FAILED (validation mse 8e+09 is not below")
    assert not beats_naive("mse", math.nan, {"last_value": 0.09}).passed
    assert not beats_naive("mse", 0.09, {"last_value": 0.09}).passed  # a tie is no win


def test_a_language_model_must_beat_a_uniform_guess():
    assert beats_uniform(math.log(65) - 0.01, 65).passed
    verdict = beats_uniform(7.0, 65)
    assert not verdict.passed and "a uniform guess over the 65 tokens" in verdict.reason
    assert off().passed and off().line() == "off (evaluate.champion_gate=none)"
