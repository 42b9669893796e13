"""Hydra's record of a job (`.hydra/config.yaml`, `hydra.yaml`, `overrides.yaml`) and of a
multirun (`multirun.yaml`), written with every URL password masked.

Hydra writes its copies before any callback runs, in clear; so conf/config.yaml turns them off
(`hydra.output_subdir: null`) and this callback, registered there, writes them at job start
instead. Where `hydra.output_subdir` is set again, it overwrites Hydra's copies; a multirun's
`multirun.yaml`, which the sweeper writes first, is rewritten likewise. Hydra's own log lines
(a launcher's list of each job's overrides) are masked too: Hydra sets up its log handlers
again for every job, and the callback masks each set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from rnnops.atomic import staged
from rnnops.masking import mask, mask_logs


def save_masked(node: Any, path: Path) -> None:
    """A config node (unresolved, as Hydra saves it) as YAML at `path`, masked, atomically."""
    plain = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
    with staged(path) as (partial,):
        OmegaConf.save(OmegaConf.create(mask(plain)), partial)


class MaskedRecord(Callback):
    def __init__(self, subdir: str = ".hydra") -> None:
        self.subdir = subdir

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        mask_logs()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        mask_logs()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        mask_logs()
        hydra = config.hydra
        folder = Path(hydra.runtime.output_dir) / (hydra.output_subdir or self.subdir)
        task = {k: v for k, v in OmegaConf.to_container(config, resolve=False).items()
                if k != "hydra"}
        save_masked(task, folder / "config.yaml")
        save_masked({"hydra": OmegaConf.to_container(hydra, resolve=False)},
                    folder / "hydra.yaml")
        save_masked(list(hydra.overrides.task), folder / "overrides.yaml")
        if hydra.mode == RunMode.MULTIRUN:
            self._mask_multirun(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._mask_multirun(config)

    @staticmethod
    def _mask_multirun(config: DictConfig) -> None:
        record = Path(str(config.hydra.sweep.dir)) / "multirun.yaml"
        if record.exists():
            save_masked(OmegaConf.load(record), record)
