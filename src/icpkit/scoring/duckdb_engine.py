"""The DuckDB engine: CSV or Parquet files scored with the compiled SQL, out of core."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlglot import exp

from ..csvsafe import safe_select
from ..errors import InputError
from ..icpfile import ICP
from ..schema import ColumnMapping
from .inputs import (
    _bad_value_warnings,
    _bad_values_query,
    _expand,
    _numeric_text_attrs,
    _plan_columns,
)
from .output import PARQUET_SUFFIXES, TEXT_COLUMNS, EngineResult
from .progress import ProgressFn, _progress_fn
from .scorer import absent_warnings, conditions, number_attributes
from .sql import FEW_VALUES, build_query

# CSV column types DuckDB may detect; dates and times stay text, as pandas reads them
_CSV_TYPES = ["BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR"]
_RAW_VIEW = "icpkit_raw"


def _duckdb_run(con: Any, sql: str, progress: ProgressFn | None) -> Any:
    """Run one statement; report DuckDB's own progress estimate while it runs."""
    if progress is None:
        return con.execute(sql)
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    con.execute("SET progress_bar_time = 0")
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            try:
                pct = con.query_progress()
            except Exception:  # the connection is busy finishing; try again
                continue
            if pct >= 0:
                progress(pct / 100.0)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        return con.execute(sql)
    finally:
        done.set()
        watcher.join()
        progress(1.0)


# -- DuckDB ---------------------------------------------------------------------------

# Text columns are read once per distinct value, not once per cell: the values
# found in the first LOOKUP_ROWS rows, if there are at most LOOKUP_VALUES of them,
# are cleaned and tested by the Python kernel and each cell holding one is read
# by a hash lookup (see build_query's ``lookups``); other cells by the SQL.
LOOKUP_ROWS = 100_000
LOOKUP_VALUES = 1_000
# A lookup of more than sql.FEW_VALUES values is coded by an ENUM cast, and a cell whose
# value is not in the ENUM fails the cast: DuckDB formats an error message naming the
# whole ENUM type, so a failed cast costs about 0.06 microseconds per value of the
# lookup (60 for 1,000 values), where reading the cell per cell by the SQL costs well
# under one. So such a lookup is kept only when values the first rows did not show are
# rare. In a Parquet input the column's every value is looked up instead, when the file
# holds at most WHOLE_FILE_VALUES (0: never): reading one Parquet column's distinct
# values is cheap, where a CSV would be parsed again. Otherwise the share of cells whose
# value the first rows did not show is estimated by Good-Turing (the share of the
# sampled cells holding a value seen only once) and the lookup kept when that share
# times its number of values is at most UNSEEN_BUDGET (the expected cost per cell of the
# failed casts, in units of one value's 0.06 microseconds: 2 is about 0.12).
WHOLE_FILE_VALUES = 4_096
UNSEEN_BUDGET = 2.0


