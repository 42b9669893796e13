"""The README's serving commands work as written: copied verbatim from it and run in a project
folder after the pipeline, `rnnops serve` answers the curl with a forecast that carries its
dates, and nothing is written into the project but the files the commands name."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT

PORT = 5001  # the README's


def readme_block(title: str) -> list[str]:
    """The commands of the first bash block under the README heading `title`."""
    text = (ROOT / "README.md").read_text().split(f"## {title}\n", 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def shell(command: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, **kwargs)


def wait_for_port(port: int, server: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {timeout_s} s")


def test_the_readme_serve_and_curl_commands_give_a_forecast_with_dates(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "conf", project / "conf")
    quick = ["model.hidden_size=8", "train.max_epochs=2", "train.use_best_params=false",
             "trainer.progress_bar=false", "evaluate.champion_gate=none",
             "evaluate.baselines=[last_value]", "evaluate.backtest.folds=0"]
    for stage in ("prepare", "train", "evaluate"):
        out = shell(" ".join(["rnnops", stage, *quick]), project)
        assert out.returncode == 0, out.stderr[-2000:]
    before = {p.relative_to(project) for p in project.rglob("*")}

    serve, *requests = readme_block("Serve the champion")
    assert serve.startswith("rnnops serve") and requests[-1].startswith("curl")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    server = subprocess.Popen(["bash", "-c", serve], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        wait_for_port(PORT, server)
        for command in requests[:-1]:
            out = shell(command, project)
            assert out.returncode == 0, out.stderr[-2000:]
        out = shell(requests[-1], project)
        assert out.returncode == 0, out.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    predictions = pd.DataFrame(json.loads(out.stdout)["predictions"])
    assert list(predictions.columns) == ["step", "date", "co2"] and len(predictions) == 26
    history = pd.read_csv(project / "history.csv", parse_dates=["date"])
    dates = pd.to_datetime(predictions["date"])
    assert dates.iloc[0] == history["date"].iloc[-1] + pd.Timedelta(weeks=1)
    assert (dates.diff().dropna() == pd.Timedelta(weeks=1)).all()
    assert predictions["co2"].between(300, 500).all()  # ppm, original units
    # Nothing new but the two files the commands write (MLflow may add its own bookkeeping to
    # the store's artifact folder, mlruns/artifacts, when it loads a registered model).
    created = {p.relative_to(project) for p in project.rglob("*")} - before
    outside_store = {p for p in created if p.parts[:2] != ("mlruns", "artifacts")}
    assert outside_store == {Path("history.csv"), Path("request.json")}, created
