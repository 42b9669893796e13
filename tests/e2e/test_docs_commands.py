"""Every shell command in README.md and docs/ runs, as written, in a copy of the project.

The commands are extracted from the Markdown's ```bash blocks, so the documentation cannot drift
from the code: a command that fails fails here, and a new command must be added to SCENARIOS
(run) or NOT_RUN (with the reason) before tests/test_docs.py passes.

One copy of the project is prepared for the whole module (git-tracked files, a fresh git
repository, params.yaml composed with small epochs, `make run` done) and every scenario starts
from that state. Commands that train get SMALL appended (a value the command sets for the same
key is replaced), so each runs in seconds. The only other differences from a user's shell: the
copy's `.venv` is this test's environment (linked, never reinstalled), and `../shared/data` is
the real shared data folder when there is one; scenarios that read it skip without it.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

SHARED_DATA = ROOT.parent / "shared" / "data"

# Appended to every command that trains or sweeps: one short epoch of two batches, one trial.
# Evaluation keeps one baseline (ETS and ARIMA fits take seconds each) and no backtest.
SMALL = ("train.max_epochs=1", "train.limit_batches=2", "sweep.n_trials=1", "sweep.max_epochs=1",
         "evaluate.baselines=[last_value]", "evaluate.backtest.folds=0",
         "trainer.progress_bar=false")
# The project's params.yaml while `make run` and `dvc repro` run (they read no overrides).
# One backtest fold, so that every plot `dvc plots show` draws exists.
SMALL_PARAMS = ("model.hidden_size=8", "train.max_epochs=2", "train.patience=1",
                "train.limit_batches=4", "sweep.n_trials=1", "sweep.max_epochs=1",
                "sweep.n_startup_trials=1", "evaluate.backtest.folds=1",
                "trainer.progress_bar=false",
                # two epochs do not beat the naive forecasts: without the gate the model is the
                # champion that `rnnops predict` and `rnnops serve` read, as after a real run
                "evaluate.champion_gate=none")

# --- reading the commands from the Markdown ------------------------------------------------------

FENCE = re.compile(r"^[ \t]*```(?:bash|sh|shell|console|zsh)[ \t]*\n(.*?)^[ \t]*```", re.S | re.M)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def strip_comment(line: str) -> str:
    """The line up to a `#` that starts a shell comment (outside quotes, after a blank)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def shell_commands(text: str) -> list[str]:
    """Each command of the text's shell blocks: continuation lines joined, comments dropped,
    blanks collapsed."""
    commands = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(strip_comment(line).split())
            if command:
                commands.append(command)
    return commands


def documented_commands() -> dict[str, list[str]]:
    """command -> the files that show it."""
    found: dict[str, list[str]] = {}
    for path in doc_files():
        for command in shell_commands(path.read_text()):
            found.setdefault(command, []).append(str(path.relative_to(ROOT)))
    return found


# --- what runs, and what does not ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    command: str  # exactly as the docs show it (after shell_commands' joining)
    expect: tuple[str, ...] = ()  # substrings of its output
    files: tuple[str, ...] = ()  # paths it must leave in the project
    small: bool = False  # append SMALL
    extra: tuple[str, ...] = ()  # overrides after SMALL, for this command only
    probe: str = ""  # shell run after the command, in the same shell, whose output is checked
    unchanged: tuple[str, ...] = ()  # tracked files the command must leave as committed
    check: object = None  # callable(project, output) with further assertions


STAGES = ("validate", "prepare", "sweep", "train", "evaluate")  # dvc.yaml's, in order

# What a scenario may change in the prepared project, and what it needs unchanged.
OUTPUTS = "outputs"  # models/train, models/sweep: DVC outputs after the prepared data
DATA = "data"  # data/prepared, params.yaml or dvc.lock: what `make run` left


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    needs: frozenset[str] = frozenset()  # kinds of change it cannot start with (restored)
    changes: frozenset[str] = frozenset()
    data: tuple[str, ...] = ()  # files of ../shared/data it reads
    setup: object = None  # callable(project) run first
    weight: float = 10.0  # seconds it took on a busy 2-core machine: only to balance the lanes


