"""Each DVC stage's code dependencies, derived from the import graph of the script it runs.

A stage's output is only as fresh as its deps: a module the stage imports (directly or through
other modules) but does not declare would leave a stale output marked up to date. So the code
deps of every stage in dvc.yaml and pipelines/benchmarks/dvc.yaml are computed here, never
written by hand:

    python pipelines/stage_deps.py          # check: exit 1 and name the stages that drifted
    python pipelines/stage_deps.py --write  # rewrite the deps lists (make deps)

The closure follows every `import` statement in the project's modules, those inside functions
too (a superset of what one run executes, which is the safe side for a cache). A package's
data files (the C++ source of the native kernels) count as part of it. Deps that are not
project code (data/prepared, models/sweep, conf, rows.yaml) are kept as written.
"""

from __future__ import annotations

import ast
import os
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGES = ("rnnops", "hydra_plugins")  # top-level names that are project code
PIPELINES = (ROOT / "dvc.yaml", ROOT / "pipelines" / "benchmarks" / "dvc.yaml")
SKIP = ("__pycache__",)


def module_path(name: str) -> Path | None:
    """The file of project module `name` (a package's __init__.py), or None."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str | None:
    if not path.is_relative_to(SRC):
        return None
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> set[str]:
    """Every module name an import statement in `path` may load (for `from a import b`, both
    a and a.b, since b may be a submodule), relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    own = module_name(path) or ""
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def closure(script: Path) -> set[Path]:
    """The script and every project file it imports, directly or not, with the packages'
    __init__.py files and data files."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            if name.split(".")[0] not in PACKAGES:
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                found = module_path(".".join(parts[:depth]))
                if found is not None and found not in seen:
                    todo.append(found)
    data = {f for path in seen if path.name == "__init__.py" for f in path.parent.iterdir()
            if f.is_file() and f.suffix != ".py" and not f.name.startswith(".")}
    return seen | data


def collapse(files: set[Path]) -> list[Path]:
    """The files as DVC deps: a folder whose every file is in the set stands for them."""
    def all_files(folder: Path) -> set[Path]:
        return {f for f in folder.rglob("*") if f.is_file()
                and not any(part in SKIP for part in f.relative_to(folder).parts)}

    chosen: set[Path] = set()
    for path in sorted(files, key=lambda p: len(p.parts)):
        if any(path.is_relative_to(folder) for folder in chosen):
            continue
        folder = path.parent
        best = path
        while folder.is_relative_to(SRC) and folder != SRC and all_files(folder) <= files:
            best, folder = folder, folder.parent
        chosen.add(best)
    return sorted(chosen)


def is_code(dep: str, wdir: Path) -> bool:
    path = (wdir / dep).resolve()
    return path.suffix == ".py" or path == SRC or path.is_relative_to(SRC)


def stage_script(cmd: str, wdir: Path) -> Path:
    """The Python script a stage's command runs (`python SCRIPT ...`)."""
    words = shlex.split(cmd)
    scripts = [w for w in words[1:] if w.endswith(".py")]
    if words[0] != "python" or not scripts:
        raise SystemExit(f"stage_deps: cannot tell which script `{cmd}` runs")
    return (wdir / scripts[0]).resolve()


def code_deps(cmd: str, wdir: Path) -> list[str]:
    files = closure(stage_script(cmd, wdir))
    return [Path(os.path.relpath(p, wdir)).as_posix() for p in collapse(files)]


def expected_deps(stage: dict, wdir: Path) -> list[str]:
    """Non-code deps as written, then the code deps of the stage's script."""
    kept = [d for d in stage.get("deps", []) if not is_code(d, wdir)]
    return kept + code_deps(stage["cmd"], wdir)


def stages(pipeline: Path) -> dict[str, dict]:
    """{name: stage} of a dvc.yaml (a foreach stage: its `do` template)."""
    doc = yaml.safe_load(pipeline.read_text())
    return {name: stage.get("do", stage) for name, stage in doc["stages"].items()}


def drift() -> dict[str, tuple[list[str], list[str]]]:
    """{pipeline:stage: (declared, expected)} for every stage whose deps are not as computed."""
    out = {}
    for pipeline in PIPELINES:
        for name, stage in stages(pipeline).items():
            declared = list(stage.get("deps", []))
            expected = expected_deps(stage, pipeline.parent)
            if declared != expected:
                out[f"{pipeline.relative_to(ROOT)}:{name}"] = (declared, expected)
    return out


def write() -> None:
    """Replace each stage's deps list in place, line by line, so that the rest of the file
    (comments, layout) stays as written. Stages hold one `deps:` each, in file order."""
    for pipeline in PIPELINES:
        lines = pipeline.read_text().splitlines(keepends=True)
        blocks = [i for i, line in enumerate(lines) if line.strip() == "deps:"]
        wanted = [expected_deps(stage, pipeline.parent) for stage in stages(pipeline).values()]
        for at, deps in reversed(list(zip(blocks, wanted, strict=True))):
            end = at + 1
            while end < len(lines) and lines[end].lstrip().startswith("- "):
                end += 1
            indent = lines[at + 1][: len(lines[at + 1]) - len(lines[at + 1].lstrip())]
            lines[at + 1 : end] = [f"{indent}- {dep}\n" for dep in deps]
        pipeline.write_text("".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    elif sys.argv[1:]:
        raise SystemExit("usage: python pipelines/stage_deps.py [--write]")
    elif stale := drift():
        for where, (declared, expected) in stale.items():
            missing = sorted(set(expected) - set(declared))
            extra = sorted(set(declared) - set(expected))
            print(f"{where}: missing {missing or 'nothing'}, not imported {extra or 'nothing'}")
        raise SystemExit("stage deps drifted from the import graph: run `make deps`")
