"""Split-conformal intervals: the half-widths, coverage on a series with known noise, and the
interval scores against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.evaluation.intervals import Conformal, IntervalSums, calibrate, quantile_levels
from tests.conftest import load


def test_the_half_width_is_the_conformal_order_statistic():
    errors = np.arange(1, 20, dtype=float).reshape(19, 1, 1)  # 19 windows: errors 1..19
    conformal = calibrate(errors, (0.8, 0.9))
    # ceil(20 x 0.8) = 16th and ceil(20 x 0.9) = 18th smallest
    assert conformal.half_widths[:, 0, 0].tolist() == [16.0, 18.0]
    assert calibrate(errors[:3], (0.9,)).half_widths[0, 0, 0] == 3.0  # too few: the largest


def test_coverage_on_known_noise_is_within_sampling_error():
    """A forecaster that knows the mean of a series with Gaussian noise whose spread grows with
    the step: the calibrated intervals cover each level within three standard errors."""
    rng = np.random.default_rng(0)
    spread = np.linspace(0.5, 2.0, 6)[None, :, None]
    calibration = np.abs(rng.normal(size=(1000, 6, 1)) * spread)
    conformal = calibrate(calibration, (0.8, 0.95))
    n = 20_000
    target = torch.from_numpy(rng.normal(size=(n, 6, 1)) * spread)
    sums = IntervalSums(conformal.levels)
    zero = torch.zeros_like(target)
    sums.add(zero, target, conformal.bounds(zero))
    scores = sums.scores()
    for level, name in ((0.8, "80"), (0.95, "95")):
        error = 3 * np.sqrt(level * (1 - level) / (n * 6))
        # the calibration set's own sampling error (1000 windows) dominates the test's
        assert abs(scores[f"coverage_{name}"] - level) < error + 3 * np.sqrt(
            level * (1 - level) / 1000), (name, scores)
    # the widths follow the noise: step 6's interval about four times step 1's
    ratio = conformal.half_widths[:, -1, 0] / conformal.half_widths[:, 0, 0]
    assert np.all((ratio > 3) & (ratio < 5))


def test_pinball_and_crps_by_hand():
    conformal = Conformal((0.8,), np.array([[[1.0]]]))  # interval point -/+ 1
    sums = IntervalSums(conformal.levels)
    point = torch.tensor([[[0.0]]])
    sums.add(point, torch.tensor([[[2.0]]]), conformal.bounds(point))  # the value above it
    # quantiles 0.1 (at -1), 0.5 (at 0), 0.9 (at 1); value 2: pinball tau x (2 - q)
    expected = (0.1 * 3 + 0.5 * 2 + 0.9 * 1) / 3
    scores = sums.scores()
    assert scores["pinball"] == pytest.approx(expected)
    assert scores["crps"] == pytest.approx(2 * expected)
    assert scores["coverage_80"] == 0 and scores["width_80"] == 2
    assert quantile_levels((0.8, 0.95)) == pytest.approx([0.025, 0.1, 0.5, 0.9, 0.975])


@pytest.mark.parametrize("levels", ["[0.95,0.8]", "[0.8,1.0]", "[0]"])
def test_levels_out_of_order_or_range_name_the_key(levels):
    with pytest.raises(ConfigError, match="evaluate.interval_levels"):
        load(f"evaluate.interval_levels={levels}")
