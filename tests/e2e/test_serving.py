"""The registered pyfunc models outside the pipeline: loaded by MLflow, served by a real
`mlflow models serve` process on 127.0.0.1, and driven by `rnnops predict` / `rnnops generate`.

The forecaster is the prepared CO2 data with an untrained model (serving does not depend on the
weights); the language model is a tiny one logged here (LM registration is not in the pipeline).
"""

from __future__ import annotations

import json
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
from tests.conftest import ROOT, run_stage
from tests.e2e.conftest import tiny

NAME = "serving-test-forecaster"
LM = "serving-test-lm"


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
        version = tracking.log_model(model, data, 104, 26, NAME)
        tracking.promote_if_better(NAME, version, "mse", 1.0)
        vocab = Vocabulary(("<eos>", "<unk>", "the", "cat", "sat", "on", "mat"))
        lm = build_language_model(ModelConfig(name="lstm", hidden_size=8), len(vocab)).eval()
        tracking.log_language_model(lm, vocab, "word", LM)
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
     "{file}: history: column 'date' is not sorted: row 3 (1992-11-07) comes before row 2"),
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


def test_mlflow_models_serve_answers_invocations(store):
    root, config, data, model, *_ = store
    history = store[-1]
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
        assert answer["message"].endswith(
            "history has 20 rows; the model needs at least 104 (its lookback)")
    finally:
        server.terminate()
        server.wait(timeout=30)


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
    assert out.stdout.splitlines()[0] == "step,co2"
    assert list(elsewhere.iterdir()) == []
    del env["MLFLOW_TRACKING_URI"]
    out = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2 and "no MLflow store at" in out.stderr
    assert list(elsewhere.iterdir()) == []
