"""Where text corpora come from (data.kind=text), as rnnops.data.sources is for series: the
published corpora pinned by sha256 (PTB, Tiny Shakespeare) or a user's own files.

A corpus is either one file per split, used as given (PTB), or one file cut in order by the
data.split fractions of its tokens (Tiny Shakespeare's 90/10). data.level picks words or
characters. A new source is one function plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnnops.config import DataConfig
from rnnops.data import catalog, download
from rnnops.data.sources import choose, require
from rnnops.data.text import TextCorpus, cut_corpus, files_corpus
from rnnops.errors import DataError

# The published corpora by name: split -> file in rnnops.data.catalog, or one file to cut.
PUBLISHED: dict[str, dict[str, str] | str] = {
    "ptb": {"train": "ptb.train.txt", "val": "ptb.valid.txt", "test": "ptb.test.txt"},
    "tinyshakespeare": "tinyshakespeare.txt",
}
# A user's folder: the PTB layout without the prefix; the test file may be left out.
SPLIT_FILES = {"train": "train.txt", "val": "valid.txt", "test": "test.txt"}


@dataclass(frozen=True)
class LoadedCorpus:
    corpus: TextCorpus
    origin: str  # where it was read: a folder or a file, for meta.json
    sha256: dict[str, str]  # raw file name -> sha256
    layout: dict[str, str] | dict[str, float]  # split -> file name, or split -> fraction cut


def _fractions(cfg: DataConfig) -> dict[str, float]:
    s = cfg.split
    return {"train": s.train, "val": s.val, "test": s.test}


def _read(cfg: DataConfig, files: dict[str, Path] | Path) -> TextCorpus:
    if isinstance(files, dict):
        return files_corpus(files, cfg.level, cfg.train_fraction)
    return cut_corpus(files, _fractions(cfg), cfg.level, cfg.train_fraction)


def load_published(cfg: DataConfig, cache: Path) -> LoadedCorpus:
    """A published corpus: the local copy in data.root (or $RNNOPS_DATA_ROOT), verified against
    its pinned hash, else downloaded once into the cache."""
    name = choose("data.dataset", cfg.dataset, list(PUBLISHED), "published corpus")
    published = PUBLISHED[name]
    names = list(published.values()) if isinstance(published, dict) else [published]
    located = {f: catalog.locate(f, cfg.root, cache) for f in names}
    sha256 = {f: catalog.FILES[f].sha256 for f in names}
    origin = str(located[names[0]].parent)  # data.root or the download cache
    if isinstance(published, dict):
        files = {split: located[f] for split, f in published.items()}
        return LoadedCorpus(_read(cfg, files), origin, sha256, dict(published))
    return LoadedCorpus(_read(cfg, located[published]), origin, sha256, _fractions(cfg))


def load_files(cfg: DataConfig, cache: Path) -> LoadedCorpus:
    """A user's corpus: a folder of train.txt, valid.txt (and test.txt), or one text file."""
    path = Path(require(cfg, "path")).expanduser()
    if path.is_dir():
        files = {s: path / f for s, f in SPLIT_FILES.items() if s != "test" or (path / f).exists()}
        for split in ("train", "val"):
            if not files[split].is_file():
                raise DataError(f"{files[split]}: no such file; a corpus folder needs "
                                f"{', '.join(SPLIT_FILES.values())} (test.txt optional)")
        raw = list(files.values())
        layout: dict[str, str] | dict[str, float] = {s: p.name for s, p in files.items()}
        corpus = _read(cfg, files)
    elif path.is_file():
        raw, layout, corpus = [path], _fractions(cfg), _read(cfg, path)
    else:
        raise DataError(f"{path}: no such file or folder; check data.path")
    return LoadedCorpus(corpus, str(path), {p.name: download.sha256_of(p) for p in raw}, layout)


CORPORA: dict[str, Callable[[DataConfig, Path], LoadedCorpus]] = {
    "corpus": load_published,
    "file": load_files,
}


def load_corpus(cfg: DataConfig, cache: Path) -> LoadedCorpus:
    """The configured text corpus, tokenized and encoded; `cache` holds downloads."""
    choose("data.source", cfg.source, list(CORPORA), "text source")
    return CORPORA[cfg.source](cfg, cache)
