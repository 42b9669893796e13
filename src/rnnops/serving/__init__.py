"""The logged models' runtime: what `mlflow models serve`, `mlflow.pyfunc.load_model`,
`rnnops predict` and `rnnops generate` run.

A model is logged as an MLflow pyfunc with this package as its loader module and a folder of
plain files (weights + spec, scaler or vocabulary, service.json) as its data, so loading it needs
rnnops and torch but no pickled code. A service object saves itself (`save`) and describes its
interface for MLflow (`interface`: signature columns, params, metadata); rnnops.tracking logs it.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnops.data.download import sha256_of
from rnnops.errors import DataError, UserError

SERVICE = "service.json"
MODEL = "model.pt"
# sha256sum's format ("HEX  NAME" per line; `sha256sum -c files.sha256` checks it by hand),
# written when the model is logged and checked on every load.
MANIFEST = "files.sha256"


def write_manifest(folder: Path) -> None:
    lines = [f"{sha256_of(path)}  {path.name}\n" for path in sorted(folder.iterdir())
             if path.is_file() and path.name != MANIFEST]
    (folder / MANIFEST).write_text("".join(lines))


def verify_manifest(folder: Path) -> None:
    """Each file of a logged model must hash as when it was logged; a model logged before the
    manifest existed is loaded unchecked."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        return
    for line in manifest.read_text().splitlines():
        recorded, _, name = line.partition("  ")
        path = folder / name
        if not path.is_file() or sha256_of(path) != recorded:
            raise UserError(f"{path}: {'missing' if not path.is_file() else 'does not match'} "
                            "the sha256 recorded when the model was logged (changed or corrupted "
                            "in the artifact store); log the model again (run the train stage) "
                            "or restore the store from a backup")


def load_service(folder: Path, onnx: bool = False):
    """The service saved in `folder`, its files checked against the manifest: a ForecastService
    (its network run by ONNX Runtime where `onnx` and the model has the copy) or a
    TextGenerator."""
    verify_manifest(folder)
    kind = json.loads((folder / SERVICE).read_text())["kind"]
    if kind == "forecaster":
        # lazy: the service modules import this package's names (a cycle at import time)
        from rnnops.serving.forecast import ForecastService

        return ForecastService.load(folder, onnx=onnx)
    from rnnops.serving.generate import TextGenerator

    return TextGenerator.load(folder)


def _load_pyfunc(data_path: str):
    """MLflow's loader-module entry point: the service object whose predict() it calls."""
    return ReportedInputErrors(load_service(Path(data_path)))


class ReportedInputErrors:
    """A service whose input errors reach the caller under MLflow. `mlflow models serve` answers
    any other exception with a generic message and buries ours in a traceback; it returns the
    message of an MlflowException: the error's public form, which quotes nothing of the request.
    The error raised is also a DataError, so `rnnops generate` reports it as before. MLflow's
    exception comes from rnnops.tracking, the one module that imports MLflow, and only when an
    input is refused."""

    def __init__(self, service):
        self.service = service

    def predict(self, model_input, params=None):
        try:
            return self.service.predict(model_input, params)
        except DataError as exc:  # the answer names the problem, not the caller's data
            # lazy: MLflow's error type, wanted only when MLflow serves and an input is bad
            from rnnops.tracking import served_input_error

            raise served_input_error(exc.public) from None

    def get_raw_model(self):
        """The service itself (PyFuncModel.get_raw_model): `rnnops predict` calls it directly, so
        its user, who holds the file, reads the cells and times an error is about."""
        return self.service
