"""The validate stage, first in dvc.yaml: the whole configuration checked before any stage runs,
so that a bad value (`dvc exp run -S train.lr=-1`) stops with one line before DVC removes any
stage's outputs to rerun it. In an experiment (DVC sets DVC_EXP_BASELINE_REV), the refused
params.yaml is put back as the experiment's baseline has it, so the workspace is as it was.

`python pipelines/validate.py [overrides]`
"""

import os
import subprocess
import sys
from pathlib import Path

import hydra

from rnnops.entry import run_script, run_stage
from rnnops.errors import UserError
from rnnops.models.build import check_model_config

ROOT = Path(__file__).resolve().parents[1]


CHECKED = "validated.txt"  # beside paths.prepared: dvc.yaml's out, the same for any valid config


def validate(cfg) -> None:
    check_model_config(cfg.model)
    checked = cfg.paths.prepared.parent / CHECKED
    checked.parent.mkdir(parents=True, exist_ok=True)
    checked.write_text("params.yaml passed rnnops's checks\n")


def restore_params() -> None:
    """params.yaml as the experiment's baseline commit has it (nothing to do outside one)."""
    baseline = os.environ.get("DVC_EXP_BASELINE_REV")
    if not baseline:
        return
    shown = subprocess.run(["git", "show", f"{baseline}:params.yaml"], cwd=ROOT,
                           capture_output=True, text=True)
    if shown.returncode == 0:
        (ROOT / "params.yaml").write_text(shown.stdout)
        print("rnnops validate: params.yaml put back as the experiment's baseline has it",
              file=sys.stderr)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> None:
    try:
        run_stage("validate", validate, cfg, reraise=True)
    except UserError as exc:
        print(f"rnnops validate: error: {exc}", file=sys.stderr)
        restore_params()
        raise SystemExit(2) from None


if __name__ == "__main__":
    run_script("validate", main)
