"""A Hydra multirun as a user starts it: three models, three MLflow runs, no registered
versions unless asked; its jobs launched by submitit's local executor, as SLURM would launch them
(hydra/launcher=slurm). (The basic launcher's multiruns, `dvc repro` twice and `dvc exp run -S`
run in tests/e2e/test_docs_commands.py, as the docs show them.)"""

from __future__ import annotations

from tests.conftest import run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny


def test_hydra_multirun_trains_three_models_as_three_runs(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    out = run_script("train", "-m", "model=rnn,lstm,gru", "hydra/launcher=submitit_local",
                     f"paths.root={tmp_path}", *TINY, "train.max_epochs=2")
    assert out.returncode == 0, out.stderr
    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = client.search_runs([experiment.experiment_id], "tags.`rnnops.stage` = 'train'")
    assert sorted(r.data.params["model.name"] for r in runs) == ["gru", "lstm", "rnn"]
    assert all(r.info.status == "FINISHED" for r in runs)
    # a multirun's jobs log their runs but register no model (tracking.register=null)...
    assert client.search_model_versions("name = 'rnnops-co2-forecaster'") == []
    assert all(r.outputs.model_outputs for r in runs)  # ...though each logged its model
    out = run_script("train", "-m", "model=rnn", "tracking.register=true",
                     f"paths.root={tmp_path}", *TINY, "train.max_epochs=1")
    assert out.returncode == 0, out.stderr
    assert len(client.search_model_versions("name = 'rnnops-co2-forecaster'")) == 1
    # each job ran in its own process, as a SLURM job would
    assert len(list(tmp_path.glob("outputs/logs/multirun/*/.submitit/*/*_0_log.out"))) == 3


def test_the_slurm_launcher_config_composes_with_its_settings():
    out = run_script("train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg",
                     "hydra", "--package", "hydra.launcher")
    assert out.returncode == 0, out.stderr
    assert "_target_: hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" \
        in out.stdout
    assert "partition: gpu" in out.stdout and "timeout_min: 120" in out.stdout
