"""A team's servers on this machine, bound to 127.0.0.1: PostgreSQL (MLflow's backend store and
the home of shared Optuna studies), an S3-compatible object store (moto's server mode: MLflow's
artifact store and a DVC remote), and `mlflow server` in front of both, proxying artifacts so
that clients need no S3 credentials.

    python scripts/team_server.py            # or: make team-server; Ctrl-C stops all three

prints the settings to use (tracking.uri, sweep.storage, the DVC remote). A real team runs the
same three engines on its own machines (docs/scaling.md); this is the demo and what the tests
start. Needs the Debian package postgresql and `pip install -e '.[team,dev]'`.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BUCKET = "rnnops"
# moto accepts any key; a real S3 store's keys go in the environment the same way.
S3_KEYS = {"AWS_ACCESS_KEY_ID": "rnnops-demo", "AWS_SECRET_ACCESS_KEY": "rnnops-demo-secret",
           "AWS_DEFAULT_REGION": "us-east-1"}
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_binaries() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(f"{folder}/{tool}", os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


class Unavailable(RuntimeError):
    """A server cannot run here (a missing binary or package); tests skip on it."""


@contextlib.contextmanager
def postgres(databases: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL server (trust authentication, so a URL with any password connects) with
    `databases` created; yields the URL of the server, without a database, and its folder. The
    folder is a new one in the temporary directory, which the postgres user can reach (run as
    root, the server runs as that user), and is removed after."""
    bindir = postgres_binaries()
    if bindir is None:
        raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install the "
                          "Debian package postgresql (make system-packages)")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="rnnops-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            raise Unavailable("running as root and there is no postgres user to run the "
                              "server as") from None
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def pg(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
       "--no-sync")
    pg(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
       "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F", "start")
    try:
        import psycopg

        server = f"postgresql://postgres@127.0.0.1:{port}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in databases:
                conn.execute(f"CREATE DATABASE {name}")
        yield server, folder
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until `url` answers (any HTTP status), or the process ends or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} ended with code {process.returncode}: "
                               f"{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT_S} s: "
                       f"{log.read_text()[-2000:]}")


@contextlib.contextmanager
def service(args: list[str], url: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    """A server process, waited on until `url` answers and stopped (its process group) after."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    try:
        wait_for(url, process, log)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class TeamServers:
    tracking_uri: str  # tracking.uri
    postgres: str  # the PostgreSQL server; its database optuna holds shared studies
    s3_endpoint: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)  # what a client's environment needs

    @property
    def sweep_storage(self) -> str:
        return f"{self.postgres}/optuna"

    def dvc_remote(self, prefix: str = "dvc") -> str:
        return f"s3://{BUCKET}/{prefix}"


def client_env(s3_endpoint: str) -> dict[str, str]:
    """What DVC (and boto3) need to reach the object store; MLflow clients need none of it,
    since the tracking server proxies artifacts."""
    return {**S3_KEYS, "AWS_ENDPOINT_URL": s3_endpoint}


@contextlib.contextmanager
def team_servers(folder: Path) -> Iterator[TeamServers]:
    """PostgreSQL, the S3 store (with the bucket) and `mlflow server` on them, all on 127.0.0.1,
    with their files under `folder`; stopped when the block ends."""
    try:
        import boto3
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"{exc.name} is not installed: pip install -e '.[team,dev]'") from None
    folder.mkdir(parents=True, exist_ok=True)
    with postgres(("mlflow", "optuna")) as (pg, _):
        s3_port, mlflow_port = free_port(), free_port()
        s3 = f"http://127.0.0.1:{s3_port}"
        env = {**os.environ, **client_env(s3), "MLFLOW_S3_ENDPOINT_URL": s3}
        with service([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                      str(s3_port)], f"{s3}/moto-api/", folder / "s3.log", env):
            boto3.client("s3", endpoint_url=s3, **{
                "aws_access_key_id": S3_KEYS["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
                "region_name": S3_KEYS["AWS_DEFAULT_REGION"]}).create_bucket(Bucket=BUCKET)
            mlflow = Path(sys.executable).parent / "mlflow"
            tracking = f"http://127.0.0.1:{mlflow_port}"
            backend = pg.replace("postgresql://", "postgresql+psycopg://") + "/mlflow"
            with service([str(mlflow), "server", "--host", "127.0.0.1", "--port",
                          str(mlflow_port), "--workers", "2", "--backend-store-uri", backend,
                          "--artifacts-destination", f"s3://{BUCKET}/mlflow", "--serve-artifacts"],
                         f"{tracking}/health", folder / "mlflow.log", env):
                yield TeamServers(tracking, pg, s3, folder, client_env(s3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the servers keep their files (default: a new temporary "
                             "folder, removed on exit)")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="rnnops-team-"))
    try:
        with team_servers(folder) as team:
            exports = "\n".join(f"  export {k}={v}" for k, v in team.env.items())
            print(f"""team servers running (Ctrl-C stops them); their files: {folder}
  tracking:  rnnops run tracking=server tracking.uri={team.tracking_uri}
  MLflow UI: {team.tracking_uri}
  sweeps:    sweep.storage={team.sweep_storage}
  DVC:       dvc remote add -d team {team.dvc_remote()}
             dvc remote modify team endpointurl {team.s3_endpoint}
  the object store's keys, for DVC:
{exports}""", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                signal.pause()
    except Unavailable as exc:
        print(f"team_server: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
