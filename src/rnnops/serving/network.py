"""What runs a served forecaster's network: the torch module it was trained as, or the ONNX copy
logged beside it. ONNX Runtime imports in about a tenth of torch's time, and the import is most
of what a single `rnnops predict` costs; the torch module stays what `mlflow models serve` runs.

The copy is made when the model is saved and kept only if ONNX Runtime reproduces the module's
output on random histories; a network the exporter cannot trace (a custom kernel, an operator
ONNX lacks) is served by torch alone.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ONNX = "model.onnx"
# Float32 networks through two runtimes: the same sums in a different order.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}

log = logging.getLogger(__name__)


class OnnxNetwork:
    """An exported forecaster: (B, L, C) float32 in, (B, H, targets) float32 out. Exported for
    one history at a time (LSTM's exported initial state fixes the batch), so a batch runs row
    by row."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its graph-optimisation notes are not the user's concern
        self.session = onnxruntime.InferenceSession(str(path), options,
                                                    providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([self.session.run(None, {self.input: row[None]})[0] for row in x])


def run(network: Any, x: np.ndarray) -> np.ndarray:
    """(B, L, C) float32 through a torch module or an OnnxNetwork, as a float64 array."""
    if isinstance(network, OnnxNetwork):
        return network(x).astype(np.float64)
    import torch

    network.eval()
    with torch.no_grad():
        return network(torch.from_numpy(x)).double().numpy()


def export_onnx(module: Any, lookback: int, channels: int, path: Path) -> bool:
    """Write `module`'s ONNX copy to `path` if it can be traced and ONNX Runtime reproduces it
    (within TOLERANCE, on random histories); False, with nothing written, where it cannot."""
    import torch

    try:
        import onnx  # noqa: F401  (the exporter needs it; without it, torch serves)
        import onnxruntime  # noqa: F401
    except ImportError:
        log.debug("no ONNX copy of the model: onnx or onnxruntime is not installed")
        return False
    was_training = module.training
    module.eval()
    example = torch.zeros(1, lookback, channels)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The tracer warns of Python branches it fixes and of LSTM batch sizes; the copy is
            # checked against the module below, which is what those warnings ask a user to do.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), str(path), dynamo=False,
                              input_names=["history"], output_names=["forecast"])
        copy = OnnxNetwork(path)
        generator = torch.Generator().manual_seed(0)
        for _ in range(3):
            x = torch.randn(1, lookback, channels, generator=generator)
            with torch.no_grad():
                expected = module(x).numpy()
            np.testing.assert_allclose(copy(x.numpy()), expected, **TOLERANCE)
    except Exception as exc:  # any failure to trace, load or match: torch serves the model
        log.debug("no ONNX copy of the model: %s", str(exc).splitlines()[0] if str(exc) else
                  type(exc).__name__)
        path.unlink(missing_ok=True)
        return False
    finally:
        module.train(was_training)
    return True
