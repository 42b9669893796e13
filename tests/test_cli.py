"""The `rnnops` command: fast help, one-line errors."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def rnnops(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnops.cli", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )


def test_help_lists_the_stages():
    out = rnnops("--help")
    assert out.returncode == 0
    for stage in ("prepare", "sweep", "train", "evaluate", "run"):
        assert stage in out.stdout


def test_invalid_value_is_one_line_and_exit_2(tmp_path):
    out = rnnops("train", "train.lr=-1", f"paths.root={tmp_path}")
    assert out.returncode == 2
    assert out.stderr.strip() == "rnnops train: error: config key 'train.lr': -1.0 must be > 0"
    assert list(tmp_path.iterdir()) == []


def test_unknown_group_option_names_it(tmp_path):
    out = rnnops("train", "model=lstmm", f"paths.root={tmp_path}")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.strip() == (
        "rnnops train: error: In 'config': Could not find 'model/lstmm'; "
        "available options in 'model': gru, gru_classic, lstm, mingru, minlstm, "
        "peephole_lstm, rnn, segrnn, seq2seq"
    )


def test_sweep_workers_flag_is_the_config_key(tmp_path):
    out = rnnops("sweep", "--workers", "0", f"paths.root={tmp_path}")
    assert out.returncode == 2
    assert out.stderr.strip() == ("rnnops sweep: error: config key 'sweep.workers': 0 must be "
                                  ">= 1")
    assert list(tmp_path.iterdir()) == []


def test_history_is_read_as_prepare_reads_data_files(tmp_path):
    import pandas as pd

    from rnnops.cli import read_history

    frame = pd.DataFrame({"date": ["2024-01-01", "2024-01-02"], "co2": [315.5, 316.25]})
    frame.to_csv(tmp_path / "history.csv", sep=";", index=False)
    assert read_history(tmp_path / "history.csv", ";").equals(frame)  # data.delimiter=';'
    frame.to_parquet(tmp_path / "history.pq")
    assert read_history(tmp_path / "history.pq").equals(frame)


def test_run_runs_every_stage_as_the_pipeline(monkeypatch):
    """`rnnops run` checks the model's names, then runs the four stages as the pipeline (where
    the sweep stage may skip, see tests/e2e/test_sweep.py); a single stage's command runs just
    that stage, as asked."""
    import rnnops.entry
    from rnnops import cli

    ran = []
    monkeypatch.setattr(rnnops.entry, "run_stage",
                        lambda name, stage, cfg, reraise=False: ran.append((name, stage)))
    assert cli.main(["run", "train.use_best_params=false"]) == 0
    assert [name for name, _ in ran] == ["run", "prepare", "sweep", "train", "evaluate"]
    assert [stage.__name__ for _, stage in ran[1:]] == [
        "prepare", "pipeline_sweep", "train", "evaluate"]
    ran.clear()
    assert cli.main(["sweep", "train.use_best_params=false"]) == 0
    assert [(name, stage.__name__) for name, stage in ran] == [("sweep", "sweep")]


def test_overrides_may_follow_an_option(monkeypatch):
    """`rnnops predict -i h.csv -o out.csv data=etth2`: the override after an option reaches
    Hydra; a stray word that is no override is still an error."""
    from rnnops import cli

    seen = {}
    monkeypatch.setattr(cli, "compose", lambda d, overrides: seen.setdefault("o", overrides))
    monkeypatch.setitem(cli.COMMANDS, "predict", lambda cfg, args: 0)
    assert cli.main(["predict", "-i", "h.csv", "paths.root=x", "-o", "o.csv", "data=etth2"]) == 0
    assert seen["o"] == ["paths.root=x", "data=etth2"]
    out = rnnops("predict", "-i", "h.csv", "-o", "o.csv", "stray")
    assert out.returncode == 2 and "stray" in out.stderr and len(out.stderr.splitlines()) == 1
