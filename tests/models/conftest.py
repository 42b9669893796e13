import pytest
import torch


@pytest.fixture
def float64():
    """Equations and gradients compared in double precision, from a fixed seed."""
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)
