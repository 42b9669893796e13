"""The Python API: `Forecaster(...).fit(df).predict(history)` in a notebook, over the same config,
stages and files as `rnnops run`, so that one config and seed give the same model and metrics
either way.

A Forecaster composes the pipeline's config from conf/ with its arguments as overrides (the keys,
defaults and one-line validation of the CLI), writes the frame it is given as the data file of a
project folder (`root`: a new temporary one by default) and runs the prepare, train and evaluate
stages there, with their MLflow store (tracking_uri: a shared one) and outputs. It takes a wide
frame (a time column and one column per variable) or the long format of NeuralForecast and
StatsForecast (`unique_id`, `ds`, `y`; several series train one global model, data.stack).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from rnnops.errors import ConfigError, UserError

# Long format (NeuralForecast, StatsForecast): series id, timestamp, value.
ID, TIME, VALUE = "unique_id", "ds", "y"
INPUT = "input.parquet"  # the frame given to fit, as the data file of the project folder
SAVED = "forecaster.json"  # beside a saved service: the overrides and how its frames look


def config_dir() -> Path:
    """conf/ of the checkout rnnops runs from (an editable install), else ./conf."""
    checkout = Path(__file__).resolve().parents[2] / "conf"
    return checkout if (checkout / "config.yaml").is_file() else Path("conf")


def compose(overrides: list[str]):
    """The pipeline's config with `overrides`, as `rnnops` composes it; an unknown key or option
    is a ConfigError of one line."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from rnnops.errors import one_line

    folder = config_dir()
    if not (folder / "config.yaml").is_file():
        raise UserError(f"{folder / 'config.yaml'} not found: use rnnops from its checkout")
    try:
        with initialize_config_dir(str(folder.resolve()), version_base="1.3"):
            return hydra_compose("config", overrides=overrides)
    except Exception as exc:  # Hydra's composition errors: a wrong key or group option
        raise ConfigError(overrides_key(str(exc), overrides), one_line(str(exc))) from None


def overrides_key(message: str, overrides: list[str]) -> str:
    """The key of the override Hydra's message is about (the last one it names)."""
    named = [o.split("=", 1)[0].lstrip("+~") for o in overrides]
    return next((k for k in reversed(named) if k in message), "overrides")


def quoted(text: str) -> str:
    """`text` as a quoted value in a Hydra override (a path or an id may hold , = or spaces)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def as_override(key: str, value: Any) -> str:
    """`train__max_epochs=5` (Python's spelling of a dotted key) -> `train.max_epochs=5`."""
    dotted = key.replace("__", ".")
    if isinstance(value, (list, tuple)):
        value = "[" + ",".join(map(str, value)) + "]"
    elif value is None:
        value = "null"
    elif isinstance(value, bool):
        value = str(value).lower()
    return f"{dotted}={value}"


class _Trained:
    """What both APIs share: a project folder, the caller's overrides, the config composed from
    them, the stages run in that folder and the served model they leave."""

    kind = ""  # data.kind

    def __init__(self, model: str, root: str | Path | None, tracking_uri: str | None,
                 overrides: list[str] | None, chosen: list[str], keys: dict[str, Any]):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="rnnops-"))
        self.overrides = [f"model={model}", *chosen,
                          *([f"tracking.uri={tracking_uri}"] if tracking_uri else []),
                          *(as_override(k, v) for k, v in keys.items()), *(overrides or [])]
        self.service: Any = None
        self._data: list[str] = []

    def _config(self, data: list[str]):
        from rnnops.config import from_dictconfig

        # the data first, then the caller's keys (which may set data.* too); no sweep: the
        # configured values train, as `rnnops train train.use_best_params=false` does
        dictconfig = compose([*data, f"paths.root={self.root}", "train.use_best_params=false",
                              *self.overrides])
        return dictconfig, from_dictconfig(dictconfig)

    def _stage(self, name: str, dictconfig) -> Any:
        from rnnops.entry import run_stage
        from rnnops.stages.evaluate import evaluate
        from rnnops.stages.prepare import prepare
        from rnnops.stages.train import train

        stage = {"prepare": prepare, "train": train, "evaluate": evaluate}[name]
        return run_stage(name, stage, dictconfig, reraise=True)

    def _train(self, data: list[str]) -> None:
        """prepare and train on `data` (overrides naming the data file), then keep the model
        as it is served."""
        from rnnops.models.io import load_model
        from rnnops.tasks import task_for

        dictconfig, cfg = self._config(data)
        self._data = data
        self._stage("prepare", dictconfig)
        self._stage("train", dictconfig)
        task = task_for(cfg)
        self.service = task.service(cfg, task.load(cfg), load_model(cfg.paths.model / "model.pt"))

    def _fitted(self) -> Any:
        if self.service is None:
            raise UserError(f"this {type(self).__name__} has no model yet: fit it, or "
                            f"{type(self).__name__}.load one")
        return self.service

    def _metrics(self, dictconfig) -> dict[str, Any]:
        self._fitted()
        return self._stage("evaluate", dictconfig)

    def save(self, path: str | Path) -> Path:
        """The fitted model as the files a logged model holds (weights, scaler or vocabulary,
        service.json, their sha256), loadable by `load`."""
        from rnnops.serving import write_manifest

        folder = Path(path)
        self._fitted().save(folder)
        (folder / SAVED).write_text(json.dumps(self._saved(), default=str))
        write_manifest(folder)
        return folder

    def _saved(self) -> dict[str, Any]:
        return {"overrides": self.overrides}

    @classmethod
    def load(cls, source: str | Path):
        """One that predicts or generates: from a folder `save` wrote, or a registered model
        (`models:/NAME@champion`, `models:/NAME/3`) in the MLflow store MLFLOW_TRACKING_URI
        names."""
        from rnnops.serving import load_service

        loaded = cls.__new__(cls)
        loaded.root, loaded.overrides, loaded._data = None, [], []
        loaded._restore({})
        text = str(source)
        if text.startswith(("models:/", "runs:/")):
            from rnnops import tracking

            model, _ = tracking.load_service(text)
            loaded.service = model.get_raw_model()
        else:
            folder = Path(source)
            loaded.service = load_service(folder)
            if (folder / SAVED).is_file():
                saved = json.loads((folder / SAVED).read_text())
                loaded.overrides = saved["overrides"]
                loaded._restore(saved)
        kind = loaded.service.interface()["metadata"]["rnnops_kind"]
        if kind != cls.kind:
            raise UserError(f"{text} holds a {kind.replace('_', ' ')}, not a "
                            f"{cls.kind.replace('_', ' ')}")
        return loaded

    def _restore(self, saved: dict[str, Any]) -> None:
        """What `_saved` wrote beyond the overrides."""


