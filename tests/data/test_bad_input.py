"""The bad-input corpus: each case exits 2 with one line naming the file and the column, row or
key, and writes nothing."""

from __future__ import annotations

import hashlib

import pytest

from tests.data.conftest import prepare

HEADER = "date,load,temp\n"


def rows(n, start=0):
    return "".join(f"2020-01-{1 + (i // 24):02d} {i % 24:02d}:00,{i % 7},{i % 5}\n"
                   for i in range(start, start + n))


GOOD = HEADER + rows(200)
CSV = ["data=csv", "data.time_column=date", "data.target=load", "data.lookback=24",
       "data.horizon=6"]

# name -> (file bytes or None, extra overrides, fragments the one-line error must contain)
CASES = {
    "empty file": (b"", [], ["bad.csv", "empty"]),
    "header only": (HEADER.encode(), [], ["bad.csv", "header but no rows"]),
    "missing target column": (GOOD.encode(), ["data.target=power"],
                              ["data.target", "'power'", "columns are load, temp"]),
    "non-numeric cell": ((HEADER + rows(50) + "2020-01-03 02:00,high,1\n" + rows(100, 51))
                         .encode(), [], ["bad.csv", "row 52", "column 'load'", "'high'"]),
    "all-NaN column": ((HEADER + "".join(f"2020-01-01 {i:02d}:00,,1\n" for i in range(24)))
                       .encode(), [], ["bad.csv", "column 'load'", "no values"]),
    "infinite value": ((HEADER + rows(10) + "2020-01-01 10:00,inf,1\n" + rows(150, 11))
                       .encode(), [], ["bad.csv", "row 12", "column 'load'", "infinite"]),
    "unsorted timestamps": ((HEADER + rows(5, 10) + rows(5)).encode(), [],
                            ["bad.csv", "column 'date'", "not sorted", "row 7"]),
    "duplicate timestamps": ((HEADER + rows(5) + rows(1, 4) + rows(100, 5)).encode(),
                             ["data.duplicates=error"],
                             ["bad.csv", "duplicate timestamp", "rows 6 and 7",
                              "data.duplicates=drop_exact"]),
    "rows at one time that differ": (
        (HEADER + rows(5) + "2020-01-01 04:00,9,9\n" + rows(100, 5)).encode(), [],
        ["bad.csv", "rows 6 and 7 share the time 2020-01-01 04:00:00 but differ in column "
         "'load' (4 and 9)", "data.duplicates=keep_last"]),
    "duplicate column names": (GOOD.replace("date,load,temp", "date,load,load").encode(), [],
                               ["bad.csv", "column 'load' appears twice (columns 2 and 3)"]),
    "duplicate column names, not read": (
        GOOD.replace("date,load,temp", "date,load,temp,temp").replace("\n2", ",0\n2").encode(),
        [], ["bad.csv", "column 'temp' appears twice (columns 3 and 4)"]),
    "beyond float32": ((HEADER + rows(10) + "2020-01-01 10:00,1e39,1\n" + rows(150, 11))
                       .encode(), [], ["bad.csv", "row 12", "column 'load'", "1e+39",
                                       "beyond float32's range"]),
    "target is the time column": (GOOD.encode(), ["data.target=date"],
                                  ["data.target", "'date' is the time column",
                                   "name columns of values: load, temp"]),
    "na_values of another type": (GOOD.encode(), ["data.na_values=[true]"],
                                  ["data.na_values", "texts or numbers"]),
    "bad timestamp": ((HEADER + rows(3) + "yesterday,1,1\n").encode(), [],
                      ["bad.csv", "row 5", "column 'date'", "'yesterday'"]),
    "shorter than lookback + horizon": ((HEADER + rows(20)).encode(), [],
                                        ["20 rows", "lookback + horizon = 30"]),
    "wrong delimiter": (GOOD.replace(",", ";").encode(), [],
                        ["bad.csv", "data.delimiter=';'"]),
    "non-UTF-8 bytes": (GOOD.encode() + b"2020-01-09 08:00,\xff\xfe,1\n", [],
                        ["bad.csv", "line 202 is not UTF-8", "0xff", f"offset {len(GOOD) + 17}"]),
    "latin-1 in the middle": ((HEADER + rows(100)).encode() + "2020-01-05 04:00,caf\xe9,1\n"
                              .encode("latin-1") + rows(99, 101).encode(), [],
                              ["bad.csv", "line 102 is not UTF-8", "0xe9"]),
    "split fractions above 1": (GOOD.encode(), ["data.split.train=0.8", "data.split.val=0.3"],
                                ["data.split", "1.3"]),
    "lookback of 0": (GOOD.encode(), ["data.lookback=0"], ["data.lookback", ">= 1"]),
    "unknown file type": (GOOD.encode(), ["data.path=REPLACE.xlsx"],
                          ["unknown file type", "data.format=csv"]),
    "unknown data.format": (GOOD.encode(), ["data.format=xlsx"], ["data.format", "xlsx"]),
    "no such file": (None, [], ["bad.csv", "no such file", "data.path"]),
    "unknown statsmodels dataset": (None, ["data=co2", "data.dataset=co3"],
                                    ["data.dataset", "'co3'", "co2, elnino, nile, sunspots"]),
    "unknown source": (None, ["data.source=ftp"], ["data.source", "file, url, ett"]),
    "missing target key": (GOOD.encode(), ["data.target=null"], ["data.target", "no value"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, case):
    content, extra, fragments = CASES[case]
    data_file = tmp_path / "in" / "bad.csv"
    data_file.parent.mkdir()
    if content is not None:
        data_file.write_bytes(content)
    extra = [e.replace("REPLACE", str(data_file)) for e in extra]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        prepare(out, *CSV, f"data.path={data_file}", *extra)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in: {err}"
    assert not (out / "data").exists()


def test_url_with_the_wrong_sha256_keeps_nothing(tmp_path, capsys, http_folder):
    folder, base = http_folder
    (folder / "series.csv").write_text(GOOD)
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(SystemExit) as stop:
        prepare(tmp_path, *CSV, "data.source=url", f"data.url={base}/series.csv",
                f"data.sha256={wrong}")
    assert stop.value.code == 2
    # the download's own progress lines come first; the error is the one last line
    *progress, err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(progress)
    assert err.startswith("rnnops prepare: error:") and "series.csv" in err
    assert "data.sha256" in err
    downloads = tmp_path / "data" / "downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []
    assert not (tmp_path / "data" / "prepared").exists()


def test_the_pipeline_script_leaves_no_hydra_logs_when_it_refuses(tmp_path):
    """`python pipelines/prepare.py` (as DVC runs it) refused with one line: Hydra's log folder
    for the run is gone too, so nothing is left under paths.root."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("date,load,temp", "date,load,load"))
    root = tmp_path / "root"
    out = subprocess.run([sys.executable, str(ROOT / "pipelines" / "prepare.py"), *CSV,
                          f"data.path={bad}", f"paths.root={root}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 2
    assert out.stderr.strip() == (f"rnnops prepare: error: {bad}: column 'load' appears twice "
                                  "(columns 2 and 3); give each column its own name")
    assert [p for p in root.rglob("*")] == []
