"""The prepare stage for dvc.yaml and Hydra multirun: `python pipelines/prepare.py [overrides]`."""

import hydra

from rnnops.entry import run_script, run_stage
from rnnops.stages.prepare import prepare


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> None:
    run_stage("prepare", prepare, cfg)


if __name__ == "__main__":
    run_script("prepare", main)
