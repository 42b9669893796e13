"""Speed settings: the allocator ends the page-fault storm, and no setting changes results."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnops.config import TrainConfig
from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler
from rnnops.errors import ConfigError
from rnnops.training import runtime
from rnnops.training.fit import fit
from rnnops.training.optimization import configure_optimization
from tests.conftest import load

# Training steps of the benchmark's LSTM shape; prints the median of minor page faults per step
# after three warm-up steps. The median, because a late step can still grow the heap once (seen in
# CI: one growth step among five lifted the mean to 860 faults while the other steps had none).
FAULTS = """
import resource, statistics, sys, torch
from rnnops.training.runtime import configure_allocator
print(configure_allocator(sys.argv[1]), file=sys.stderr)
lstm = torch.nn.LSTM(1, 128, 2, batch_first=True)
x = torch.randn(64, 96, 1)
def step():
    y, _ = lstm(x)
    y.sum().backward()
for _ in range(3):  # the heap grows to the working set
    step()
faults = []
for _ in range(9):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(statistics.median(faults))
"""


def faults_per_step(allocator: str) -> float:
    out = subprocess.run([sys.executable, "-c", FAULTS, allocator], capture_output=True,
                         text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_retained_memory_ends_the_page_fault_storm():
    system, retain = faults_per_step("system"), faults_per_step("retain")
    assert system > 1000, system  # glibc's defaults unmap the step's buffers every time
    assert retain < system / 20, (retain, system)


def test_precision_auto_is_float32_on_cpu_and_explicit_values_pass():
    assert runtime.resolve_precision("auto", "cpu") == "32-true"
    assert runtime.resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where no GPU exists")
@pytest.mark.parametrize("accelerator", ["gpu", "cuda"])
def test_a_missing_gpu_is_a_config_error(accelerator):
    with pytest.raises(ConfigError, match="config key 'trainer.accelerator'.*use cpu"):
        runtime.check_accelerator(accelerator)
    runtime.check_accelerator("auto")  # takes the CPU here
    runtime.check_accelerator("cpu")


def test_threads_default_to_the_usable_cores():
    before = torch.get_num_threads()
    try:
        assert runtime.configure_threads(0) == len(__import__("os").sched_getaffinity(0))
        assert runtime.configure_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def sines(rows: int = 400) -> PreparedData:
    t = np.arange(rows, dtype=np.float32)[:, None]
    series = np.concatenate([np.sin(t / 7), np.cos(t / 11)], axis=1).astype(np.float32)
    arrays = {"train": series[:300], "val": series[280:], "test": series[280:]}
    scaler = Scaler(np.zeros(2), np.ones(2))
    return PreparedData(arrays, ["a", "b"], [0, 1], scaler, {})


def test_fast_settings_give_the_plain_loss_curve(tmp_path, monkeypatch):
    """Defaults (the standard kernels at two threads, fused optimizer) and the fastest measured
    settings (implementation=auto, a thread per core) against the plain path (torch's fused
    kernel, one thread, per-tensor Adam): the same epochs, within
    floating-point rounding. The plain path asks for the C library's allocator too, but in a
    full test run an earlier fit has already made this process retain memory, which lasts (see
    configure_allocator); the allocator moves no number, only page faults."""
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    base = ["model=lstm", "model.hidden_size=16", "model.num_layers=2", "data.lookback=20",
            "data.horizon=5", "train.max_epochs=3", "train.patience=3", "train.batch_size=16",
            "trainer.progress_bar=false", f"paths.root={tmp_path}"]
    threads = torch.get_num_threads()
    try:
        curves = {}
        for label, options in {
            "plain": ["trainer.allocator=system", "model.implementation=fused",
                      "trainer.threads=1", "trainer.fused_optimizer=false"],
            "stepwise": ["model.implementation=stepwise"],
            "auto": ["model.implementation=auto", "trainer.threads=0"],
            "default": [],
        }.items():
            history = fit(load(*base, *options), sines()).history
            curves[label] = np.array([[r["train/loss"], r["val/loss"]] for r in history])
    finally:
        torch.set_num_threads(threads)
    assert curves["plain"].shape == (3, 2)
    for label in ("stepwise", "auto", "default"):
        np.testing.assert_allclose(curves[label], curves["plain"], rtol=1e-4, err_msg=label)


def test_fused_optimizer_only_where_torch_has_the_kernel():
    assert runtime.use_fused_optimizer(True, {"cpu"})
    assert runtime.use_fused_optimizer(True, {"cuda"})
    assert not runtime.use_fused_optimizer(False, {"cpu"})
    assert not runtime.use_fused_optimizer(True, {"cpu", "meta"})
    model = torch.nn.LSTM(2, 4)
    train = TrainConfig(lr=0.01)
    assert configure_optimization(model, train, fused=True).defaults["fused"]
    assert not configure_optimization(model, train).defaults["fused"]
    sgd = configure_optimization(model, TrainConfig(optimizer="sgd"), fused=True)
    assert sgd.defaults["fused"]