def _every_plot(project: Path, output: str) -> None:
    assert "failed to load" not in output, output


def _history_rows(project: Path, output: str) -> None:
    lines = [line for line in output.strip().splitlines() if "," in line]
    assert "co2" in lines[0], output
    assert len(lines) == 1 + 26, output  # header, then the 26-week horizon


def _forecast_file(project: Path, output: str) -> None:
    rows = (project / "forecast.csv").read_text().strip().splitlines()
    assert "co2" in rows[0] and len(rows) == 1 + 26, rows[:3]


def _model_beats_last_value(project: Path, output: str) -> None:
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["model"]["mse"] < metrics["last_value"]["mse"], metrics


def _refused_and_put_back(project: Path, output: str) -> None:
    """The experiment stopped at the validate stage, and the workspace is as it was: no file
    changed (params.yaml put back), no output removed."""
    assert "rnnops validate: error: config key 'train.lr'" in output, output
    assert "exit status 0" not in output, output
    # the probe's lines are stdout, which the output holds before stderr's
    dvc_status, git_status = output.split("dvc status:")[1].split("end of git status")[0] \
        .split("git status:")
    assert "Data and pipelines are up to date" in dvc_status, dvc_status
    assert git_status.strip() == "", f"the refused experiment left changes: {git_status}"
    for name in ("models/sweep/best_params.yaml", "models/train/model.pt", "reports/metrics.json"):
        assert (project / name).exists(), f"the refused experiment removed {name}"


def _request(project: Path, output: str) -> None:
    body = json.loads((project / "request.json").read_text())
    assert body["dataframe_split"]["columns"] == ["date", "co2"]  # the dates go in too
    assert len(body["dataframe_split"]["data"]) == 200


def _composed_params(project: Path, output: str) -> None:
    params = (project / "params.yaml").read_text()
    assert "max_epochs: 100" in params and "hidden_size: 32" in params  # conf/'s, not SMALL_PARAMS


def _prepared(name: str):
    def check(project: Path, output: str) -> None:
        meta = json.loads((project / "data" / "prepared" / "meta.json").read_text())
        assert name in json.dumps(meta), meta
    return check


def _params(model: str, batch_size: int):
    def check(project: Path, output: str) -> None:
        import yaml

        params = yaml.safe_load((project / "params.yaml").read_text())
        assert params["model"]["name"] == model and params["train"]["batch_size"] == batch_size
    return check


def _words(project: Path, output: str) -> None:
    """A continuation: tokens of the vocabulary (an untrained model's may be <unk>)."""
    first = output.strip().splitlines()[0]
    assert first.split(), output