def _lookups(
    con: Any, columns: dict[str, str], conds: Sequence[Any], *, whole_file: bool = False
) -> dict[str, list[str]]:
    """The distinct values of the tested text columns, in the first rows, where few.

    A column coded by an ENUM cast (more than ``sql.FEW_VALUES`` values) gets every
    value of the file with ``whole_file`` (a Parquet input) where there are at most
    :data:`WHOLE_FILE_VALUES`; otherwise it keeps its lookup only where the first rows
    are the whole input or values they did not show are rare (:data:`UNSEEN_BUDGET`).
    """
    used = sorted({c.attribute for c in conds} & {k for k, v in columns.items() if v == "VARCHAR"})
    if not used:
        return {}
    sample = exp.select(*[exp.column(c, quoted=True) for c in used]).from_(_RAW_VIEW)
    sample = sample.limit(LOOKUP_ROWS + 1)  # one more: whether the first rows are all
    parts: list[exp.Expr] = [exp.Count(this=exp.Star())]
    for c in used:
        col = exp.column(c, quoted=True)
        few = exp.LTE(
            this=exp.Count(this=exp.Distinct(expressions=[col.copy()])),
            expression=exp.Literal.number(LOOKUP_VALUES),
        )
        # a column of NULLs only has no histogram: an empty lookup (NULL is coded too)
        counts = exp.Coalesce(
            this=exp.Anonymous(this="histogram", expressions=[col.copy()]),
            expressions=[exp.Anonymous(this="map", expressions=[])],
        )
        parts.append(exp.Case(ifs=[exp.If(this=few, true=counts)]))
    row = con.execute(exp.select(*parts).from_(sample.subquery("s")).sql("duckdb")).fetchone()
    sampled, histograms = int(row[0]), row[1:]
    found: dict[str, list[str]] = {}
    unseen: dict[str, float] = {}
    for c, counts in zip(used, histograms, strict=True):
        if counts is None:
            continue
        kept = {str(v): int(n) for v, n in counts.items() if v is not None}
        found[c] = sorted(kept)
        cells = sum(kept.values())
        unseen[c] = sum(1 for n in kept.values() if n == 1) / cells if cells else 0.0
    many = [c for c, values in found.items() if len(values) > FEW_VALUES]
    if not many or sampled <= LOOKUP_ROWS:  # no ENUM, or the first rows are every row
        return found
    whole = _whole_file_values(con, many) if whole_file and WHOLE_FILE_VALUES > 0 else {}
    found.update(whole)
    for c in many:
        if c not in whole and unseen[c] * len(found[c]) > UNSEEN_BUDGET:
            del found[c]  # read per cell: failed casts would cost more
    return found


def _whole_file_values(con: Any, names: list[str]) -> dict[str, list[str]]:
    """Every distinct value of each column, where the file holds at most
    :data:`WHOLE_FILE_VALUES` of them (HyperLogLog's estimate first, so a column of
    many values is never gathered; its error is a few percent, hence the margin)."""
    cols = [exp.column(c, quoted=True) for c in names]
    estimates = con.execute(
        exp.select(
            *[exp.Anonymous(this="approx_count_distinct", expressions=[c.copy()]) for c in cols]
        )
        .from_(_RAW_VIEW)
        .sql("duckdb")
    ).fetchone()
    few = [
        (name, col)
        for name, col, n in zip(names, cols, estimates, strict=True)
        if n is not None and n <= WHOLE_FILE_VALUES * 1.1
    ]
    if not few:
        return {}
    every = [
        exp.Anonymous(this="list", expressions=[exp.Distinct(expressions=[col.copy()])])
        for _, col in few
    ]
    row = con.execute(exp.select(*every).from_(_RAW_VIEW).sql("duckdb")).fetchone()
    out = {}
    for (name, _), values in zip(few, row, strict=True):
        kept = sorted(str(v) for v in values or () if v is not None)
        if len(kept) <= WHOLE_FILE_VALUES:
            out[name] = kept
    return out


def _named(name: str, value: exp.Expr) -> exp.Expr:
    return exp.EQ(this=exp.column(name), expression=value)


def _type_candidates() -> exp.Expr:
    """``auto_type_candidates``: the CSV column types DuckDB may detect (``_CSV_TYPES``)."""
    return _named(
        "auto_type_candidates", exp.Array(expressions=[exp.Literal.string(t) for t in _CSV_TYPES])
    )


def _struct(pairs: dict[str, str]) -> exp.Expr:
    return exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier(k, quoted=True), expression=exp.Literal.string(v))
            for k, v in pairs.items()
        ]
    )


# sniff_csv's fields, in read_csv's names; "(empty)" stands for no character
_SNIFFED = {
    "Delimiter": "delim",
    "Quote": "quote",
    "Escape": "escape",
    "NewLineDelimiter": "new_line",
    "Comment": "comment",
    "SkipRows": "skip",
    "HasHeader": "header",
}


