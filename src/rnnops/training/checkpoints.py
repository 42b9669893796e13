"""Checkpoints a crash cannot half-write and a resume can trust.

Each checkpoint is written to a temporary file and renamed, with its sha256 beside it
(`last.ckpt.sha256`). `train.resume=true` continues from the newest checkpoint that still hashes
as written: last.ckpt, else best.ckpt (an earlier epoch; training is deterministic per epoch, so
continuing from there reaches the same result, only later).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from pytorch_lightning.plugins import TorchCheckpointIO

from rnnops.config import Config, fingerprint, with_overrides
from rnnops.data.download import sha256_of
from rnnops.errors import UserError

log = logging.getLogger("rnnops.training")

LAST = "last.ckpt"
BEST = "best.ckpt"
DIGEST = ".sha256"  # suffix of the file holding a checkpoint's hash


def digest_file(path: str | Path) -> Path:
    return Path(f"{path}{DIGEST}")


class AtomicCheckpointIO(TorchCheckpointIO):
    """A process killed while saving leaves the previous checkpoint and its hash intact."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        temp = f"{path}.tmp-{os.getpid()}"
        super().save_checkpoint(checkpoint, temp, storage_options)
        digest_file(temp).write_text(sha256_of(Path(temp)) + "\n")
        os.replace(temp, path)
        os.replace(digest_file(temp), digest_file(path))

    def remove_checkpoint(self, path) -> None:
        super().remove_checkpoint(path)
        digest_file(path).unlink(missing_ok=True)


def problem(path: Path) -> str | None:
    """Why the checkpoint at `path` cannot be trusted, or None. One read of the file."""
    recorded = digest_file(path)
    try:
        if recorded.exists():
            if sha256_of(path) != recorded.read_text().strip():
                return "does not match the sha256 recorded when it was written"
            return None
        # written before hashes were recorded: the zip's own CRCs still tell a damaged file
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (OSError, zipfile.BadZipFile) as exc:
        return f"unreadable ({exc})"
    return f"damaged (its member {damaged} fails its CRC)" if damaged else None


def resume_point(folder: Path) -> Path | None:
    """The checkpoint `train.resume=true` continues from: the newest good one, None when the
    folder holds none. A damaged last.ckpt is skipped with a warning; with no good one left the
    resume stops with one line, since starting afresh is the user's call."""
    candidates = [folder / name for name in (LAST, BEST) if (folder / name).exists()]
    bad: list[tuple[Path, str]] = []
    for path in candidates:
        why = problem(path)
        if why is None:
            for skipped, reason in bad:
                log.warning("%s %s; resuming from %s instead", skipped, reason, path)
            return path
        bad.append((path, why))
    if bad:
        path, why = bad[0]
        raise UserError(f"{path}: {why}, and {folder} holds no earlier good checkpoint; set "
                        "train.resume=false to train from the start")
    return None


def clear(folder: Path) -> None:
    """Remove the checkpoints (and their hashes and partial writes) of an earlier training in
    `folder`, leaving anything else there (the train stage's record of its MLflow run)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.is_file() and (".ckpt" in path.name):
            path.unlink()


def folder_for(cfg: Config) -> Path:
    """The checkpoint folder of one exact training setup (seed, data, model, train; resume
    aside): a resume only ever continues that same setup."""
    key = fingerprint(with_overrides(cfg, {"train.resume": False}), "seed", "data", "model",
                      "train")
    return cfg.paths.checkpoints / key