def _write_load_csv(project: Path) -> None:
    """The file data.md's example reads: a date column and a `load` column."""
    import numpy as np
    import pandas as pd

    hours = pd.date_range("2024-01-01", periods=600, freq="h")
    load = 100 + 10 * np.sin(np.arange(600) * 2 * np.pi / 24)
    pd.DataFrame({"date": hours, "load": load}).to_csv(project / "load.csv", index=False)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("quickstart", (
        # Run by the project fixture (its output is checked here): everything else starts there.
        Step("make run", expect=(*(f"Running stage '{stage}'" for stage in STAGES),
                                 "test model", "champion", "Updating lock file 'dvc.lock'"),
             files=("reports/metrics.json", "reports/report.md", "models/train/model.pt"),
             check=_model_beats_last_value),
        Step(". .venv/bin/activate", probe='echo "VIRTUAL_ENV=$VIRTUAL_ENV"',
             expect=("VIRTUAL_ENV=/",)),
        Step("dvc repro", expect=("Data and pipelines are up to date.",), unchanged=("dvc.lock",)),
        Step("dvc metrics show", expect=("reports/metrics.json", "model.mse", "arima.mse")),
        Step("rnnops report", expect=("model", "arima", "seasonal_naive", "mse")),
        Step("dvc plots show", expect=("dvc_plots/index.html",), files=("dvc_plots/index.html",),
             check=_every_plot),
    ), needs=frozenset({OUTPUTS, DATA}), weight=12),
    Scenario("serving", (
        Step("python -c \"import statsmodels.api as sm; sm.datasets.co2.load_pandas().data"
             ".tail(200).rename_axis('date').to_csv('history.csv')\"", files=("history.csv",)),
        Step("rnnops predict --input history.csv", check=_history_rows),
        Step("rnnops predict -i history.csv -m rnnops-co2-forecaster/1 -o forecast.csv",
             check=_forecast_file),
        Step("python -c \"import json, pandas as pd; h = pd.read_csv('history.csv'); "
             "print(json.dumps({'dataframe_split': {'columns': list(h.columns), 'data': "
             "h.values.tolist()}}))\" > request.json", check=_request),
    ), weight=37),
    Scenario("transfer learning", (
        Step("rnnops train train.init_from=models:/rnnops-co2-forecaster@champion "
             "train.freeze=[encoder] train.max_epochs=5",
             expect=("starting from models:/rnnops-co2-forecaster@champion", "epoch 5/5")),
    ), needs=frozenset({OUTPUTS}), changes=frozenset({OUTPUTS}), weight=20),
    Scenario("hydra multiruns", (
        Step("python pipelines/train.py -m model=rnn,lstm,gru", small=True,
             expect=("Launching 3 jobs", "model=rnn", "model=gru")),
        Step("python pipelines/train.py -m model=gru train.lr=1e-3,3e-3 "
             "train.use_best_params=false", small=True, expect=("Launching 2 jobs",)),
    ), needs=frozenset({DATA}), changes=frozenset({OUTPUTS}), weight=48),
    Scenario("sweeps", (
        Step("rnnops sweep", small=True, expect=("best trial",),
             files=("models/sweep/best_params.yaml",)),
        Step("rnnops sweep sweep.n_trials=40 sweep.pruner=hyperband --workers 2", small=True,
             extra=("sweep.n_trials=2",), expect=("best trial",)),
        Step("rnnops sweep sweep=cells", small=True, expect=("best trial",)),
    ), needs=frozenset({DATA}), changes=frozenset({OUTPUTS}), weight=100),
    Scenario("hydra optuna sweeper", (
        Step("python pipelines/train.py -m hydra/sweeper=optuna hydra.sweeper.n_trials=20 "
             "'train.lr=tag(log,interval(1e-4,1e-1))' 'model=choice(lstm,gru)'", small=True,
             extra=("hydra.sweeper.n_trials=2",), expect=("best trial",)),
        Step("python pipelines/train.py -m hydra/sweeper=optuna hydra.sweeper.pruner=hyperband "
             "hydra/launcher=joblib hydra.launcher.n_jobs=2 hydra.sweeper.n_jobs=2 "
             "hydra.sweeper.storage=sqlite:///outputs/optuna/hydra.db "
             "hydra.sweeper.study_name=lr 'train.lr=tag(log,interval(1e-4,1e-1))' "
             "'model.hidden_size=range(16,129,16)'", small=True,
             extra=("hydra.sweeper.n_trials=2",), expect=("best trial",),
             files=("outputs/optuna/hydra.db",)),
    ), needs=frozenset({DATA}), changes=frozenset({OUTPUTS}), weight=118),
    Scenario("project files", (
        Step("make params", check=_composed_params),
        # The check passes after make deps, whether or not the committed dvc.yaml had drifted.
        Step("make deps"),
        Step(".venv/bin/python pipelines/stage_deps.py"),
        Step("make lint", expect=("All checks passed",)),
        Step("make docs", files=("site/index.html", "site/api/config/index.html")),
        Step("python pipelines/benchmarks/table.py", unchanged=("docs/results.md",)),
    ), changes=frozenset({DATA}), weight=10),
    Scenario("stages without DVC", (
        Step("rnnops train --help", expect=("usage: rnnops train",)),
        Step("rnnops run model=gru data.horizon=52", small=True,
             expect=("trained gru", "test model")),
    ), changes=frozenset({DATA}), weight=44),
    Scenario("a refused experiment", (
        Step("dvc exp run -S train.lr=-1", probe='echo "exit status $?"; echo "dvc status:"; '
             'dvc status; echo "git status:"; git status --porcelain; echo "end of git status"',
             unchanged=("params.yaml", "dvc.lock"),
             check=_refused_and_put_back),
    ), needs=frozenset({DATA, OUTPUTS}), weight=15),
    Scenario("dvc experiments", (
        Step("dvc exp run -S model=gru -S train.batch_size=32", small=True,
             expect=("Running stage 'train'", "trained gru"), check=_params("gru", 32)),
        Step("dvc exp show --only-changed", expect=("Experiment", "workspace")),
    ), changes=frozenset({DATA, OUTPUTS}), weight=90),
    Scenario("your own file", (
        Step("python pipelines/prepare.py data=csv data.path=load.csv data.target=load "
             "data.time_column=date", check=_prepared("load.csv")),
    ), changes=frozenset({DATA}), setup=_write_load_csv, weight=6),
    Scenario("ETTh1", (
        Step("python pipelines/prepare.py data=etth1 data.root=../shared/data",
             check=_prepared("ETTh1")),
    ), changes=frozenset({DATA}), data=("ETTh1.csv",), weight=6),
    Scenario("SegRNN sweep", (
        Step("rnnops prepare experiment=ett_segrnn data.root=../shared/data",
             check=_prepared("ETTh1")),
        Step("rnnops sweep experiment=ett_segrnn sweep=segrnn", small=True,
             extra=("model.hidden_size=32",), expect=("best trial",)),
    ), changes=frozenset({DATA, OUTPUTS}), data=("ETTh1.csv",), weight=32),
    Scenario("SegRNN run", (
        Step("rnnops run experiment=ett_segrnn data=etth2 data.horizon=192 "
             "data.root=../shared/data", small=True, extra=("model.hidden_size=32",),
             expect=("test model",), files=("models/sweep/skipped.txt",)),
    ), changes=frozenset({DATA, OUTPUTS}), data=("ETTh2.csv",), weight=59),
    Scenario("language model", (
        Step("python pipelines/prepare.py data=ptb data.root=../shared/data",
             files=("data/prepared/tokens.pt", "data/prepared/vocab.json")),
        Step("rnnops prepare experiment=ptb_small", files=("data/prepared/tokens.pt",)),
        Step("rnnops train experiment=ptb_small", small=True, extra=("model.hidden_size=32",),
             expect=("rnnops-ptb-language-model",)),
        Step('rnnops generate -m rnnops-ptb-language-model --prompt "the market" --method beam '
             "--width 5", check=_words),
        Step('rnnops generate -m rnnops-ptb-language-model --prompt "the market" --method sample '
             "--temperature 0.8 --top-k 40 --seed 1", check=_words),
    ), changes=frozenset({DATA, OUTPUTS}), data=("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"),
        weight=91),
)

