"""A stage marked up to date is what today's code would produce: each stage's code deps are the
import closure of the script it runs (pipelines/stage_deps.py), and DVC sees exactly them."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.e2e.conftest import copy_project

deps = runpy.run_path(str(ROOT / "pipelines" / "stage_deps.py"))
DVC = [sys.executable, "-m", "dvc"]
BENCH = "pipelines/benchmarks/dvc.yaml"


def test_every_stage_declares_its_import_closure():
    assert deps["drift"]() == {}, "run `make deps` and commit dvc.yaml"


def closures() -> dict[str, set[Path]]:
    """{stage as `dvc status` names it: project files it runs}, for the default pipeline and
    for one row of the benchmarks pipeline (every row runs the same script) and its table."""
    out = {}
    for name, stage in deps["stages"](ROOT / "dvc.yaml").items():
        out[name] = deps["closure"](deps["stage_script"](stage["cmd"], ROOT))
    bench = ROOT / BENCH
    rows = yaml.safe_load((bench.parent / "rows.yaml").read_text())["rows"]
    for name, stage in deps["stages"](bench).items():
        label = f"dvc.yaml:{name}" + (f"@{next(iter(rows))}" if name == "row" else "")
        out[label] = deps["closure"](deps["stage_script"](stage["cmd"], bench.parent))
    return out


def test_dvc_status_lists_exactly_the_stages_that_import_a_touched_module(tmp_path):
    """For every distinct set of stages that share a module (and for a module no stage imports),
    appending a comment to one such module makes `dvc status` list exactly those stages."""
    stages = closures()
    bench = tmp_path / "pipelines" / "benchmarks"  # a DVC project of its own
    bench_targets = [s for s in stages if s.startswith("dvc.yaml:")]
    copy_project(tmp_path)
    # Outputs, so that DVC can record the current deps as up to date.
    for out in ("data/prepared", "models/sweep", "models/train", "reports/plots"):
        (tmp_path / out).mkdir(parents=True)
    (tmp_path / "reports/report.md").write_text("")
    (tmp_path / "data/validated.txt").write_text("")
    row = next(s for s in stages if "@" in s).split("@")[1]
    (bench / "runs" / row).mkdir(parents=True)
    subprocess.run([*DVC, "commit", "-f", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*DVC, "commit", "-f", "-q", *bench_targets], cwd=bench, check=True)

    def status(cwd: Path, *targets: str) -> dict:
        out = subprocess.run([*DVC, "status", "--json", *targets], cwd=cwd,
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    def changed() -> set[str]:
        both = {**status(tmp_path),
                **{f"dvc.yaml:{k}": v for k, v in status(bench, *bench_targets).items()}}
        return {stage for stage, entries in both.items()
                if any("changed deps" in entry for entry in entries)}

    assert changed() == set()
    sources = [p for p in (ROOT / "src").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    by_stages: dict[frozenset[str], Path] = {}
    for path in sorted(sources):
        by_stages.setdefault(frozenset(s for s, files in stages.items() if path in files), path)
    assert frozenset() in by_stages, "expected a module that no stage imports"
    assert len(by_stages) >= 4
    for expected, path in by_stages.items():
        copy = tmp_path / path.relative_to(ROOT)
        original = copy.read_bytes()
        copy.write_bytes(original + b"\n# touched\n")
        try:
            assert changed() == expected, path.relative_to(ROOT)
        finally:
            copy.write_bytes(original)
