"""The rules a table of series must pass, shared by prepare (a training file) and the served
forecaster (a history given to `rnnops predict` or in a request), so that both refuse the same
tables with the same message.

Every cell of the columns read must be empty or a number float32 can hold, the times sorted, and
no column named twice; rows that share a time are resolved by data.duplicates, cells listed in
data.na_values are missing. Which rows a result then uses is another matter (prepare: all of
them; a forecast: the last lookback rows, after gap filling).

Rows are numbered as lines of a CSV file with one header line, wherever the table came from: the
first row of data is row 2. A DataError's `public` message leaves out what the full one quotes
from the table (cells, times, names the model does not read); a served model answers with it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rnnops.errors import ConfigError, DataError
from rnnops.machine import map_row_chunks

log = logging.getLogger(__name__)

HEADER_LINES = 1
FLOAT32_MAX = float(np.finfo(np.float32).max)
SENTINEL_SIGMAS = 5.0  # a repeated round extreme this far from a column's other values is flagged


@dataclass(frozen=True)
class Rules:
    """What a table is checked against: data.time_column, data.na_values and data.duplicates as
    the data was prepared with (a served model records them)."""
    time_column: str | None = None
    na_values: tuple = ()
    duplicates: str = "drop_exact"


def quoted(value) -> str:
    """A cell as a message quotes it: 'high', 1e+39 (numpy scalars as plain Python values)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def line_of(position: int) -> int:
    """File line of the row at 0-based `position` in a CSV with one header line."""
    return position + HEADER_LINES + 1


def validated(frame: pd.DataFrame, columns: list[str], origin: str, rules: Rules,
              known: Collection[str] | None = None) -> pd.DataFrame:
    """The `columns` of a raw table as one float32 frame, indexed by rules.time_column when it
    has one (parsed, sorted, one row per time), every cell checked. `known`: the names a public
    message may show (a served model's own columns); None: all."""
    check_names(frame.columns, origin, known)
    if rules.time_column is not None:
        frame = index_by_time(frame, rules.time_column, origin)
    values = numeric(frame, columns, origin, rules.na_values)
    warn_of_sentinels(values, origin)
    return resolve_duplicates(values, rules.duplicates, origin)


def check_names(columns: Iterable, origin: str, known: Collection[str] | None = None) -> None:
    """No name twice: a table whose columns cannot be told apart is refused, whichever is read."""
    first: dict[str, int] = {}
    for position, name in enumerate(map(str, columns), 1):
        if name in first:
            shown = known is None or name in known
            raise DataError(
                f"{origin}: column {name!r} appears twice (columns {first[name]} and "
                f"{position}); give each column its own name",
                f"{origin}: columns {first[name]} and {position} have the same name"
                + (f" {name!r}" if shown else "") + "; give each column its own name")
        first[name] = position


