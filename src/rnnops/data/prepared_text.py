"""The prepare stage's output for a text corpus: token-id streams, vocabulary and metadata.

One folder (the DVC output of the prepare stage, as for series): `tokens.pt` (split name -> one
int64 stream), `vocab.json` (the tokens in id order) and `meta.json` (kind, level, counts of
tokens and types, hashes of the raw files, of the streams and of the two files, which every load
checks).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnops.config import DataConfig
from rnnops.data.download import sha256_of
from rnnops.data.provenance import DATA_SETTINGS, PREPARE_AGAIN, check_same_data
from rnnops.data.text import EOS, UNK, TextCorpus, Vocabulary
from rnnops.errors import DataError, UserError
from rnnops.masking import mask

TOKENS = "tokens.pt"
VOCAB = "vocab.json"
META = "meta.json"
FILE_HASHES = "file_sha256"  # meta.json: file name -> sha256 of its bytes
# What to do about a prepared folder whose files fail their check (series and text alike).
REBUILD = ("rebuild it with `dvc repro -f prepare` (or restore DVC's copy with `dvc checkout "
           "{folder}`, or run `rnnops prepare` with this run's settings)")


def stream_hash(splits: dict[str, torch.Tensor], vocab: Vocabulary) -> str:
    """Content hash of the streams and the vocabulary: the data hash runs are tagged with."""
    h = hashlib.sha256()
    h.update(json.dumps(vocab.tokens).encode())
    for name in sorted(splits):
        h.update(name.encode())
        h.update(splits[name].contiguous().numpy())
    return h.hexdigest()


def text_meta(corpus: TextCorpus) -> dict[str, Any]:
    """Counts for meta.json: tokens per split (`<eos>` included), types, and how many tokens of
    each split are `<unk>` (the corpus's own `<unk>` plus words unseen in train)."""
    unk = corpus.vocab.ids[UNK]
    return {
        "tokens": {name: len(s) for name, s in corpus.splits.items()},
        "types": len(corpus.vocab),
        "unknown": {name: int((s == unk).sum()) for name, s in corpus.splits.items()},
        "specials": {"eos": EOS, "unk": UNK},
        "sha256": stream_hash(corpus.splits, corpus.vocab),
    }


def save_prepared_text(folder: Path, corpus: TextCorpus, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(corpus.splits, folder / TOKENS)  # the same bytes for the same streams
    (folder / VOCAB).write_text(json.dumps(list(corpus.vocab.tokens), ensure_ascii=False) + "\n",
                                encoding="utf-8")
    meta = {**meta, FILE_HASHES: {name: sha256_of(folder / name) for name in (TOKENS, VOCAB)}}
    (folder / META).write_text(json.dumps(mask(meta), indent=2) + "\n")


def load_prepared_text(folder: Path, data: DataConfig | None = None
                       ) -> tuple[dict[str, torch.Tensor], Vocabulary]:
    """The token-id streams by split (`train`, `val`, and `test` when the corpus has one) as
    int64 tensors, and the vocabulary, as the prepare stage wrote them into `folder`; with
    `data`, only if they were prepared with its settings."""
    folder = Path(folder)
    if not (folder / TOKENS).exists() or not (folder / VOCAB).exists():
        hint = (" (it holds a prepared series: prepare a text corpus, e.g. data=ptb)"
                if (folder / META).exists() else "")
        raise UserError(f"{folder}: no prepared text corpus here{hint}; run the prepare stage "
                        "with a text dataset first (python pipelines/prepare.py data=ptb)")
    meta = json.loads((folder / META).read_text()) if (folder / META).exists() else {}
    if data is not None:
        check_same_data(meta.get(DATA_SETTINGS), data, f"{folder}: prepared", PREPARE_AGAIN)
    rebuild = REBUILD.format(folder=folder)
    for name, recorded in (meta.get(FILE_HASHES) or {}).items():
        if sha256_of(folder / name) != recorded:
            raise DataError(f"{folder / name}: does not match the sha256 prepare recorded in "
                            f"{folder / META} (changed or corrupted since); {rebuild}")
    try:
        splits = torch.load(folder / TOKENS, weights_only=True)
        vocab = Vocabulary(tuple(json.loads((folder / VOCAB).read_text(encoding="utf-8"))))
    except (RuntimeError, ValueError, OSError, EOFError) as exc:  # truncated or not ours
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{folder}: prepared corpus unreadable ({reason[:200]}); {rebuild}"
                        ) from None
    return splits, vocab


@dataclass(frozen=True)
class PreparedText:
    """A prepared corpus as the later stages use it: the streams, the vocabulary, meta.json."""

    splits: dict[str, torch.Tensor]
    vocab: Vocabulary
    meta: dict[str, Any]

    @classmethod
    def load(cls, folder: Path, data: DataConfig | None = None) -> PreparedText:
        """load_prepared_text's streams and vocabulary (checked as it checks them), with meta."""
        splits, vocab = load_prepared_text(folder, data)
        return cls(splits, vocab, json.loads((Path(folder) / META).read_text()))
