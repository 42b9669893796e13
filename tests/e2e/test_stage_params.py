"""dvc.yaml's params are the config keys each stage reads, recorded while the stages run: a key
a stage reads but does not declare would leave its output stale when the key changes; a
declared key that nothing reads reruns the stage for nothing."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from rnnops.config import DataConfig
from rnnops.data.provenance import PREPARED_BY
from tests.config_reads import group_paths, recorded
from tests.conftest import ROOT, compose, run_stage
from tests.e2e.test_language_model import write_corpus

# Not params: where the same files are read from, and the paths that are dvc.yaml's own deps and
# outs (tests/test_project_files.py checks that they agree).
NOT_PARAMS = ("data.root", "paths")
# data.* keys no stage's output depends on beyond the prepared data (with the reason), besides
# those that shape it (provenance.PREPARED_BY): a new DataConfig field must be put in one.
LATER_STAGES = {"stride": "the training windows' step (sweep, train, a retraining backtest)",
                "season_period": "evaluate: the seasonal baselines and MASE"}

QUICK = ["train.max_epochs=1", "train.limit_batches=2", "sweep.n_trials=1", "sweep.max_epochs=1",
         "sweep.n_startup_trials=1", "model.hidden_size=8", "trainer.progress_bar=false"]


def declared() -> dict[str, set[str]]:
    """Each stage's params; validate reads the whole of params.yaml by design (its job is to
    check all of it) and is left out."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: set(stage["params"]) for name, stage in stages.items() if name != "validate"}


def param_reads(reads: set[str]) -> set[str]:
    """The keys read, without those that are not params."""
    return {k for k in reads if not any(under(k, n) for n in NOT_PARAMS)}


def under(key: str, entry: str) -> bool:
    return key == entry or key.startswith(f"{entry}.")


@pytest.fixture(scope="module")
def reads(tmp_path_factory) -> dict[str, set[str]]:
    """Keys read per stage over a forecaster's pipeline (with the backtest retraining the
    network, so evaluate reads the training keys) and a language model's."""
    series = tmp_path_factory.mktemp("series")
    corpus = tmp_path_factory.mktemp("text")
    write_corpus(corpus / "corpus")
    runs = [
        (compose(f"paths.root={series}", *QUICK, "evaluate.backtest.folds=1",
                 "evaluate.backtest.refit_model=true", "evaluate.baselines=[last_value]"),
         ("prepare", "sweep", "train", "evaluate")),
        (compose("data=text", f"data.path={corpus / 'corpus'}", f"paths.root={corpus}", *QUICK,
                 "train.bptt=5", "sweep.space.train.lr.high=0.01"),
         ("prepare", "sweep", "train", "evaluate")),
    ]
    seen: dict[str, set[str]] = {}
    for cfg, stages in runs:
        for stage in stages:
            with recorded() as keys:
                run_stage(stage, cfg, pipeline=True)
            seen.setdefault(stage, set()).update(param_reads(keys))
    return seen


def test_every_key_a_stage_reads_is_one_of_its_params(reads):
    params = declared()
    groups = {path for path in group_paths().values() if path}  # cfg.data on the way to a value
    for stage, keys in reads.items():
        missing = sorted(k for k in keys if not any(
            under(k, p) or (k in groups and under(p, k)) for p in params[stage]))
        assert not missing, f"dvc.yaml: stage {stage} reads {missing} but does not list them"


def test_every_param_of_a_stage_is_read_by_it(reads):
    params = declared()
    for stage, entries in params.items():
        unread = sorted(p for p in entries
                        if not any(under(k, p) or under(p, k) for k in reads[stage]))
        assert not unread, f"dvc.yaml: stage {stage} lists {unread}, which it never read"


def test_each_data_key_is_placed_with_the_stages_that_read_it():
    """Every data.* field either shapes the prepared data (PREPARED_BY: prepare and everything
    after it list it) or is named here with the later stage that reads it; a new field must be
    placed, so that no stage reads a data key it does not list."""
    shaping = {k for keys in PREPARED_BY.values() for k in keys} | {"kind"}
    fields = {f.name for f in dataclasses.fields(DataConfig)}
    placed = shaping | set(LATER_STAGES) | {"root"}
    assert fields == placed, f"place {sorted(fields - placed)} in PREPARED_BY or LATER_STAGES"
    params = declared()
    for stage in ("prepare", "sweep", "train", "evaluate"):
        listed = {p.removeprefix("data.") for p in params[stage] if p.startswith("data.")}
        assert shaping <= listed, f"stage {stage} misses {sorted(shaping - listed)}"
    assert {p for p in params["prepare"] if p.startswith("data.")} == {
        f"data.{k}" for k in shaping}
