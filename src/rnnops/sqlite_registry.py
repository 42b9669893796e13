"""Which MLflow store rnnops reads models from, and, for the project's own kind of store (an
SQLite file with artifacts on local disk), where a registered model's files are, read with
sqlite3 alone.

Importing MLflow takes longer than everything else a single `rnnops predict` does, and all it
needs of the store is a folder; anything this reader does not recognise (another kind of store, a
name it cannot resolve, a run's URI) returns None, and the caller asks MLflow, whose answer and
error messages are the reference. Read-only: the file is opened with mode=ro, so nothing is
created or migrated.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from rnnops.errors import UserError

LOADER = "rnnops.serving"  # the loader module of every model rnnops logs


def reader_uri(mlflow_folder: Path, configured: str | None) -> str:
    """The store to read models from: tracking.uri; else the project's SQLite file, as the stages
    use it; else MLFLOW_TRACKING_URI, as MLflow's own tools read it."""
    db = (mlflow_folder / "mlflow.db").resolve()
    uri = configured or (f"sqlite:///{db}" if db.is_file() else
                         os.environ.get("MLFLOW_TRACKING_URI"))
    if not uri:
        raise UserError(f"no MLflow store at {db}; run from the project folder, or set "
                        "paths.root, tracking.uri or MLFLOW_TRACKING_URI")
    return uri


def _database(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///").split("?")[0])
    return path if path.is_file() else None


def _query(db: Path, sql: str, *args) -> list[tuple] | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return connection.execute(sql, args).fetchall()
    except sqlite3.Error:  # another schema, a locked or damaged file: MLflow will say
        return None


def registered_models(uri: str) -> dict[str, tuple[str, ...]] | None:
    """The registered models of an SQLite store, by name, with their aliases; None for another
    kind of store."""
    db = _database(uri)
    if db is None:
        return None
    names = _query(db, "SELECT name FROM registered_models")
    aliases = _query(db, "SELECT name, alias FROM registered_model_aliases")
    if names is None or aliases is None:
        return None
    held: dict[str, tuple[str, ...]] = {name: () for (name,) in names}
    for name, alias in aliases:
        held[name] = (*held.get(name, ()), alias)
    return held


def model_folder(uri: str, model: str) -> Path | None:
    """The local folder of the pyfunc data of `model` (NAME, NAME@ALIAS, NAME/VERSION or their
    models:/ URIs, as rnnops.tracking.model_uri reads them) in an SQLite store with local
    artifacts, if rnnops logged it; None where MLflow must answer."""
    db = _database(uri)
    match = re.fullmatch(r"(?:models:/)?([^/@:]+)(?:@([^/@]+)|/(\d+|latest))?", model)
    if db is None or match is None:
        return None
    name, alias, version = match.groups()
    if alias:
        rows = _query(db, "SELECT version FROM registered_model_aliases WHERE name = ? AND "
                          "alias = ?", name, alias)
    elif version and version != "latest":
        rows = [(int(version),)]
    else:
        rows = _query(db, "SELECT MAX(version) FROM model_versions WHERE name = ? AND "
                          "status = 'READY'", name)
    if not rows or len(rows) != 1 or rows[0][0] is None:
        return None
    located = _query(db, "SELECT storage_location FROM model_versions WHERE name = ? AND "
                         "version = ? AND status = 'READY'", name, rows[0][0])
    if not located or len(located) != 1 or not located[0][0]:
        return None
    return _pyfunc_data(located[0][0])


def _pyfunc_data(location: str) -> Path | None:
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return None
    root = Path(unquote(parsed.path))
    try:
        flavor = yaml.safe_load((root / "MLmodel").read_text())["flavors"]["python_function"]
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return None
    if flavor.get("loader_module") != LOADER or not flavor.get("data"):
        return None
    folder = root / flavor["data"]
    return folder if folder.is_dir() else None
