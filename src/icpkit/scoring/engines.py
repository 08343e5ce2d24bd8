"""Score account files with the compiled SQL: DuckDB on one machine, Spark on a cluster.

Both engines run the query :func:`icpkit.scoring.sql.compile_sql` builds from
``icp.yaml``, so they give the same ``score``, ``tier``, ``route`` and
``reasons`` as :func:`icpkit.scoring.scorer.score_accounts` on the same rows.
:func:`score_with_engine` is what ``icp score --engine`` calls.

- **duckdb** (:func:`score_duckdb`) reads CSV or Parquet files (several at
  once, matched by column name) and streams the result straight into a CSV or
  Parquet file with ``COPY``, so a market list larger than memory is scored
  without loading it.
- **spark** (:func:`score_spark`) reads a Parquet path (a file, a folder of
  part files or a cluster URI) with PySpark and writes Parquet or CSV. It runs
  in local mode unless ``master``, ``SPARK_MASTER`` or the usual Spark
  configuration (``SPARK_CONF_DIR``'s ``spark-defaults.conf``) names a cluster.
- **python** reads the file into pandas (as ``icp score`` always did) and is
  the only engine that adds timing columns (``--events``) and the per-feature
  ``points_*`` columns.

Reading
-------
Headers are matched to the ICP's attributes as ``icp score`` matches them:
known aliases (``Record ID`` is ``account_id``, ``Number of Employees`` is
``employees``), a mapping file, then the normalised name. A file without an
id column takes the company name as the id. DuckDB types CSV columns as
booleans, whole numbers, decimals or text (dates stay text, the id is always
text); a column whose detected type a later row contradicts is read again as
text. Cells are read by the rules of :mod:`icpkit.scoring.clean`, the same rules
as the python engine and the API (``"$1,200"`` is 1200, ``"n/a"`` is
unknown).

Bad input is counted and warned, never fatal: an attribute the file lacks
scores neutral (0 points, no veto, no tier definition; the warning gives the
points at stake), and a value that is not a number in an attribute the ICP
tests with ``between`` (``"abc"`` among employee counts) scores as unknown
and is counted.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from ..errors import IcpkitError, InputError
from ..icpfile import ICP
from ..schema import TABLES, ColumnMapping, normalize_name
from . import clean
from .scorer import absent_warnings, number_attributes
from .sql import compile_sql

__all__ = [
    "ENGINES",
    "EngineResult",
    "EngineUnavailable",
    "score_duckdb",
    "score_spark",
    "score_with_engine",
]

ENGINES = ("duckdb", "spark", "python")
OUT_COLUMNS = ["account_id", "score", "tier", "route", "reasons"]
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
# CSV column types DuckDB may detect; dates and times stay text, as pandas reads them
_CSV_TYPES = ["BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR"]
_INPUT_VIEW = "icpkit_input"
_RAW_VIEW = "icpkit_raw"

ProgressFn = Callable[[float], None]


class EngineUnavailable(IcpkitError, RuntimeError):
    """This scoring engine cannot run here."""


@dataclass
class EngineResult:
    """What an engine scored: the rows (``frame``) or the file written (``path``).

    ``unknown_attributes`` are attributes the ICP uses that the input lacks;
    ``bad_values`` counts, per attribute, values that are not numbers where
    the ICP expects one. Both also appear in ``warnings``.
    """

    engine: str
    rows: int
    frame: pd.DataFrame | None = None
    path: Path | None = None
    tiers: dict[str, int] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    unknown_attributes: list[str] = field(default_factory=list)
    bad_values: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> list[str]:
        """Two lines for the terminal: rows and destination; tiers and routes."""
        where = f" → {self.path}" if self.path is not None else ""
        return [
            f"scored {self.rows:,} accounts{where}",
            "tiers: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.tiers.items()))
            + " · routes: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.routes.items())),
        ]


# -- inputs -------------------------------------------------------------------------


def _is_uri(p: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", p))


def _format_of(path: str) -> str | None:
    low = path.lower()
    if low.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if low.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _expand(path_or_paths: str | Path | Sequence[str | Path]) -> tuple[list[str], str]:
    """Local files (a folder means its Parquet or CSV files) and their one format."""
    given = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths or [])
    if not given:
        raise InputError("no input files were given")
    files: list[str] = []
    for item in given:
        p = str(item)
        if _is_uri(p) or any(ch in p for ch in "*?["):
            files.append(p)
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*") if f.is_file() and _format_of(f.name))
            found = [f for f in found if not Path(f).name.startswith(("_", "."))]
            if not found:
                raise InputError(
                    "the folder holds no CSV or Parquet files", file=p, hint="Check the path"
                )
            files.extend(found)
        elif not path.exists():
            raise InputError("file not found", file=p, hint="Check the path")
        elif path.stat().st_size == 0:
            raise InputError("the file is empty", file=p)
        else:
            files.append(p)
    formats = {_format_of(f) for f in files}
    if None in formats:
        bad = next(f for f in files if _format_of(f) is None)
        raise InputError(
            "the SQL engines read CSV (.csv, .tsv, .txt) or Parquet (.parquet, .pq) files",
            file=bad,
            hint="Convert it, or score it with --engine python",
        )
    if len(formats) > 1:
        raise InputError(
            "the input mixes CSV and Parquet files; give files of one format",
            file=", ".join(files[:3]),
        )
    return files, formats.pop()  # type: ignore[return-value]


def _plan_columns(
    names: Sequence[str],
    mapping: ColumnMapping | None,
    file: str,
    id_column: str | None,
) -> tuple[list[tuple[str, str]], list[str]]:
    """``(source, canonical)`` column pairs, matched exactly as ``icp score`` reads a file.

    Raises the same "required column is missing" error as the python engine
    when neither an id column nor a company name is found.
    """
    from ..ingest.canonical import _missing_required, map_columns

    mapping = copy.deepcopy(mapping) if mapping is not None else ColumnMapping()
    if id_column and id_column != "account_id":
        mapping.columns = {**mapping.columns, id_column: "account_id"}
    table = TABLES["market"]
    header = pd.DataFrame(columns=list(names))
    renamed, _ = map_columns(header, table, mapping, file)
    pairs = list(zip(names, [str(c) for c in renamed.columns], strict=True))
    warnings: list[str] = []
    dropped = {normalize_name(c) for c in mapping.exclude}
    pairs = [(s, d) for s, d in pairs if d not in dropped]
    targets = [d for _, d in pairs]
    if "account_id" not in targets:
        if "name" in targets:
            source = next(s for s, d in pairs if d == "name")
            pairs.append((source, "account_id"))
            warnings.append(f"{file}: no id column; the company name is used as the account id")
        else:
            _missing_required(renamed, table, file)
    return pairs, warnings


def _bad_values_query(
    columns: Mapping[str, str], attrs: Sequence[str], table: str, dialect: str
) -> str | None:
    """One aggregate counting, per attribute, values that are not numbers (and one example),
    by the number rule of :mod:`icpkit.scoring.clean`."""
    picked = []
    for a in attrs:
        t = (columns.get(a) or "").strip().upper()
        if t in ("VARCHAR", "STRING", "TEXT") or t.startswith(("VARCHAR", "CHAR", "STRING")):
            picked.append((a, "text"))
        elif t in ("BOOLEAN", "BOOL"):
            picked.append((a, "bool"))
    if not picked:
        return None
    selects: list[exp.Expr] = []
    for i, (a, kind) in enumerate(picked):
        col = exp.Column(this=exp.to_identifier(a, quoted=True))
        text = exp.Cast(this=col.copy(), to=exp.DataType.build("text"))
        if kind == "bool":
            bad: exp.Expr = exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null()))
        else:
            bad = clean.sql_bad_number(col.copy())
        case_n = exp.Case(ifs=[exp.If(this=bad.copy(), true=exp.Literal.number(1))])
        case_v = exp.Case(ifs=[exp.If(this=bad.copy(), true=text.copy())])
        selects.append(exp.alias_(exp.Count(this=case_n), f"n{i}"))
        selects.append(exp.alias_(exp.Min(this=case_v), f"e{i}"))
    query = exp.select(*selects).from_(exp.to_table(table))
    return query.sql(dialect=dialect)


def _bad_value_warnings(
    picked: Sequence[str], row: Sequence[Any] | None
) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    warnings: list[str] = []
    if row is None:
        return counts, warnings
    for i, a in enumerate(picked):
        n = int(row[2 * i] or 0)
        if n:
            counts[a] = n
            example = row[2 * i + 1]
            warnings.append(
                f"{n:,} value(s) of '{a}' are not numbers and score as unknown (e.g. {example!r})"
            )
    return counts, warnings


def _numeric_text_attrs(columns: Mapping[str, str], attrs: set[str]) -> list[str]:
    out = []
    for a in sorted(attrs):
        t = (columns.get(a) or "").strip().upper()
        if t.startswith(("VARCHAR", "CHAR", "STRING", "TEXT")) or t in ("BOOLEAN", "BOOL"):
            out.append(a)
    return out


# -- progress ------------------------------------------------------------------------


@contextmanager
def _rich_bar(description: str) -> Iterator[ProgressFn]:
    """A progress bar on stderr (only on a terminal); yields ``update(fraction)``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=1.0)
        yield lambda f: progress.update(task, completed=max(0.0, min(1.0, f)))