def _sniff_csv(con: Any, file: str, encoding: str | None) -> dict[str, Any] | None:
    """DuckDB's own reading of one CSV file's dialect and column types, found once.

    ``read_csv`` would sniff the file again for every statement that reads it
    (the column names, the lookups' sample, the scoring ``COPY``); the later
    reads are given these options with ``auto_detect = false`` instead, which is
    what DuckDB itself suggests for the file (``sniff_csv``'s ``Prompt``). None
    where the file cannot be sniffed (its own read then reports why).
    """
    args: list[exp.Expr] = [
        exp.Literal.string(file),
        _type_candidates(),
    ]
    if encoding:
        args.append(_named("encoding", exp.Literal.string(encoding)))
    fields = [*_SNIFFED, "Columns", "DateFormat", "TimestampFormat"]
    sql = exp.select(*[exp.column(f, quoted=True) for f in fields]).from_(
        exp.Table(this=exp.Anonymous(this="sniff_csv", expressions=args))
    )
    try:
        row = con.execute(sql.sql("duckdb")).fetchone()
    except Exception:  # noqa: BLE001 - the full read raises the error that names the file
        return None
    got = dict(zip(fields, row, strict=True))
    if got["DateFormat"] or got["TimestampFormat"] or not got["Columns"]:
        return None  # not expected with text, number and boolean candidates: sniff each read
    options: dict[str, Any] = {
        read: ("" if got[key] == "(empty)" else got[key]) for key, read in _SNIFFED.items()
    }
    options["columns"] = {str(c["name"]): str(c["type"]) for c in got["Columns"]}
    return options


def _duckdb_reader(
    files: list[str],
    fmt: str,
    types: dict[str, str],
    encoding: str | None,
    sniffed: dict[str, Any] | None = None,
) -> exp.Expr:
    args: list[exp.Expr] = [exp.Array(expressions=[exp.Literal.string(f) for f in files])]
    if fmt == "csv" and sniffed is not None:  # one file, its dialect and types known
        args.append(_named("auto_detect", exp.false()))
        for key, value in sniffed.items():
            if key == "columns":
                args.append(_named(key, _struct({**value, **types})))
            elif isinstance(value, bool):
                args.append(_named(key, exp.true() if value else exp.false()))
            elif isinstance(value, int):
                args.append(_named(key, exp.Literal.number(value)))
            else:
                args.append(_named(key, exp.Literal.string(str(value))))
    else:
        args.append(_named("union_by_name", exp.true()))
        if fmt == "csv":
            args.append(_type_candidates())
            if types:
                args.append(_named("types", _struct(types)))
    if fmt == "csv" and encoding:
        args.append(_named("encoding", exp.Literal.string(encoding)))
    fn = "read_parquet" if fmt == "parquet" else "read_csv"
    return exp.Table(this=exp.Anonymous(this=fn, expressions=args))


_CONVERT = re.compile(r'converting column "(?P<col>(?:[^"]|"")+)"')


def _duckdb_error(exc: Exception, file: str) -> InputError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = str(exc).lower()
    if "unicode" in low or "encoding" in low:
        return InputError(
            f"DuckDB cannot read the file as text ({msg})",
            file=file,
            hint="Pass --encoding latin-1 (or utf-16), save it as UTF-8, or score it with --engine python",
        )
    return InputError(f"DuckDB could not read the input ({msg})", file=file)


