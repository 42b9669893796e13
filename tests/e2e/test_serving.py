"""The registered pyfunc models outside the pipeline: loaded by MLflow, served by a real
`mlflow models serve` process on 127.0.0.1, and driven by `rnnops predict` / `rnnops generate`.

The forecaster is the prepared CO2 data with an untrained model (serving does not depend on the
weights); the language model is a tiny one logged here (LM registration is not in the pipeline).
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.data.prepared import PreparedData
from rnnops.data.text import Vocabulary
from rnnops.models import build_model
from rnnops.models.language import build_language_model
from rnnops.serving.generate import TextGenerator
from tests.conftest import ROOT, compose, log_forecaster, promote, run_stage
from tests.e2e.conftest import tiny

NAME = "serving-test-forecaster"
LM = "serving-test-lm"
CODED = "serving-test-coded"  # the forecaster again, its data's gaps marked -9999


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A project folder with prepared CO2 data, one registered forecaster (version 1, the
    champion) and one registered language model."""
    root = tmp_path_factory.mktemp("serving")
    cfg = tiny(root)
    run_stage("prepare", cfg)
    from rnnops import tracking
    from rnnops.config import from_dictconfig

    config = from_dictconfig(cfg)
    data = PreparedData.load(config.paths.prepared)
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8), 1, 1, 26, 104, [0]).eval()
    tracking.configure(config)
    with tracking.run("serving-test"):
        version = log_forecaster(model, data, 104, 26, NAME)
        promote(NAME, version, "mse", 1.0)
        vocab = Vocabulary(("<eos>", "<unk>", "the", "cat", "sat", "on", "mat"))
        lm = build_language_model(ModelConfig(name="lstm", hidden_size=8), len(vocab)).eval()
        tracking.log_service(TextGenerator(lm, vocab, "word"), LM)
        # the same network trained, as it were, on data that marked gaps with -9999
        coded = PreparedData(data.arrays, data.columns, data.target_columns, data.scaler,
                             {**data.meta, "data_settings": {**data.meta["data_settings"],
                                                             "na_values": [-9999]}})
        log_forecaster(model, coded, 104, 26, CODED)
    raw = data.scaler.inverse(data.arrays["test"][:150].astype(np.float64))[:, 0]
    history = pd.DataFrame({"date": pd.date_range("1990-01-06", periods=150, freq="W-SAT"),
                            "co2": raw})
    history.to_csv(root / "history.csv", index=False)
    return root, config, data, model, lm, vocab, history


def expected_forecast(data, model, history):
    x = (history["co2"].to_numpy()[-104:] - data.scaler.shift[0]) / data.scaler.scale[0]
    with torch.no_grad():
        y = model(torch.tensor(x, dtype=torch.float32)[None, :, None])[0, :, 0].double().numpy()
    return y * data.scaler.scale[0] + data.scaler.shift[0]


def test_pyfunc_round_trip_equals_the_in_process_forecast(store):
    import mlflow

    root, config, data, model, *_ = store
    history = store[-1]
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    out = loaded.predict(history)
    np.testing.assert_allclose(out["co2"], expected_forecast(data, model, history), rtol=1e-6)
    # a plain array of the same history, and a longer one, give the same forecast
    np.testing.assert_allclose(loaded.predict(history["co2"].to_numpy())["co2"], out["co2"])
    older = history.iloc[:20].assign(date=history["date"].iloc[:20] - pd.Timedelta(weeks=20))
    longer = pd.concat([older, history], ignore_index=True)
    np.testing.assert_allclose(loaded.predict(longer)["co2"], out["co2"])
    assert loaded.metadata.signature.outputs.input_names() == ["step", "co2"]


