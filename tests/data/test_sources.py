"""Every source, every protocol and feature mode, on real or generated data."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest

from rnnops.data.prepared import PreparedData
from rnnops.data.synthetic import GENERATORS, generate
from rnnops.data.tables import read_table
from rnnops.data.validate import index_by_time
from tests.data.conftest import SHARED_DATA, needs_shared_data, prepare


def write_csv(path, rows=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    frame = pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=rows, freq="h").astype(str),
        "load": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(rows),
        "temp": np.cos(2 * np.pi * t / 24),
        "station": "A",  # text: not an input
    })
    frame.to_csv(path, index=False)
    return frame


CSV = ["data=csv", "data.time_column=date", "data.target=load", "data.lookback=24",
       "data.horizon=6"]


@pytest.mark.parametrize(
    ("features", "columns", "targets"),
    [("S", ["load"], [0]), ("M", ["load", "temp"], [0, 1]), ("MS", ["load", "temp"], [0])],
)
def test_csv_features(tmp_path, features, columns, targets):
    raw = write_csv(tmp_path / "series.csv")
    prepared = prepare(tmp_path, *CSV, f"data.path={tmp_path / 'series.csv'}",
                       f"data.features={features}")
    assert prepared.columns == columns and prepared.target_columns == targets
    meta = json.loads((tmp_path / "data/prepared/meta.json").read_text())
    digest = hashlib.sha256((tmp_path / "series.csv").read_bytes()).hexdigest()
    assert meta["source_sha256"] == digest
    assert meta["first_time"] == "2020-01-01 00:00:00"
    assert meta["split_rows"] == {"train": 280, "val": 40 + 24, "test": 80 + 24}
    train = raw["load"].to_numpy()[:280]
    assert prepared.scaler.shift[0] == pytest.approx(train.mean())


def test_parquet_file_reads_like_the_csv(tmp_path):
    raw = write_csv(tmp_path / "series.csv")
    raw.to_parquet(tmp_path / "series.parquet")
    a = prepare(tmp_path / "a", *CSV, f"data.path={tmp_path / 'series.csv'}")
    b = prepare(tmp_path / "b", *CSV, f"data.path={tmp_path / 'series.parquet'}")
    for split in ("train", "val", "test"):
        assert np.array_equal(a.arrays[split], b.arrays[split])


def test_scaler_sees_train_rows_only(tmp_path):
    """Leakage check: changing every val and test value leaves the scaler and train unchanged."""
    raw = write_csv(tmp_path / "series.csv")
    clean = prepare(tmp_path / "a", *CSV, f"data.path={tmp_path / 'series.csv'}")
    raw.loc[280:, "load"] = 1e6
    raw.to_csv(tmp_path / "shifted.csv", index=False)
    shifted = prepare(tmp_path / "b", *CSV, f"data.path={tmp_path / 'shifted.csv'}")
    assert np.array_equal(clean.scaler.shift, shifted.scaler.shift)
    assert np.array_equal(clean.scaler.scale, shifted.scaler.scale)
    assert np.array_equal(clean.arrays["train"], shifted.arrays["train"])


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_synthetic_generators_are_seeded(tmp_path, kind):
    a, b = generate(kind, 500, seed=3), generate(kind, 500, seed=3)
    assert a.equals(b) and a.shape == (500, 1) and np.isfinite(a.to_numpy()).all()
    assert not a.equals(generate(kind, 500, seed=4))
    # the group's target follows data.dataset: each generator's column is its name
    prepared = prepare(tmp_path, "data=synthetic", f"data.dataset={kind}", "data.length=500")
    assert prepared.meta["rows"] == 500


def test_sines_have_the_declared_daily_period():
    x = generate("sines", 24 * 7 * 20, seed=0)["sines"].to_numpy()
    spectrum = np.abs(np.fft.rfft(x - x.mean()))
    assert round(len(x) / np.argmax(spectrum)) == 24


@pytest.mark.parametrize(("dataset", "rows", "lookback", "horizon"),
                         [("sunspots", 309, 44, 11), ("nile", 100, 20, 5),
                          ("elnino", 61 * 12, 36, 12)])
def test_statsmodels_datasets(tmp_path, dataset, rows, lookback, horizon):
    """Each group (conf/data/NAME.yaml) prepares as it is, with windows in every split."""
    prepared = prepare(tmp_path, f"data={dataset}")
    assert prepared.meta["rows"] == rows
    assert prepared.meta["first_time"][:4] in {"1700", "1871", "1950"}
    for split in ("train", "val", "test"):
        assert len(prepared.windows(split, lookback, horizon)) > 0, split


@needs_shared_data
@pytest.mark.parametrize(("config", "train", "val", "test"),
                         [("etth1", 8640, 2880, 2880), ("ettm1", 34560, 11520, 11520)])
def test_ett_protocol_borders(tmp_path, config, train, val, test):
    lookback = 96
    prepared = prepare(tmp_path, f"data={config}", f"data.root={SHARED_DATA}")
    assert prepared.meta["borders"] == {
        "train": [0, train],
        "val": [train - lookback, train + val],
        "test": [train + val - lookback, train + val + test],
    }
    assert prepared.columns == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert prepared.target_columns == list(range(7))
    raw = pd.read_csv(SHARED_DATA / f"{config.replace('ett', 'ETT')}.csv")
    values = raw.drop(columns="date").to_numpy()
    assert np.allclose(prepared.scaler.shift, values[:train].mean(axis=0))
    assert np.allclose(prepared.scaler.scale, values[:train].std(axis=0))
    first_test_target = (values[train + val] - prepared.scaler.shift) / prepared.scaler.scale
    assert np.allclose(prepared.arrays["test"][lookback], first_test_target, atol=1e-5)
    windows = prepared.windows("test", lookback, 96)
    assert len(windows) == test - 96 + 1


@needs_shared_data
def test_ett_root_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_DATA_ROOT", str(SHARED_DATA))
    prepared = prepare(tmp_path, "data=etth2")
    assert prepared.meta["origin"] == str(SHARED_DATA / "ETTh2.csv")
    assert not (tmp_path / "data" / "downloads").exists()  # nothing was downloaded


@pytest.mark.parametrize("how", ["data.root", "RNNOPS_DATA_ROOT"])
def test_a_data_root_that_does_not_exist_is_an_error_not_a_download(tmp_path, monkeypatch,
                                                                    capsys, how):
    missing = tmp_path / "no-such-folder"
    if how == "data.root":
        args = [f"data.root={missing}"]
    else:
        monkeypatch.setenv("RNNOPS_DATA_ROOT", str(missing))
        args = []
    with pytest.raises(SystemExit) as stop:
        prepare(tmp_path / "run", "data=etth1", *args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"{how}={missing}: no such folder" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run/data").exists()  # nothing downloaded or written


def test_ettm2_local_copy_is_checked_by_md5(tmp_path, monkeypatch, capsys):
    """ETTm2 is pinned by md5 (the only published checksum): a copy with that md5 is read and its
    sha256 recorded; any other content is refused, naming the file and the algorithm."""
    from rnnops.data import catalog

    rows, rng = 57600, np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((rows, 7)),
                         columns=["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"])
    frame.insert(0, "date", pd.date_range("2016-07-01", periods=rows, freq="15min").astype(str))
    root = tmp_path / "root"
    root.mkdir()
    frame.to_csv(root / "ETTm2.csv", index=False)
    content = (root / "ETTm2.csv").read_bytes()
    published = catalog.Published("https://example.invalid/ETTm2.csv",
                                  f"md5:{hashlib.md5(content).hexdigest()}")
    monkeypatch.setitem(catalog.FILES, "ETTm2.csv", published)
    prepared = prepare(tmp_path / "ok", "data=ettm2", f"data.root={root}")
    assert prepared.meta["source_sha256"] == hashlib.sha256(content).hexdigest()
    assert len(prepared.arrays["train"]) == 34560

    (root / "ETTm2.csv").write_bytes(content[:-10])
    with pytest.raises(SystemExit) as stop:
        prepare(tmp_path / "bad", "data=ettm2", f"data.root={root}")
    assert stop.value.code == 2
    assert re.search(r"ETTm2\.csv: md5 [0-9a-f]{32} differs from the pinned",
                     capsys.readouterr().err)
    assert not (tmp_path / "bad/data/prepared").exists()


def test_url_is_downloaded_once_and_verified(tmp_path, http_folder):
    folder, base = http_folder
    write_csv(folder / "series.csv")
    digest = hashlib.sha256((folder / "series.csv").read_bytes()).hexdigest()
    args = [*CSV, "data.source=url", f"data.url={base}/series.csv", f"data.sha256={digest}"]
    first = prepare(tmp_path, *args)
    (folder / "series.csv").unlink()  # a second prepare must use the cache
    second = prepare(tmp_path, *args)
    assert np.array_equal(first.arrays["test"], second.arrays["test"])
    assert PreparedData.load(tmp_path / "data/prepared").meta["source_sha256"] == digest


def test_url_without_a_suffix_needs_data_format(tmp_path, http_folder, capsys):
    """A URL whose name does not say the type (a download endpoint) is read with data.format;
    without it the stage stops before downloading, naming the key."""
    folder, base = http_folder
    frame = write_csv(tmp_path / "series.csv")
    frame.to_parquet(folder / "export")  # served as /export?id=7: no suffix anywhere
    digest = hashlib.sha256((folder / "export").read_bytes()).hexdigest()
    args = [*CSV, "data.source=url", f"data.url='{base}/export?id=7'", f"data.sha256={digest}"]
    with pytest.raises(SystemExit) as stop:
        prepare(tmp_path / "auto", *args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "data.format" in err and "export?id=7" in err and "Traceback" not in err
    assert not (tmp_path / "auto/data/prepared").exists()

    prepared = prepare(tmp_path / "parquet", *args, "data.format=parquet")
    assert prepared.meta["rows"] == len(frame)
    assert prepared.meta["data_settings"]["format"] == "parquet"


def test_data_format_reads_a_csv_under_another_suffix(tmp_path):
    write_csv(tmp_path / "series.dat")
    prepared = prepare(tmp_path, *CSV, f"data.path={tmp_path / 'series.dat'}", "data.format=csv")
    assert prepared.meta["rows"] == 400


def test_float32_reader_matches_pandas_across_batches(tmp_path):
    """The reader's row-major float32 array, filled batch by batch (3 MB of CSV is several arrow
    batches), equals pandas' parse; empty cells become NaN and are counted as missing."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((40_000, 6)), columns=[f"c{i}" for i in range(6)])
    frame.iloc[[5, 17_000, 39_999], 2] = np.nan
    frame.insert(0, "date", pd.date_range("2020-01-01", periods=len(frame), freq="min"))
    frame.to_csv(tmp_path / "big.csv", index=False)
    values = read_table(tmp_path / "big.csv", time_column="date").drop(columns="date")
    expected = pd.read_csv(tmp_path / "big.csv").drop(columns="date").astype(np.float32)
    assert values.dtypes.unique().tolist() == [np.float32]
    assert np.array_equal(values.to_numpy(), expected.to_numpy(), equal_nan=True)
    prepared = prepare(tmp_path, "data=csv", f"data.path={tmp_path / 'big.csv'}",
                       "data.time_column=date", "data.target=c0", "data.features=M")
    assert prepared.meta["missing_values"] == 3 and prepared.meta["rows"] == 40_000


