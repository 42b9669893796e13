"""Where a study lives: SQLite by default, any SQLAlchemy URL (PostgreSQL, MySQL) or an Optuna
journal file, opened with one clear error when the URL is wrong or the server is unreachable."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from filelock import FileLock
from optuna.storages.journal import JournalFileBackend
from sqlalchemy import event
from sqlalchemy.engine import make_url

from rnnops.config import STORAGE_SCHEMES
from rnnops.errors import ConfigError
from rnnops.masking import masked

JOURNAL = "journal:"
# SQLite waits this long for another worker's write lock instead of failing at once.
SQLITE_TIMEOUT_S = 60


def default_url(optuna_dir: Path) -> str:
    optuna_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(optuna_dir / 'optuna.db').resolve()}"


@contextmanager
def storage_lock(url: str, local_dir: Path) -> Iterator[None]:
    """An exclusive file lock for creating and first opening the storage at `url`: beside a
    SQLite file (processes started together would both run its migrations, and one fail with
    `UNIQUE constraint failed: alembic_version`), else in `local_dir`, which serialises the
    processes of this machine only (a server serialises its own schema changes)."""
    database = _sqlite_file(url)
    if database is not None:
        lock = Path(str(database) + ".lock")
    elif url.startswith("sqlite"):  # in memory: one process only
        yield
        return
    else:
        lock = local_dir / f".storage-{hashlib.sha256(url.encode()).hexdigest()[:12]}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=300):
        yield


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def driver_url(url: str) -> str:
    """postgresql:// means psycopg 3 here: SQLAlchemy's default driver (psycopg2) is not
    installed."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def open_storage(url: str, key: str = "sweep.storage") -> Any:
    """An Optuna storage for `url`; a bad URL or an unreachable server is a ConfigError on `key`."""
    if not url.startswith(STORAGE_SCHEMES):
        raise ConfigError(key, f"{masked(url)!r} is no storage URL; use sqlite:///FILE, "
                          "postgresql://USER@HOST/DB, journal:FILE or null")
    try:
        if url.startswith(JOURNAL):
            path = Path(url[len(JOURNAL):]).expanduser()
            if not path.name:
                raise ValueError("no file named after journal:")
            path.parent.mkdir(parents=True, exist_ok=True)

            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        engine: dict[str, Any] = {}
        if url.startswith("sqlite"):
            engine["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
            _make_sqlite_folder(url)
            with storage_lock(url, Path(".")):  # the folder is unused for a SQLite URL
                storage = optuna.storages.RDBStorage(driver_url(url), engine_kwargs=engine)
            _write_lock_first(storage.engine)
            return storage
        engine["pool_pre_ping"] = True  # a server restart between trials is not an error
        return optuna.storages.RDBStorage(driver_url(url), engine_kwargs=engine)
    except Exception as exc:  # SQLAlchemy, driver and OS errors all mean "cannot open this URL"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(key, f"cannot open {masked(url)}: {reason[:300]}") from None


def _make_sqlite_folder(url: str) -> None:
    """A new database file's folder is made, as for journal:, so that a URL such as
    sqlite:///outputs/optuna/hydra.db works on a fresh clone (in-memory URLs have no file)."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _write_lock_first(engine: Any) -> None:
    """Start every SQLite transaction with BEGIN IMMEDIATE.

    pysqlite begins a transaction lazily, after the first read, so two workers could both read
    a trial as WAITING and both take it (PostgreSQL locks the row: SELECT ... FOR UPDATE).
    Taking SQLite's write lock first makes taking a queued trial atomic (SQLAlchemy's recipe
    for pysqlite transactions)."""
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # pooled connections were opened before the listeners
