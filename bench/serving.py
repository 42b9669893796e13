"""Latency of the served forecaster under a mixed load: good requests (a 150-row history) while
other clients send a history of a million rows, and a few bad requests.

    python bench/serving.py                          # this checkout
    python bench/serving.py --code /old/checkout     # and the same store served by another
    python bench/serving.py --seconds 60 --workers 2 # longer; two server workers

One store is made in a temporary folder (CO2 prepared, an untrained GRU registered: serving
does not depend on the weights); `mlflow models serve` runs it on 127.0.0.1 with this
checkout's rnnops, then with --code's, under the same load for the same time. The table gives
each server's p50 and p99 latency of the good requests, how many it answered, and the time of
the long requests.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NAME = "bench-serving-forecaster"


def make_store(root: Path, name: str = NAME, hidden_size: int = 16,
               run_name: str = "bench-serving") -> pd.DataFrame:
    """Prepared CO2 and one registered forecaster (champion) under `root`; returns 150 rows of
    raw history. bench/served_load.py makes its store here too."""
    import torch
    from hydra import compose, initialize_config_dir

    from rnnops import tracking
    from rnnops.cli import stage_function
    from rnnops.config import ModelConfig, from_dictconfig
    from rnnops.data.prepared import PreparedData
    from rnnops.entry import run_stage
    from rnnops.evaluation.champion import Holder, decide
    from rnnops.models import build_model
    from rnnops.serving.forecast import ForecastService

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"paths.root={root}", "trainer.progress_bar=false"])
    run_stage("prepare", stage_function("prepare"), cfg)
    config = from_dictconfig(cfg)
    data = PreparedData.load(config.paths.prepared)
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=hidden_size), 1, 1, 26, 104,
                        [0]).eval()
    tracking.configure(config)
    with tracking.run(run_name):
        service = ForecastService.from_training(model, data, 104, 26)
        version = tracking.log_service(service, name)
        tracking.record_champion(decide(name, version, "mse", 1.0, Holder(), None, None),
                                 None)
    raw = data.scaler.inverse(data.arrays["test"][:150].astype(np.float64))[:, 0]
    return pd.DataFrame({"date": pd.date_range("1990-01-06", periods=150, freq="W-SAT")
                         .strftime("%Y-%m-%d"), "co2": raw})


def body(frame: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_split": {"columns": list(frame.columns),
                                           "data": frame.values.tolist()}}).encode()


def post(port: int, data: bytes) -> tuple[int, float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=data,
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        status = 0  # no answer: the connection was closed or timed out
    return status, time.perf_counter() - start


def serve(root: Path, src: Path, workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
           "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
            return server, port
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.5)


def load(port: int, good: bytes, long: bytes, bad: bytes, seconds: float, clients: int,
         long_clients: int) -> dict:
    """Closed-loop clients for `seconds`: `clients` sending good requests, `long_clients`
    sending the long history, one sending a bad request every half second."""
    stop = time.perf_counter() + seconds
    results: dict[str, list] = {"good": [], "long": [], "bad": []}
    lock = threading.Lock()

    def client(kind: str, data: bytes, pause: float = 0.0) -> None:
        while time.perf_counter() < stop:
            status, took = post(port, data)
            with lock:
                results[kind].append((status, took))
            if pause:
                time.sleep(pause)

    threads = [threading.Thread(target=client, args=("good", good)) for _ in range(clients)]
    threads += [threading.Thread(target=client, args=("long", long))
                for _ in range(long_clients)]
    threads.append(threading.Thread(target=client, args=("bad", bad, 0.5)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", type=Path, help="another checkout, served on the same store")
    p.add_argument("--seconds", type=float, default=40.0, help="load time per server")
    p.add_argument("--clients", type=int, default=4, help="clients sending good requests")
    p.add_argument("--long-clients", type=int, default=1)
    p.add_argument("--long-rows", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=1, help="server workers (mlflow -w)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnnops-bench-serving-") as tmp:
        root = Path(tmp)
        history = make_store(root)
        good, bad = body(history), body(history.iloc[:20])
        rng = np.random.default_rng(0)
        long = pd.DataFrame({"date": pd.date_range("1900-01-06", periods=args.long_rows,
                                                   freq="W-SAT").strftime("%Y-%m-%d")
                             if args.long_rows < 100_000 else
                             pd.date_range("1900-01-01", periods=args.long_rows, freq="h")
                             .strftime("%Y-%m-%d %H:%M:%S"),
                             "co2": 350 + rng.standard_normal(args.long_rows)})
        long_body = body(long)
        sides = [("this checkout", ROOT / "src")]
        if args.code is not None:
            sides.append((str(args.code), args.code / "src"))
        print(f"load: {args.clients} clients of good requests (150 rows), {args.long_clients} "
              f"of {args.long_rows:,}-row histories ({len(long_body) / 1e6:.0f} MB of JSON), one "
              f"bad request every 0.5 s; {args.seconds:.0f} s per server, {args.workers} "
              "worker(s)")
        print(f"{'server':<28}{'good p50 ms':>12}{'good p99 ms':>12}{'good n':>8}"
              f"{'long n':>8}{'long median s':>14}{'alone s':>9}{'bad 400':>9}")
        for label, src in sides:
            server, port = serve(root, src, args.workers)
            try:
                post(port, good)  # warm: the first request loads the model
                alone = min(post(port, long_body)[1] for _ in range(2))
                r = load(port, good, long_body, bad, args.seconds, args.clients,
                         args.long_clients)
            finally:
                server.terminate()
                server.wait(timeout=60)
            times = np.array([t for s, t in r["good"] if s == 200]) * 1e3
            failed = sum(s != 200 for s, _ in r["good"])
            longs = [t for s, t in r["long"] if s == 200]
            failed += sum(s != 200 for s, _ in r["long"])
            print(f"{label[-28:]:<28}{np.percentile(times, 50):>12.1f}"
                  f"{np.percentile(times, 99):>12.1f}{len(times):>8}{len(longs):>8}"
                  f"{np.median(longs) if longs else float('nan'):>14.2f}{alone:>9.2f}"
                  f"{sum(s == 400 for s, _ in r['bad']):>4}/{len(r['bad'])}"
                  + (f"  ({failed} good or long requests unanswered)" if failed else ""),
                  flush=True)


if __name__ == "__main__":
    main()