NOT_RUN: dict[str, str] = {
    "make test": "the whole test suite, this test included (CI runs it)",
    "make test-fast": "the unit tests: part of the suite this test runs in",
    "make ui": "a server that runs until stopped, on the fixed port 5000",
    "rnnops serve --port 5001":
        "a server that runs until stopped; tests/e2e/test_readme_serving.py starts it with the "
        "README's commands verbatim and posts the request to it",
    "curl -s 127.0.0.1:5001/invocations -H 'Content-Type: application/json' -d @request.json":
        "needs the server above (its request.json is made and checked here)",
    "rnnops sweep sweep.storage=postgresql://me@db/optuna sweep.study_name=co2-lstm":
        "needs a PostgreSQL server named db; tests/e2e/test_sweep_postgres.py sweeps on a real "
        "one",
    "mlflow server --backend-store-uri postgresql+psycopg://USER@HOST/mlflow "
    "--artifacts-destination s3://BUCKET/mlflow --serve-artifacts --host 0.0.0.0 --port 5000":
        "a team's server on its own hosts; tests/e2e/test_team.py starts this command on local "
        "PostgreSQL and S3 servers (scripts/team_server.py)",
    "rnnops run tracking=server tracking.uri=http://mlflow.example.com:5000":
        "needs a tracking server; tests/e2e/test_team.py runs the pipeline against a real one",
    "dvc remote add -d team s3://BUCKET/dvc": "needs a bucket; tests/e2e/test_team.py adds the "
    "remote on a local S3 server and pushes and pulls through it",
    "dvc remote modify team endpointurl http://s3.example.com:9000": "as above",
    "dvc push": "as above (tests/e2e/test_team.py)",
    "git push": "needs the team's git server",
    "make team-server": "servers that run until stopped; tests/e2e/test_team.py starts the same "
    "three (scripts/team_server.py) and runs the team workflow on them",
    "dvc exp run -S tracking.uri=http://mlflow.example.com:5000": "needs a tracking server; "
    "tests/e2e/test_team.py runs the pipeline through DVC against a real one",
    "dvc pull": "needs the bucket; tests/e2e/test_team.py pulls into a second clone",
    "rnnops train trainer.devices=2 trainer.threads=1":
        "tests/e2e/test_ddp.py trains the same way (two CPU processes) and compares it with one",
    "torchrun --nnodes 2 --nproc-per-node 4 --node-rank $NODE_RANK --master-addr node0 "
    "pipelines/train.py trainer.accelerator=gpu trainer.devices=4 trainer.num_nodes=2 "
    "trainer.strategy=ddp": "needs two GPU nodes",
    "srun --nodes 2 --ntasks-per-node 4 --gpus-per-node 4 python pipelines/train.py "
    "trainer.accelerator=gpu trainer.devices=4 trainer.num_nodes=2 trainer.strategy=ddp":
        "needs a SLURM cluster with GPU nodes",
    "python pipelines/train.py -m model=rnn,lstm,gru hydra/launcher=slurm "
    "hydra.launcher.partition=cpu hydra.launcher.timeout_min=60 tracking=server "
    "tracking.uri=http://mlflow.example.com:5000": "needs a SLURM cluster; tests/e2e/"
    "test_multirun.py runs this multirun with submitit's local executor",
    "python pipelines/train.py -m hydra/sweeper=optuna hydra.sweeper.n_trials=40 "
    "hydra.sweeper.n_jobs=8 hydra/launcher=slurm hydra.sweeper.storage=postgresql://me@db/optuna "
    "hydra.sweeper.study_name=co2-lr 'train.lr=tag(log,interval(1e-4,1e-1))'": "needs a SLURM "
    "cluster; tests/e2e/test_sweep_hydra.py runs the sweeper with submitit's local executor",
    "make results": "every row of the published tables: hours on a CPU",
    "make bench": "times the full default pipeline in a fresh copy: minutes, and a benchmark",
    "make bench-throughput": "installs Darts and NeuralForecast from the package index",
    "python bench/cells.py": "a benchmark: minutes of timing every cell",
    "bash bench/gpu.sh fetch": "downloads wheels from the package index",
    "bash bench/gpu.sh run": "needs the GPU machine",
    "python bench/memory.py --code /tmp/base": "a benchmark against an older checkout that the "
    "reader makes (git archive): minutes of stage runs at several widths",
    "python bench/memory.py --rows 52696 --channels 21 --lookbacks 720": "a benchmark: a wide "
    "series at lookback 720, minutes; tests/e2e/test_memory.py checks the bound it measures",
    "python bench/serving.py --code /tmp/base --seconds 40": "a load benchmark against an older "
    "checkout, 40 s of requests per server",
    "python bench/serving.py --code /tmp/base --seconds 40 --workers 2": "the same, with two "
    "server workers",
}


