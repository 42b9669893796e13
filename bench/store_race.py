"""Processes that create the same fresh SQLite store at once: MLflow's tracking store and Optuna's
study storage, opened plainly or as rnnops opens them (a file lock beside the file). Prints how
many processes failed and why (docs/reliability.md).

    python bench/store_race.py                  # 3 processes x 4 rounds, each store, both ways
    python bench/store_race.py --processes 4 --rounds 10
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

OPEN = """
import sys, time
store, way, path, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
url = f"sqlite:///{path}"
import mlflow, optuna
from rnnops import tracking
from rnnops.sweep.storage import open_storage
while time.time() < start:
    time.sleep(0.001)
try:
    if store == "mlflow":
        if way == "rnnops":
            with tracking.store_lock(url):
                mlflow.set_tracking_uri(url)
                mlflow.get_experiment_by_name("x")
        else:
            mlflow.set_tracking_uri(url)
            mlflow.get_experiment_by_name("x")
    elif way == "rnnops":
        open_storage(url)
    else:
        optuna.storages.RDBStorage(url)
    print("ok")
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc).splitlines()[0][:90])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    print("| store | opened | processes | failed | errors |")
    print("|---|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for store in ("mlflow", "optuna"):
            for way in ("plain", "rnnops"):
                outcomes: Counter[str] = Counter()
                for round_ in range(args.rounds):
                    path = Path(tmp) / f"{store}-{way}-{round_}.db"
                    start = time.time() + 15  # all have imported their libraries by then
                    children = [subprocess.Popen(
                        [sys.executable, "-c", OPEN, store, way, str(path), str(start)],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                        for _ in range(args.processes)]
                    outcomes.update(c.communicate()[0].strip() for c in children)
                failed = sum(n for outcome, n in outcomes.items() if outcome != "ok")
                errors = "; ".join(f"{n} x {o}" for o, n in outcomes.items() if o != "ok")
                print(f"| {store} | {way} | {args.processes * args.rounds} | {failed} | "
                      f"{errors or '-'} |")


if __name__ == "__main__":
    main()
