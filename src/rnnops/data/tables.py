"""Reading a user's table (CSV or Parquet), with errors that point at the file and line: the
file-level checks (encoding, separator, header). The cells are checked by rnnops.data.validate,
for training files and served histories alike."""

from __future__ import annotations

import csv
import itertools
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rnnops.data.memory import release_free_memory, retain_freed_memory
from rnnops.data.validate import HEADER_LINES, check_names, nonfinite_columns
from rnnops.errors import DataError
from rnnops.machine import usable_cores

log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SAMPLE_ROWS = 100  # rows read first to learn the header and the time column's format
TIME_UNIT = "us"  # pandas' resolution for parsed text: the same index either way
TRIM_BYTES = 32 << 20  # hand freed table memory back to the OS after this much was copied
MAX_PARSERS = 8  # each holds a piece and parser buffers a few times its size
PIECE_BYTES = 16 << 20  # text per piece of the numeric reader: fewer parser calls, bounded buffers


def _time_type(sample: pd.Series):
    """Arrow's type for the time column: timestamps when the sample's cells are ISO 8601, which
    arrow parses in the reader (about 10x faster than pd.to_datetime on strings), else text for
    pandas to parse. A later cell that arrow cannot parse sends the file to the pandas path."""
    cells = sample.dropna()
    if cells.empty:
        return pa.string()
    try:
        pc.cast(pa.array(cells.tolist(), pa.string()), pa.timestamp(TIME_UNIT))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.string()
    return pa.timestamp(TIME_UNIT)


def _float32_values(column) -> np.ndarray:
    """A float32 arrow array as numpy: a view of its buffer when it has no nulls (arrow's own
    to_numpy costs ~80 us a call, which adds up over thousands of batches), else with NaN."""
    if column.null_count:
        return column.to_numpy(zero_copy_only=False)
    return np.frombuffer(column.buffers()[1], dtype=np.float32, count=len(column),
                         offset=column.offset * 4)


def _fill_rows(values: np.ndarray, batches: list) -> None:
    """Copy arrow record batches (float32 columns) into the row-major `values`, freeing each
    batch once copied; the list is emptied on the way."""
    row, freed = 0, 0
    for i, batch in enumerate(batches):
        batches[i] = None  # the list must not keep the batch alive once it is copied
        n = batch.num_rows
        values[row : row + n].T[...] = [_float32_values(c) for c in batch.columns]
        row, freed = row + n, freed + batch.nbytes
        del batch
        if freed >= TRIM_BYTES:  # one trim costs milliseconds: not after every batch
            release_free_memory()
            freed = 0
    release_free_memory()


class _PieceReader:
    """A file-like view of one piece for pandas' parser, which reads it in blocks."""
    def __init__(self, piece: memoryview):
        self.piece, self.position = piece, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.piece) if size < 0 else min(len(self.piece), self.position + size)
        block = bytes(self.piece[self.position : end])
        self.position = end
        return block


def _line_pieces(f: BinaryIO, piece_bytes: int, ring: int) -> Iterator[memoryview]:
    """Consecutive runs of whole lines of `f`, read into `ring` buffers that are reused in turn:
    a piece stays valid until `ring - 1` more have been taken. A line longer than a buffer is
    a ValueError."""
    buffers = [bytearray(piece_bytes) for _ in range(ring)]
    tail = b""  # the cut-off start of a line, moved to the front of the next buffer
    for i in itertools.count():
        buffer = buffers[i % ring]
        view = memoryview(buffer)
        view[: len(tail)] = tail
        end = len(tail) + f.readinto(view[len(tail) :])
        if end == len(tail):  # end of file
            if tail:
                yield view[:end]
            return
        cut = buffer.rfind(b"\n", 0, end) + 1
        if cut == 0 and end == len(buffer):
            raise ValueError(f"a line longer than {piece_bytes} bytes")
        cut = cut or end
        tail = bytes(view[cut:end])
        yield view[:cut]


def _parse_piece(piece: memoryview, delimiter: str, columns: list[str]) -> np.ndarray:
    frame = pd.read_csv(_PieceReader(piece), sep=delimiter, header=None, names=columns,
                        encoding="utf-8", dtype=np.float32, engine="c")
    return frame.to_numpy()


def _read_numeric_csv(path: Path, delimiter: str, columns: list[str]) -> pd.DataFrame | None:
    """A file of numbers only, parsed as float32 by pandas' C parser, one piece of lines per
    core at a time (its tokenizer and number conversion release the GIL), each copied in file
    order into one row-major array: no table of the whole file is built, and only the pieces
    in flight are held as text. None when some cell is not a number."""
    workers = min(usable_cores(), MAX_PARSERS)
    row_bytes = max(1.0, _bytes_per_row(path))
    values = np.empty((int(path.stat().st_size / row_bytes * 1.1) + 1, len(columns)), np.float32)
    row = 0
    # Each piece's parser allocates buffers about the size of the piece; glibc would map and
    # unmap them for every piece (page faults cost more than the parse). Kept freed memory is
    # reused by the next piece and handed back once the file is read; the setting stays, as
    # training sets it anyway (trainer.allocator=retain).
    retain_freed_memory()
    with ThreadPoolExecutor(workers) as pool, open(path, "rb") as f:
        f.readline()  # the header, already read
        pending: deque[Future[np.ndarray]] = deque()
        try:
            # One piece more than workers is queued, so no core idles while the oldest is
            # copied; the ring keeps every queued piece valid while the next one is read.
            for piece in _line_pieces(f, PIECE_BYTES, ring=workers + 1):
                pending.append(pool.submit(_parse_piece, piece, delimiter, columns))
                if len(pending) > workers:
                    values, row = _append_rows(values, row, pending.popleft().result())
            while pending:
                values, row = _append_rows(values, row, pending.popleft().result())
        except ValueError:  # a cell that is not a number: the checking path names it
            for parse in pending:
                parse.cancel()
            return None
        finally:
            release_free_memory()
    # Pages past `row` were never written, so the spare capacity costs address space, not memory.
    return pd.DataFrame(values[:row], columns=columns, copy=False)