def run_commands() -> list[str]:
    return [step.command for scenario in SCENARIOS for step in scenario.steps]


# --- running them --------------------------------------------------------------------------------


def with_overrides(command: str, overrides: tuple[str, ...]) -> str:
    """The command with each `key=value` set: a value it gives for the same key is replaced,
    else the override is appended (as `-S key=value` for `dvc exp run`)."""
    words = shlex.split(command)
    dvc = command.startswith("dvc exp run")
    for override in overrides:
        key = override.split("=", 1)[0]
        index = next((i for i, w in enumerate(words) if w.split("=", 1)[0] == key), None)
        if index is not None:
            words[index] = override
        else:
            words += ["-S", override] if dvc else [override]
    return shlex.join(words)


def environment(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL")}
    env.update(PATH=f"{project / '.venv' / 'bin'}:{env['PATH']}", PYTHONPATH=str(project / "src"),
               DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="docs", GIT_AUTHOR_EMAIL="docs@localhost",
               GIT_COMMITTER_NAME="docs", GIT_COMMITTER_EMAIL="docs@localhost")
    if SHARED_DATA.is_dir():  # where the docs say the corpora come from without data.root
        env["RNNOPS_DATA_ROOT"] = str(SHARED_DATA)
    return env


def shell(project: Path, script: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=project, env=environment(project),
                          capture_output=True, text=True, timeout=timeout)


def git(project: Path, *args: str) -> None:
    out = shell(project, shlex.join(["git", *args]))
    assert out.returncode == 0, out.stdout + out.stderr


class Project:
    """A prepared copy, and what the scenarios run in it so far changed."""

    def __init__(self, path: Path, make_run: subprocess.CompletedProcess):
        self.path, self.make_run = path, make_run
        self.changed: set[str] = set()

    def restore(self) -> None:
        """Back to the state `make run` left: committed files, and DVC's outputs of dvc.lock.
        MLflow's store and the Optuna studies keep what earlier scenarios added."""
        git(self.path, "checkout", "-q", "--", ".")
        out = shell(self.path, "dvc checkout --force --quiet")
        assert out.returncode == 0, out.stdout + out.stderr
        self.changed.clear()


def link_venv(project: Path) -> None:
    """`.venv` in the copy is this test's environment, entry by entry, with its own `.installed`
    stamp newer than pyproject.toml, so make's setup target never reinstalls it."""
    venv = project / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()


def prepare_project(base: Path) -> Project:
    dest = base / "project"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    if SHARED_DATA.is_dir():  # so that the docs' ../shared/data means the same from the copy
        (base / "shared").mkdir()
        (base / "shared" / "data").symlink_to(SHARED_DATA)
    compose = runpy.run_path(str(dest / "pipelines" / "compose_params.py"))["compose_params"]
    compose(dest / "params.yaml", list(SMALL_PARAMS))
    link_venv(dest)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "docs commands"]):
        git(dest, *args)
    assert shell(dest, "make -q .venv/.installed").returncode == 0, "make would reinstall .venv"

    make_run = shell(dest, "make run")
    assert make_run.returncode == 0, make_run.stdout + make_run.stderr
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "make run")
    return Project(dest, make_run)