def rnnops(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "rnnops.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_rnnops_predict_writes_the_forecast(store):
    root, config, data, model, *_ = store
    history = store[-1]
    # a bare NAME is its latest version (here the only one); the output's folder is made
    out = rnnops("predict", "--input", str(root / "history.csv"), "--model", NAME,
                 "--output", str(root / "out" / "forecast.csv"), f"paths.root={root}")
    assert out.returncode == 0, out.stderr
    assert [p.name for p in (root / "out").iterdir()] == ["forecast.csv"]
    forecast = pd.read_csv(root / "out" / "forecast.csv")
    assert forecast["step"].tolist() == list(range(1, 27))
    np.testing.assert_allclose(forecast["co2"], expected_forecast(data, model, history),
                               rtol=1e-6)
    # -o with a Parquet name writes Parquet
    out = rnnops("predict", "--input", str(root / "history.csv"), "--model", NAME,
                 "--output", str(root / "out" / "forecast.parquet"), f"paths.root={root}")
    assert out.returncode == 0, out.stderr
    assert pd.read_parquet(root / "out" / "forecast.parquet").equals(forecast)


@pytest.mark.parametrize("make_input,model,message", [
    (lambda h: h.iloc[:50], f"{NAME}@champion",
     "{file}: history has 50 rows; the model needs at least 104 (its lookback)"),
    (lambda h: h.rename(columns={"co2": "ppm"}), f"{NAME}@champion",
     "{file}: history has no column 'co2' (the model reads co2; got date, ppm)"),
    (lambda h: h.iloc[::-1], f"{NAME}@champion",
     "{file}: history: column 'date' is not sorted: row 3 (1992-11-07 00:00:00) comes before "
     "row 2"),
    (lambda h: h, "no-such-model@champion", "model 'no-such-model@champion': Registered Model "
     "with name=no-such-model not found"),
    (lambda h: h, f"{NAME}@best", f"model '{NAME}@best': Registered model alias best not found"),
])
def test_rnnops_predict_bad_input_is_one_line(store, tmp_path, make_input, model, message):
    root = store[0]
    path = tmp_path / "bad.csv"
    make_input(store[-1]).to_csv(path, index=False)
    out = rnnops("predict", "--input", str(path), "--model", model, f"paths.root={root}")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("rnnops predict: error: " + message.format(file=path))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def served(store):
    """The port of `mlflow models serve` running the champion forecaster on 127.0.0.1."""
    root = store[0]
    port = free_port()
    # the server runs `uvicorn` from PATH: the one beside this interpreter
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"server did not start: {server.stderr.read()}") \
                        from None
                time.sleep(1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_mlflow_models_serve_answers_invocations(store, served):
    root, config, data, model, *_ = store
    history = store[-1]
    port = served
    body = {"dataframe_split": {"columns": ["co2"],
                                "data": [[v] for v in history["co2"].tolist()]}}
    status, answer = post(port, body)
    assert status == 200, answer
    frame = pd.DataFrame(answer["predictions"])
    np.testing.assert_allclose(frame["co2"], expected_forecast(data, model, history),
                               rtol=1e-5)
    status, answer = post(port, {"inputs": history["co2"].tolist()})  # an array
    assert status == 200
    np.testing.assert_allclose(pd.DataFrame(answer["predictions"])["co2"], frame["co2"])
    status, answer = post(port, {"inputs": history["co2"].tolist()[:20]})
    assert status == 400  # the client reads why, not MLflow's generic message
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    # MLflow would put the whole request in front of it: the answer names the problem only
    assert answer["message"] == "history has 20 rows; the model needs at least 104 (its lookback)"


def test_language_model_generates_with_every_method(store):
    root, config, data, model, lm, vocab, _ = store
    from rnnops.models.decoding import beam_search, greedy

    out = rnnops("generate", "--model", f"{LM}/1", "--prompt", "the cat", "--max-tokens", "5",
                 f"paths.root={root}")
    assert out.returncode == 0, out.stderr
    # the same as decoding in process: the state after "the", then greedy from "cat"
    with torch.no_grad():
        state = lm(vocab.encode(["the"])[None]).state
        ids = greedy(lm.step, state, vocab.encode(["cat"]), 5, end_token=0)[0]

    def words_of(ids):
        return " ".join(vocab.decode(ids)).replace(" <eos>", "\n").replace("<eos>", "\n")

    assert out.stdout.rstrip("\n") == words_of(ids).rstrip("\n")
    # beam: the same as the search in process, per-token mean scores by default
    out = rnnops("generate", "--model", f"{LM}/1", "--prompt", "the", "--method", "beam",
                 "--max-tokens", "4", f"paths.root={root}")
    assert out.returncode == 0, out.stderr
    with torch.no_grad():
        best = beam_search(lm.step, None, vocab.ids["the"], 4, 5, end_token=0,
                           length_penalty=1.0)[0]
    assert out.stdout.rstrip("\n") == words_of(best.tokens).rstrip("\n")
    # sample: seeded, so repeatable; words of the vocabulary, at most 4 tokens
    sampled = [rnnops("generate", "--model", f"{LM}/1", "--prompt", "the", "--method", "sample",
                      "--max-tokens", "4", "--seed", "3", f"paths.root={root}") for _ in range(2)]
    assert [o.returncode for o in sampled] == [0, 0], sampled[0].stderr
    assert sampled[0].stdout == sampled[1].stdout
    words = sampled[0].stdout.split()
    assert len(words) <= 4 and set(words) <= set(vocab.tokens)
    assert sampled[0].stdout.count("\n") + len(words) >= 4  # an <eos> prints as a line break
    # --top-k and --temperature reach the sampler: top-1 sampling at any temperature is greedy
    top_one = rnnops("generate", "--model", f"{LM}/1", "--prompt", "the cat", "--max-tokens", "5",
                     "--method", "sample", "--top-k", "1", "--temperature", "0.7", "--seed", "5",
                     f"paths.root={root}")
    assert top_one.returncode == 0, top_one.stderr
    with torch.no_grad():  # sampling does not stop at <eos>: greedy without an end token
        argmax = greedy(lm.step, lm(vocab.encode(["the"])[None]).state, vocab.encode(["cat"]), 5)
    assert top_one.stdout.rstrip("\n") == words_of(argmax[0]).rstrip("\n")
    out = rnnops("generate", "--model", LM, "--prompt", "the", "--method", "sample",
                 "--temperature", "0", f"paths.root={root}")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("rnnops generate: error: decoding parameter temperature "
                                  "(--temperature): 0.0 must be > 0 (greedy takes the likeliest "
                                  "token)")
    out = rnnops("generate", "--model", f"{NAME}@champion", "--prompt", "x", f"paths.root={root}")
    assert out.returncode == 2
    assert out.stderr.strip() == (f"rnnops generate: error: model '{NAME}@champion' is a "
                                  "forecaster; use rnnops predict")


def test_rnnops_predict_elsewhere_reads_mlflow_tracking_uri_and_writes_nothing(store, tmp_path):
    """Outside the project (no store under paths.root) predict reads the store MLflow's own
    tools would (MLFLOW_TRACKING_URI) and creates no store or experiment where it runs; with
    neither, it says where it looked."""
    root = store[0]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore",
           "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"}
    args = [sys.executable, "-m", "rnnops.cli", "predict", "-i", str(root / "history.csv"),
            "-m", NAME, "--config-dir", str(ROOT / "conf")]
    out = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "step,date,co2"  # forecasts carry their dates
    assert list(elsewhere.iterdir()) == []
    del env["MLFLOW_TRACKING_URI"]
    out = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2 and "no MLflow store at" in out.stderr
    assert list(elsewhere.iterdir()) == []


