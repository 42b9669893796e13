"""Sliding windows (lookback L -> horizon H) as views over one contiguous tensor per split.

`unfold` gives an (N, C, L+H) view without copying; a batch copies only its own windows.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Dataset, Sampler


def column_index(columns: list[int], device: torch.device) -> slice | torch.Tensor:
    """How a batch picks its target columns: a slice where they are consecutive (the usual
    case: one target, or all), else an index tensor made once on the series' device. A Python
    list would be copied to the device at every batch: a host-to-device transfer per step."""
    if columns and columns == list(range(columns[0], columns[0] + len(columns))):
        return slice(columns[0], columns[0] + len(columns))
    return torch.tensor(columns, dtype=torch.long, device=device)


class WindowDataset(Dataset):
    def __init__(
        self,
        series: torch.Tensor,
        lookback: int,
        horizon: int,
        stride: int = 1,
        target_columns: list[int] | None = None,
        future_columns: list[int] | None = None,
    ):
        if series.ndim != 2:
            raise ValueError(f"series must be (time, channels), got shape {tuple(series.shape)}")
        self.series = series.contiguous()
        self.lookback, self.horizon, self.stride = lookback, horizon, stride
        self.target_columns = target_columns if target_columns is not None else list(
            range(series.shape[1])
        )
        self._windows = self.series.unfold(0, lookback + horizon, stride)  # (N, C, L+H), a view
        self._targets = column_index(self.target_columns, self.series.device)
        # Columns known over the horizon: x then holds the horizon's rows too, with only those
        # columns kept (the others 0), and the model splits it at the lookback.
        self.future_columns = list(future_columns or [])
        self._unknown = [c for c in range(series.shape[1]) if c not in self.future_columns]

    def __len__(self) -> int:
        return self._windows.shape[0]

    def batch(self, index: torch.Tensor | list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, L, C) inputs (B, L+H, C with future columns), y: (B, H, targets)."""
        w = self._windows[torch.as_tensor(index)].transpose(1, 2)  # (B, L+H, C)
        y = w[:, self.lookback :, self._targets]
        if not self.future_columns:
            return w[:, : self.lookback], y
        x = w.clone()
        x[:, self.lookback :, self._unknown] = 0
        return x, y

    def series_rows(self, window: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
        """(n, L+H): the rows of window[i] in channel column[i], one series' window each."""
        return self._windows[window, column]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch([i])
        return x[0], y[0]

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.batch(torch.arange(len(self)))

    @property
    def device(self) -> torch.device:
        return self.series.device

    @property
    def nbytes(self) -> int:
        return self.series.untyped_storage().nbytes()

    @property
    def window_bytes(self) -> int:
        return (self.lookback + self.horizon) * self.series.shape[1] * self.series.element_size()

    def to(self, device: torch.device | str) -> WindowDataset:
        """The same windows over a copy of the series on `device` (one tensor, no windows)."""
        return WindowDataset(self.series.to(device), self.lookback, self.horizon, self.stride,
                             self.target_columns, self.future_columns)


class StackedWindows:
    """The windows of several tables' series as one dataset of univariate windows: window i is
    one series' window (table, window, column), so a global model (data.stack) sees every series
    of every table in each epoch, whatever each table's length and columns. Windows never cross
    from one series or table into another."""

    def __init__(self, parts: list[WindowDataset]):
        self.parts = parts
        self.lookback, self.horizon = parts[0].lookback, parts[0].horizon
        sizes = torch.tensor([len(p) * p.series.shape[1] for p in parts])
        self.starts = torch.cumsum(sizes, 0) - sizes  # first index of each part
        self.size = int(sizes.sum())
        self.target_columns = [0]

    def __len__(self) -> int:
        return self.size

    @property
    def device(self) -> torch.device:
        return self.parts[0].device

    @property
    def nbytes(self) -> int:
        return sum(p.series.untyped_storage().nbytes() for p in self.parts)

    @property
    def window_bytes(self) -> int:
        return (self.lookback + self.horizon) * self.parts[0].series.element_size()

    def batch(self, index: torch.Tensor | list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, L, 1), y: (B, H, 1), in the order of `index`."""
        index = torch.as_tensor(index, device=self.device)
        part = torch.bucketize(index, self.starts.to(index.device), right=True) - 1
        windows = torch.empty(len(index), self.lookback + self.horizon,
                              dtype=self.parts[0].series.dtype, device=self.device)
        for number, p in enumerate(self.parts):
            rows = (part == number).nonzero().squeeze(1)
            if len(rows):
                local, columns = index[rows] - int(self.starts[number]), p.series.shape[1]
                window, column = local // columns, local % columns
                windows[rows] = p.series_rows(window, column)
        return windows[:, : self.lookback, None], windows[:, self.lookback :, None]

    def to(self, device: torch.device | str) -> StackedWindows:
        return StackedWindows([p.to(device) for p in self.parts])


#: Bytes of windows in one batch where a whole split is read (evaluate): the model, the
#: baselines and the metrics each make a few float64 copies of a batch, whatever the number of
#: windows. Small enough that those copies stay far below the process's fixed size (~500 MB of
#: libraries), large enough that a batch is hundreds of short windows.
BATCH_BYTES = 8 << 20


def window_batches(dataset: WindowDataset | StackedWindows, index: torch.Tensor | None = None,
                   budget: int = BATCH_BYTES) -> Iterator[torch.Tensor]:
    """`index` (default: every window, in order) cut into consecutive batches of about `budget`
    bytes of windows."""
    size = max(1, budget // dataset.window_bytes)
    index = torch.arange(len(dataset)) if index is None else torch.as_tensor(index)
    yield from index.split(size)


def batch_share(n: int) -> slice:
    """The rows of an n-row batch this process trains on: all of them, or in a multi-process
    training (trainer.devices or trainer.num_nodes above 1) its contiguous share. Every process
    reads the same batches in the same order, so the processes together step on the global batch
    one process would: DDP averages their gradients, which is the whole batch's gradient when
    the shares are equal (train.batch_size a multiple of the process count)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return slice(0, n)
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


class IndexBatches:
    """Batches drawn by index from a WindowDataset wherever its series lives (CPU or GPU): one
    indexing op per batch, no DataLoader workers, no per-sample Python work, no host copy.

    Lightning calls `sampler.set_epoch` before each epoch, as for a DataLoader."""

    batch_sampler = None  # Lightning inspects loaders through DataLoader's attributes

    def __init__(self, dataset: WindowDataset, batch_size: int, sampler: Sampler | None = None):
        self.dataset, self.batch_size, self.sampler = dataset, batch_size, sampler

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = (torch.tensor(list(self.sampler)) if self.sampler is not None
                 else torch.arange(n)).to(self.dataset.device)
        for start in range(0, n, self.batch_size):
            chunk = order[start : start + self.batch_size]
            yield self.dataset.batch(chunk[batch_share(len(chunk))])


class EpochShuffle(Sampler[int]):
    """A permutation that depends only on (seed, epoch): resuming at epoch k replays epoch k's
    order exactly. Lightning calls set_epoch before each epoch."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n
