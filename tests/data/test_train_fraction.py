"""data.train_fraction: the latest training rows train, the scaler stays the protocol's."""

from __future__ import annotations

import numpy as np
import pytest

from rnnops.config import DataConfig, SplitConfig
from rnnops.data.preprocess import split_rows
from rnnops.errors import DataError


def test_the_latest_rows_train_and_the_scaler_rows_stay_whole():
    values = np.arange(400, dtype=np.float32)[:, None]
    cfg = DataConfig(lookback=10, horizon=5, train_fraction=0.25,
                     split=SplitConfig(protocol="counts", train=200, val=100, test=100))
    s = split_rows(values, cfg)
    assert s.train[:, 0].tolist() == list(range(150, 200))
    assert s.borders["train"] == [150, 200]
    assert len(s.scaler_rows) == 200
    assert s.val[0, 0] == 190 and s.test[0, 0] == 290  # the other splits as without it


def test_a_fraction_too_short_for_a_window_says_what_to_raise():
    cfg = DataConfig(lookback=10, horizon=5, train_fraction=0.05,
                     split=SplitConfig(protocol="counts", train=200, val=100, test=100))
    with pytest.raises(DataError, match="train split has 10 rows.*raise data.train_fraction"):
        split_rows(np.zeros((400, 1), dtype=np.float32), cfg)