# --- real-world files: one validator for prepare, rnnops predict and the served model ----------

PREPARE_CSV = ["data=csv", "data.target=co2", "data.time_column=date", "data.lookback=104",
               "data.horizon=26"]


@pytest.fixture(scope="module")
def weekly(store):
    """300 weekly rows of the CO2 series in original units: enough for prepare's three splits
    at lookback 104 and horizon 26, and a history of any length the model takes."""
    data = store[2]
    raw = data.scaler.inverse(data.arrays["train"][:300].astype(np.float64))[:, 0]
    return pd.DataFrame({"date": pd.date_range("1980-01-05", periods=300, freq="W-SAT")
                         .strftime("%Y-%m-%d"), "co2": np.round(raw, 3)})


def csv_of(frame: pd.DataFrame, sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode()


def body_of(frame: pd.DataFrame) -> dict:
    return {"dataframe_split": {"columns": list(frame.columns),
                                "data": frame.astype(object).values.tolist()}}


def with_cell(frame: pd.DataFrame, row: int, value) -> pd.DataFrame:
    out = frame.astype({"co2": object})
    out.loc[row, "co2"] = value
    return out


def latin1(frame: pd.DataFrame) -> bytes:
    lines = csv_of(frame).split(b"\n")
    lines[101] = lines[101].replace(b",", "\u00e9,".encode("latin-1"), 1)
    return b"\n".join(lines)


def differing_copy(frame: pd.DataFrame) -> pd.DataFrame:
    copy = frame.iloc[[199]].assign(co2=frame["co2"].iloc[199] + 1)
    return pd.concat([frame.iloc[:200], copy, frame.iloc[200:]], ignore_index=True)


# name -> (the table, how the file is written, the line prepare and predict both print, the
# served model's answer (None: a file matter), request text the answer must not repeat)
BAD_FILES = {
    "duplicate column names": (
        lambda f: f.assign(extra=f["co2"]).set_axis(["date", "co2", "co2"], axis=1), csv_of,
        "column 'co2' appears twice (columns 2 and 3); give each column its own name",
        "history: columns 2 and 3 have the same name 'co2'", ()),
    "rows at one time that differ": (
        differing_copy, csv_of,
        "rows 201 and 202 share the time 1983-10-29 00:00:00 but differ in column 'co2' (318 "
        "and 319); keep one row per time, or set data.duplicates=keep_last to keep the last",
        "history: rows 201 and 202 have the same time but differ in column 'co2'",
        ("1983-10-29", "318")),
    "text outside the lookback": (
        lambda f: with_cell(f, 3, "broken-sensor"), csv_of,
        "row 5, column 'co2': 'broken-sensor' is not a number",
        "history: row 5, column 'co2': a cell that is not a number", ("broken-sensor",)),
    "a number beyond float32": (
        lambda f: with_cell(f, 250, 1e39), csv_of,
        "row 252, column 'co2': 1e+39 is beyond float32's range",
        "history: row 252, column 'co2': a value beyond float32's range", ("1e+39", "1e39")),
    "an infinity outside the lookback": (
        lambda f: with_cell(f, 3, np.inf), csv_of,
        "row 5, column 'co2': infinite value inf; replace it or leave the cell empty",
        "history: row 5, column 'co2': an infinite value", ()),
    "newest first": (
        lambda f: f.iloc[::-1], csv_of,
        "column 'date' is not sorted: row 3 (1985-09-21 00:00:00) comes before row 2 "
        "(1985-09-28 00:00:00); sort the file by time",
        "history: column 'date' is not sorted: row 3 comes before row 2", ("1985-09",)),
    "separated by semicolons": (
        lambda f: f, lambda f: csv_of(f, ";"),
        "one column 'date;co2' was read; the file seems to be separated by ';': set "
        "data.delimiter=';'", None, ()),
    "latin-1 bytes": (
        lambda f: f, latin1, "line 102 is not UTF-8 (byte 0xe9 at offset", None, ()),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_alike_by_prepare_predict_and_the_served_model(
        store, weekly, served, tmp_path, capsys, case):
    """The same file: prepare and rnnops predict stop with exit 2 and the same one line, and
    write nothing; the served model answers the same table with 400 and that line's public
    form, which repeats nothing of the request."""
    from rnnops.cli import main

    make, write, line, public, payload = BAD_FILES[case]
    table = make(weekly)
    path = tmp_path / "bad.csv"
    path.write_bytes(write(table))
    out = tmp_path / "prepared"
    with pytest.raises(SystemExit) as stop:
        run_stage("prepare", compose(f"paths.root={out}", *PREPARE_CSV, f"data.path={path}"))
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rnnops prepare: error: {path}: {line}"] or (
        len(err) == 1 and err[0].startswith(f"rnnops prepare: error: {path}: ") and line in err[0])
    assert not (out / "data").exists()

    forecast = tmp_path / "out" / "forecast.csv"
    code = main(["predict", "-i", str(path), "-m", NAME, "-o", str(forecast),
                 f"paths.root={store[0]}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and line in err[0], err
    assert err[0].startswith(f"rnnops predict: error: {path}: ")
    assert not forecast.parent.exists()

    if public is None:
        return
    status, answer = post(served, body_of(table))
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert answer["message"].startswith(public), answer["message"]
    for text in payload:
        assert text not in answer["message"]


def test_exact_copies_and_missing_value_codes_pass_all_three(store, weekly, served, tmp_path,
                                                             caplog):
    """A byte-identical repeated row is dropped (with a count) by prepare, predict and the
    served model alike; -9999 read as missing where the data was prepared with
    data.na_values=[-9999], and warned of where it was not."""
    from rnnops.cli import main

    def forecast_of(path, model=NAME):
        out = tmp_path / f"{path.stem}-{model}.csv"
        assert main(["predict", "-i", str(path), "-m", model, "-o", str(out),
                     f"paths.root={store[0]}"]) == 0
        return pd.read_csv(out)["co2"].to_numpy()

    clean, copied = tmp_path / "clean.csv", tmp_path / "copied.csv"
    clean.write_bytes(csv_of(weekly))
    copied.write_bytes(csv_of(pd.concat([weekly.iloc[:250], weekly.iloc[[249]],
                                         weekly.iloc[250:]])))
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        with_copy = run_stage("prepare", compose(f"paths.root={tmp_path / 'a'}", *PREPARE_CSV,
                                                 f"data.path={copied}"))
    assert "dropped 1 rows that repeat the row before them exactly (the first at row 252" \
        in caplog.text
    without = run_stage("prepare", compose(f"paths.root={tmp_path / 'b'}", *PREPARE_CSV,
                                           f"data.path={clean}"))
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(with_copy.arrays[split], without.arrays[split])
    np.testing.assert_array_equal(forecast_of(copied), forecast_of(clean))
    status, answer = post(served, body_of(pd.concat([weekly.iloc[:250], weekly.iloc[[249]],
                                                     weekly.iloc[250:]])))
    assert status == 200
    np.testing.assert_allclose(pd.DataFrame(answer["predictions"])["co2"], forecast_of(clean),
                               rtol=1e-6)

    coded, empty = tmp_path / "coded.csv", tmp_path / "empty.csv"
    coded.write_bytes(csv_of(with_cell(with_cell(weekly, 100, -9999), 290, -9999)))
    empty.write_bytes(csv_of(with_cell(with_cell(weekly, 100, None), 290, None)))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        run_stage("prepare", compose(f"paths.root={tmp_path / 'c'}", *PREPARE_CSV,
                                     f"data.path={coded}"))
    assert "column 'co2' holds -9999 in 2 rows (the first at row 102)" in caplog.text
    named = run_stage("prepare", compose(f"paths.root={tmp_path / 'd'}", *PREPARE_CSV,
                                         f"data.path={coded}", "data.na_values=[-9999]"))
    gaps = run_stage("prepare", compose(f"paths.root={tmp_path / 'e'}", *PREPARE_CSV,
                                        f"data.path={empty}"))
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(named.arrays[split], gaps.arrays[split])
    np.testing.assert_array_equal(forecast_of(coded, CODED), forecast_of(empty, CODED))


def test_predict_without_a_model_name_takes_the_only_one(store, tmp_path, tmp_path_factory):
    """With no -m and no model of tracking.registered_model's name, predict takes the store's
    only registered model, or names those it holds."""
    from rnnops import tracking
    from rnnops.config import from_dictconfig

    root, config, data, model, *_ = store
    history = root / "history.csv"
    out = rnnops("predict", "-i", str(history), f"paths.root={root}")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "rnnops predict: error: no registered model 'rnnops-co2-forecaster' "
        "(tracking.registered_model) in the store; it holds serving-test-coded, "
        f"{NAME}, {LM}: name one with --model")
    alone = tmp_path_factory.mktemp("alone")
    cfg = from_dictconfig(tiny(alone))
    tracking.configure(cfg)
    with tracking.run("only-one"):
        log_forecaster(model, data, 104, 26, "the-only-forecaster")
    out = rnnops("predict", "-i", str(history), f"paths.root={alone}")
    assert out.returncode == 0, out.stderr
    forecast = pd.read_csv(io.StringIO(out.stdout))
    np.testing.assert_allclose(forecast["co2"], expected_forecast(data, model, store[-1]),
                               rtol=1e-6)


def test_predict_reads_the_sqlite_store_without_mlflow_or_torch(store, tmp_path):
    """On the project's own store `rnnops predict` finds the model's files with sqlite3 and runs
    its ONNX copy: neither MLflow nor torch is imported (they are most of its start-up)."""
    root, config, data, model, *_ = store
    out = tmp_path / "forecast.csv"
    args = ["predict", "-i", str(root / "history.csv"), "-m", f"{NAME}@champion", "-o", str(out),
            f"paths.root={root}"]
    probe = (f"import sys; from rnnops.cli import main; code = main({args!r}); "
             "print(code, sorted({'torch', 'mlflow'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.split("\n")[-2] == "0 []", done.stderr
    np.testing.assert_allclose(pd.read_csv(out)["co2"], expected_forecast(data, model, store[-1]),
                               rtol=1e-6)


def test_the_sqlite_reader_finds_the_folders_mlflow_finds(store):
    from mlflow import MlflowClient

    from rnnops import tracking
    from rnnops.sqlite_registry import model_folder, registered_models

    root, config, *_ = store
    uri = tracking.configure_reader(config)
    client = MlflowClient()
    champion = client.get_model_version_by_alias(NAME, "champion")
    where = client.get_model_version_download_uri(NAME, champion.version)
    expected = Path(where.removeprefix("file://")) / "data" / "service"
    for form in (NAME, f"{NAME}@champion", f"{NAME}/1", f"models:/{NAME}@champion",
                 f"models:/{NAME}/latest"):
        assert model_folder(uri, form) == expected, form
    # what it cannot resolve, MLflow answers (with its own error where there is one)
    for form in ("no-such-model@champion", f"{NAME}@best", f"{NAME}/9", "runs:/0123/model"):
        assert model_folder(uri, form) is None, form
    assert model_folder("http://127.0.0.1:5000", NAME) is None
    assert registered_models("http://127.0.0.1:5000") is None
    assert {name: set(aliases) for name, aliases in registered_models(uri).items()} == {
        name: set(aliases) for name, aliases in tracking.registered_models().items()}
