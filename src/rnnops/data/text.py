"""Text corpora for language models: tokens, a train-only vocabulary, and the contiguous streams
that truncated backpropagation through time (BPTT) walks over.

Word level follows the PTB format (whitespace tokens, `<eos>` at each line end); character level
keeps every character. Streams are batch-first: row b of a batchified stream is one contiguous
stretch of the corpus, so the state carried from chunk to chunk follows the text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
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


def _corpus(token_lists: dict[str, list[str]], origins: dict[str, str]) -> TextCorpus:
    for name, tokens in token_lists.items():
        if not tokens:
            raise DataError(f"{origins[name]}: the {name} split is empty; it needs text")
    vocab = Vocabulary.build(token_lists["train"])
    return TextCorpus(vocab, {name: vocab.encode(t) for name, t in token_lists.items()})


def word_corpus(train: Path, val: Path, test: Path | None = None) -> TextCorpus:
    """Word-level corpus from PTB-style files (vocabulary from train only)."""
    paths = {"train": train, "val": val, **({"test": test} if test else {})}
    return _corpus({n: word_tokens(read_text(p)) for n, p in paths.items()},
                   {n: str(p) for n, p in paths.items()})


def char_corpus(path: Path, train_fraction: float = 0.9) -> TextCorpus:
    """Character-level corpus: the first `train_fraction` of the characters train, the rest
    validate (nanoGPT's Tiny Shakespeare split)."""
    text = read_text(path)
    cut = int(len(text) * train_fraction)
    return _corpus({"train": char_tokens(text[:cut]), "val": char_tokens(text[cut:])},
                   {"train": str(path), "val": str(path)})


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(batch, n) view of the stream cut into `batch_size` contiguous rows; the remainder that
    does not fill a column is dropped."""
    n = len(stream) // batch_size
    if n < 2:
        raise DataError(f"a stream of {len(stream)} tokens is too short for batch size "
                        f"{batch_size}; lower the batch size")
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


def standard_corpus(name: str, root: str | None, cache: Path) -> TextCorpus:
    """`ptb` (word level, train/valid/test as published) or `tinyshakespeare` (character
    level, 90/10), from local copies in `root` or pinned downloads."""
    from rnnops.data.catalog import locate

    if name == "ptb":
        return word_corpus(*(locate(f"ptb.{s}.txt", root, cache) for s in ("train", "valid",
                                                                             "test")))
    if name == "tinyshakespeare":
        return char_corpus(locate("tinyshakespeare.txt", root, cache), train_fraction=0.9)
    raise DataError(f"unknown corpus {name!r}; choose ptb or tinyshakespeare")
