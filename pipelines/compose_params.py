"""Write params.yaml: conf/ composed and resolved, exactly as DVC's Hydra composition does on
`dvc exp run` (DVC does not do it on `dvc repro`, so the committed file must be kept in step)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compose_params(output: Path, overrides: list[str]) -> None:
    from dvc.utils.hydra import compose_and_dump

    compose_and_dump(output, str(ROOT / "conf"), None, "config", str(ROOT), overrides)


if __name__ == "__main__":
    compose_params(ROOT / "params.yaml", sys.argv[1:])