def score_duckdb(
    icp: ICP,
    path_or_paths: str | Path | Sequence[str | Path],
    *,
    out: str | Path | None = None,
    id_column: str | None = None,
    mapping: ColumnMapping | None = None,
    encoding: str | None = None,
    progress: ProgressFn | bool | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    reasons: bool = True,
) -> EngineResult:
    """Score CSV or Parquet files with the compiled DuckDB SQL, out of core.

    Parameters
    ----------
    icp : ICP
        The loaded ``icp.yaml``.
    path_or_paths : path, folder, glob or list of them
        CSV or Parquet files of one format; several files are matched by
        column name (``union_by_name``).
    out : path, optional
        Write the scores here (``.parquet``/``.pq`` as Parquet, else CSV),
        streamed by ``COPY`` without holding the rows in memory. Without it
        the scores are returned in ``EngineResult.frame``. Either way the rows
        are in the input's order.
    id_column : str, optional
        The file's account id column (default: found by its usual names).
    mapping : ColumnMapping, optional
        The ``accounts``/``market`` section of a mapping file.
    encoding : str, optional
        CSV text encoding DuckDB should use (``utf-8``, ``latin-1``, ``utf-16``).
    progress : callable or bool, optional
        ``progress(fraction)`` is called while the query runs; ``True`` shows
        a progress bar on a terminal.
    threads, memory_limit : optional
        DuckDB settings (default: all cores, 80% of memory).
    reasons : bool
        ``False`` leaves out the ``reasons`` column (score, tier and route
        only).

    Text columns are read once per distinct value where the first
    :data:`LOOKUP_ROWS` rows hold at most :data:`LOOKUP_VALUES` values (see
    :func:`~icpkit.scoring.sql.build_query`'s ``lookups``); in a Parquet input, a
    column with many of them is looked up with every value of the file (see
    :data:`WHOLE_FILE_VALUES`); elsewhere such a column keeps its lookup only where
    values the first rows did not show are rare (see :data:`UNSEEN_BUDGET`).

    Returns
    -------
    EngineResult
        Row count, tier and route counts, warnings, and ``frame`` or ``path``.
    """
    import duckdb

    started = time.perf_counter()
    files, fmt = _expand(path_or_paths)
    label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
    con = duckdb.connect()
    try:
        # DuckDB would run a long IN list (the null words) as a join: slower than the
        # comparisons here, and a join does not keep the rows in the input's order
        con.execute("SET disabled_optimizers = 'in_clause'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute(
                exp.Set(
                    expressions=[
                        exp.SetItem(
                            this=exp.EQ(
                                this=exp.column("memory_limit"),
                                expression=exp.Literal.string(memory_limit),
                            )
                        )
                    ]
                ).sql("duckdb")
            )
        overrides: dict[str, str] = {}
        retyped: list[str] = []
        sniffed = _sniff_csv(con, files[0], encoding) if fmt == "csv" and len(files) == 1 else None
        for _ in range(256):
            try:
                result = _duckdb_attempt(
                    con, icp, files, fmt, label, overrides, out, id_column, mapping, encoding,
                    progress, reasons, sniffed,
                )  # fmt: skip
            except duckdb.ConversionException as exc:
                m = _CONVERT.search(str(exc))
                if fmt != "csv" or not m or m.group("col").replace('""', '"') in overrides:
                    raise _duckdb_error(exc, label) from exc
                col = m.group("col").replace('""', '"')
                overrides[col] = "VARCHAR"  # a later row contradicts the detected type
                retyped.append(col)
                continue
            except (duckdb.InvalidInputException, duckdb.IOException) as exc:
                raise _duckdb_error(exc, label) from exc
            break
        else:  # pragma: no cover - every column would have been retyped by then
            raise InputError("could not settle the column types of the input", file=label)
        if retyped:
            result.notes.append(
                f"read as text because later rows hold other values: {', '.join(retyped)}"
            )
        result.seconds = time.perf_counter() - started
        return result
    finally:
        con.close()