class Forecaster(_Trained):
    """A recurrent forecaster trained and scored by the pipeline's stages.

    `model`: a model group option (lstm, gru, seq2seq, segrnn, ...); `horizon`, `lookback`:
    data.horizon and data.lookback; further config keys as keyword arguments with `__` for the
    dots (`train__max_epochs=20`, `model__hidden_size=32`) or as Hydra override strings in
    `overrides`. `root`: the project folder its files go to; `tracking_uri`: the MLflow store
    (default: an SQLite file under root)."""

    kind = "forecaster"

    def __init__(self, model: str = "lstm", horizon: int | None = None,
                 lookback: int | None = None, *, root: str | Path | None = None,
                 tracking_uri: str | None = None, overrides: list[str] | None = None,
                 **keys: Any):
        chosen = [*([f"data.horizon={horizon}"] if horizon else []),
                  *([f"data.lookback={lookback}"] if lookback else [])]
        super().__init__(model, root, tracking_uri, overrides, chosen, keys)
        self.long: bool = False
        self.series: list[Any] = []  # the long format's unique_ids, in the order fit saw them
        self._config(["data=csv", "data.path=x", "data.target=y"])  # a bad key fails here

    def _saved(self) -> dict[str, Any]:
        return {**super()._saved(), "long": self.long, "series": self.series}

    def _restore(self, saved: dict[str, Any]) -> None:
        self.long = saved.get("long", False)
        self.series = saved.get("series", [])

    def _data_files(self, df: pd.DataFrame, target: str | None, time_column: str | None,
                    root: Path) -> list[str]:
        """`df` written as the data of the project folder `root`; the data overrides naming
        it. The long format holds one series per unique_id: one series is a file of its own, and
        several a global model's stack (data.stack), a file per series, each column named by its
        id."""
        if {ID, TIME, VALUE} <= set(df.columns) and target is None:
            self.long, self.series = True, list(pd.unique(df[ID]))
            if len(self.series) == 1:
                return self._write(df[[TIME, VALUE]].reset_index(drop=True), root, VALUE, TIME)
            files = []
            for number, series in enumerate(self.series):
                files.append(root / "data" / f"series-{number}.parquet")
                files[-1].parent.mkdir(parents=True, exist_ok=True)
                df.loc[df[ID] == series, [TIME, VALUE]].rename(columns={VALUE: str(series)}) \
                    .to_parquet(files[-1], index=False)
            tables = ",".join(f"{{name: {quoted(f'series-{n}')}, path: {quoted(str(f))}, "
                              f"target: {quoted(str(series))}}}"
                              for n, (f, series) in enumerate(zip(files, self.series,
                                                                  strict=True)) if n)
            return ["data=csv", f"data.path={quoted(str(files[0]))}",
                    f"data.target={quoted(str(self.series[0]))}", f"data.time_column={TIME}",
                    "data.features=S", "data.stack=true", f"data.tables=[{tables}]"]
        if target is None:
            raise ConfigError("target", "name the column to forecast: fit(df, target=...)")
        return self._write(df, root, target, time_column)

    def fit(self, df: pd.DataFrame, target: str | None = None,
            time_column: str | None = None) -> Forecaster:
        """Prepare `df` (split, scaled, checked as `rnnops prepare` checks a file) and train on
        it; the model is logged and registered in the MLflow store like the train stage's."""
        self._train(self._data_files(df, target, time_column, self.root))
        self.target, self.time_column = target, time_column  # how evaluate(df) reads a frame
        return self

    @staticmethod
    def _write(frame: pd.DataFrame, root: Path, target: str, time_column: str | None
               ) -> list[str]:
        """`frame` as the data file of the project folder `root`; the data overrides naming
        it."""
        data_file = root / "data" / INPUT
        data_file.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(data_file, index=False)
        return ["data=csv", f"data.path={data_file}", f"data.target={target}",
                f"data.time_column={time_column}" if time_column else "data.time_column=null"]

    def predict(self, history: pd.DataFrame) -> pd.DataFrame:
        """The forecast after `history` (its last lookback rows are read), in original units,
        with the times after its last one; in the long format when the model was fitted on it
        (each series in the history forecast from its own rows)."""
        service = self._fitted()
        if self.long:
            ids = list(pd.unique(history[ID])) if ID in history else self.series[:1]
            parts = []
            for series in ids:
                rows = history if ID not in history else history.loc[history[ID] == series]
                column = service.targets[0] if len(self.series) <= 1 else str(series)
                out = service.predict(rows[[TIME, VALUE]].rename(columns={VALUE: column})
                                      .reset_index(drop=True))
                parts.append(pd.DataFrame({ID: series, TIME: pd.to_datetime(out[TIME]),
                                           VALUE: out[column]}))
            return pd.concat(parts, ignore_index=True)
        out = service.predict(history)
        if len(out.columns) > 1 + len(service.targets):  # step, time, targets
            time = out.columns[1]
            out[time] = pd.to_datetime(out[time])
        return out

    def evaluate(self, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """The evaluate stage's test metrics (the model and every baseline, one row each) on the
        fitted data's test split; with `df`, on that frame prepared in a folder of its own, with
        its own scaling, as `rnnops prepare` would prepare it."""
        self._fitted()
        if df is None:
            dictconfig, _ = self._config(self._data)
        else:
            other = self.root / "evaluate"
            dictconfig, _ = self._config(self._data_files(
                df, None if self.long else self.target, self.time_column, other))
            dictconfig.paths.prepared = str(other / "data" / "prepared")
            dictconfig.paths.reports = str(other / "reports")
            self._stage("prepare", dictconfig)
        metrics = self._metrics(dictconfig)
        return pd.DataFrame({name: values for name, values in metrics.items()
                             if isinstance(values, dict)}).T


class LanguageModel(_Trained):
    """A recurrent language model trained and scored by the pipeline's stages.

    `fit(texts)`: one text (cut into train, validation and test by data.split's fractions of its
    tokens) or a dict of `train`, `valid` and optionally `test` texts; `level`: word or char.
    Keys and folders as for Forecaster."""

    kind = "language_model"

    def __init__(self, model: str = "lstm", level: str = "char", *,
                 root: str | Path | None = None, tracking_uri: str | None = None,
                 overrides: list[str] | None = None, **keys: Any):
        super().__init__(model, root, tracking_uri, overrides, [f"data.level={level}"], keys)
        self._config(["data=text", "data.path=x"])  # a bad key fails here

    def fit(self, texts: str | dict[str, str]) -> LanguageModel:
        """Prepare the texts as `rnnops prepare data=text` prepares files, and train."""
        corpus = self.root / "data" / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        if isinstance(texts, str):
            path = corpus / "text.txt"
            path.write_text(texts)
        else:
            unknown = set(texts) - {"train", "valid", "test"}
            if unknown or not {"train", "valid"} <= set(texts):
                raise ConfigError("texts", "give one text, or a dict of train, valid and "
                                  f"optionally test texts (got {', '.join(sorted(texts))})")
            for name, text in texts.items():
                (corpus / f"{name}.txt").write_text(text)
            path = corpus
        self._train(["data=text", f"data.path={path}"])
        return self

    def generate(self, prompt: str, method: str = "greedy", max_tokens: int | None = None,
                 **params: Any) -> str:
        """The prompt's continuation: greedy, beam (width, length_penalty) or sample
        (temperature, top_k, seed), as `rnnops generate` decodes it."""
        return self._fitted().generate(prompt, method=method, max_tokens=max_tokens, **params)

    def evaluate(self) -> dict[str, Any]:
        """The evaluate stage's test metrics (perplexity or bits per character) on the fitted
        text's test part."""
        dictconfig, _ = self._config(self._data)
        return self._metrics(dictconfig)
