"""The `rnnops` command: run pipeline stages with Hydra overrides, outside DVC.

Heavy libraries (torch, Lightning, MLflow) load only once a stage runs, so `rnnops --help` is fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

STAGE_HELP = {
    "prepare": "load the series, fill gaps, split and scale it",
    "sweep": "tune hyperparameters with Optuna on val/loss",
    "train": "train the model (with the sweep's best values) and register it in MLflow",
    "evaluate": "test metrics against baselines, plots and metrics.json",
    "run": ("all four stages in order, in this process (dvc repro does the same, cached); the "
            "sweep only when train.use_best_params"),
}


def config_groups(config_dir: Path = Path("conf")) -> str:
    """The config groups and their options, as `--help` lists them (read from the folder's
    file names: cheap, and always what composition would accept)."""
    if not config_dir.is_dir():
        return ""
    groups = []
    for group in sorted(p for p in config_dir.iterdir() if p.is_dir()):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        if options:
            groups.append(f"  {group.name}={{{','.join(options)}}}")
    return ("config groups (pick one with GROUP=OPTION; set any key with group.key=value; "
            "docs/configuration.md lists every key):\n" + "\n".join(groups))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnops",
        description="Train, tune, evaluate and track recurrent sequence models.",
        epilog="example: rnnops train model=gru train.lr=0.003",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = config_groups()
    for name, text in STAGE_HELP.items():
        s = sub.add_parser(name, help=text, description=text, epilog=groups,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "sweep":
            s.add_argument("--workers", type=int, help="worker processes on the one study (the "
                           "same as sweep.workers=N; more machines join with the same "
                           "sweep.storage and sweep.study_name)")
        _common(s)
    s = sub.add_parser("predict", help=PREDICT_HELP, description=PREDICT_HELP,
                       epilog="example: rnnops predict --input history.csv "
                              "--model rnnops-co2-forecaster@champion")
    s.add_argument("--input", "-i", required=True, type=Path,
                   help="CSV (or Parquet) history in original units: the model's columns, at "
                        "least its lookback of rows, oldest first")
    s.add_argument("--output", "-o", type=Path, help="write the forecast CSV here "
                   "(default: print it)")
    s.add_argument("--model", "-m", help="NAME (its latest version), NAME@ALIAS, NAME/VERSION "
                   "or a models:/ or runs:/ URI (default: tracking.registered_model@champion, "
                   "or the store's only registered model)")
    s.add_argument("--intervals", action="store_true", help="add the model's prediction "
                   "intervals (TARGET_lo_80, TARGET_hi_80, ... per evaluate.interval_levels)")
    _common(s)
    s = sub.add_parser("generate", help=GENERATE_HELP, description=GENERATE_HELP,
                       epilog="example: rnnops generate --model ptb-lm@champion --prompt 'the "
                              "market' --method beam --width 5")
    s.add_argument("--model", "-m", required=True,
                   help="a registered language model: NAME (its latest version), NAME@ALIAS, "
                        "NAME/VERSION or a URI")
    s.add_argument("--prompt", "-p", default="", help="text to continue (word level: an empty "
                   "prompt starts a sentence)")
    s.add_argument("--method", choices=("greedy", "beam", "sample"), default="greedy")
    s.add_argument("--max-tokens", type=int, default=30, help="tokens to generate (default 30)")
    s.add_argument("--width", type=int, default=5, help="beam width (default 5)")
    s.add_argument("--length-penalty", type=float, default=1.0, help="beam scores are summed "
                   "log-probabilities / length^this (0: none; default 1: per-token mean)")
    s.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    s.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0: all)")
    s.add_argument("--seed", type=int, default=0, help="sampling seed")
    _common(s)
    s = sub.add_parser("serve", help=SERVE_HELP, description=SERVE_HELP,
                       epilog="example: rnnops serve --port 5001 (then POST a history to "
                              "http://127.0.0.1:5001/invocations; docs/serving.md)")
    s.add_argument("--model", "-m", help="as for predict (default: "
                   "tracking.registered_model@champion, or the store's only registered model)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    s.add_argument("--port", type=int, default=5001, help="port (default 5001)")
    s.add_argument("--workers", type=int, default=1, help="server processes: one answers one "
                   "request at a time (default 1)")
    _common(s)
    s = sub.add_parser("report", help=REPORT_HELP, description=REPORT_HELP)
    _common(s)
    return p


PREDICT_HELP = "forecast from a history file with a registered model (original units)"
GENERATE_HELP = "continue a prompt with a registered language model"
SERVE_HELP = ("serve a registered model over HTTP with `mlflow models serve`, reading the "
              "project's store (nothing is written where it runs)")
REPORT_HELP = "the last evaluation's test metrics: the model against the baselines"


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument("overrides", nargs="*", help="Hydra overrides such as model=gru (predict and "
                   "generate read the tracking store from paths.root / tracking.uri)")
    s.add_argument("--config-dir", default="conf", type=Path,
                   help="folder holding config.yaml (default: ./conf)")
    s.add_argument("--verbose", "-v", action="store_true",
                   help="log the detail too (kernel timings, each setting's reason, ...)")


def compose(config_dir: Path, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    if not (config_dir / "config.yaml").exists():
        raise FileNotFoundError(
            f"{config_dir / 'config.yaml'} not found; run rnnops from the project folder "
            "or pass --config-dir"
        )
    with initialize_config_dir(str(config_dir.resolve()), version_base="1.3"):
        return hydra_compose("config", overrides=overrides)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    # Overrides may also follow an option (`-o out.csv data=etth2`): argparse leaves those over.
    args, extra = p.parse_known_args(argv)
    stray = [a for a in extra if "=" not in a or a.startswith("-")]
    if stray:
        p.error(f"unrecognized arguments: {' '.join(stray)}")
    args.overrides += extra
    if getattr(args, "workers", None) is not None:
        args.overrides.append(f"sweep.workers={args.workers}")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    if args.verbose:
        logging.getLogger("rnnops").setLevel(logging.DEBUG)
    from rnnops.errors import one_line
    from rnnops.masking import mask_logs, masked

    mask_logs()
    try:
        cfg = compose(args.config_dir, args.overrides)
    except Exception as exc:  # Hydra's composition errors: a wrong override or group option
        print(f"rnnops {args.command}: error: {masked(one_line(str(exc)))}", file=sys.stderr)
        return 2

    if args.command in COMMANDS:
        from rnnops.errors import UserError

        try:
            return COMMANDS[args.command](cfg, args)
        except UserError as exc:
            print(f"rnnops {args.command}: error: {masked(str(exc))}", file=sys.stderr)
            return 2

    from rnnops.entry import run_stage

    pipeline = args.command == "run"
    if pipeline:  # the model's names are checked before prepare writes anything
        from rnnops.models.build import check_model_config

        run_stage("run", lambda checked: check_model_config(checked.model), cfg)
    from rnnops.machine import is_global_zero

    # In a multi-process training (trainer.devices > 1) Lightning runs this command again for
    # every other rank, which joins the train stage only: prepare and sweep ran once, here.
    stages = STAGES if pipeline and is_global_zero() else ("train",) if pipeline else \
        (args.command,)
    for name in stages:
        run_stage(name, stage_function(name, pipeline), cfg)
    return 0


STAGES = ("prepare", "sweep", "train", "evaluate")


def stage_function(name: str, pipeline: bool = False):
    """Stage `name`, imported only when it runs (torch, Lightning and MLflow load with it).
    `pipeline`: as part of the whole pipeline, where the sweep skips when train.use_best_params
    is false (stages/sweep.py: pipeline_sweep)."""
    if name == "prepare":
        from rnnops.stages.prepare import prepare

        return prepare
    if name == "sweep":
        from rnnops.stages.sweep import pipeline_sweep, sweep

        return pipeline_sweep if pipeline else sweep
    if name == "train":
        from rnnops.stages.train import train

        return train
    from rnnops.stages.evaluate import evaluate

    return evaluate


def _store(dictconfig):
    """The validated config with MLflow pointed at the store to read models from."""
    from rnnops import tracking
    from rnnops.config import from_dictconfig

    cfg = from_dictconfig(dictconfig)
    tracking.configure_reader(cfg)
    return cfg


def read_history(path: Path, delimiter: str = ",", time_column: str | None = None):
    """A history file as prepare reads a training file (rnnops.data.tables.read_table: the same
    messages on encoding, separator and header): Parquet by its suffix, else text split at
    data.delimiter."""
    from rnnops.data.tables import format_of, read_table
    from rnnops.errors import UserError

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    fmt = "parquet" if format_of(path.name) == "parquet" else "csv"
    return read_table(path, delimiter, time_column, fmt)


def default_model(cfg, uri: str) -> str:
    """The model predict uses without -m: tracking.registered_model's champion; where the store
    holds no model of that name but exactly one other, that one (its champion, else its latest
    version)."""
    from rnnops.errors import UserError
    from rnnops.names import CHAMPION
    from rnnops.sqlite_registry import registered_models

    name = cfg.tracking.registered_model
    held = registered_models(uri)
    if held is None:  # not an SQLite store: MLflow reads it
        from rnnops import tracking

        tracking.configure_reader(cfg)
        held = tracking.registered_models()
    if name in held or not held:
        return f"{name}@{CHAMPION}"
    if len(held) == 1:
        (only, aliases), = held.items()
        chosen = f"{only}@{CHAMPION}" if CHAMPION in aliases else only
        logging.getLogger("rnnops.cli").info("no --model: %s, the only registered model in the "
                                             "store", chosen)
        return chosen
    raise UserError(f"no registered model {name!r} (tracking.registered_model) in the store; it "
                    f"holds {', '.join(sorted(held))}: name one with --model")


def forecast_service(cfg, uri: str, name: str):
    """The forecaster `name` names, as predict runs it: from the SQLite store's files with its
    network on ONNX Runtime where it can (rnnops.sqlite_registry: MLflow and torch stay unloaded),
    else loaded by MLflow."""
    from rnnops.errors import UserError
    from rnnops.sqlite_registry import model_folder

    folder = model_folder(uri, name)
    if folder is not None:
        from rnnops.serving import load_service

        service = load_service(folder, onnx=True)
    else:
        from rnnops import tracking

        tracking.configure_reader(cfg)
        model, _ = tracking.load_service(name)
        # The service itself, not MLflow's wrapper: its user holds the file, and reads in full
        # what a served model's answer leaves out (the cells and times an error is about).
        service = model.get_raw_model()
    if service.interface()["metadata"]["rnnops_kind"] != "forecaster":
        raise UserError(f"model {name!r} is a language model; use rnnops generate")
    return service


def predict_command(dictconfig, args) -> int:
    from rnnops.config import from_dictconfig
    from rnnops.data.tables import format_of
    from rnnops.errors import DataError, UserError
    from rnnops.sqlite_registry import reader_uri

    cfg = from_dictconfig(dictconfig)
    uri = reader_uri(cfg.paths.mlflow, cfg.tracking.uri)
    if not args.input.is_file():  # before the model loads
        raise UserError(f"{args.input}: no such file")
    name = args.model or default_model(cfg, uri)
    service = forecast_service(cfg, uri, name)
    history = read_history(args.input, cfg.data.delimiter, service.time_column)
    try:
        forecast = service.predict(history, {"intervals": args.intervals})
    except DataError as exc:
        raise DataError(f"{args.input}: {exc}") from None
    if args.output:
        from rnnops.atomic import staged

        try:  # the folder is made if missing; an interrupted write leaves no partial file
            with staged(args.output) as (partial,):
                if format_of(args.output.name) == "parquet":
                    forecast.to_parquet(partial, index=False)
                else:
                    forecast.to_csv(partial, index=False)
        except OSError as exc:
            raise UserError(f"{args.output}: cannot write the forecast there "
                            f"({exc.strerror or exc})") from None
    else:
        print(forecast.to_csv(index=False), end="")
    return 0


def generate_command(dictconfig, args) -> int:
    import pandas as pd

    from rnnops import tracking
    from rnnops.errors import UserError

    _store(dictconfig)
    model, kind = tracking.load_service(args.model)
    if kind != "language_model":
        raise UserError(f"model {args.model!r} is a forecaster; use rnnops predict")
    params = {"method": args.method, "max_tokens": args.max_tokens, "width": args.width,
              "length_penalty": args.length_penalty,
              "temperature": args.temperature, "top_k": args.top_k, "seed": args.seed}
    out = model.predict(pd.DataFrame({"prompt": [args.prompt]}), params=params)
    print(out["text"].iloc[0])
    return 0


def serve_command(dictconfig, args) -> int:
    """Replace this process with `mlflow models serve` on the model, the project's store named
    in its environment (so the server creates no store of its own where it runs)."""
    import os

    from rnnops import tracking

    cfg = _store(dictconfig)
    store = tracking.configure_reader(cfg)  # the URI _store pointed MLflow at
    uri = tracking.model_uri(args.model or default_model(cfg, store))
    tracking.load_service(uri)  # an unknown model, alias or version: one line, before serving
    command = ["mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
               "--host", args.host, "--port", str(args.port), "--workers", str(args.workers)]
    print(f"rnnops serve: {uri} on http://{args.host}:{args.port}/invocations",
          file=sys.stderr, flush=True)
    os.execvpe(command[0], command, {**os.environ, "MLFLOW_TRACKING_URI": store})


def report_command(dictconfig, args) -> int:
    """reports/metrics.json as a table: one row per forecaster, best first."""
    import json

    from rnnops.config import from_dictconfig
    from rnnops.errors import UserError

    cfg = from_dictconfig(dictconfig)
    path = cfg.paths.reports / "metrics.json"
    if not path.is_file():
        raise UserError(f"{path}: no evaluation here; run the pipeline first (make run, dvc "
                        "repro or rnnops run)")
    print(metrics_table(json.loads(path.read_text()), cfg.evaluate.metric))
    return 0


def metrics_table(metrics: dict, metric: str) -> str:
    """A plain-text table of metrics.json: forecasters as rows, ranked by `metric`."""
    columns = [c for c in (metric, "mse", "mae", "mase", "smape", "mae_original", "perplexity",
                           "bpc") if any(c in v for v in metrics.values())]
    columns = list(dict.fromkeys(columns))

    def cell(value) -> str:
        return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    def rank(item):
        value = item[1].get(columns[0])
        return (value is None, value if isinstance(value, float) else 0.0)

    rows = [[name, *(cell(values.get(c)) for c in columns)]
            for name, values in sorted(metrics.items(), key=rank)]
    header = ["forecaster", *columns]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                       for i, (v, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


COMMANDS = {"predict": predict_command, "generate": generate_command, "serve": serve_command,
            "report": report_command}


if __name__ == "__main__":
    sys.exit(main())
