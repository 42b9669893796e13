"""The sweep stage for dvc.yaml and Hydra multirun: `python pipelines/sweep.py [overrides]`.

As a pipeline stage it is skipped when train.use_best_params=false; `rnnops sweep` always runs."""

import hydra

from rnnops.entry import run_script, run_stage
from rnnops.stages.sweep import pipeline_sweep


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> None:
    run_stage("sweep", pipeline_sweep, cfg)


if __name__ == "__main__":
    run_script("sweep", main)
