"""The train stage for dvc.yaml and Hydra multirun: `python pipelines/train.py [overrides]`."""

import hydra

from rnnops.entry import run_stage


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    return run_stage("train", cfg)  # a Hydra sweeper reads best_val_loss from the result


if __name__ == "__main__":
    main()