def run_step(project: Project, step: Step, log: list[str]) -> None:
    command = step.command
    if step.small:
        command = with_overrides(command, SMALL + step.extra)
    start = time.monotonic()
    if step.command == "make run":
        out = project.make_run
    else:
        out = shell(project.path, f"{command}\n{step.probe}" if step.probe else command)
    output = out.stdout + out.stderr
    log.append(f"{time.monotonic() - start:6.1f} s  {command}\n{output[-600:]}\n")
    assert out.returncode == 0, f"`{command}` exited {out.returncode}:\n{output[-4000:]}"
    for text in step.expect:
        assert text in output, f"`{command}` did not print {text!r}:\n{output[-4000:]}"
    for name in step.files:
        assert (project.path / name).exists(), f"`{command}` wrote no {name}"
    for name in step.unchanged:
        diff = shell(project.path, f"git diff --stat -- {shlex.quote(name)}").stdout
        assert not diff, f"`{command}` changed {name}: {diff}"
    if step.check:
        step.check(project.path, output)


def run_scenario(project: Project, scenario: Scenario, log: list[str]) -> None:
    if project.changed & scenario.needs:
        project.restore()
    if scenario.setup:
        scenario.setup(project.path)
    project.changed |= scenario.changes
    for step in scenario.steps:
        run_step(project, step, log)


