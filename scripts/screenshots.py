"""Screenshots of the MLflow UI for the README: the runs page and an evaluated run's forecast
plot, taken in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

    python scripts/screenshots.py [--root PROJECT] [--out docs]

PROJECT (default: this repository) must hold an evaluated pipeline (`make run`); its MLflow store
is served by `mlflow ui` on 127.0.0.1 for the duration. The test suite drives the UI with the
same functions (tests/e2e/test_evaluation.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_ui(store: Path) -> Iterator[str]:
    """`mlflow ui` on the SQLite store at `store` (mlruns folder), loopback only; yields its URL."""
    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
         f"sqlite:///{store / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"mlflow ui did not start: {server.stderr.read()}") \
                        from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 900):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def _close_assistant(page) -> None:
    """MLflow 3's assistant side panel covers a third of the page: close it when it is there."""
    button = page.query_selector("button[aria-label='Close']")
    if button is not None and button.is_visible():
        button.click()


def runs_page(page, url: str, experiment_id: str, out: Path) -> str:
    """The experiment's runs table; screenshot to `out`, returns the page's text."""
    page.goto(f"{url}/#/experiments/{experiment_id}/runs")
    page.wait_for_selector("text=train-", timeout=90_000)
    _close_assistant(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out))
    return page.inner_text("body")


def run_metrics(page, url: str, experiment_id: str, run_id: str, out: Path,
                metric: str = "test/mse") -> str:
    """The run's overview with its metrics table filtered to `metric`; returns the table text."""
    page.goto(f"{url}/#/experiments/{experiment_id}/runs/{run_id}")
    search = page.wait_for_selector("input[placeholder='Search metrics']", timeout=90_000)
    _close_assistant(page)
    search.fill(metric)
    row = page.wait_for_selector(f"tr:has-text('{metric}'), [role=row]:has-text('{metric}')",
                                 timeout=30_000)
    row.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(out))
    return row.inner_text()


def forecast_artifact(page, url: str, experiment_id: str, run_id: str, out: Path,
                      artifact: str = "evaluation/plots/forecast.png") -> int:
    """The run's artifact browser showing the forecast plot; returns the shown image's width."""
    page.goto(f"{url}/#/experiments/{experiment_id}/runs/{run_id}/artifacts/{artifact}")
    page.wait_for_selector(f"text={artifact}", timeout=90_000)
    _close_assistant(page)
    width = page.wait_for_function(
        "() => Math.max(0, ...Array.from(document.images).map(i => i.complete ? i.naturalWidth "
        ": 0)) > 300 && Math.max(...Array.from(document.images).map(i => i.naturalWidth))",
        timeout=60_000).json_value()
    page.wait_for_timeout(500)
    page.screenshot(path=str(out))
    return int(width)


def latest_evaluated_run(store: Path, experiment: str) -> tuple[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SystemExit(f"{store}: no experiment {experiment!r}; run the pipeline first")
    runs = client.search_runs([exp.experiment_id], "tags.`rnnops.evaluated_at_commit` != ''",
                              order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        raise SystemExit(f"{store}: no evaluated run in {experiment!r}; run the pipeline first")
    return exp.experiment_id, runs[0].info.run_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder (paths.root)")
    parser.add_argument("--experiment", default="rnnops-co2")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    store = args.root / "mlruns"
    experiment_id, run_id = latest_evaluated_run(store, args.experiment)
    args.out.mkdir(parents=True, exist_ok=True)
    with mlflow_ui(store) as url, browser_page() as page:
        runs_page(page, url, experiment_id, args.out / "mlflow-runs.png")
        run_metrics(page, url, experiment_id, run_id, args.out / "mlflow-run-metrics.png")
        forecast_artifact(page, url, experiment_id, run_id, args.out / "mlflow-forecast.png")
    print(f"wrote mlflow-runs.png, mlflow-run-metrics.png, mlflow-forecast.png in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
