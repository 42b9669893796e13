"""A word-level corpus of the user's own through prepare -> train -> evaluate: the language model
learns it, and evaluate reports its test perplexity."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import yaml

from tests.conftest import compose, run_stage


def write_corpus(folder, seed: int = 0) -> int:
    """Sentences from a tiny grammar: 'the <noun> <verb> the <noun>' with a fixed verb per
    noun, so most next words are predictable. Returns the vocabulary size with <eos>/<unk>."""
    rng = random.Random(seed)
    nouns = ["cat", "dog", "bird", "fish", "cow", "owl"]
    verbs = dict(zip(nouns, ["sees", "chases", "hears", "eats", "likes", "finds"], strict=True))
    folder.mkdir()
    for name, lines in (("train", 1500), ("valid", 150), ("test", 150)):
        text = []
        for _ in range(lines):
            a, b = rng.choice(nouns), rng.choice(nouns)
            text.append(f"the {a} {verbs[a]} the {b}")
        (folder / f"{name}.txt").write_text("\n".join(text) + "\n")
    return 1 + len(nouns) * 2 + 2


def test_language_model_pipeline(tmp_path):
    vocab = write_corpus(tmp_path / "corpus")
    cfg = compose("data=text", f"data.path={tmp_path / 'corpus'}", f"paths.root={tmp_path}",
                  "model=gru", "model.hidden_size=32", "train.max_epochs=3", "train.bptt=10",
                  "train.batch_size=16", "train.lr=0.01", "trainer.progress_bar=false")
    run_stage("prepare", cfg)
    info = run_stage("train", cfg)
    assert info["kind"] == "language_model" and info["vocab_size"] == vocab
    assert info["model_version"] == "1"  # registered as a text-generating pyfunc
    metrics = run_stage("evaluate", cfg)
    model = metrics["model"]
    assert model["split"] == "test" and model["tokens"] == 150 * 6
    # the grammar leaves 2 random choices of 6 in every 6 tokens: ideal perplexity 6^(2/6) = 1.8
    assert 1.0 < model["perplexity"] < 3.0
    assert metrics == json.loads((tmp_path / "reports" / "metrics.json").read_text())
    report = (tmp_path / "reports" / "report.md").read_text()
    assert "perplexity" in report and info["run_id"] not in report  # a DVC output
    # registered under a language-model name, and champion on its test perplexity
    from mlflow import MlflowClient

    from rnnops import tracking
    from rnnops.config import from_dictconfig

    tracking.configure(from_dictconfig(cfg))
    mlflow_copy = Path(MlflowClient().download_artifacts(
        info["run_id"], "evaluation/report.md", str(tmp_path))).read_text()
    assert "The `champion` alias now points to this version" in mlflow_copy
    champion = MlflowClient().get_model_version_by_alias("rnnops-text-language-model", "champion")
    assert str(champion.version) == "1"
    assert float(champion.tags["rnnops.test_perplexity"]) == model["perplexity"]
    assert (tmp_path / "reports" / "plots" / "learning_curve.png").is_file()


def test_a_sweep_tunes_a_language_model(tmp_path, caplog):
    """The sweep stage on a text corpus: every trial trains the language model (the train
    stage's routine), the best values reach best_params.yaml, and the train stage uses them."""
    write_corpus(tmp_path / "corpus")
    cfg = compose("data=text", f"data.path={tmp_path / 'corpus'}", f"paths.root={tmp_path}",
                  "model=gru", "model.hidden_size=16", "train.bptt=10", "train.batch_size=16",
                  "trainer.progress_bar=false", "sweep.n_trials=3", "sweep.max_epochs=2",
                  "sweep.pruner=none", "~sweep.space.model", "~sweep.space.train.l2",
                  "sweep.space.train.lr.type=categorical",
                  "+sweep.space.train.lr.choices=[0.01,0.003,1e-6]", "sweep.sampler=grid")
    run_stage("prepare", cfg)
    summary = run_stage("sweep", cfg)
    assert summary["trials"] == {"COMPLETE": 3}
    assert summary["params"] == {"train.lr": 0.01}  # 1e-6 cannot learn the grammar in 2 epochs
    best = yaml.safe_load((tmp_path / "models" / "sweep" / "best_params.yaml").read_text())
    assert best["params"] == {"train.lr": 0.01}
    with caplog.at_level(logging.INFO, logger="rnnops"):
        info = run_stage("train", compose("data=text", f"data.path={tmp_path / 'corpus'}",
                                          f"paths.root={tmp_path}", "model=gru",
                                          "model.hidden_size=16", "train.max_epochs=1",
                                          "trainer.progress_bar=false"))
    assert info["kind"] == "language_model"
    assert "applying best params from" in caplog.text and "'train.lr': 0.01" in caplog.text
