"""Reading a user's table (CSV or Parquet) and checking it, with errors that point at the file,
row and column. Row numbers are the file's line numbers (the header is line 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnops.errors import ConfigError, DataError

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
HEADER_LINES = 1


def line_of(position: int) -> int:
    """File line of the row at 0-based `position` in a CSV with one header line."""
    return position + HEADER_LINES + 1


def _read_csv_float32(path: Path, delimiter: str, time_column: str | None) -> pd.DataFrame | None:
    """Fast, lean path for the common case: every column but the time column read as float32
    by pyarrow's reader (no float64 frame, no parser buffers of Python objects). None when some
    cell is not a number: the pandas path then finds and reports it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = pd.read_csv(path, sep=delimiter, nrows=0, encoding="utf-8").columns
    if len(header) < 2 or len(set(header)) != len(header):
        return None
    types = {str(c): pa.float32() for c in header if c != time_column}
    if time_column in header:
        types[time_column] = pa.string()
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types=types),
            # malloc instead of arrow's own pool, which kept ~4x the table resident here
            memory_pool=pa.system_memory_pool(),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    # One row-major float32 array for the numeric columns: prepare scales and saves this very
    # array, so the series is never held twice after the arrow table is gone.
    numeric = [c for c in table.column_names if c != time_column]
    values = np.empty((table.num_rows, len(numeric)), dtype=np.float32)
    for j, name in enumerate(numeric):
        values[:, j] = table.column(name).to_numpy()
    frame = pd.DataFrame(values, columns=numeric, copy=False)
    if time_column in table.column_names:
        frame.insert(0, time_column, table.column(time_column).to_pandas())
    return frame


def read_table(path: Path, delimiter: str = ",", time_column: str | None = None) -> pd.DataFrame:
    """The file as a frame: numeric columns parsed, anything else left as text for the checks."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        raise DataError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file; check data.path")
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    else:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty; it needs a header line and rows")
        try:
            frame = _read_csv_float32(path, delimiter, time_column)
            if frame is None:
                # The C parser makes clean numeric columns float64; a column with a bad cell stays
                # text, and to_numeric then reports that cell's row.
                frame = pd.read_csv(path, sep=delimiter, encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8; "
                "save the file as UTF-8"
            ) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; it needs a header line and rows") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: not a valid CSV ({str(exc).strip()})") from None
    if frame.empty:
        raise DataError(f"{path}: a header but no rows")
    if len(frame.columns) == 1 and delimiter not in str(frame.columns[0]):
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in str(frame.columns[0]):
                raise DataError(
                    f"{path}: one column {frame.columns[0]!r} was read; the file seems to be "
                    f"separated by {other!r}: set data.delimiter={other!r}"
                )
    return frame


def set_time_index(frame: pd.DataFrame, column: str, origin: str) -> pd.DataFrame:
    """Parse `column` as timestamps and make it the index; it must be sorted and unique."""
    if column not in frame.columns:
        raise ConfigError(
            "data.time_column",
            f"no column {column!r} in {origin}; columns are {', '.join(map(str, frame.columns))}",
        )
    raw = frame[column]
    times = pd.to_datetime(raw, errors="coerce")
    bad = times.isna()
    if bad.any():
        pos = int(np.argmax(bad.to_numpy()))
        raise DataError(
            f"{origin}: row {line_of(pos)}, column {column!r}: {raw.iloc[pos]!r} is not a timestamp"
        )
    values = times.to_numpy()
    steps = np.diff(values)
    if (steps < np.timedelta64(0)).any():
        pos = int(np.argmax(steps < np.timedelta64(0))) + 1
        raise DataError(
            f"{origin}: column {column!r} is not sorted: row {line_of(pos)} ({raw.iloc[pos]}) "
            f"comes before row {line_of(pos - 1)} ({raw.iloc[pos - 1]}); sort the file by time"
        )
    if (steps == np.timedelta64(0)).any():
        pos = int(np.argmax(steps == np.timedelta64(0))) + 1
        raise DataError(
            f"{origin}: column {column!r}: duplicate timestamp {raw.iloc[pos]} at rows "
            f"{line_of(pos - 1)} and {line_of(pos)}; keep one row per time"
        )
    return frame.drop(columns=[column]).set_index(pd.DatetimeIndex(times, name=column))


def to_numeric(frame: pd.DataFrame, columns: list[str], origin: str) -> pd.DataFrame:
    """The named columns as one float32 frame; a cell that is not a number, an infinite value or
    a column with no value at all is an error naming the row and column."""
    already = list(frame.columns) == list(columns) and all(
        t == np.float32 for t in frame.dtypes)  # the float32 reader's frame: checks only
    out = None if already else np.empty((len(frame), len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        raw = frame[column]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw  # parsed by the reader already: only the checks below remain
        else:
            values = pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                pos = int(np.argmax(bad.to_numpy()))
                raise DataError(
                    f"{origin}: row {line_of(pos)}, column {column!r}: "
                    f"{raw.iloc[pos]!r} is not a number"
                )
        values = values.to_numpy(dtype=np.float64 if values.dtype.kind != "f" else None)
        infinite = np.isinf(values)
        if infinite.any():
            pos = int(np.argmax(infinite))
            raise DataError(
                f"{origin}: row {line_of(pos)}, column {column!r}: infinite value "
                f"{raw.iloc[pos]!r}; replace it or leave the cell empty"
            )
        if np.isnan(values).all():
            raise DataError(f"{origin}: column {column!r} has no values (all missing)")
        if out is not None:
            out[:, j] = values
    if out is None:
        return frame
    # wrapping without a copy: the series is large and this is its only float32 copy
    return pd.DataFrame(out, index=frame.index, columns=list(columns), copy=False)
