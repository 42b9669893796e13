"""The `rnnops` command: run pipeline stages with Hydra overrides, outside DVC.

Heavy libraries (torch, Lightning, MLflow) load only once a stage runs, so `rnnops --help` is fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

STAGE_HELP = {
    "prepare": "load the series, fill gaps, split and scale it",
    "sweep": "tune hyperparameters with Optuna on val/loss",
    "train": "train the model (with the sweep's best values) and register it in MLflow",
    "evaluate": "test metrics against baselines, plots and metrics.json",
    "run": "all four stages in order, in this process (dvc repro does the same, cached)",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnops",
        description="Train, tune, evaluate and track recurrent sequence models.",
        epilog="example: rnnops train model=gru train.lr=0.003",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in STAGE_HELP.items():
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("overrides", nargs="*", help="Hydra overrides such as model=gru")
        s.add_argument("--config-dir", default="conf", type=Path,
                       help="folder holding config.yaml (default: ./conf)")
    return p


def compose(config_dir: Path, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    if not (config_dir / "config.yaml").exists():
        raise FileNotFoundError(
            f"{config_dir / 'config.yaml'} not found; run rnnops from the project folder "
            "or pass --config-dir"
        )
    with initialize_config_dir(str(config_dir.resolve()), version_base="1.3"):
        return hydra_compose("config", overrides=overrides)


def one_line(message: str) -> str:
    """Hydra's multi-line composition error as one line, keeping the available options."""
    message = message.split("Config search path")[0]
    head, *rest = [line.strip() for line in message.splitlines() if line.strip()]
    if rest and rest[0].endswith(":"):
        return f"{head}; {rest[0].rstrip(':').lower()}: {', '.join(rest[1:])}"
    return " ".join([head, *rest])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    try:
        cfg = compose(args.config_dir, args.overrides)
    except Exception as exc:  # Hydra's composition errors: a wrong override or group option
        print(f"rnnops {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2

    from rnnops.entry import STAGES, run_stage

    for stage in STAGES if args.command == "run" else (args.command,):
        run_stage(stage, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
