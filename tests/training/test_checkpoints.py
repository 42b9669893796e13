"""Checkpoints carry their sha256; a resume skips a damaged last.ckpt for the best one, and with
none left stops with one line naming the file."""

import struct
import zipfile

import pytest
import torch

from rnnops.data.download import sha256_of
from rnnops.errors import UserError
from rnnops.training import checkpoints
from rnnops.training.fit import fit
from tests.conftest import load
from tests.training.test_ema import BASE, EpochsTrained
from tests.training.test_runtime import sines


def flip_byte(path):
    """One bit flipped in the middle of the largest tensor's bytes (as a bad disk or copy does)."""
    with zipfile.ZipFile(path) as archive:
        member = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[member.header_offset + 26:][:4])
    start = member.header_offset + 30 + name_length + extra_length
    data[start + member.file_size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_each_checkpoint_is_written_with_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    fit(load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=2"), sines(),
        checkpoint_dir=tmp_path / "ckpt")
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["best.ckpt", "best.ckpt.sha256", "last.ckpt", "last.ckpt.sha256"]
    for name in ("best.ckpt", "last.ckpt"):
        recorded = (tmp_path / "ckpt" / f"{name}.sha256").read_text().strip()
        assert recorded == sha256_of(tmp_path / "ckpt" / name)
    assert checkpoints.resume_point(tmp_path / "ckpt") == tmp_path / "ckpt" / "last.ckpt"


def test_a_damaged_last_checkpoint_falls_back_to_the_best_and_ends_the_same(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    data = sines()
    # lr high enough that validation gets worse after a while: best.ckpt is an earlier epoch
    common = [*BASE, f"paths.root={tmp_path}", "train.max_epochs=6", "train.lr=0.05"]
    whole = fit(load(*common), data, checkpoint_dir=tmp_path / "whole")
    fit(load(*common), data, max_epochs=4, checkpoint_dir=tmp_path / "parts")
    folder = tmp_path / "parts"
    best_epoch = torch.load(folder / "best.ckpt", weights_only=False)["epoch"]
    assert best_epoch < 3  # so the fallback goes back in time
    flip_byte(folder / "last.ckpt")

    trained = EpochsTrained()
    with caplog.at_level("WARNING", logger="rnnops.training"):
        resumed = fit(load(*common, "train.resume=true"), data, checkpoint_dir=folder,
                      callbacks=[trained])
    assert (f"{folder / 'last.ckpt'} does not match the sha256 recorded when it was written; "
            f"resuming from {folder / 'best.ckpt'} instead") in caplog.text
    assert trained.count == 5 - best_epoch  # from the epoch after best.ckpt's, not from 0
    assert [r["val/loss"] for r in resumed.history] == pytest.approx(
        [r["val/loss"] for r in whole.history], rel=1e-6)


def test_no_good_checkpoint_left_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    cfg = load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=1")
    folder = tmp_path / "ckpt"
    fit(cfg, sines(), checkpoint_dir=folder)
    for name in ("last.ckpt", "best.ckpt"):  # truncated, as a full disk or a bad copy leaves it
        path = folder / name
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError) as error:
        checkpoints.resume_point(folder)
    assert str(error.value) == (f"{folder / 'last.ckpt'}: does not match the sha256 recorded when "
                                f"it was written, and {folder} holds no earlier good checkpoint; "
                                "set train.resume=false to train from the start")


def test_a_checkpoint_without_a_hash_is_checked_by_its_zip_crcs(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    fit(load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=1"), sines(),
        checkpoint_dir=tmp_path / "ckpt")
    last = tmp_path / "ckpt" / "last.ckpt"
    checkpoints.digest_file(last).unlink()  # as an older rnnops wrote it
    assert checkpoints.problem(last) is None
    flip_byte(last)
    assert checkpoints.problem(last).startswith("damaged (its member ")
