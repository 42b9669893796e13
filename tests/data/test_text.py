"""Text corpora: tokens, the train-only vocabulary, batchify and (variable) BPTT chunks."""

from __future__ import annotations

import pytest
import torch

from rnnops.data.text import (
    EOS,
    UNK,
    Vocabulary,
    batchify,
    bptt_chunks,
    char_corpus,
    cut_corpus,
    files_corpus,
    variable_bptt_chunks,
    word_corpus,
    word_tokens,
)
from rnnops.errors import DataError


def test_word_tokens_add_eos_per_line():
    assert word_tokens("a b\nc\n") == ["a", "b", EOS, "c", EOS]


def test_vocabulary_is_built_on_train_only(tmp_path):
    (tmp_path / "train.txt").write_text("the cat\nthe dog\n")
    (tmp_path / "val.txt").write_text("the bird\n")
    corpus = word_corpus(tmp_path / "train.txt", tmp_path / "val.txt")
    vocab = corpus.vocab
    assert "bird" not in vocab.ids and UNK in vocab.ids
    assert vocab.tokens[:2] in {("the", EOS), (EOS, "the")}  # most frequent first
    assert vocab.decode(corpus.splits["val"]) == ["the", UNK, EOS]


def test_char_corpus_splits_90_10(tmp_path):
    (tmp_path / "t.txt").write_text("abcdefghij" * 10)
    corpus = char_corpus(tmp_path / "t.txt")
    assert len(corpus.splits["train"]) == 90 and len(corpus.splits["val"]) == 10
    assert "".join(corpus.vocab.decode(corpus.splits["val"])) == "abcdefghij"


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_split_names_the_file(tmp_path, content):
    (tmp_path / "train.txt").write_text("a b\n")
    (tmp_path / "val.txt").write_text(content)  # blank lines alone are no text either
    with pytest.raises(DataError, match="val.txt: the val split is empty"):
        word_corpus(tmp_path / "train.txt", tmp_path / "val.txt")


def test_cut_corpus_takes_the_fractions_in_order(tmp_path):
    (tmp_path / "t.txt").write_text("".join(f"w{i}\n" for i in range(10)))  # 20 word tokens
    corpus = cut_corpus(tmp_path / "t.txt", {"train": 0.7, "val": 0.1, "test": 0.2}, "word")
    assert {k: len(v) for k, v in corpus.splits.items()} == {"train": 14, "val": 2, "test": 4}
    assert corpus.vocab.decode(corpus.splits["val"]) == [UNK, EOS]  # w7 is not in train
    no_test = cut_corpus(tmp_path / "t.txt", {"train": 0.5, "val": 0.5, "test": 0.0}, "word")
    assert set(no_test.splits) == {"train", "val"}


def test_files_corpus_at_character_level(tmp_path):
    (tmp_path / "a.txt").write_text("abba\n")
    (tmp_path / "b.txt").write_text("abc")
    corpus = files_corpus({"train": tmp_path / "a.txt", "val": tmp_path / "b.txt"}, "char")
    assert corpus.vocab.tokens == ("a", "b", "\n", UNK)
    assert corpus.vocab.decode(corpus.splits["val"]) == ["a", "b", UNK]


def test_batchify_rows_are_contiguous_stretches():
    stream = torch.arange(23)
    batched = batchify(stream, 4)
    assert batched.shape == (4, 5)
    assert batched[1].tolist() == [5, 6, 7, 8, 9]
    with pytest.raises(DataError, match=r"the val split has 23 tokens, too few for "
                                        r"train.eval_batch_size=20 \(each row needs 2 or more\); "
                                        r"lower train.eval_batch_size"):
        batchify(stream, 20, "the val split", "train.eval_batch_size")


def test_bptt_chunks_cover_the_stream_with_shifted_targets():
    batched = batchify(torch.arange(64), 2)  # (2, 32)
    chunks = list(bptt_chunks(batched, 10))
    assert [x.shape[1] for x, _ in chunks] == [10, 10, 10, 1]
    seen = torch.cat([x for x, _ in chunks], dim=1)
    assert torch.equal(seen, batched[:, :-1])
    for x, y in chunks:
        assert torch.equal(y, x + 1)


def test_variable_bptt_lengths_follow_awd_lstm():
    batched = batchify(torch.arange(200_000), 4)
    g = torch.Generator().manual_seed(0)
    chunks = list(variable_bptt_chunks(batched, 70, g))
    lengths = torch.tensor([x.shape[1] for x, _, _ in chunks[:-1]], dtype=torch.float)
    assert lengths.min() >= 5
    assert 62 < lengths.mean() < 70  # 95% around 70, 5% around 35
    assert 0.02 < (lengths < 50).float().mean() < 0.09
    assert torch.equal(torch.cat([x for x, _, _ in chunks], dim=1), batched[:, :-1])
    assert all(scale == x.shape[1] / 70 for x, _, scale in chunks)


def test_vocabulary_round_trip():
    vocab = Vocabulary.build(list("hello"))
    assert vocab.decode(vocab.encode(list("hole"))) == list("hole")