def parse_times(raw: pd.Series, column: str, origin: str) -> pd.Series:
    """Timestamps as naive datetimes (NaT where a cell is not one). Times with a zone (a trailing
    Z, or offsets that change at a daylight-saving switch) are taken to UTC; whole numbers are
    years, which pandas would otherwise read as nanoseconds since 1970."""
    if pd.api.types.is_integer_dtype(raw):
        if not raw.between(1, 9999).all():
            raise DataError(f"{origin}: column {column!r} holds whole numbers that are not years; "
                            "write its times as dates (e.g. 2024-01-31 12:00)")
        return pd.to_datetime(raw.astype(str).str.zfill(4), format="%Y", errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(raw):
        parsed = _iso_times(raw)
        if parsed is not None:
            return parsed
    return pd.to_datetime(raw, errors="coerce", utc=True).dt.tz_localize(None)


def _iso_times(raw: pd.Series) -> pd.Series | None:
    """Text of ISO 8601 times parsed by arrow, about 5x faster than pandas (a served history
    of a million rows), naive or, where every cell has a zone, taken to UTC; None where some
    cell is not one of those, for pandas to parse and report."""
    try:
        text = pa.array(raw, pa.string(), from_pandas=True)  # pandas' str: arrow already
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
        return None
    for zone in (None, "UTC"):
        try:
            times = pc.cast(text, pa.timestamp("us", zone))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        series = pd.Series(times.to_pandas(), index=raw.index, name=raw.name)
        return series.dt.tz_localize(None) if zone else series
    return None


def index_by_time(frame: pd.DataFrame, column: str, origin: str) -> pd.DataFrame:
    """Parse `column` as timestamps and make it the index; it must be sorted oldest first. Rows
    at one time stay: resolve_duplicates handles them once their cells are numbers."""
    if column not in frame.columns:
        raise ConfigError(
            "data.time_column",
            f"no column {column!r} in {origin}; columns are {', '.join(map(str, frame.columns))}",
        )
    raw = frame[column]
    times = parse_times(raw, column, origin)
    bad = times.isna()
    if bad.any():
        pos = int(np.argmax(bad.to_numpy()))
        raise DataError(
            f"{origin}: row {line_of(pos)}, column {column!r}: {quoted(raw.iloc[pos])} is not a "
            "timestamp",
            f"{origin}: row {line_of(pos)}, column {column!r}: not a timestamp")
    values = times.to_numpy()
    steps = np.diff(values)
    if (steps < np.timedelta64(0)).any():
        pos = int(np.argmax(steps < np.timedelta64(0))) + 1
        raise DataError(
            # the parsed times: the same text whichever reader parsed the column
            f"{origin}: column {column!r} is not sorted: row {line_of(pos)} ({times.iloc[pos]}) "
            f"comes before row {line_of(pos - 1)} ({times.iloc[pos - 1]}); sort the file by "
            "time",
            f"{origin}: column {column!r} is not sorted: row {line_of(pos)} comes before row "
            f"{line_of(pos - 1)}; sort the rows oldest first")
    warn_of_gaps(steps, raw, column, origin)
    return frame.drop(columns=[column]).set_index(pd.DatetimeIndex(times, name=column))


def warn_of_gaps(steps: np.ndarray, raw: pd.Series, column: str, origin: str) -> None:
    """Say so when rows are missing from a regular time axis: windows would run across the gap,
    and data.missing fills only cells that are there. (Not an error: business days, for one,
    skip weekends on purpose.)"""
    usual = _most_common_step(steps)
    if usual is None or len(steps) < 2:
        return
    gaps = steps > usual
    if gaps.any():
        pos = int(np.argmax(gaps))
        log.warning("%s: column %r skips times at %d places (the first after row %d, %s: a step of "
                    "%s where the usual step is %s); windows run across them. Add the missing "
                    "rows with empty cells to have data.missing fill them", origin, column,
                    int(gaps.sum()), line_of(pos), raw.iloc[pos], pd.Timedelta(steps[pos]),
                    pd.Timedelta(usual))


def usual_step(index: pd.Index) -> str | None:
    """The most common step between consecutive times (the season is read from it), as pandas
    writes a Timedelta; None for an index of row numbers or of fewer than two times."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    usual = _most_common_step(np.diff(index.to_numpy()))
    return None if usual is None else str(pd.Timedelta(usual))


def _most_common_step(steps: np.ndarray) -> np.timedelta64 | None:
    """The most common positive step (rows at one time are data.duplicates' matter), counted
    in a hash table of the distinct steps: no copy of a long series' steps."""
    counts = pd.Series(steps).value_counts()
    counts = counts[counts.index > pd.Timedelta(0)]
    return counts.index[0].to_timedelta64() if len(counts) else None


def nonfinite_columns(values: np.ndarray) -> np.ndarray:
    """Which columns of a 2-d float array may hold a NaN or an infinity, from one pass of column
    sums (either makes its column's sum non-finite). A column flagged here needs a closer look;
    one not flagged is clean. Much cheaper than isnan and isinf, which each make a mask."""
    def column_sums(rows: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # numpy's error state is per thread
            return np.einsum("ij->j", rows)

    with np.errstate(over="ignore", invalid="ignore"):
        sums = sum(map_row_chunks(column_sums, values), np.zeros(values.shape[1], values.dtype))
    return ~np.isfinite(sums)  # a huge finite sum may be flagged too


def _missing_codes(na_values: Iterable) -> tuple[set[str], list[float]]:
    """data.na_values as the texts a cell may hold and the numbers a parsed cell may equal (as
    pandas' na_values: -9999 marks the cells '-9999' and '-9999.0' alike)."""
    texts, numbers = set(), []
    for value in na_values:
        texts.add(str(value))
        try:
            numbers.append(float(value))
        except (TypeError, ValueError):
            continue
    return texts, [n for n in numbers if not np.isnan(n)]


def numeric(frame: pd.DataFrame, columns: list[str], origin: str,
            na_values: Iterable = ()) -> pd.DataFrame:
    """The named columns as one float32 frame; cells listed in `na_values` become missing. A cell
    that is not a number, an infinite one, one beyond float32's range or a column with no value
    at all is an error naming the row and column."""
    texts, numbers = _missing_codes(na_values)
    already = not texts and list(frame.columns) == list(columns) and all(
        t == np.float32 for t in frame.dtypes)  # the float32 reader's frame: checks only
    out = None if already else np.empty((len(frame), len(columns)), dtype=np.float32)
    # the reader's frame is one float32 array: one pass finds the columns worth checking
    suspect = set(np.asarray(columns)[nonfinite_columns(frame.to_numpy())]) if already else None
    for j, column in enumerate(columns):
        if suspect is not None and column not in suspect:
            continue
        raw = frame[column]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw  # parsed by the reader already: only the checks below remain
        else:
            if texts:  # before parsing: a code such as 'n/a' is not a number
                raw = raw.mask(raw.astype(str).str.strip().isin(texts))
            values = pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                pos = int(np.argmax(bad.to_numpy()))
                raise DataError(
                    f"{origin}: row {line_of(pos)}, column {column!r}: "
                    f"{quoted(raw.iloc[pos])} is not a number",
                    f"{origin}: row {line_of(pos)}, column {column!r}: a cell that is not a "
                    "number")
        if isinstance(values.dtype, np.dtype):
            values = values.to_numpy(dtype=np.float64 if values.dtype.kind != "f" else None)
        else:  # a nullable column: its <NA> becomes NaN
            values = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if numbers:
            values = np.where(np.isin(values, numbers), np.nan, values)
        _check_range(values, raw, column, origin)
        if np.isnan(values).all():
            raise DataError(f"{origin}: column {column!r} has no values (all missing)")
        if out is not None:
            out[:, j] = values
    if out is None:
        return frame
    # wrapping without a copy: the series is large and this is its only float32 copy
    return pd.DataFrame(out, index=frame.index, columns=list(columns), copy=False)


def _check_range(values: np.ndarray, raw: pd.Series, column: str, origin: str) -> None:
    """No infinity, and nothing float32 would turn into one: models compute in float32."""
    with np.errstate(invalid="ignore"):
        beyond = ~(np.abs(values) <= FLOAT32_MAX) & ~np.isnan(values)
    if not beyond.any():
        return
    pos = int(np.argmax(beyond))
    where = f"{origin}: row {line_of(pos)}, column {column!r}"
    if np.isinf(values[pos]):
        raise DataError(f"{where}: infinite value {quoted(raw.iloc[pos])}; replace it or leave the "
                        "cell empty", f"{where}: an infinite value; replace it or leave the "
                        "cell empty")
    raise DataError(f"{where}: {quoted(raw.iloc[pos])} is beyond float32's range "
                    f"(±{FLOAT32_MAX:.3g}), in which models compute; rescale the column (other "
                    "units)",
                    f"{where}: a value beyond float32's range (±{FLOAT32_MAX:.3g}); rescale the "
                    "column (other units)")


def _is_round(value: float) -> bool:
    """-9999, 999, -99999, -1000, 1e6: the numbers files use to mark a missing reading."""
    if not np.isfinite(value) or value != int(value) or abs(value) < 99:
        return False
    digits = str(abs(int(value)))
    return set(digits) == {"9"} or digits.strip("0") == digits[0]


def warn_of_sentinels(frame: pd.DataFrame, origin: str) -> None:
    """Warn where a column's minimum or maximum is a round number that repeats and lies far
    outside the column's other values: a code for a missing reading that would be learnt as a
    value (and dominate the error in original units) unless data.na_values names it."""
    values = frame.to_numpy()
    if not len(values):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: refused before
        lows, highs = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    for j, column in enumerate(frame.columns):
        for extreme, side in ((lows[j], "below"), (highs[j], "above")):
            if not _is_round(float(extreme)):
                continue
            cells = values[:, j]
            at = cells == extreme
            rest = cells[~at & ~np.isnan(cells)].astype(np.float64)
            count = int(at.sum())
            if count < 2 or len(rest) < 2:
                continue
            if abs(float(extreme) - rest.mean()) < SENTINEL_SIGMAS * rest.std():
                continue
            code = f"{float(extreme):g}"
            log.warning("%s: column %r holds %s in %d rows (the first at row %d), more than %g "
                        "standard deviations %s its other values: if it marks a missing "
                        "reading, list it in data.na_values (e.g. data.na_values=[%s])", origin,
                        column, code, count, line_of(int(np.argmax(at))), SENTINEL_SIGMAS, side,
                        code)


def resolve_duplicates(frame: pd.DataFrame, policy: str, origin: str) -> pd.DataFrame:
    """One row per time (a sorted time index; a frame without times is left as it is), as
    data.duplicates says: `error` refuses rows at one time; `drop_exact` drops rows equal to the
    row before them in every column read and refuses rows at one time that differ; `keep_last`
    keeps the last row of each time. Dropping is logged with a count."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        return frame
    times = index.to_numpy()  # sorted: equal times are neighbours (no hash table of them all)
    later = np.flatnonzero(times[1:] == times[:-1]) + 1  # rows at the time of the row before
    if not len(later):
        return frame
    first = int(later[0])
    if policy == "error":
        raise DataError(
            f"{origin}: column {index.name!r}: duplicate timestamp {index[first]} at rows "
            f"{line_of(first - 1)} and {line_of(first)}; keep one row per time, or set "
            "data.duplicates=drop_exact (drops exact copies) or keep_last",
            f"{origin}: column {index.name!r}: rows {line_of(first - 1)} and {line_of(first)} "
            "have the same time; keep one row per time")
    if policy == "keep_last":
        keep = np.ones(len(frame), bool)
        keep[later - 1] = False
        log.warning("%s: %d rows share their time with the row after them (the first at row %d); "
                    "kept the last row of each time (data.duplicates=keep_last)", origin,
                    len(later), line_of(first - 1))
        return frame[keep]
    values = frame.to_numpy()
    now, before = values[later], values[later - 1]
    differ = ~((now == before) | (np.isnan(now) & np.isnan(before)))
    if differ.any():
        row, col = np.argwhere(differ)[0]
        pos = int(later[row])
        raise DataError(
            f"{origin}: rows {line_of(pos - 1)} and {line_of(pos)} share the time "
            f"{index[pos]} but differ in column {frame.columns[col]!r} ({before[row, col]:g} "
            f"and {now[row, col]:g}); keep one row per time, or set data.duplicates=keep_last "
            "to keep the last",
            f"{origin}: rows {line_of(pos - 1)} and {line_of(pos)} have the same time but differ "
            f"in column {frame.columns[col]!r}; keep one row per time")
    keep = np.ones(len(frame), bool)
    keep[later] = False
    log.warning("%s: dropped %d rows that repeat the row before them exactly (the first at row "
                "%d; data.duplicates=drop_exact)", origin, len(later), line_of(first))
    return frame[keep]