def _append_rows(values: np.ndarray, row: int, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """`rows` copied into `values` from `row` on, growing `values` when the estimate of the
    file's rows from its first lines was short."""
    n = len(rows)
    if row + n > len(values):
        grown = np.empty((2 * (row + n), values.shape[1]), np.float32)
        grown[:row] = values[:row]
        values = grown
    values[row : row + n] = rows
    return values, row + n


def _bytes_per_row(path: Path) -> float:
    """Mean length of the data lines among the first 64 KiB of the file."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    lines = head.split(b"\n")[HEADER_LINES:-1]  # the last one may be cut off
    return sum(map(len, lines)) / len(lines) + 1 if lines else float(len(head))


def _read_csv_float32(path: Path, delimiter: str, time_column: str | None) -> pd.DataFrame | None:
    """Fast, lean path for the common case: every column but the time column read as float32
    (no float64 frame, no parser buffers of Python objects), the time column as timestamps when
    it is ISO 8601. None when some cell is not a number (or not a timestamp of the sample's
    kind): the pandas path then finds and reports it."""
    sample = pd.read_csv(path, sep=delimiter, nrows=SAMPLE_ROWS, encoding="utf-8", dtype=str)
    header = sample.columns
    if len(header) < 2 or len(set(header)) != len(header):
        return None
    if time_column not in header:
        return _read_numeric_csv(path, delimiter, [str(c) for c in header])
    # With a time column, arrow: it parses ISO 8601 timestamps in its reader, about 10x faster
    # than pd.to_datetime on strings.

    types = {str(c): pa.float32() for c in header if c != time_column}
    types[time_column] = _time_type(sample[time_column])
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
    # array. It is filled batch by batch while the table's memory is released, so the table and
    # the array are not both held in full (the peak is about one copy of the series).
    numeric = [c for c in table.column_names if c != time_column]
    times = table.column(time_column)
    values = np.empty((table.num_rows, len(numeric)), dtype=np.float32)
    batches = table.select(numeric).to_batches()
    del table
    _fill_rows(values, batches)
    frame = pd.DataFrame(values, columns=numeric, copy=False)
    frame.insert(0, time_column, times.to_pandas())
    return frame


def format_of(name: str) -> str | None:
    """csv or parquet by a file name's suffix; None when the suffix says neither."""
    suffix = Path(name).suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "csv" if suffix in CSV_SUFFIXES else None


def read_table(path: Path, delimiter: str = ",", time_column: str | None = None,
               fmt: str = "auto") -> pd.DataFrame:
    """The file as a frame: numeric columns parsed, anything else left as text for the checks.
    `fmt` (data.format) is csv, parquet, or auto: by the file's suffix."""
    if fmt == "auto":
        fmt = format_of(path.name)
        if fmt is None:
            raise DataError(f"{path}: unknown file type {path.suffix.lower()!r}; use .csv or "
                            ".parquet, or set data.format=csv or data.format=parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file; check data.path")
    if fmt == "parquet":
        try:

            check_names(pq.read_schema(path).names, str(path))
            frame = pd.read_parquet(path)
        except DataError:
            raise
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    else:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty; it needs a header line and rows")
        try:
            # pandas would read a name given twice as OT and OT.1, arrow refuse it with a trace
            check_names(_csv_header(path, delimiter), str(path))
            frame = _read_csv_float32(path, delimiter, time_column)
            if frame is not None and _holds_infinity(frame):
                frame = None  # "inf", or a number beyond float32 such as 1e39: tell which below
            if frame is None:
                # The C parser makes clean numeric columns float64; a column with a bad cell stays
                # text, and the checks then report that cell's row.
                frame = pd.read_csv(path, sep=delimiter, encoding="utf-8")
        except UnicodeDecodeError:
            offset, byte, line = _first_non_utf8(path)
            raise DataError(f"{path}: line {line} is not UTF-8 (byte 0x{byte:02x} at offset "
                            f"{offset}); save the file as UTF-8") from None
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


def _holds_infinity(frame: pd.DataFrame) -> bool:
    """Whether a float32 frame of the fast reader holds an infinity: one pass of column sums,
    then a closer look at the columns they flag."""
    values = frame.select_dtypes(np.float32).to_numpy()
    return any(np.isinf(values[:, j]).any() for j in np.flatnonzero(nonfinite_columns(values)))


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The names in a CSV file's first line, as its reader splits them (quotes and all)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f, delimiter=delimiter), [])


def _first_non_utf8(path: Path, block: int = 16 << 20) -> tuple[int, int, int]:
    """(offset, byte, line) of the first byte of `path` that is not UTF-8. Blocks end at a line
    break, which never splits a character: a newline byte is never part of a multi-byte one."""
    offset, line, tail = 0, 1, b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(block)
            data = tail + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            piece, tail = data[:cut], data[cut:]
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                return offset + exc.start, piece[exc.start], line + piece.count(b"\n", 0,
                                                                               exc.start)
            offset, line = offset + len(piece), line + piece.count(b"\n")
            if not chunk:
                return offset, 0, line  # not reached: the reader found a bad byte
