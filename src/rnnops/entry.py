"""Running a stage from a composed config: validation first, one seed, user errors as one line.

Shared by the Hydra scripts in pipelines/ and the `rnnops` command. The caller passes the stage
function itself, so each script imports only its own stage: dvc.yaml's deps are the import
closure of the script (pipelines/stage_deps.py), and a stage must not depend on another's code.
"""

from __future__ import annotations

import errno
import random
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from rnnops.config import Config, from_dictconfig
from rnnops.errors import UserError, one_line
from rnnops.masking import mask_logs, masked

# A full disk, a full quota, a file over the size limit: the machine's state, not a bug.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class _HeldStderr:
    """stderr held back until a stage starts: what Hydra writes before then is its own error
    for a wrong override or group option (many lines), which run_script makes one line."""

    def __init__(self, real: Any):
        self.real, self.held, self.passing = real, [], False

    def write(self, text: str) -> int:
        if self.passing:
            return self.real.write(text)
        self.held.append(text)
        return len(text)

    def release(self) -> None:
        if not self.passing:
            self.passing = True
            self.real.write("".join(self.held))
            self.held.clear()

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self.real, name)


def run_script(name: str, main: Callable[[], Any]) -> None:
    """Call a pipelines/ script's @hydra.main function: a composition error (an unknown group
    option, a malformed override) is one line and exit status 2, as with `rnnops NAME`, instead
    of Hydra's many lines and status 1. Everything from the stage on passes through as is."""
    held = _HeldStderr(sys.stderr)
    sys.stderr = held
    try:
        main()
    except SystemExit as exc:
        text = "".join(held.held)
        if not held.passing and exc.code not in (0, None) and text.strip():
            held.held.clear()
            # the Optuna sweeper's own one-line error (it starts before any stage) stays as is
            said = text.strip() if text.startswith("rnnops ") and "\n" not in text.strip() \
                else f"rnnops {name}: error: {one_line(text)}"
            print(said, file=held.real)
            raise SystemExit(2) from None
        raise
    finally:
        held.release()
        sys.stderr = held.real


def run_stage(name: str, stage: Callable[[Config], Any], dictconfig: Any, *,
              reraise: bool = False) -> Any:
    """Validate `dictconfig`, seed once, run `stage`; a UserError exits 2 with one line.

    `reraise`: let a UserError through instead (the Optuna sweeper's jobs record it as the
    trial's error and go on)."""
    if isinstance(sys.stderr, _HeldStderr):  # the script's config composed: the stage speaks
        sys.stderr.release()
    # pytorch_lightning 2.6 on torch 2.13 warns about its own pytree use on every run.
    warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated")
    mask_logs()  # Hydra's console and job-log handlers (and rnnops's) write no password
    try:
        cfg = from_dictconfig(dictconfig)
        seed_everything(cfg.seed)
        return stage(cfg)
    except UserError as exc:
        if reraise:
            raise
        print(f"rnnops {name}: error: {masked(str(exc))}", file=sys.stderr)
        discard_hydra_run_folder(dictconfig)
        raise SystemExit(2) from None
    except OSError as exc:
        if reraise or exc.errno not in DISK_FULL:
            raise
        # The stage wrote its outputs staged and removed what it logged (rnnops.atomic,
        # tracking.discarded_on_error): one line, no traceback, as for a user error.
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"rnnops {name}: error: {exc.strerror or exc}{where}; nothing was kept: free "
              "space (or raise the file size limit) and run the stage again", file=sys.stderr)
        raise SystemExit(2) from None


def in_multirun() -> bool:
    """Whether this is one job of a Hydra multirun or sweep (`-m`, hydra/sweeper=optuna)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def discard_hydra_run_folder(dictconfig: Any) -> None:
    """Remove the log folder @hydra.main made for this run (and the folders above it that it
    leaves empty, up to paths.root): a stage refused with one line writes nothing, Hydra's logs
    included. Nothing to do outside a Hydra run (the rnnops command composes without one)."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return
    folder = Path(HydraConfig.get().runtime.output_dir).resolve()
    root = Path(str(OmegaConf.select(dictconfig, "paths.root", default="."))).resolve()
    if root not in folder.parents:
        return
    shutil.rmtree(folder, ignore_errors=True)
    for parent in folder.parents:
        if parent == root or root not in parent.parents or any(parent.iterdir()):
            break
        parent.rmdir()


def seed_everything(seed: int) -> None:


    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
