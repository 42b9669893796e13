import pytest
import torch

from rnnops.data.windows import EpochShuffle, IndexBatches, WindowDataset


def series(n=20, c=2):
    t = torch.arange(n, dtype=torch.float32)
    return torch.stack([t + 100 * k for k in range(c)], dim=1)  # column k holds 100k + t


def test_windows_are_views_and_batches_hold_the_right_rows():
    s = series()
    ds = WindowDataset(s, lookback=5, horizon=3, stride=2, target_columns=[1])
    assert len(ds) == (20 - 8) // 2 + 1
    assert ds._windows.untyped_storage().data_ptr() == s.untyped_storage().data_ptr()
    x, y = ds.batch([0, 3])
    assert x.shape == (2, 5, 2) and y.shape == (2, 3, 1)
    assert x[1, :, 0].tolist() == [6, 7, 8, 9, 10]  # window 3 starts at row 3 * stride
    assert y[1, :, 0].tolist() == [111, 112, 113]  # next 3 rows of the target column


def test_getitem_is_one_window_of_a_batch():
    ds = WindowDataset(series(), lookback=4, horizon=2)
    x, y = ds.batch([1, 2])
    x1, y1 = ds[1]
    assert torch.equal(x[0], x1) and torch.equal(y[0], y1)
    assert ds.all()[0].shape == (len(ds), 4, 2)


def test_epoch_shuffle_depends_only_on_seed_and_epoch():
    a, b = EpochShuffle(50, seed=7), EpochShuffle(50, seed=7)
    first = list(a)
    assert sorted(first) == list(range(50))
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b) != first
    b.set_epoch(0)
    assert list(b) == first


def test_index_batches_follow_the_sampler_and_cover_every_window():
    ds = WindowDataset(series(50, 1), lookback=4, horizon=2)
    sampler = EpochShuffle(len(ds), seed=1)
    batches = IndexBatches(ds, batch_size=8, sampler=sampler)
    assert len(batches) == 6  # 45 windows
    order = list(sampler)
    firsts = torch.cat([x[:, 0, 0] for x, _ in batches])
    assert firsts.tolist() == [float(i) for i in order]  # window i starts at row i
    sampler.set_epoch(1)
    assert torch.cat([x[:, 0, 0] for x, _ in batches]).tolist() != firsts.tolist()
    plain = torch.cat([x[:, 0, 0] for x, _ in IndexBatches(ds, 8)])
    assert plain.tolist() == [float(i) for i in range(45)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_split_can_live_on_the_gpu():
    ds = WindowDataset(series(), lookback=5, horizon=3).to("cuda")
    x, y = next(iter(IndexBatches(ds, 4, EpochShuffle(len(ds), 0))))
    assert x.is_cuda and y.is_cuda
    first = list(EpochShuffle(len(ds), 0))[:4]
    assert torch.equal(x.cpu(), WindowDataset(series(), 5, 3).batch(first)[0])
