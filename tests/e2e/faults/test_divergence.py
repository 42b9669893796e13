"""A diverging config (train.lr=1e6): the loss stays finite (about 1e11), so training ends and
registers the model; evaluate's champion gate keeps it from the `champion` alias, even on a store
with no champion yet, and both reports say why."""

from __future__ import annotations

from rnnops import tracking
from tests.conftest import promote, run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny
from tests.e2e.faults.conftest import half_written, running_runs

NAME = "rnnops-co2-forecaster"
DIVERGING = ["train.lr=1e6", "train.max_epochs=2", "train.limit_batches=4",
             "evaluate.backtest.folds=0", "evaluate.baselines=[last_value,seasonal_naive]",
             "evaluate.champion_gate=naive"]  # the default (TINY turns it off)


def test_a_diverged_model_is_registered_but_never_becomes_champion(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    for stage in ("train", "evaluate"):
        done = run_script(stage, f"paths.root={tmp_path}", *TINY, *DIVERGING)
        assert done.returncode == 0, done.stderr

    client = mlflow_client(tmp_path)
    (version,) = client.search_model_versions(f"name = '{NAME}'")  # registered, for the record
    assert version.aliases == []  # an empty registry, and still no champion
    verdict = version.tags["rnnops.champion_gate"]
    assert verdict.startswith("failed (naive): validation mse ")
    assert float(verdict.split("validation mse ")[1].split()[0]) > 1e6
    assert "is not below the naive forecasts': last_value " in verdict

    report = (tmp_path / "reports/report.md").read_text()  # DVC's copy: the verdict only
    assert "- **champion gate**: naive: FAILED (validation mse " in report
    mlflow_report = client.download_artifacts(version.run_id, "evaluation/report.md",
                                              str(tmp_path / "download"))
    text = open(mlflow_report).read()
    assert "It fails the champion gate (evaluate.champion_gate=naive): validation mse" in text
    assert "The `champion` alias stays where it was." in text

    # the gate, not the score, kept the alias: without it this version would have taken it
    tracking.configure(tiny_config(tmp_path))
    decision = promote(NAME, version.version, "mse", 1e9)
    assert decision["promoted"]
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []


def tiny_config(root):
    from rnnops.config import from_dictconfig

    return from_dictconfig(tiny(root, *DIVERGING))
