"""Text corpora through the prepare stage: streams, vocabulary and meta.json written atomically,
read back by load_prepared_text; a bad corpus is one line, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from rnnops.data.prepared import PreparedData
from rnnops.data.prepared_text import load_prepared_text
from rnnops.data.text import EOS, UNK
from rnnops.errors import ConfigError, UserError
from tests.conftest import ROOT, load
from tests.data.conftest import SHARED_DATA, prepare

needs_corpora = pytest.mark.skipif(
    not (SHARED_DATA / "ptb.train.txt").exists()
    or not (SHARED_DATA / "tinyshakespeare.txt").exists(),
    reason=f"no PTB or Tiny Shakespeare copies in {SHARED_DATA}",
)


def written(root):
    folder = root / "data" / "prepared"
    meta = json.loads((folder / "meta.json").read_text())
    return (*load_prepared_text(folder), meta)


@needs_corpora
def test_ptb_prepares_mikolovs_counts(tmp_path):
    prepare(tmp_path, "data=ptb", f"data.root={SHARED_DATA}")
    splits, vocab, meta = written(tmp_path)
    assert len(vocab) == 10_000 == meta["types"]  # Mikolov's vocabulary, <unk> and <eos> included
    counts = {"train": 929_589, "val": 73_760, "test": 82_430}
    assert {k: len(v) for k, v in splits.items()} == counts == meta["tokens"]
    assert all(s.dtype == torch.int64 for s in splits.values())
    assert vocab.decode(splits["train"][:5]) == ["aer", "banknote", "berlitz", "calloway",
                                                  "centrust"]
    assert vocab.decode(splits["train"][24:25]) == [EOS]  # the first line has 24 words
    assert meta["kind"] == "text" and meta["level"] == "word"
    assert meta["source_sha256"]["ptb.valid.txt"].startswith("c9fe6985")
    assert not (tmp_path / "data" / "downloads").exists()  # the local copies, nothing fetched


@needs_corpora
def test_tiny_shakespeare_prepares_a_90_10_character_split(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_DATA_ROOT", str(SHARED_DATA))
    prepare(tmp_path, "data=tinyshakespeare")
    splits, vocab, meta = written(tmp_path)
    assert {k: len(v) for k, v in splits.items()} == {"train": 1_003_854, "val": 111_540}
    assert len(vocab) == 65 + 1 == meta["types"]  # 65 characters and <unk>
    text = (SHARED_DATA / "tinyshakespeare.txt").read_text()
    assert "".join(vocab.decode(splits["val"][:40])) == text[1_003_854 : 1_003_854 + 40]
    assert meta["level"] == "char" and meta["splits"] == {"train": 0.9, "val": 0.1, "test": 0.0}


def test_own_corpus_folder_round_trips(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text("the cat sat\nthe dog sat\n")
    (corpus / "valid.txt").write_text("the bird sat\n")
    (corpus / "test.txt").write_text("a cat\n")
    prepare(tmp_path, "data=text", f"data.path={corpus}")
    splits, vocab, meta = written(tmp_path)
    assert vocab.decode(splits["val"]) == ["the", UNK, "sat", EOS]
    assert vocab.decode(splits["test"]) == [UNK, "cat", EOS]
    assert meta["tokens"] == {"train": 8, "val": 4, "test": 3}
    assert meta["unknown"] == {"train": 0, "val": 1, "test": 1}
    assert set(meta["source_sha256"]) == {"train.txt", "valid.txt", "test.txt"}
    with pytest.raises(UserError, match="holds a prepared text corpus"):
        PreparedData.load(tmp_path / "data" / "prepared")


def test_one_file_is_cut_by_the_split_fractions(tmp_path):
    (tmp_path / "story.txt").write_text("abcdefghij" * 10)
    prepare(tmp_path, "data=text", f"data.path={tmp_path / 'story.txt'}", "data.level=char")
    splits, _, meta = written(tmp_path)
    assert {k: len(v) for k, v in splits.items()} == {"train": 70, "val": 10, "test": 20}
    assert meta["splits"] == {"train": 0.7, "val": 0.1, "test": 0.2}


def test_prepared_series_is_not_a_text_corpus(tmp_path):
    prepare(tmp_path, "data=synthetic", "data.length=300")
    with pytest.raises(UserError, match="holds a prepared series"):
        load_prepared_text(tmp_path / "data" / "prepared")


@pytest.mark.parametrize(
    ("overrides", "key", "rule"),
    [
        (["data.split.protocol=counts"], "data.split.protocol", "use ratio"),
        (["data.level=byte"], "data.level", "is not one of word, char"),
        (["data.split.val=0"], "data.split.val", "must be > 0"),
        (["data.split.test=-0.1"], "data.split.test", "must be >= 0"),
        (["model=seq2seq"], "model.architecture", "does not apply to a language model"),
        (["model.bidirectional=true"], "model.bidirectional", "reads left to right"),
    ],
)
def test_text_config_rules_name_their_key(overrides, key, rule):
    with pytest.raises(ConfigError) as err:
        load("data=tinyshakespeare", *overrides)
    assert err.value.key == key and rule in str(err.value)


def test_series_still_needs_a_test_split():
    with pytest.raises(ConfigError, match="data.split.test"):
        load("data.split.test=0")


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["data.source=web"], ["data.source", "'web'", "corpus, file"]),
        (["data.source=corpus", "data.dataset=wikitext"], ["data.dataset", "ptb, tinyshakespeare"]),
    ],
)
def test_unknown_text_source_or_corpus_lists_the_valid_ones(tmp_path, capsys, overrides,
                                                            fragments):
    with pytest.raises(SystemExit) as stop:
        prepare(tmp_path, "data=text", f"data.path={tmp_path}", *overrides)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(f in err for f in fragments), err


def test_text_corpus_with_an_empty_split_is_one_line_exit_2_and_writes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text("the cat sat\n")
    (corpus / "valid.txt").write_text("")
    out = subprocess.run(
        [sys.executable, "-m", "rnnops.cli", "prepare", "data=text", f"data.path={corpus}",
         f"paths.root={tmp_path / 'out'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"rnnops prepare: error: {corpus / 'valid.txt'}: the val split is empty; it needs text")
    assert not (tmp_path / "out" / "data").exists()