def _duckdb_attempt(
    con: Any,
    icp: ICP,
    files: list[str],
    fmt: str,
    label: str,
    overrides: dict[str, str],
    out: str | Path | None,
    id_column: str | None,
    mapping: ColumnMapping | None,
    encoding: str | None,
    progress: ProgressFn | bool | None,
    reasons: bool = True,
    sniffed: dict[str, Any] | None = None,
) -> EngineResult:
    reader = _duckdb_reader(files, fmt, overrides, encoding, sniffed)
    described = con.execute(f"DESCRIBE {exp.select('*').from_(reader).sql('duckdb')}").fetchall()
    names = [str(r[0]) for r in described]
    pairs, warnings = _plan_columns(names, mapping, label, id_column)
    id_source = next(s for s, d in pairs if d == "account_id")
    if fmt == "csv" and overrides.get(id_source) != "VARCHAR":
        overrides[id_source] = "VARCHAR"  # ids stay text: "00123" is not 123
        reader = _duckdb_reader(files, fmt, overrides, encoding, sniffed)
    view = exp.select(
        *[
            exp.alias_(exp.Column(this=exp.to_identifier(s, quoted=True)), d, quoted=True)
            for s, d in pairs
        ]
    ).from_(reader)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_RAW_VIEW} AS {view.sql('duckdb')}")
    columns = {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE {_RAW_VIEW}").fetchall()}
    absent = [a for a in icp.used_attributes() if a not in columns]
    if absent:
        warnings += absent_warnings(icp, absent)
    numeric = _numeric_text_attrs(columns, number_attributes(icp) - set(absent))
    bad: dict[str, int] = {}
    check = _bad_values_query(columns, numeric, _RAW_VIEW, "duckdb")
    if check:
        counts, w = _bad_value_warnings(numeric, con.execute(check).fetchone())
        bad.update(counts)
        warnings += w

    lookups = _lookups(con, columns, conditions(icp), whole_file=fmt == "parquet")
    query = build_query(
        icp, table=_RAW_VIEW, dialect="duckdb", columns=columns, reasons=reasons, lookups=lookups
    )
    sql = query.sql("duckdb", copy=False)  # the tree is read again only for its column names
    result = EngineResult(
        engine="duckdb", rows=0, unknown_attributes=absent, bad_values=bad, warnings=warnings
    )
    with _progress_fn(progress, "scoring") as update:
        if out is None:
            frame = _duckdb_run(con, sql, update).df()
            result.frame = frame
            result.rows = len(frame)
            result.tiers = {str(k): int(v) for k, v in frame["tier"].value_counts().items()}
            result.routes = {str(k): int(v) for k, v in frame["route"].value_counts().items()}
            return result
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        parquet = target.name.lower().endswith(PARQUET_SUFFIXES)
        # ZSTD's level 1 writes files as small as its default level 3 here (11.3 and 11.4
        # MB for 2M scored rows with reasons) for about a fifth less of the query's CPU
        params = (
            [("FORMAT", "PARQUET"), ("COMPRESSION", "ZSTD"), ("COMPRESSION_LEVEL", "1")]
            if parquet
            else [("FORMAT", "CSV"), ("HEADER", "TRUE")]
        )
        body = sql  # the query's text, built once (a large query is not parsed again)
        if not parquet:  # text cells that a spreadsheet would run as formulas get an apostrophe
            cols = list(query.named_selects)
            body = safe_select(sql, [c for c in TEXT_COLUMNS if c in cols], cols, "duckdb")
        copy = (
            f"COPY ({body}) TO {exp.Literal.string(str(tmp)).sql('duckdb')} "
            f"({', '.join(f'{k} {v}' for k, v in params)})"
        )
        try:
            rows = _duckdb_run(con, copy, update).fetchone()[0]
            tmp.replace(target)
        finally:
            if tmp.exists():
                tmp.unlink()
    result.path = target
    result.rows = int(rows)
    # the tier and route counts, read back from the written file (a CSV with
    # DuckDB's own dialect and known columns: nothing to sniff)
    back = exp.Anonymous(
        this="read_parquet" if parquet else "read_csv",
        expressions=[exp.Literal.string(str(target))]
        + (
            []
            if parquet
            else [
                _named("auto_detect", exp.false()),
                _named("header", exp.true()),
                _named("delim", exp.Literal.string(",")),
                _named("quote", exp.Literal.string('"')),
                _named("escape", exp.Literal.string('"')),
                _named("columns", _struct(dict.fromkeys(query.named_selects, "VARCHAR"))),
            ]
        ),
    )
    counts = con.execute(
        f"SELECT tier, route, count(*) FROM {exp.Table(this=back).sql('duckdb')} GROUP BY ALL"
    ).fetchall()
    for tier, route, n in counts:
        result.tiers[str(tier)] = result.tiers.get(str(tier), 0) + int(n)
        result.routes[str(route)] = result.routes.get(str(route), 0) + int(n)
    return result
