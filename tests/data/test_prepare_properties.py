"""Property: whatever CSV a user brings (names with units and non-ASCII letters, empty cells,
-9999 codes, repeated rows, time zones, spacings), prepare either writes exactly the arrays an
independent pandas computation gives, or stops with one line, exit 2, and writes nothing; never
a traceback."""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from omegaconf import open_dict

from tests.conftest import compose, run_stage

LOOKBACK, HORIZON = 8, 2
SENTINEL = -9999
NAME = st.text(st.characters(categories=("L", "N"), include_characters=" ()%°/³µ_-.·"),
               min_size=1, max_size=10).filter(lambda s: s == s.strip())
ZONES = ("naive", "Z", "+05:30", "Europe/Berlin")


@st.composite
def user_files(draw):
    """(CSV text, settings) of a plausible export: a time column and one to four value
    columns, perhaps with empty cells, -9999 codes, repeated or conflicting rows."""
    names = draw(st.lists(NAME, min_size=2, max_size=5, unique=True))
    time_name, columns = names[0], names[1:]
    if draw(st.integers(0, 6)) == 0:
        columns = [*columns, columns[0]]  # a name given twice
    n = draw(st.integers(40, 90))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = np.round(rng.normal(0, 1, (n, len(columns))).cumsum(axis=0) * 10
                      + rng.uniform(-300, 300, len(columns)), 2)
    cells = np.vectorize(lambda v: f"{v:.2f}")(values).astype(object)
    for _ in range(draw(st.integers(0, 6))):  # empty cells
        cells[draw(st.integers(0, n - 1)), draw(st.integers(0, len(columns) - 1))] = ""
    if draw(st.booleans()):  # a code for a missing reading, perhaps whole columns of it
        for _ in range(draw(st.integers(1, 4))):
            cells[draw(st.integers(0, n - 1)), draw(st.integers(0, len(columns) - 1))] = \
                str(SENTINEL)
    step = pd.Timedelta(draw(st.sampled_from(["10min", "15min", "1h", "1D"])))
    start = pd.Timestamp(draw(st.sampled_from(["2024-03-30 20:00", "2023-01-01", "1999-12-31"])))
    times = pd.DatetimeIndex([start + i * step for i in range(n)])
    zone = draw(st.sampled_from(ZONES))
    if zone == "naive":
        stamps = times.strftime("%Y-%m-%d %H:%M:%S")
    elif zone == "Z":
        stamps = times.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif zone == "+05:30":
        stamps = (times + pd.Timedelta("5h30min")).strftime("%Y-%m-%dT%H:%M:%S+05:30")
    else:  # offsets that change at a daylight-saving switch
        stamps = [t.isoformat() for t in times.tz_localize("UTC").tz_convert(zone)]
    rows = [[stamp, *row] for stamp, row in zip(stamps, cells.tolist(), strict=True)]
    for _ in range(draw(st.integers(0, 3))):  # repeated rows, exact or not
        at = draw(st.integers(0, len(rows) - 1))
        copy = list(rows[at])
        if draw(st.integers(0, 3)) == 0:
            copy[1] = f"{draw(st.integers(1000, 2000))}.50"
        rows.insert(at + 1, copy)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow([time_name, *columns])
    writer.writerows(rows)
    return out.getvalue(), {
        "time_column": time_name, "target": columns[draw(st.integers(0, len(columns) - 1))],
        "features": draw(st.sampled_from(["S", "M"])),
        "na_values": draw(st.sampled_from([[], [SENTINEL], [str(SENTINEL), "n/a"]])),
        "duplicates": draw(st.sampled_from(["error", "drop_exact", "keep_last"])),
        "missing": draw(st.sampled_from(["interpolate", "ffill"])),
    }


def expected_arrays(text: str, s: dict) -> dict[str, np.ndarray] | None:
    """What prepare must write, computed with pandas alone (None: it must refuse the file)."""
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if any(str(c).endswith(".1") for c in frame.columns):  # pandas renamed a repeated name
        return None
    names = [c for c in frame.columns if c != s["time_column"]]
    numbers = frame[names].apply(lambda c: pd.to_numeric(c.replace("", np.nan)))
    codes = [float(v) for v in s["na_values"] if str(v).lstrip("-").isdigit()]
    numbers = numbers.mask(numbers.isin(codes))
    if s["features"] == "S":
        inputs = [s["target"]]
    else:  # a column without any number is no input (unless it is the target)
        inputs = [c for c in names if c == s["target"] or
                  pd.to_numeric(frame[c].replace("", np.nan)).notna().any()]
    values = numbers[inputs]
    times = pd.to_datetime(frame[s["time_column"]], utc=True).dt.tz_localize(None)
    values.index = pd.DatetimeIndex(times)
    same = values.index.duplicated(keep="last")  # rows whose time the next row has
    if same.any():
        nxt = np.flatnonzero(same) + 1
        if s["duplicates"] == "error":
            return None
        if s["duplicates"] == "drop_exact":
            a, b = values.iloc[nxt].to_numpy(), values.iloc[nxt - 1].to_numpy()
            if not ((a == b) | (np.isnan(a) & np.isnan(b))).all():
                return None
            values = values[~values.index.duplicated(keep="first")]
        else:
            values = values[~same]
    if values.isna().all().any():
        return None
    if s["missing"] == "interpolate":
        values = values.interpolate(method="time", limit_direction="both")
    else:
        values = values.ffill().bfill()
    values = values.to_numpy()
    n = len(values)
    n_train, n_val = int(n * 0.7), int(n * 0.1)
    n_test = int(n * 1.0) - n_train - n_val
    borders = {"train": (0, n_train), "val": (n_train - LOOKBACK, n_train + n_val),
               "test": (n_train + n_val - LOOKBACK, n_train + n_val + n_test)}
    if any(end - start < LOOKBACK + HORIZON for start, end in borders.values()):
        return None
    mean, std = values[:n_train].mean(axis=0), values[:n_train].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return {name: (values[a:b] - mean) / std for name, (a, b) in borders.items()}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(user_files())
def test_prepare_writes_what_pandas_computes_or_refuses_in_one_line(case):
    text, s = case
    expected = expected_arrays(text, s)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in.csv").write_text(text, encoding="utf-8", newline="")
        cfg = compose("data=csv", f"data.path={tmp / 'in.csv'}", f"paths.root={tmp / 'out'}",
                      f"data.lookback={LOOKBACK}", f"data.horizon={HORIZON}")
        with open_dict(cfg):  # names with spaces and parentheses, set past Hydra's grammar
            cfg.data.update(s)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                prepared = run_stage("prepare", cfg)
            except SystemExit as stop:
                assert stop.code == 2
                prepared = None
        lines = err.getvalue().strip().splitlines()
        if prepared is None:
            assert len(lines) == 1 and lines[0].startswith("rnnops prepare: error: "), lines
            assert not (tmp / "out" / "data").exists()
            assert expected is None, f"refused a file pandas reads: {lines[0]}"
            reasons = ("appears twice", "duplicate timestamp", "share the time", "no values")
            event("refused: " + next((r for r in reasons if r in lines[0]), "other"))
            return
        assert expected is not None, "prepared a file that should have been refused"
        assert lines == []
        event(f"prepared ({s['duplicates']}, {'with' if s['na_values'] else 'no'} na_values)")
        for split, array in expected.items():
            np.testing.assert_allclose(prepared.arrays[split], array, rtol=1e-4, atol=1e-4,
                                       err_msg=split)
