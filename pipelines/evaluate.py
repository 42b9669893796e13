"""The evaluate stage for dvc.yaml and Hydra multirun.

`python pipelines/evaluate.py [overrides]`
"""

import hydra

from rnnops.entry import run_script, run_stage
from rnnops.stages.evaluate import evaluate


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> None:
    run_stage("evaluate", evaluate, cfg)


if __name__ == "__main__":
    run_script("evaluate", main)
