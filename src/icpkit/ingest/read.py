"""Reading raw files (CSV, TSV, Parquet, JSON lines) into string-typed frames.

Everything is read as text first so that type errors can be reported with the
file, row and column they came from.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import InputError

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
MAX_FILE_BYTES = 4 * 1024**3  # beyond this, convert to Parquet and use the SQL engine


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    for encoding in ("utf-8-sig",):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        # cp1252 decodes almost anything: accept it but say so
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise InputError(
                f"the file is not UTF-8 text (undecodable byte at line {line})",
                file=str(path),
                row=line,
                hint="Save it as UTF-8 (in Excel: 'CSV UTF-8'), or convert it with iconv",
            ) from exc
    raise AssertionError("unreachable")


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter from a sample of the file: comma, semicolon, tab or pipe."""
    first = sample.splitlines()[0] if sample else ""
    try:
        dialect = csv.Sniffer().sniff(sample[:65536], delimiters=",;\t|")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    # the sniffer can be fooled by commas in quoted text: trust the header's counts
    counts = {d: first.count(d) for d in ",;\t|"}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] > 0 and counts.get(delim, 0) == 0:
        delim = best
    return delim


def table_shape(path: str | Path, *, chunk: int = 1 << 20) -> tuple[int, int]:
    """(rows, columns) of a data file without loading it: Parquet from its footer,
    CSV and JSON lines by reading 1 MiB at a time.

    For CSV the row count is the number of line ends after the header, an upper
    bound when quoted cells span lines (then the records are counted properly,
    still in batches). Used to refuse files too large for memory before reading.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises several types
            raise InputError(f"not a readable Parquet file ({exc})", file=str(path)) from exc
        return int(meta.num_rows), int(meta.num_columns)
    lines, last, head = 0, b"", b""
    with open(path, "rb") as f:
        while block := f.read(chunk):
            if len(head) < 65536:
                head += block[:65536]
            lines += block.count(b"\n")
            last = block[-1:]
    if last and last != b"\n":
        lines += 1  # the last line has no line end
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    if suffix in JSON_SUFFIXES:
        return lines, max(1, first.count('":'))
    delim = "\t" if suffix == ".tsv" else sniff_delimiter(head.decode("utf-8", "replace"))
    columns = len(next(csv.reader([first], delimiter=delim), [])) or 1
    rows = max(0, lines - 1)
    if b'"' in head or rows == 0:
        rows = _count_records(path, delim)
    return rows, columns


def _count_records(path: Path, delim: str) -> int:
    """CSV records after the header, counted by the CSV reader one line at a time."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return max(0, sum(1 for _ in csv.reader(f, delimiter=delim)) - 1)


def read_frame(path: str | Path, *, encoding: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read one file into a frame of strings (missing cells are ``None``).

    Returns the frame and a list of warnings. Row numbers in later messages are
    line numbers of the file: the header is line 1, the first record line 2.
    """
    path = Path(path)
    warnings: list[str] = []
    if not path.exists():
        raise InputError("file not found", file=str(path), hint="Check the path")
    if path.is_dir():
        raise InputError("is a folder, not a file", file=str(path))
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            "the file is empty", file=str(path), hint="Export it again with a header row and data"
        )
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"the file is {size / 1024**3:.1f} GiB, larger than the in-memory limit of {MAX_FILE_BYTES / 1024**3:.0f} GiB",
            file=str(path),
            hint="Convert it to Parquet and score it with `icp score --engine duckdb`",
        )
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise InputError(f"not a readable Parquet file ({exc})", file=str(path)) from exc
        df = df.astype(object).where(df.notna(), None)
        df = df.map(lambda v: v if v is None or isinstance(v, (list, tuple)) else str(v))
    elif suffix in JSON_SUFFIXES:
        try:
            df = pd.read_json(path, lines=suffix != ".json", dtype=False)
        except ValueError as exc:
            raise InputError(f"not valid JSON lines ({exc})", file=str(path)) from exc
        df = df.astype(object).where(df.notna(), None)
        df = df.map(lambda v: v if v is None else str(v))
    else:
        raw = path.read_bytes()
        if encoding:
            try:
                text = raw.decode(encoding)
            except (UnicodeDecodeError, LookupError) as exc:
                raise InputError(f"cannot decode as {encoding} ({exc})", file=str(path)) from exc
        else:
            text, used = _decode(raw, path)
            if used == "cp1252":
                warnings.append(
                    f"{path}: not UTF-8; read as Windows-1252 (cp1252). Pass --encoding if that is wrong."
                )
        if not text.strip():
            raise InputError("the file has no content", file=str(path))
        delim = "\t" if suffix == ".tsv" else sniff_delimiter(text)
        if delim != ",":
            warnings.append(f"{path}: read with delimiter {delim!r}")
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=delim,
                dtype=str,
                keep_default_na=False,
                na_values=[],
                skipinitialspace=False,
                on_bad_lines="error",
                engine="python" if len(text) < 2_000_000 else "c",
            )
        except pd.errors.ParserError as exc:
            msg = str(exc)
            raise InputError(
                f"malformed CSV ({msg})",
                file=str(path),
                hint="Check for unbalanced quotes or a row with more fields than the header",
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError("the file has no header row", file=str(path)) from exc
        df = df.map(lambda v: None if v is None or (isinstance(v, str) and v.strip() == "") else v)
    if len(df.columns) == 0:
        raise InputError("the file has no columns", file=str(path))
    if len(df) == 0:
        raise InputError("the file has a header but no data rows", file=str(path))
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed:
        warnings.append(f"{path}: {len(unnamed)} column(s) without a header were ignored")
        df = df.drop(columns=unnamed)
    dup = pd.Index(df.columns)[pd.Index(df.columns).duplicated()].tolist()
    if dup:
        raise InputError(
            f"duplicate column header(s) {dup}",
            file=str(path),
            row=1,
            hint="Rename them so each header is unique",
        )
    return df, warnings
