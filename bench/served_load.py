"""The served forecaster under a bounded mixed load: how many bad payloads are answered 400 (not
500, not a hang), and the latency of the good requests among them (p50, p99), the figures of
docs/reliability.md.

A project folder is made in a temporary directory (the CO2 data prepared, an untrained GRU
registered as champion: serving does not depend on the weights), `mlflow models serve` runs on
127.0.0.1, and client threads send the payloads in a shuffled, seeded order:

    python bench/served_load.py                       # 400 requests, 4 client threads
    python bench/served_load.py --requests 1000 --clients 8 --large-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import serving  # bench/serving.py, beside this script: the same store

NAME = "bench-served-forecaster"


def make_store(root: Path) -> None:
    """Prepared CO2 and an untrained GRU registered as champion under `root`."""
    serving.make_store(root, NAME, hidden_size=8, run_name="bench-served-load")


def payloads(large_rows: int) -> dict[str, tuple[dict | bytes, int]]:
    """kind -> (body, the status it should get)."""
    rng = np.random.default_rng(0)
    good = (350 + rng.normal(0, 1, 150).cumsum() * 0.1).round(3).tolist()
    frame = {"columns": ["co2"], "data": [[v] for v in good]}
    return {
        "good": ({"dataframe_split": frame}, 200),
        "good array": ({"inputs": good}, 200),
        "large": ({"inputs": (350 + rng.normal(0, 1, large_rows).cumsum() * 0.01)
                   .round(3).tolist()}, 200),
        "too short": ({"inputs": good[:20]}, 400),
        "wrong column": ({"dataframe_split": {"columns": ["ppm"], "data": frame["data"]}}, 400),
        "not numbers": ({"dataframe_split": {"columns": ["co2"],
                                             "data": [["x"]] * 150}}, 400),
        "all missing": ({"inputs": [None] * 150}, 400),
        "wrong shape": ({"inputs": [[[1.0, 2.0]] * 150]}, 400),
        "empty": ({"inputs": []}, 400),
        "not json": (b"{not json", 400),
        "unknown format": ({"rows": good}, 400),
        "dates newest first": ({"dataframe_split": {
            "columns": ["date", "co2"],
            "data": [[f"{2020 - i // 52}-{1 + (i % 12):02d}-01", v]
                     for i, v in enumerate(good)]}}, 400),
    }


def post(port: int, body: dict | bytes) -> tuple[int, float]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=data,
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--large-rows", type=int, default=100_000,
                        help="rows of the large histories (2 %% of the requests)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rnnops-served-") as tmp:
        root = Path(tmp)
        make_store(root)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion",
             "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 300
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(1)
            kinds = payloads(args.large_rows)
            bad = [k for k, (_, want) in kinds.items() if want == 400]
            plan = (["large"] * max(1, args.requests // 50)
                    + [random.Random(args.seed + i).choice(bad) for i in range(args.requests // 4)])
            plan += ["good" if i % 2 else "good array" for i in range(args.requests - len(plan))]
            random.Random(args.seed).shuffle(plan)
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(lambda kind: (kind, *post(port, kinds[kind][0])), plan))
        finally:
            server.terminate()
            server.wait(timeout=60)

    print(f"{len(plan)} requests, {args.clients} clients, large histories of {args.large_rows} "
          "rows\n")
    print("| payload | sent | expected | got |")
    print("|---|---:|---:|---|")
    for kind, (_, want) in kinds.items():
        got = [status for k, status, _ in results if k == kind]
        if got:
            counts = ", ".join(f"{s} x{got.count(s)}" for s in sorted(set(got)))
            print(f"| {kind} | {len(got)} | {want} | {counts} |")
    good = [seconds * 1000 for k, _, seconds in results if k in ("good", "good array")]
    large = [seconds * 1000 for k, _, seconds in results if k == "large"]
    bad_sent = [status for k, status, _ in results if kinds[k][1] == 400]
    print(f"\nbad payloads answered 400: {bad_sent.count(400)} of {len(bad_sent)}")
    print(f"good requests: p50 {percentile(good, 50):.1f} ms, p99 {percentile(good, 99):.1f} ms "
          f"(mean {statistics.fmean(good):.1f} ms, n {len(good)})")
    print(f"large histories: p50 {percentile(large, 50):.0f} ms (n {len(large)})")


if __name__ == "__main__":
    main()
