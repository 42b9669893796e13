"""Seeded synthetic series for tests and examples: known structure, no download."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def sines(length: int, rng: np.random.Generator) -> np.ndarray:
    """Sum of sines with periods 24 and 168 (hourly day and week) plus Gaussian noise."""
    t = np.arange(length)
    clean = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168 + 1.0)
    return clean + 0.1 * rng.standard_normal(length)


def mackey_glass(length: int, rng: np.random.Generator, tau: int = 17, beta: float = 0.2,
                 gamma: float = 0.1, n: int = 10) -> np.ndarray:
    """Mackey-Glass delay equation dx/dt = beta x(t-tau) / (1 + x(t-tau)^n) - gamma x(t),
    Euler steps of 1, from a random initial history near 1.2 (chaotic for tau = 17)."""
    history = 1.2 + 0.01 * rng.standard_normal(tau + 1)
    x = np.empty(length + tau + 1)
    x[: tau + 1] = history
    for t in range(tau, length + tau):
        delayed = x[t - tau]
        x[t + 1] = x[t] + beta * delayed / (1 + delayed**n) - gamma * x[t]
    return x[tau + 1 :]


def ar2(
    length: int, rng: np.random.Generator, phi: tuple[float, float] = (0.6, -0.3)
) -> np.ndarray:
    """Stationary AR(2): x_t = phi1 x_{t-1} + phi2 x_{t-2} + e_t."""
    e = rng.standard_normal(length + 2)
    x = np.zeros(length + 2)
    for t in range(2, length + 2):
        x[t] = phi[0] * x[t - 1] + phi[1] * x[t - 2] + e[t]
    return x[2:]


GENERATORS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "sines": sines,
    "mackey_glass": mackey_glass,
    "ar": ar2,
}


def generate(kind: str, length: int, seed: int) -> pd.DataFrame:
    """One column named after the generator, on an hourly index from 2000-01-01."""
    values = GENERATORS[kind](length, np.random.default_rng(seed))
    index = pd.date_range("2000-01-01", periods=length, freq="h", name="time")
    return pd.DataFrame({kind: values}, index=index)
