"""The C++ time loops (lstm_steps.cpp), compiled once per machine and loaded as torch operators.

Built with torch's C++ extension tools (a C++ compiler and ninja) into a cache folder named after
the source's hash and the torch version, so an edit or a torch upgrade builds anew and every later
process (sweep trials, reruns) only loads the shared library. `make setup` builds it ahead of time
(`python -m rnnops.models.cells.kernels.native`); otherwise the first run that needs it pays the
build (about 20 s on 2 cores). Where it cannot be built (no compiler, a read-only cache) or
RNNOPS_NATIVE=0 is set, `steps()` returns None with the reason logged, and the kernels run their
Python loops instead: same equations, slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from functools import cache
from pathlib import Path

import torch

from rnnops.cache import cache_root

log = logging.getLogger("rnnops.models")

SOURCE = Path(__file__).with_name("lstm_steps.cpp")
LIBRARY = "rnnops_native.so"


@cache
def flags() -> list[str]:
    """-ffast-math lets GCC call glibc's vector exp (libmvec); the loops have no NaN tests to
    lose. AVX2 and FMA only where this CPU has them (they are part of the cache key)."""
    flags = ["-O3", "-ffast-math"]
    try:
        cpu = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        cpu = []
    if "avx2" in cpu and "fma" in cpu:
        flags += ["-mavx2", "-mfma"]
    return flags


@cache
def build_directory() -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(flags()).encode()).hexdigest()[:16]
    return cache_root() / "native" / f"torch{torch.__version__}-{digest}"


def _missing_tools() -> str | None:
    """Why the library can neither be loaded from the cache nor built, or None."""
    if os.environ.get("RNNOPS_NATIVE", "1") == "0":
        return "RNNOPS_NATIVE=0"
    if (build_directory() / LIBRARY).exists():  # built before: loading needs no tools
        return None
    if sys.platform != "linux":
        return f"built only on Linux (this is {sys.platform})"
    if not shutil.which(os.environ.get("CXX", "c++")):
        return "no C++ compiler on PATH (install g++)"
    try:
        import ninja  # noqa: F401
    except ImportError:
        return "ninja is not installed (pip install ninja)"
    return None


@cache
def _load():
    """(torch.ops.rnnops_native or None, the reason it is None)."""
    reason = _missing_tools()
    if reason is None:
        try:
            torch.ops.load_library(_build())
            return torch.ops.rnnops_native, None
        except Exception as exc:  # a failed build costs speed, never a run
            lines = str(exc).strip().splitlines()
            reason = f"build failed: {lines[-1] if lines else repr(exc)}"
    log.info("native LSTM steps not available (%s); the Python loops run instead", reason)
    return None, reason


def steps():
    """torch.ops.rnnops_native (lstm_forward, lstm_backward), or None (see why_unavailable)."""
    return _load()[0]


def why_unavailable() -> str | None:
    return _load()[1]


def build_id() -> str:
    """Which time loops the kernels run here: the build's folder name, or "python". Part of the
    autotuner's cache key, so a new build is measured anew."""
    return build_directory().name if steps() is not None else "python"


def _build() -> str:
    folder = build_directory()
    library = folder / LIBRARY
    if not library.exists():
        # imported only to build: it brings setuptools along (tens of MB in every process)
        from torch.utils import cpp_extension  # lazy: seconds to import, only to build

        log.info("building the native LSTM steps into %s (once per machine and torch version)",
                 folder)
        folder.mkdir(parents=True, exist_ok=True)
        # torch's builder locks the folder, so concurrent sweep workers build it once
        cpp_extension.load(name="rnnops_native", sources=[str(SOURCE)], extra_cflags=flags(),
                           build_directory=str(folder), is_python_module=False, verbose=False)
    return str(library)


if __name__ == "__main__":  # `make setup` builds it ahead of the first run
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print("native LSTM steps:", "ready" if steps() is not None else "not available")
