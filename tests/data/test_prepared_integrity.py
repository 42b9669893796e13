"""Every load of prepared data checks it against the hashes prepare recorded: a changed or
damaged file stops the reader with one line naming it and how to rebuild it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnops.data.prepared import SPLIT_HASHES, PreparedData
from rnnops.data.prepared_text import FILE_HASHES, load_prepared_text, save_prepared_text
from rnnops.data.text import cut_corpus
from rnnops.errors import DataError
from tests.training.test_runtime import sines

REBUILD = ("rebuild it with `dvc repro -f prepare` (or restore DVC's copy with `dvc checkout "
           "{folder}`, or run `rnnops prepare` with this run's settings)")


@pytest.fixture
def prepared(tmp_path):
    folder = tmp_path / "prepared"
    sines().save(folder)
    return folder


def test_the_arrays_read_back_as_written(prepared):
    data = PreparedData.load(prepared)
    assert set(data.meta[SPLIT_HASHES]) == {"train", "val", "test"}
    np.testing.assert_array_equal(data.arrays["val"], sines().arrays["val"])


def test_a_small_edit_is_caught_and_named(prepared):
    array = np.load(prepared / "val.npy")
    array[:10] += 5  # the "+5 on 10 values", scaled units or not
    np.save(prepared / "val.npy", array)
    with pytest.raises(DataError) as error:
        PreparedData.load(prepared)
    assert str(error.value) == (
        f"{prepared / 'val.npy'}: does not match the sha256 prepare recorded in "
        f"{prepared / 'meta.json'} (changed or corrupted since); "
        + REBUILD.format(folder=prepared))


def test_random_bytes_are_caught_before_training(prepared):
    path = prepared / "train.npy"
    raw = bytearray(path.read_bytes())
    raw[200:264] = np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"train\.npy: does not match the sha256"):
        PreparedData.load(prepared)


def test_a_truncated_file_is_one_line(prepared):
    path = prepared / "test.npy"
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataError) as error:
        PreparedData.load(prepared)
    message = str(error.value)
    assert message.startswith(f"{path}: unreadable (") and "\n" not in message
    assert message.endswith(REBUILD.format(folder=prepared))


def test_a_folder_prepared_before_per_file_hashes_is_checked_as_a_whole(prepared):
    meta = json.loads((prepared / "meta.json").read_text())
    del meta[SPLIT_HASHES]
    (prepared / "meta.json").write_text(json.dumps(meta))
    PreparedData.load(prepared)  # intact: reads
    array = np.load(prepared / "train.npy")
    array[0, 0] = 9.0
    np.save(prepared / "train.npy", array)
    with pytest.raises(DataError, match=f"^{prepared}: does not match the sha256"):
        PreparedData.load(prepared)


def test_a_prepared_corpus_checks_both_files(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the cat sat on the mat\n" * 50)
    folder = tmp_path / "prepared"
    corpus = cut_corpus(text, {"train": 0.8, "val": 0.2}, level="word")
    save_prepared_text(folder, corpus, {"kind": "text"})
    assert set(json.loads((folder / "meta.json").read_text())[FILE_HASHES]) == {
        "tokens.pt", "vocab.json"}
    splits, vocab = load_prepared_text(folder)
    assert len(vocab) == len(corpus.vocab)
    (folder / "vocab.json").write_text(json.dumps(["<eos>", "<unk>", "a", "b", "c", "d", "e"]))
    with pytest.raises(DataError, match=r"vocab\.json: does not match the sha256 prepare"):
        load_prepared_text(folder)
