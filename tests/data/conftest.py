from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, compose, run_stage

# Local copies of the real datasets (ETT CSVs, PTB, Tiny Shakespeare); the tests that need them
# skip without them, and `make test` lists the skips with their reasons.
SHARED_DATA = Path(os.environ.get("RNNOPS_TEST_DATA") or ROOT.parent / "shared" / "data")


def prepare(root: Path, *overrides: str):
    """The prepare stage as the pipeline runs it; a user error becomes SystemExit(2)."""
    return run_stage("prepare", compose(f"paths.root={root}", *overrides))


@pytest.fixture
def http_folder(tmp_path):
    """(folder, base URL) of a loopback HTTP server that serves the folder."""
    folder = tmp_path / "served"
    folder.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "ETTh1.csv").exists(), reason=f"no ETT copies in {SHARED_DATA}"
)
