"""A new recurrence is one file plus one registry line: the cell below, defined only here and
registered, is validated in a config, trains, shows its gates and is served, without an edit
anywhere else in the project (models/cells/contract.py is all it follows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler
from rnnops.evaluation.interpret import gate_activations
from rnnops.models.build import check_model_config
from rnnops.models.cells.contract import CellContract, record
from rnnops.models.registry import CELLS
from rnnops.serving import _load_pyfunc
from rnnops.serving.forecast import ForecastService
from rnnops.training.fit import fit
from tests.conftest import load


class MinimalGatedUnit(CellContract, nn.Module):
    """Zhou et al. (2016): one forget gate does the work of GRU's two.

        f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
        h̃_t = tanh(W_h x_t + U_h (f_t ⊙ h_{t-1}) + b_h)
        h_t = (1 - f_t) ⊙ h_{t-1} + f_t ⊙ h̃_t
    """

    recurrent_weights = ("weight_hh",)
    gate_names = ("forget",)

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.randn(2 * hidden_size, input_size) * 0.3)
        self.weight_hh = nn.Parameter(torch.randn(2 * hidden_size, hidden_size) * 0.3)
        self.bias = nn.Parameter(torch.zeros(2 * hidden_size))

    def forward(self, x: torch.Tensor, state=None):
        return self.reference(x, state)

    def reference(self, x: torch.Tensor, state=None, trace=None):
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state
        size = self.hidden_size
        u_f, u_h = self.weight_hh[:size], self.weight_hh[size:]
        hs = []
        for x_t in x.unbind(1):
            p_f, p_h = (x_t @ self.weight_ih.T + self.bias).chunk(2, dim=-1)
            f = torch.sigmoid(p_f + h @ u_f.T)
            h = (1 - f) * h + f * torch.tanh(p_h + (f * h) @ u_h.T)
            record(trace, forget=f)
            hs.append(h)
        return torch.stack(hs, dim=1), h


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(CELLS, "mgu", MinimalGatedUnit)  # the one registry line


def waves(rows: int = 300) -> PreparedData:
    t = np.arange(rows, dtype=np.float32)[:, None]
    series = np.sin(t / 6).astype(np.float32)
    arrays = {"train": series[:200], "val": series[180:250], "test": series[230:]}
    return PreparedData(arrays, ["wave"], [0], Scaler(np.zeros(1), np.ones(1)), {})


def test_a_cell_registered_in_one_file_trains_shows_its_gates_and_is_served(registered,
                                                                           tmp_path):
    cfg = load("model.name=mgu", "model.hidden_size=8", "model.weight_drop=0.1",
               "data.lookback=20", "data.horizon=5", "train.max_epochs=4",
               "train.patience=4", "train.batch_size=16", "trainer.progress_bar=false",
               f"paths.root={tmp_path}")
    check_model_config(cfg.model)  # the config accepts the new name (and its weight drop)
    data = waves()
    result = fit(cfg, data)
    losses = [row["val/loss"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]  # it learns

    x, _ = data.windows("test", 20, 5).all()
    trace = gate_activations(result.model, x[:2])
    assert trace.cell == "mgu" and set(trace.gates) == {"forget"}
    assert trace.gates["forget"].shape == (20, 8) and trace.max_error < 1e-6

    folder = tmp_path / "served"
    ForecastService.from_training(result.model, data, 20, 5).save(folder)
    served = _load_pyfunc(str(folder))  # what MLflow's loader runs
    forecast = served.predict(pd.DataFrame({"wave": np.sin(np.arange(40) / 6)}))
    assert list(forecast.columns) == ["step", "wave"] and len(forecast) == 5
    assert np.isfinite(forecast["wave"]).all()
