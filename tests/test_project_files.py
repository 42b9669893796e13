"""The project's own files agree with each other: params.yaml with conf/, dvc.yaml with paths."""

from __future__ import annotations

import runpy
from pathlib import Path

import yaml

from rnnops.config import PathsConfig
from tests.conftest import ROOT


def test_params_yaml_is_conf_composed(tmp_path):
    compose_params = runpy.run_path(str(ROOT / "pipelines" / "compose_params.py"))["compose_params"]
    fresh = tmp_path / "params.yaml"
    compose_params(fresh, [])
    assert (ROOT / "params.yaml").read_text() == fresh.read_text(), (
        "params.yaml drifted from conf/: run `make params` and commit it"
    )


def test_dvc_outputs_are_the_configured_paths():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    paths = PathsConfig(**{k: Path(v) for k, v in params["paths"].items()})
    rel = {k: str(getattr(paths, k).relative_to(paths.root))
           for k in params["paths"] if k != "root"}
    stages = dvc["stages"]
    checked = str(Path(rel["prepared"]).parent / "validated.txt")  # pipelines/validate.py
    assert list(stages) == ["validate", "prepare", "sweep", "train", "evaluate"]
    # persistent: DVC keeps it while the check runs, so a refused value removes nothing
    assert stages["validate"]["outs"] == [{checked: {"persist": True}}]
    assert checked in stages["prepare"]["deps"]
    assert stages["prepare"]["outs"] == [rel["prepared"]]
    assert stages["sweep"]["outs"] == [rel["sweep"]]
    assert stages["train"]["outs"] == [rel["model"]]
    assert stages["evaluate"]["outs"] == [f"{rel['reports']}/plots", f"{rel['reports']}/report.md"]
    assert list(stages["evaluate"]["metrics"][0]) == [f"{rel['reports']}/metrics.json"]
    assert rel["prepared"] in stages["sweep"]["deps"] and rel["sweep"] in stages["train"]["deps"]
    for stage in stages.values():
        assert stage["cmd"].endswith("${hydra}")  # every stage reads params.yaml via Hydra
    assert "--config-name=params" in dvc["vars"][0]["hydra"]
    assert f"hydra.run.dir={rel['logs']}/" in dvc["vars"][0]["hydra"]


def test_dvc_uses_hydra_composition_and_ci_runs_the_readme_test_command():
    dvc_config = (ROOT / ".dvc" / "config").read_text()
    assert "[hydra]" in dvc_config and "enabled = true" in dvc_config
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_committed_default_model_beats_every_baseline():
    """reports/metrics.json is what a fresh clone's `make run` writes (.ci/run checks that the
    run leaves it and dvc.lock unchanged): the recurrent model must beat all six baselines on
    test MSE there, or the default pipeline does not earn its place."""
    import json

    metrics = json.loads((ROOT / "reports" / "metrics.json").read_text())
    baselines = {name: m["mse"] for name, m in metrics.items() if name != "model"}
    assert set(baselines) == {"last_value", "seasonal_naive", "window_mean", "linear", "ets",
                              "arima"}
    assert all(metrics["model"]["mse"] < mse for mse in baselines.values()), (
        metrics["model"]["mse"], baselines)
