"""A full disk while the model is logged: the train stage exits 2 with one line, writes no model,
leaves its MLflow run FAILED and no logged model, registered version or model file behind.
(The full disk is an OSError(ENOSPC) raised by MLflow's artifact writer after it wrote the files,
in a real `pipelines/train.py` process: a size-limited filesystem needs root to mount.)"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny
from tests.e2e.faults.conftest import ENV, error_line, half_written, running_runs

DISK_FULL = """
import errno, runpy, sys
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

real = LocalArtifactRepository.log_artifacts

def disk_full(self, local_dir, artifact_path=None):
    real(self, local_dir, artifact_path)
    raise OSError(errno.ENOSPC, "No space left on device", self.artifact_dir)

LocalArtifactRepository.log_artifacts = disk_full
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_full_disk_while_logging_the_model_leaves_nothing_behind(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(ROOT / "pipelines/train.py"),
         f"paths.root={tmp_path}", *TINY, "train.max_epochs=1", "train.limit_batches=2"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    line = error_line(done.stderr, "train")
    assert line.startswith("rnnops train: error: No space left on device writing ")
    assert line.endswith("; nothing was kept: free space (or raise the file size limit) and run "
                         "the stage again")

    assert not (tmp_path / "models").exists()
    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED"
    assert client.search_logged_models([experiment.experiment_id]) == []
    assert client.search_registered_models() == []
    assert not list((tmp_path / "mlruns").rglob("service/*"))  # the model's files are gone
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []
