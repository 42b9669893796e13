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


def promote(name: str, version: str, metric: str, value: float, test_set: str | None = None,
            verdict=None) -> dict:
    """The evaluate stage's champion step on its own: the current holder read from the store,
    the decision (evaluation.champion.decide), the decision recorded; returns it as a dict."""
    from rnnops import tracking
    from rnnops.evaluation.champion import Holder, decide

    holder = Holder(**tracking.champion_holder(name, metric))
    decision = decide(name, str(version), metric, value, holder, test_set, verdict)
    tracking.record_champion(decision, test_set)
    return decision.as_dict()


def log_forecaster(model, data, lookback: int, horizon: int, name: str) -> str:
    """Register `model` as train does: its serving model, logged; returns the version."""
    from rnnops import tracking
    from rnnops.serving.forecast import ForecastService

    return tracking.log_service(ForecastService.from_training(model, data, lookback, horizon),
                                name)


def model_config(**options):
    """A ModelConfig from flat keyword options, those of an architecture's or the language
    model's group (segment_length, tie_weights, ...) routed into model.segrnn, model.lm..."""
    import dataclasses

    from rnnops import config

    groups = {"seq2seq": config.Seq2SeqConfig, "segrnn": config.SegRNNConfig,
              "lm": config.LanguageModelConfig}
    nested = {}
    for group, cls in groups.items():
        names = {f.name for f in dataclasses.fields(cls)}
        picked = {k: options.pop(k) for k in list(options) if k in names}
        if picked:
            nested[group] = cls(**picked)
    return config.ModelConfig(**options, **nested)


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
