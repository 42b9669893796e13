"""Wall time of the default pipeline, of a no-op `dvc repro` and `dvc status`, of
`rnnops --help` and of one `rnnops predict` from the champion the pipeline registered.

Runs in a fresh copy of the project (git-tracked files only, a new git repository) so the cache,
stores and outputs start empty, as on a user's first `make run`. Each figure is printed beside its
target and a reference measured in the same run (an empty Python start-up for the CLI).

    python bench/pipeline.py            # the default pipeline (minutes)
    python bench/pipeline.py --tiny     # the test suite's tiny configuration (seconds)
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
       "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def fresh_copy(dest: Path, overrides: list[str]) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    if overrides:
        compose = runpy.run_path(str(dest / "pipelines" / "compose_params.py"))["compose_params"]
        compose(dest / "params.yaml", overrides)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=dest, env=ENV, check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="use the tests' tiny configuration")
    p.add_argument("--repeats", type=int, default=5, help="runs of the short commands")
    args = p.parse_args()
    overrides: list[str] = []
    if args.tiny:
        sys.path.insert(0, str(ROOT))
        from tests.e2e.conftest import TINY

        overrides = TINY

    with tempfile.TemporaryDirectory(prefix="rnnops-bench-") as tmp:
        project = Path(tmp)
        fresh_copy(project, overrides)
        pipeline = timed(["dvc", "repro"], project)
        noop = statistics.median(timed(["dvc", "repro"], project) for _ in range(args.repeats))
        status = statistics.median(
            timed(["dvc", "status"], project) for _ in range(args.repeats))
        dvc_version = statistics.median(
            timed(["dvc", "--version"], project) for _ in range(args.repeats))
        python = statistics.median(
            timed([sys.executable, "-c", "pass"], project) for _ in range(args.repeats))
        cli = statistics.median(
            timed([str(BIN / "rnnops"), "--help"], project) for _ in range(args.repeats))
        history = project / "history.csv"  # the last 200 weeks, as the README's serving example
        subprocess.run([sys.executable, "-c", "import statsmodels.api as sm; sm.datasets.co2."
                        "load_pandas().data.tail(200).rename_axis('date').to_csv("
                        f"{str(history)!r})"], check=True)
        predict = statistics.median(
            timed([str(BIN / "rnnops"), "predict", "--input", str(history)], project)
            for _ in range(args.repeats))

    rows = [
        ("default pipeline" + (" (tiny)" if args.tiny else ""), pipeline, "600 s target",
         pipeline / 600),
        ("no-op dvc repro", noop, "dvc --version", noop / dvc_version),
        ("no-op dvc repro", noop, "3 s target", noop / 3),
        ("dvc status, up to date", status, "3 s target", status / 3),
        ("rnnops --help", cli, "python -c pass", cli / python),
        ("rnnops --help", cli, "1.5 s target", cli / 1.5),
        ("rnnops predict (one)", predict, "1.5 s target", predict / 1.5),
    ]
    print(f"{'what':<28}{'seconds':>10}  {'against':<16}{'ratio':>8}")
    for what, seconds, against, ratio in rows:
        print(f"{what:<28}{seconds:>10.2f}  {against:<16}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
