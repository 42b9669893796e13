"""The train and evaluate stages are generic over the task contract: a fake task (no data, no
training) goes through them and they write their outputs, log the run, register the served
model and decide the champion, without knowing what kind of data it was."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from torch import nn

from rnnops.evaluation.gate import Verdict
from rnnops.evaluation.outcome import Evaluation
from rnnops.serving import write_manifest
from rnnops.stages import evaluate as evaluate_stage
from rnnops.stages import train as train_stage
from rnnops.training.fit import FitResult
from tests.conftest import compose, run_stage
from tests.e2e.conftest import mlflow_client


class FakeService:
    def interface(self):
        return {"inputs": None, "outputs": [("double", "y")],
                "metadata": {"rnnops_kind": "forecaster"}}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "service.json").write_text('{"kind": "fake"}')
        write_manifest(folder)


class FakeTask:
    kind, run_prefix, logs_weights = "series", "fake-", False

    def __init__(self, verdict: Verdict):
        self.verdict = verdict

    def check(self, cfg):
        pass

    def load(self, cfg):
        return SimpleNamespace(meta={"sha256": "0" * 64})

    def fit(self, cfg, data, **options):
        model = nn.Linear(2, 1)
        model.spec = {"kind": "fake"}
        history = [{"epoch": 0, "train/loss": 0.7, "val/loss": 0.6},
                   {"epoch": 1, "train/loss": 0.5, "val/loss": 0.4}]
        return FitResult(model, history, 0.4, 1, 2)

    def fit_summary(self, cfg, data, result):
        return {"best_val/loss": result.best_val_loss}, {"kind": "fake"}

    def service(self, cfg, data, model):
        return FakeService()

    def evaluate(self, cfg, data, model, run_info, history):
        def draw(folder: Path) -> dict[str, str]:
            (folder / "curve.png").write_bytes(b"png")
            return {"Curve": "curve.png"}

        def render(run, champion, figures):
            return (f"# {run_info['kind']} report\n" + (f"run {run['run_id']}\n" if run else "")
                    + "".join(f"![{t}]({p})\n" for t, p in figures.items())
                    + (f"promoted: {champion['promoted']}\n" if champion else ""))

        return Evaluation({"model": {"mse": 0.25, "tokens": 3}, "naive": {"mse": 0.5}}, "mse",
                          self.verdict, render, draw)


@pytest.fixture
def fake(monkeypatch):
    def use(verdict: Verdict):
        task = FakeTask(verdict)
        for stage in (train_stage, evaluate_stage):
            monkeypatch.setattr(stage, "task_for", lambda cfg: task)
        monkeypatch.setattr(evaluate_stage, "load_model", lambda path: nn.Linear(2, 1))
    return use


def test_train_then_evaluate_a_fake_task(tmp_path, fake):
    fake(Verdict("naive", True, "below the naive forecasts"))
    cfg = compose(f"paths.root={tmp_path}", "train.use_best_params=false")
    info = run_stage("train", cfg)
    folder = tmp_path / "models" / "train"
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.pt", "run.json"]
    record = json.loads((folder / "run.json").read_text())
    assert record["kind"] == "fake" and record["best_epoch"] == 1 and "run_id" not in record
    assert info["model_version"] == "1"

    metrics = run_stage("evaluate", cfg)
    assert metrics == json.loads((tmp_path / "reports" / "metrics.json").read_text())
    report = (tmp_path / "reports" / "report.md").read_text()
    assert report == "# fake report\n![Curve](plots/curve.png)\n"  # nothing of the store
    client = mlflow_client(tmp_path)
    run = client.get_run(info["run_id"])
    assert run.info.run_name == "train-fake-lstm"
    assert run.data.metrics["best_val/loss"] == 0.4 and run.data.metrics["test/mse"] == 0.25
    assert run.data.metrics["test/naive/mse"] == 0.5
    assert "test/tokens" not in run.data.metrics  # counts stay in metrics.json
    copy = Path(client.download_artifacts(info["run_id"], "evaluation/report.md",
                                          str(tmp_path))).read_text()
    assert f"run {info['run_id']}" in copy and "promoted: True" in copy
    champion = client.get_model_version_by_alias("rnnops-co2-forecaster", "champion")
    assert str(champion.version) == "1"


def test_a_version_failing_the_gate_is_registered_but_not_champion(tmp_path, fake):
    fake(Verdict("naive", False, "not below the naive forecasts"))
    cfg = compose(f"paths.root={tmp_path}", "train.use_best_params=false")
    info = run_stage("train", cfg)
    run_stage("evaluate", cfg)
    client = mlflow_client(tmp_path)
    version = client.get_model_version("rnnops-co2-forecaster", info["model_version"])
    assert version.tags["rnnops.champion_gate"].startswith("failed (naive)")
    assert not client.get_registered_model("rnnops-co2-forecaster").aliases
