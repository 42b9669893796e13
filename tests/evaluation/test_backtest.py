import numpy as np
import pytest

from rnnops.evaluation.backtest import make_folds


@pytest.mark.parametrize("mode", ["expanding", "sliding"])
def test_folds_cover_every_window_once_and_fit_only_on_the_past(mode):
    origins = np.arange(500, 600)
    folds = make_folds(origins, 3, mode, train_rows=200)
    assert [f.number for f in folds] == [1, 2, 3]
    assert np.concatenate([f.windows for f in folds]).tolist() == list(range(100))
    for fold in folds:
        first = origins[fold.windows[0]]
        assert fold.rows.stop == first + 1  # up to the first origin's last observed row
        assert fold.rows.start == (0 if mode == "expanding" else first + 1 - 200)
    assert folds[0].rows.stop < folds[1].rows.stop < folds[2].rows.stop


def test_more_folds_than_windows():
    assert len(make_folds(np.arange(10, 12), 5, "expanding", 5)) == 2
