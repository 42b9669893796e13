"""Text corpora for language models: tokens, a train-only vocabulary, and the contiguous streams
that truncated backpropagation through time (BPTT) walks over.

Word level follows the PTB format (whitespace tokens, `<eos>` at each line end); character level
keeps every character. Streams are batch-first: row b of a batchified stream is one contiguous
stretch of the corpus, so the state carried from chunk to chunk follows the text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnnops.errors import DataError

EOS = "<eos>"
UNK = "<unk>"


def word_tokens(text: str) -> list[str]:
    """PTB convention: whitespace-separated words, one `<eos>` per line."""
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def char_tokens(text: str) -> list[str]:
    return list(text)


@dataclass(frozen=True)
class Vocabulary:
    """Tokens by id; ids follow training frequency (ties by token), `<unk>` for the unseen."""

    tokens: tuple[str, ...]
    ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, train_tokens: list[str]) -> Vocabulary:
        counts = Counter(train_tokens)
        counts.setdefault(UNK, 0)
        return cls(tuple(sorted(counts, key=lambda t: (-counts[t], t))))

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> torch.Tensor:
        unk = self.ids[UNK]
        return torch.tensor([self.ids.get(t, unk) for t in tokens], dtype=torch.long)

    def decode(self, ids: torch.Tensor | list[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


@dataclass(frozen=True)
class TextCorpus:
    vocab: Vocabulary
    splits: dict[str, torch.Tensor]  # split name -> token ids, one long stream


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check data.path or data.root") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is "
                        "not UTF-8; save the file as UTF-8") from None


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"word": word_tokens, "char": char_tokens}


def _corpus(token_lists: dict[str, list[str]], origins: dict[str, str],
            train_fraction: float = 1.0) -> TextCorpus:
    """The splits as id streams. `train_fraction` trains on the latest part of the training
    tokens only; the vocabulary still comes from all of them, as the scaler of a series does, so
    that every fraction is scored over the same tokens."""
    for name, tokens in token_lists.items():
        if not any(t != EOS for t in tokens):  # blank lines alone are no text either
            raise DataError(f"{origins[name]}: the {name} split is empty; it needs text")
    vocab = Vocabulary.build(token_lists["train"])
    if train_fraction < 1:
        train = token_lists["train"]
        token_lists = {**token_lists,
                       "train": train[len(train) - max(1, round(len(train) * train_fraction)):]}
    return TextCorpus(vocab, {name: vocab.encode(t) for name, t in token_lists.items()})


def files_corpus(paths: dict[str, Path], level: str = "word",
                 train_fraction: float = 1.0) -> TextCorpus:
    """One file per split (train, val, optionally test), as given; vocabulary from train."""
    tokenize = TOKENIZERS[level]
    return _corpus({n: tokenize(read_text(p)) for n, p in paths.items()},
                   {n: str(p) for n, p in paths.items()}, train_fraction)


def cut_corpus(path: Path, fractions: dict[str, float], level: str = "char",
               train_fraction: float = 1.0) -> TextCorpus:
    """One file cut in order: the first fractions["train"] of its tokens train, the next
    fractions["val"] validate, and so on; a split with fraction 0 is left out. Sizes are rounded
    down as for series (rnnops.data.preprocess.split_sizes); the last split takes the rest."""
    tokens = TOKENIZERS[level](read_text(path))
    n = len(tokens)
    kept = {name: f for name, f in fractions.items() if f > 0}
    total = sum(kept.values())
    end_all = n if total >= 1 - 1e-9 else int(n * total)  # 0.9 + 0.1 keeps the last token
    parts: dict[str, list[str]] = {}
    start = 0
    for i, (name, fraction) in enumerate(kept.items()):
        end = end_all if i == len(kept) - 1 else start + int(n * fraction)
        parts[name], start = tokens[start:end], end
    return _corpus(parts, dict.fromkeys(parts, str(path)), train_fraction)


def word_corpus(train: Path, val: Path, test: Path | None = None) -> TextCorpus:
    """Word-level corpus from PTB-style files (vocabulary from train only)."""
    return files_corpus({"train": train, "val": val, **({"test": test} if test else {})})


def char_corpus(path: Path, train_fraction: float = 0.9) -> TextCorpus:
    """Character-level corpus: the first `train_fraction` of the characters train, the rest
    validate (nanoGPT's Tiny Shakespeare split)."""
    return cut_corpus(path, {"train": train_fraction, "val": 1 - train_fraction})


def batchify(stream: torch.Tensor, batch_size: int, name: str = "the stream",
             key: str = "the batch size") -> torch.Tensor:
    """(batch, n) view of the stream cut into `batch_size` contiguous rows; the remainder that
    does not fill a column is dropped. `name` and `key` say in errors which split is too short
    and which setting to lower."""
    n = len(stream) // batch_size
    if n < 2:
        raise DataError(f"{name} has {len(stream)} tokens, too few for {key}={batch_size} (each "
                        f"row needs 2 or more); lower {key}")
    return stream[: n * batch_size].view(batch_size, n)


def bptt_chunks(batched: torch.Tensor, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive (input, next-token target) chunks of at most `bptt` steps."""
    for start in range(0, batched.shape[1] - 1, bptt):
        length = min(bptt, batched.shape[1] - 1 - start)
        yield batched[:, start : start + length], batched[:, start + 1 : start + 1 + length]


def variable_bptt_chunks(
    batched: torch.Tensor,
    bptt: int,
    generator: torch.Generator,
    p_full: float = 0.95,
    std: float = 5.0,
    min_length: int = 5,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, float]]:
    """AWD-LSTM's random-length BPTT (Merity et al. 2018): each chunk length is drawn from
    N(bptt, std) with probability p_full, else from N(bptt/2, std), so chunk borders fall on
    different tokens every epoch. Also yields length / bptt, the factor by which AWD-LSTM
    scales the learning rate for that chunk."""
    start, total = 0, batched.shape[1] - 1
    while start < total:
        base = bptt if torch.rand((), generator=generator) < p_full else bptt / 2
        drawn = base + std * float(torch.randn((), generator=generator))
        length = min(max(min_length, math.floor(drawn)), total - start)
        yield (batched[:, start : start + length], batched[:, start + 1 : start + 1 + length],
               length / bptt)
        start += length