@contextmanager
def _progress_fn(
    progress: ProgressFn | bool | None, description: str
) -> Iterator[ProgressFn | None]:
    if progress is True:
        with _rich_bar(description) as update:
            yield update
    elif callable(progress):
        yield progress
    else:
        yield None


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


def _duckdb_reader(files: list[str], fmt: str, types: dict[str, str], encoding: str | None):
    args: list[exp.Expr] = [exp.Array(expressions=[exp.Literal.string(f) for f in files])]

    def named(name: str, value: exp.Expression) -> None:
        args.append(exp.EQ(this=exp.column(name), expression=value))

    named("union_by_name", exp.true())
    if fmt == "csv":
        named(
            "auto_type_candidates",
            exp.Array(expressions=[exp.Literal.string(t) for t in _CSV_TYPES]),
        )
        if types:
            named(
                "types",
                exp.Struct(
                    expressions=[
                        exp.PropertyEQ(
                            this=exp.to_identifier(k, quoted=True),
                            expression=exp.Literal.string(v),
                        )
                        for k, v in types.items()
                    ]
                ),
            )
        if encoding:
            named("encoding", exp.Literal.string(encoding))
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
        the scores are returned in ``EngineResult.frame``.
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
        for _ in range(256):
            try:
                result = _duckdb_attempt(
                    con, icp, files, fmt, label, overrides, out, id_column, mapping, encoding,
                    progress,
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
) -> EngineResult:
    reader = _duckdb_reader(files, fmt, overrides, encoding)
    described = con.execute(f"DESCRIBE {exp.select('*').from_(reader).sql('duckdb')}").fetchall()
    names = [str(r[0]) for r in described]
    pairs, warnings = _plan_columns(names, mapping, label, id_column)
    id_source = next(s for s, d in pairs if d == "account_id")
    if fmt == "csv" and overrides.get(id_source) != "VARCHAR":
        overrides[id_source] = "VARCHAR"  # ids stay text: "00123" is not 123
        reader = _duckdb_reader(files, fmt, overrides, encoding)
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

    sql = compile_sql(icp, table=_RAW_VIEW, dialect="duckdb", columns=columns, pretty=False)
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
        params = (
            [("FORMAT", "PARQUET"), ("COMPRESSION", "ZSTD")]
            if parquet
            else [("FORMAT", "CSV"), ("HEADER", "TRUE")]
        )
        copy = exp.Copy(
            this=exp.Subquery(this=exp.maybe_parse(sql, dialect="duckdb")),
            kind=False,
            files=[exp.Literal.string(str(tmp))],
            params=[exp.CopyParameter(this=exp.var(k), expression=exp.var(v)) for k, v in params],
        )
        try:
            rows = _duckdb_run(con, copy.sql("duckdb"), update).fetchone()[0]
            tmp.replace(target)
        finally:
            if tmp.exists():
                tmp.unlink()
    result.path = target
    result.rows = int(rows)
    back = exp.Anonymous(
        this="read_parquet" if parquet else "read_csv",
        expressions=[exp.Literal.string(str(target))]
        + (
            []
            if parquet
            else [
                exp.EQ(
                    this=exp.column("types"),
                    expression=exp.Struct(
                        expressions=[
                            exp.PropertyEQ(
                                this=exp.to_identifier("tier"),
                                expression=exp.Literal.string("VARCHAR"),
                            )
                        ]
                    ),
                )
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


# -- Spark ----------------------------------------------------------------------------


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / ("java.exe" if sys.platform == "win32" else "java")
        if candidate.exists():
            return str(candidate)
    return shutil.which("java")


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError as exc:
        raise EngineUnavailable(
            "the spark engine needs PySpark, which is not installed: "
            "install the spark extra: pip install 'icpkit[spark]'"
        ) from exc
    return pyspark.sql


def spark_session(master: str | None = None) -> tuple[Any, bool]:
    """The active SparkSession, or a new one; ``(session, created)``.

    A new session runs on ``master``, else ``$SPARK_MASTER``, else whatever
    Spark's own configuration says (``spark-defaults.conf``), else locally on
    all cores.
    """
    sql = _pyspark()
    active = sql.SparkSession.getActiveSession()
    if active is not None and master is None:
        return active, False
    if _java() is None:
        raise EngineUnavailable(
            "the spark engine needs Java 17 or newer, and none was found "
            "(no `java` on PATH and JAVA_HOME is not set). Install a JDK, or use --engine duckdb"
        )
    builder = sql.SparkSession.builder.appName("icpkit")
    master = master or os.environ.get("SPARK_MASTER")
    if master:
        builder = builder.master(master)
    builder = builder.config(
        "spark.ui.showConsoleProgress", "true" if sys.stderr.isatty() else "false"
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j / JVM start-up failures have many types
        raise EngineUnavailable(f"Spark could not start ({str(exc).strip()[:500]})") from exc
    if active is None:
        session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines are noise here
    return session, active is None


def score_spark(
    icp: ICP,
    parquet_path: str | Path | Sequence[str | Path],
    *,
    out: str | Path | None = None,
    master: str | None = None,
    id_column: str | None = None,
    mapping: ColumnMapping | None = None,
) -> EngineResult:
    """Score Parquet data with the compiled Spark SQL on a SparkSession.

    Parameters
    ----------
    icp : ICP
        The loaded ``icp.yaml``.
    parquet_path : path or URI, or a list of them
        Parquet files or folders of part files (``hdfs://``, ``s3a://`` … on a
        cluster). Files are matched by column name (``mergeSchema``).
    out : path or URI, optional
        ``.csv`` gives one CSV file when it is a local path (else a folder of
        CSV parts); anything else gives a Parquet folder, Spark's usual layout.
        Without it the scores come back in ``EngineResult.frame``.
    master : str, optional
        Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``);
        default ``$SPARK_MASTER`` or Spark's own configuration, else local.
    """
    started = time.perf_counter()
    paths = [parquet_path] if isinstance(parquet_path, (str, Path)) else list(parquet_path)
    sources: list[str] = []
    for p in map(str, paths):
        if not _is_uri(p) and not any(ch in p for ch in "*?["):
            if not Path(p).exists():
                raise InputError("file not found", file=p, hint="Check the path")
            if Path(p).is_file() and _format_of(p) != "parquet":
                raise InputError(
                    "the spark engine reads Parquet (a file or a folder of part files)",
                    file=p,
                    hint="Convert it first, e.g. with --engine duckdb --out scored.parquet "
                    "for scoring, or DuckDB's COPY (FROM 'file.csv') TO 'file.parquet'",
                )
        sources.append(p)
    if not sources:
        raise InputError("no input files were given")
    with warnings.catch_warnings():  # PySpark's notice about pandas 3 is not the user's concern
        warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
        return _score_spark(icp, sources, out, master, id_column, mapping, started)


def _score_spark(
    icp: ICP,
    sources: list[str],
    out: str | Path | None,
    master: str | None,
    id_column: str | None,
    mapping: ColumnMapping | None,
    started: float,
) -> EngineResult:
    label = sources[0]
    session, created = spark_session(master)
    try:
        from pyspark.sql import functions as F

        try:
            raw = session.read.option("mergeSchema", "true").parquet(*sources)
        except Exception as exc:
            raise InputError(
                f"Spark could not read the Parquet input ({str(exc).strip().splitlines()[0][:300]})",
                file=label,
            ) from exc
        pairs, warnings = _plan_columns(raw.columns, mapping, label, id_column)
        data = raw.select(*[F.col(f"`{s.replace('`', '``')}`").alias(d) for s, d in pairs])
        view = f"{_INPUT_VIEW}_{uuid.uuid4().hex[:8]}"
        data.createOrReplaceTempView(view)
        columns = dict(data.dtypes)
        absent = [a for a in icp.used_attributes() if a not in columns]
        if absent:
            warnings += absent_warnings(icp, absent)
        numeric = _numeric_text_attrs(columns, number_attributes(icp) - set(absent))
        bad: dict[str, int] = {}
        check = _bad_values_query(columns, numeric, view, "spark")
        if check:
            row = session.sql(check).collect()[0]
            counts, w = _bad_value_warnings(numeric, list(row))
            bad.update(counts)
            warnings += w
        sql = compile_sql(icp, table=view, dialect="spark", columns=columns, pretty=False)
        scored = session.sql(sql)
        result = EngineResult(
            engine="spark", rows=0, unknown_attributes=absent, bad_values=bad, warnings=warnings
        )
        if out is None:
            rows = scored.collect()
            frame = pd.DataFrame([r.asDict() for r in rows], columns=OUT_COLUMNS)
            frame["score"] = frame["score"].astype("int32")
            result.frame = frame
            result.rows = len(frame)
            result.tiers = {str(k): int(v) for k, v in frame["tier"].value_counts().items()}
            result.routes = {str(k): int(v) for k, v in frame["route"].value_counts().items()}
        else:
            _spark_write(session, scored, str(out), result)
        session.catalog.dropTempView(view)
        result.seconds = time.perf_counter() - started
        return result
    finally:
        if created:
            session.stop()


def _spark_write(session: Any, scored: Any, out: str, result: EngineResult) -> None:
    local = not _is_uri(out) or out.startswith("file://")
    as_csv = out.lower().endswith((".csv", ".tsv", ".txt"))
    target = Path(out.removeprefix("file://")) if local else None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # no leading dot: Spark skips hidden paths when reading the result back
        folder = str(target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp"))
    else:
        folder = out
    writer = scored.write.mode("overwrite")
    if as_csv:
        # RFC 4180 quoting; header written once below when the parts become one file
        writer = (
            writer.option("header", str(target is None).lower())
            .option("escape", '"')
            .option("emptyValue", "")
        )
        writer.csv(folder)
        back = session.read.schema(scored.schema).option("escape", '"').csv(folder)
    else:
        writer.parquet(folder)
        back = session.read.parquet(folder)
    for r in back.groupBy("tier", "route").count().collect():
        result.tiers[str(r["tier"])] = result.tiers.get(str(r["tier"]), 0) + int(r["count"])
        result.routes[str(r["route"])] = result.routes.get(str(r["route"]), 0) + int(r["count"])
    result.rows = sum(result.tiers.values())
    if target is None:
        result.path = Path(out) if not _is_uri(out) else None
        if result.path is None:
            result.notes.append(f"wrote {out}")
        return
    try:
        if as_csv:
            parts = sorted(Path(folder).glob("part-*"))
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
            with open(tmp, "wb") as sink:
                sink.write((",".join(scored.columns) + "\n").encode())
                for part in parts:
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, sink, 1 << 20)
            tmp.replace(target)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            Path(folder).replace(target)
    finally:
        if Path(folder).exists():
            shutil.rmtree(folder, ignore_errors=True)
    result.path = target


# -- dispatch -------------------------------------------------------------------------


def _write_frame(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if out.name.lower().endswith(PARQUET_SUFFIXES):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()


def score_python(
    icp: ICP,
    accounts: str | Path,
    out: str | Path | None = None,
    *,
    events: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    mapping: Mapping[str, ColumnMapping] | None = None,
    encoding: str | None = None,
) -> EngineResult:
    """The pandas path: read and check the file as ``icp ingest`` does, then score it.

    The only path that adds timing (``events``) and ``points_*`` columns.
    """
    from ..ingest import read_table
    from ..pipeline import score_with_timing
    from ..timing import clean_events

    started = time.perf_counter()
    maps = dict(mapping or {})
    frame, _, warnings = read_table(
        "market", accounts, maps.get("accounts") or maps.get("market"), encoding=encoding
    )
    ev = None
    if events is not None:
        ev, _, w = read_table("events", events, maps.get("events"), encoding=encoding)
        ev, w2 = clean_events(ev, set(frame["account_id"].astype(str)))
        warnings += w + w2
    when = None
    if as_of is not None and as_of != "":
        try:
            when = pd.Timestamp(as_of)
        except ValueError:
            raise InputError(f"--as-of {as_of!r} is not a date", hint="Use YYYY-MM-DD") from None
    res = score_with_timing(icp, frame, ev, as_of=when)
    result = EngineResult(
        engine="python",
        rows=len(res.frame),
        unknown_attributes=list(res.unknown_attributes),
        warnings=warnings + res.warnings,
        tiers={str(k): int(v) for k, v in res.frame["tier"].value_counts().items()},
        routes={str(k): int(v) for k, v in res.frame["route"].value_counts().items()},
    )
    if out is None:
        result.frame = res.frame
    else:
        _write_frame(res.frame, Path(out))
        result.path = Path(out)
    result.seconds = time.perf_counter() - started
    return result


def score_with_engine(
    icp: ICP,
    accounts: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    engine: str = "duckdb",
    *,
    events: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    mapping: str | Path | None = None,
    encoding: str | None = None,
    master: str | None = None,
    progress: ProgressFn | bool | None = None,
) -> EngineResult:
    """Score an account file with the named engine (what ``icp score --engine`` runs).

    ``engine`` is ``duckdb`` (default), ``spark`` or ``python``. Timing needs
    pandas: with ``events`` the ``duckdb`` engine hands over to ``python``
    (and says so in ``notes``); ``spark`` with ``events`` is an error.
    ``out`` ending in ``.parquet`` writes Parquet, anything else CSV.
    """
    from ..ingest import load_mapping

    name = str(engine or "duckdb").strip().lower()
    if name not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    maps = load_mapping(mapping)
    table_map = maps.get("accounts") or maps.get("market")
    notes: list[str] = []
    if events is not None and name == "spark":
        raise InputError(
            "--events needs --engine python (timing is scored in pandas)",
            hint="Drop --events to score on Spark, or use --engine python",
        )
    if events is not None and name == "duckdb":
        name = "python"
        notes.append("--events given: scoring with the python engine (timing needs pandas)")
    if name == "python":
        paths = (
            [accounts] if isinstance(accounts, (str, Path)) else list(accounts)  # type: ignore[list-item]
        )
        if len(paths) != 1:
            raise InputError(
                "the python engine reads one file", hint="Use --engine duckdb for several files"
            )
        res = score_python(
            icp, paths[0], out, events=events, as_of=as_of, mapping=maps, encoding=encoding
        )
    elif name == "spark":
        res = score_spark(icp, accounts, out=out, master=master, mapping=table_map)
    else:
        res = score_duckdb(
            icp, accounts, out=out, mapping=table_map, encoding=encoding, progress=progress
        )
        if icp.timing and icp.timing.get("triggers"):
            notes.append(
                "the ICP has timing triggers: pass --events (python engine) to add timing columns"
            )
    res.notes = notes + res.notes
    return res
