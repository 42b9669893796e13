"""The train stage for dvc.yaml and Hydra multirun: `python pipelines/train.py [overrides]`."""

import hydra

from rnnops.entry import run_stage
from rnnops.stages.train import train
from rnnops.sweep.job import in_sweep_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    # A Hydra sweeper reads best_val_loss from the result, and records a user error as the
    # trial's error instead of ending the sweep.
    return run_stage("train", train, cfg, reraise=in_sweep_job())


if __name__ == "__main__":
    main()