def test_numeric_reader_matches_pandas_across_chunks(tmp_path, monkeypatch):
    """A file of numbers only goes through the chunked float32 reader: small chunks, and first
    lines much longer than the rest, so the row estimate falls short and the array must grow.
    The result equals pandas' parse, with the empty cells as NaN."""
    import rnnops.data.tables as tables

    monkeypatch.setattr(tables, "PIECE_BYTES", 12_000)  # about 500 rows a piece
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(np.ones((30_000, 3)), columns=["a", "b", "c"])
    frame.iloc[:2_000] = rng.standard_normal((2_000, 3))  # long lines first: a low estimate
    frame.iloc[[7, 12_345, 29_999], 1] = np.nan
    frame.to_csv(tmp_path / "n.csv", index=False)
    path = tmp_path / "n.csv"
    assert path.stat().st_size / tables._bytes_per_row(path) * 1.1 < len(frame)  # must grow
    calls = []
    reader = tables._read_numeric_csv
    monkeypatch.setattr(tables, "_read_numeric_csv",
                        lambda *a: calls.append(reader(*a)) or calls[-1])
    values = read_table(path)
    assert len(calls) == 1 and calls[0] is values  # this reader's frame, not a fallback's
    expected = pd.read_csv(path).astype(np.float32)
    assert list(values.columns) == ["a", "b", "c"]
    assert values.dtypes.unique().tolist() == [np.float32]
    assert np.array_equal(values.to_numpy(), expected.to_numpy(), equal_nan=True)


