"""Shared fixtures: composing the project's real Hydra config with overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def compose(*overrides: str):
    """The composed DictConfig from conf/, as the pipelines see it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def run_stage(name: str, dictconfig, pipeline: bool = False):
    """Stage `name` run as `rnnops NAME` runs it (`pipeline`: as `rnnops run` and dvc repro
    do, where the sweep may skip)."""
    from rnnops.cli import stage_function
    from rnnops.entry import run_stage as run

    return run(name, stage_function(name, pipeline), dictconfig)


def load(*overrides: str):
    from rnnops.config import from_dictconfig

    return from_dictconfig(compose(*overrides))


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(autouse=True, scope="session")
def native_loops_from_the_user_cache():
    """Load (or build once) the C++ LSTM loops from the real cache before any test points
    RNNOPS_CACHE at a temporary folder, which would make a process build them again there."""
    from rnnops.models.cells.kernels import native

    native.steps()
