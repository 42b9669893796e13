"""One row of docs/results.md: prepare, train and evaluate one experiment into runs/NAME, then
write results/NAME.json with the test metrics, the wall time of each stage and the command that
reproduces the row. runs/ is DVC's cached scratch; results/ is tracked by git, so the table keeps
every row's record on a fresh clone. Data comes from data.root (RNNOPS_DATA_ROOT or
--data-root), else the pinned downloads.

    python pipelines/benchmarks/row.py etth1-segrnn-96 [--data-root ../shared/data] [OVERRIDES]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STAGES = ("prepare", "train", "evaluate")  # the experiments fix their settings: no sweep


def row_overrides(name: str, rows: dict, data_root: str | None, extra: list[str]) -> list[str]:
    if name not in rows:
        raise SystemExit(f"row.py: error: unknown row {name!r}; rows are {', '.join(rows)}")
    row = rows[name]
    if not row.get("experiment"):
        raise SystemExit(f"row.py: error: rows.yaml: row {name!r} has no experiment")
    out = [f"experiment={row['experiment']}", *row.get("overrides", []),
           f"paths.root={HERE / 'runs' / name}"]
    if data_root:
        # A relative folder is the current folder's, else the repository root's: DVC runs this
        # script from pipelines/benchmarks, while `make results` is typed at the root.
        root = Path(data_root).expanduser().resolve()
        if not root.is_dir() and not Path(data_root).expanduser().is_absolute():
            root = (ROOT / data_root).resolve()
        if not root.is_dir():
            raise SystemExit(f"row.py: error: data root {data_root} ({root}) is not a folder; "
                             "check --data-root or RNNOPS_DATA_ROOT")
        out.append(f"data.root={root}")
    return out + extra


def chosen_stages(arg: str) -> list[str]:
    """The --stages list, checked before any stage runs."""
    stages = [s.strip() for s in arg.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        named = ", ".join(map(repr, unknown)) or repr(arg)
        raise SystemExit(f"row.py: error: unknown stage {named}; stages are {', '.join(STAGES)}")
    return stages


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("overrides", nargs="*", help="extra Hydra overrides (e.g. train.max_epochs=1)")
    p.add_argument("--data-root", default=os.environ.get("RNNOPS_DATA_ROOT"))
    p.add_argument("--stages", default=",".join(STAGES),
                   help="comma-separated subset, e.g. evaluate to re-evaluate a trained row")
    args = p.parse_intermixed_args()  # options may come before or after the overrides
    import logging

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    rows = yaml.safe_load((HERE / "rows.yaml").read_text())["rows"]
    overrides = row_overrides(args.name, rows, args.data_root, args.overrides)
    stages = chosen_stages(args.stages)

    sys.path.insert(0, str(ROOT / "src"))
    from rnnops.cli import compose, stage_function
    from rnnops.entry import run_stage
    from rnnops.errors import one_line

    try:
        cfg = compose(ROOT / "conf", overrides)
    except Exception as exc:  # Hydra's composition errors: a wrong override or group option
        raise SystemExit(f"row.py: error: {one_line(str(exc))}") from None
    out = HERE / "results" / f"{args.name}.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    # A partial rerun (--stages) keeps the recorded seconds of the stages it skips.
    seconds = {k: v for k, v in previous.get("seconds", {}).items() if k in STAGES}
    results = {}
    for stage in stages:
        start = time.perf_counter()
        results[stage] = run_stage(stage, stage_function(stage), cfg)
        seconds[stage] = round(time.perf_counter() - start, 1)
    if "evaluate" not in results:
        print(f"row.py: {args.name}: ran {', '.join(stages)}; the record ({out.name}) is "
              "written by a run that includes evaluate", file=sys.stderr)
        return
    command = shlex.join(["python", "pipelines/benchmarks/row.py", args.name, *args.overrides])
    if "train" not in results:  # re-evaluated: the training is the one recorded in run.json
        command = previous.get("command", command)  # ... and so is the command that made it
        from rnnops.config import from_dictconfig
        from rnnops.stages.outputs import load_run_info

        results["train"] = load_run_info(from_dictconfig(cfg))
    import torch

    result = {
        "row": args.name,
        "metrics": results["evaluate"],
        "train": {k: results["train"][k] for k in ("best_epoch", "epochs_run", "best_val_loss",
                                                    "best_val_mse") if k in results["train"]},
        "seconds": seconds,
        "device": (torch.cuda.get_device_name() if torch.cuda.is_available()
                   else f"cpu ({os.cpu_count()} cores, {platform.machine()})"),
        "command": command,
    }
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
