"""Files from the web, pinned by a checksum, downloaded once into a cache (pooch does the work:
a progress bar, a temporary file that only becomes the cached file once its hash matches).

A checksum is written as pooch writes it, "ALGORITHM:HEX" (sha256 for files pinned here, md5 where
only that is published)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from rnnops.errors import DataError

log = logging.getLogger(__name__)

ROOT_ENV = "RNNOPS_DATA_ROOT"


def sha256_of(path: Path) -> str:
    return hash_of(path, "sha256")


def hash_of(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def local_root(configured: str | None) -> Path | None:
    """data.root, else $RNNOPS_DATA_ROOT, else None (download). A folder that does not exist is
    an error rather than a silent download: it is most likely a typo or a relative path taken
    from another working folder."""
    value = configured or os.environ.get(ROOT_ENV)
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        where = "data.root" if configured else ROOT_ENV
        raise DataError(f"{where}={value}: no such folder (from {Path.cwd()}); give the folder "
                        "of local copies, or leave it unset to download the pinned files")
    return folder


def fetch(url: str, checksum: str, cache: Path, name: str | None = None) -> Path:
    """The cached file for `url`, downloading it first if needed; a hash mismatch is an error
    and leaves nothing in the cache."""
    import pooch  # lazy: only a download needs it

    cache.mkdir(parents=True, exist_ok=True)
    try:
        path = pooch.retrieve(url, known_hash=checksum, fname=name, path=cache,
                              progressbar=_has_tqdm())
    except ValueError as exc:  # pooch's hash mismatch
        raise DataError(f"{url}: {str(exc).splitlines()[0]} (check data.sha256)") from None
    except OSError as exc:
        raise DataError(f"{url}: download failed ({exc}); check the URL and the network") from None
    return Path(path)


def verified(path: Path, checksum: str) -> Path:
    """A local copy whose content must be the pinned file."""
    algorithm, expected = checksum.split(":")
    actual = hash_of(path, algorithm)
    if actual != expected:
        raise DataError(f"{path}: {algorithm} {actual} differs from the pinned {expected}; "
                        "replace the file with the original or clear data.root")
    return path


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True