def missing_data(scenario: Scenario) -> list[str]:
    return [name for name in scenario.data if not (SHARED_DATA / name).is_file()]


def lanes(scenarios: list[Scenario], count: int) -> list[list[Scenario]]:
    """The scenarios dealt to `count` lanes, heaviest first to the lightest lane, each lane in
    SCENARIOS' order (which puts the scenarios that need the prepared state first)."""
    load = [0.0] * count
    dealt: list[list[Scenario]] = [[] for _ in range(count)]
    for scenario in sorted(scenarios, key=lambda s: -s.weight):
        lane = load.index(min(load))
        dealt[lane].append(scenario)
        load[lane] += scenario.weight
    return [sorted(lane, key=SCENARIOS.index) for lane in dealt]


LANES = 2  # the scenarios' commands are mostly one core each (imports, small models)


@pytest.fixture(scope="module")
def results(request, tmp_path_factory) -> Iterator[dict[str, Future]]:
    """Each selected scenario's run, started here in LANES threads, each lane on its own copy
    of the prepared project: the scenarios' processes mostly wait on imports, so two lanes
    take about half the time on a 2-core machine. A test waits for its own scenario."""
    module = sys.modules[__name__]
    selected = [item.callspec.params["scenario"] for item in request.session.items
                if item.module is module and hasattr(item, "callspec")]
    runnable = [s for s in selected if not missing_data(s)]
    base = tmp_path_factory.mktemp("docs")
    first = prepare_project(base)
    projects = [first]
    for n in range(1, LANES):
        copy = base / f"project-{n}"
        subprocess.run(["cp", "-a", str(first.path), str(copy)], check=True)
        projects.append(Project(copy, first.make_run))
    futures: dict[str, Future] = {}
    threads = []
    for project, lane in zip(projects, lanes(runnable, LANES), strict=True):
        for scenario in lane:
            futures[scenario.name] = Future()
        threads.append(threading.Thread(target=run_lane, args=(project, lane, futures),
                                        daemon=True))
        threads[-1].start()
    yield futures
    for thread in threads:
        thread.join()


def run_lane(project: Project, lane: list[Scenario], futures: dict[str, Future]) -> None:
    """The lane's scenarios one after another; each one's log, or its error, in its future."""
    for scenario in lane:
        log: list[str] = []
        try:
            run_scenario(project, scenario, log)
        except BaseException as exc:  # reported by the scenario's test; the lane goes on
            exc.add_note("\n".join(log))
            futures[scenario.name].set_exception(exc)
        else:
            futures[scenario.name].set_result(log)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_docs_commands_run(results: dict[str, Future], scenario: Scenario):
    if missing := missing_data(scenario):
        pytest.skip(f"no local copy of {', '.join(missing)} in {SHARED_DATA}")
    log = results[scenario.name].result()
    print("\n".join(log))  # each command's time and output tail, shown by pytest -rP
