"""Sliding windows (lookback L -> horizon H) as views over one contiguous tensor per split.

`unfold` gives an (N, C, L+H) view without copying; a batch copies only its own windows.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Sampler


class WindowDataset(Dataset):
    def __init__(
        self,
        series: torch.Tensor,
        lookback: int,
        horizon: int,
        stride: int = 1,
        target_columns: list[int] | None = None,
    ):
        if series.ndim != 2:
            raise ValueError(f"series must be (time, channels), got shape {tuple(series.shape)}")
        self.series = series.contiguous()
        self.lookback, self.horizon = lookback, horizon
        self.target_columns = target_columns if target_columns is not None else list(
            range(series.shape[1])
        )
        self._windows = self.series.unfold(0, lookback + horizon, stride)  # (N, C, L+H), a view

    def __len__(self) -> int:
        return self._windows.shape[0]

    def batch(self, index: torch.Tensor | list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, L, C) inputs, y: (B, H, targets)."""
        w = self._windows[torch.as_tensor(index)].transpose(1, 2)  # (B, L+H, C)
        return w[:, : self.lookback], w[:, self.lookback :, self.target_columns]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch([i])
        return x[0], y[0]

    # DataLoader calls this with a whole batch of indices (torch >= 2.0), so one indexing op
    # builds the batch instead of B calls to __getitem__ and a collate.
    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.batch(indices)

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.batch(torch.arange(len(self)))


def keep_batch(batch):
    """collate_fn for datasets whose __getitems__ already returns a batch."""
    return batch


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
