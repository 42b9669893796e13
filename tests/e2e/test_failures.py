"""Bad input stops before any work; a stage that fails midway leaves nothing half-written."""

from __future__ import annotations

import pytest

from tests.conftest import run_stage
from tests.e2e.conftest import mlflow_client, run_script, tiny

OUTPUTS = ("data", "models", "reports", "mlruns")


@pytest.mark.parametrize(
    ("override", "key"),
    [("train.lr=-1", "train.lr"), ("model.hidden_size=0", "model.hidden_size"),
     ("data.horizon=0", "data.horizon")],
)
def test_invalid_value_fails_with_one_line_and_writes_nothing(tmp_path, override, key):
    out = run_script("prepare", override, f"paths.root={tmp_path}")
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and f"config key '{key}'" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not any((tmp_path / name).exists() for name in OUTPUTS)


def test_unknown_model_is_one_line_listing_the_options(tmp_path):
    out = run_script("train", "model=lstmm", f"paths.root={tmp_path}")
    assert out.returncode == 2  # one line, as `rnnops train` prints it, not Hydra's 17
    assert out.stderr.strip().splitlines() == [
        "rnnops train: error: In 'config': Could not find 'model/lstmm'; available options in "
        "'model': gru, gru_classic, lstm, mingru, minlstm, peephole_lstm, rnn, segrnn, seq2seq"]
    assert not any((tmp_path / name).exists() for name in OUTPUTS)


def test_stage_failing_midway_leaves_no_output_and_a_failed_run(tmp_path, monkeypatch):
    cfg = tiny(tmp_path, "train.max_epochs=2")
    run_stage("prepare", cfg)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    # the crash comes after training and MLflow logging, while the outputs are being written
    monkeypatch.setattr("rnnops.stages.outputs.save_model", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_stage("train", cfg)

    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []
    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    (run,) = client.search_runs([experiment.experiment_id], "tags.`rnnops.stage` = 'train'")
    assert run.info.status == "FAILED"
    # the model it had logged and registered before the crash is removed with its files
    assert client.search_registered_models() == []
    assert client.search_logged_models([experiment.experiment_id]) == []
    assert not list((tmp_path / "mlruns").rglob("service/model.pt"))


def test_stages_refuse_data_or_a_model_made_with_other_data_settings(tmp_path, capsys):
    run_stage("prepare", tiny(tmp_path))  # lookback 104, horizon 26
    with pytest.raises(SystemExit) as stop:  # train on its own, after changing a data setting
        run_stage("train", tiny(tmp_path, "data.lookback=52"))
    assert stop.value.code == 2
    prepared = tmp_path / "data" / "prepared"
    assert capsys.readouterr().err.strip() == (
        f"rnnops train: error: {prepared}: prepared with data.lookback=104, but this run has "
        "data.lookback=52; run the prepare stage again with this run's settings (dvc repro, or "
        "rnnops prepare with the same overrides)")
    assert not (tmp_path / "models").exists()

    run_stage("train", tiny(tmp_path, "train.max_epochs=1"))
    run_stage("prepare", tiny(tmp_path, "data.horizon=13"))  # prepared again, not trained again
    with pytest.raises(SystemExit) as stop:
        run_stage("evaluate", tiny(tmp_path, "data.horizon=13"))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (  # after MLflow's lines
        f"rnnops evaluate: error: {tmp_path / 'models' / 'train'}: trained with data.horizon=26, "
        "but this run has data.horizon=13; run the train stage again with this run's settings")
    assert not (tmp_path / "reports").exists()


def test_evaluate_after_the_train_run_was_deleted_is_one_line(tmp_path, capsys, monkeypatch):
    run_stage("prepare", tiny(tmp_path))
    info = run_stage("train", tiny(tmp_path, "train.max_epochs=1"))
    mlflow_client(tmp_path).delete_run(info["run_id"])
    from rnnops.tasks.forecasting import ForecastingTask

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before checking the train run")

    monkeypatch.setattr(ForecastingTask, "evaluate", no_scoring)  # the check comes before any work
    with pytest.raises(SystemExit) as stop:
        run_stage("evaluate", tiny(tmp_path))
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    model = tmp_path / "models" / "train" / "model.pt"
    assert last.startswith(f"rnnops evaluate: error: {model}: no run of experiment 'rnnops-co2' "
                           "in sqlite:///")
    assert last.endswith("trained this model (another store, or the run was deleted); run the "
                         "train stage again")
    assert not (tmp_path / "reports").exists()
