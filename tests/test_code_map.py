"""docs/code-map.md stays true: every import in src/rnnops (inside functions too) points the way
its table allows, the libraries with one home are imported only there, and no stage imports
another."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

SRC = ROOT / "src"
FOUNDATION = {"errors", "names", "atomic", "masking", "machine", "cache", "code_version",
              "hydra_outputs", "rnnops"}
HOMES = {"mlflow": {"tracking"}, "optuna": {"sweep"}, "pytorch_lightning": {"training"},
         "onnx": {"serving"}, "onnxruntime": {"serving"}}


def part(module: str) -> str | None:
    """The code map's part a module belongs to (None outside rnnops)."""
    parts = module.split(".")
    if parts[0] != "rnnops":
        return None
    if len(parts) == 1:
        return "rnnops"
    if parts[1:3] == ["models", "cells"]:
        return "models.cells"
    return parts[1]


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def allowed() -> dict[str, set[str]]:
    """The 'may import' table of docs/code-map.md."""
    text = (ROOT / "docs" / "code-map.md").read_text()
    table = text.split("| part | may import |")[1].split("\n\n")[0]
    rules = {}
    for line in table.strip().splitlines()[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rules[cells[0]] = {p.strip() for p in cells[1].split(",") if p.strip()}
    return rules


def modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "rnnops").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


def test_imports_point_the_way_the_code_map_says():
    rules = allowed()
    wrong = []
    for name, path in modules().items():
        own = part(name)
        if own in FOUNDATION:
            # the package's __init__ names the Python API (rnnops.api), lazily
            permitted = FOUNDATION | {"config"} if own != "rnnops" else {"api"}
        else:
            assert own in rules, f"docs/code-map.md has no row for {own} ({name})"
            permitted = rules[own] | FOUNDATION | {own}
        for imported in imports(path):
            other = part(imported)
            if other is not None and other not in permitted:
                wrong.append(f"{name} imports {imported} ({own} -> {other})")
    assert not wrong, "\n".join(sorted(wrong))


def test_libraries_are_imported_only_in_their_home():
    wrong = [f"{name} imports {library}" for name, path in modules().items()
             for imported in imports(path)
             for library, homes in HOMES.items()
             if imported.split(".")[0] == library and part(name) not in homes]
    assert not wrong, wrong


def test_no_stage_imports_another_and_each_stays_short():
    stages = ("prepare", "sweep", "train", "evaluate")
    for stage in stages:
        path = SRC / "rnnops" / "stages" / f"{stage}.py"
        others = {f"rnnops.stages.{s}" for s in stages if s != stage}
        assert not imports(path) & others, stage
        assert len(path.read_text().splitlines()) <= 100, f"stages/{stage}.py over 100 lines"


def test_every_part_on_the_map_exists():
    parts = {part(name) for name in modules()}
    for row in allowed():
        assert row in parts, f"docs/code-map.md lists {row}, which is not in src/rnnops"
    assert re.search(r"`rnnops\.tracking`.*MLflow", (ROOT / "docs/code-map.md").read_text())