def test_line_pieces_are_whole_lines_that_rejoin_into_the_file():
    """The numeric reader's pieces: each ends at a line break (the last may lack one), together
    they are the file, and a line longer than a piece is an error (the reader then falls back)."""
    import io

    from rnnops.data.tables import _line_pieces

    text = b"".join(b"%d,%d\n" % (i, i * i) for i in range(500)) + b"7,49"
    pieces = [bytes(p) for p in _line_pieces(io.BytesIO(text), 64, ring=2)]
    assert b"".join(pieces) == text and len(pieces) > 50
    assert all(p.endswith(b"\n") for p in pieces[:-1]) and 0 < max(map(len, pieces)) <= 64
    with pytest.raises(ValueError, match="longer than 64 bytes"):
        list(_line_pieces(io.BytesIO(b"1," * 40 + b"1\n"), 64, ring=2))


@pytest.mark.parametrize("stamp", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%m/%d/%Y %H:%M"])
def test_time_column_parses_alike_in_arrow_and_pandas(tmp_path, stamp):
    """ISO 8601 times are parsed by the arrow reader, other formats by pandas: the same index."""
    times = pd.date_range("2021-03-01", periods=50, freq="h")
    raw = pd.DataFrame({"date": times.strftime(stamp), "y": np.arange(50.0)})
    raw.to_csv(tmp_path / "t.csv", index=False)
    frame = index_by_time(read_table(tmp_path / "t.csv", time_column="date"), "date", "t.csv")
    assert frame.index.equals(pd.DatetimeIndex(times, name="date"))
    assert frame["y"].tolist() == list(range(50))
