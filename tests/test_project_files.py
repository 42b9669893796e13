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
