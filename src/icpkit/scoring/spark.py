"""The Spark engine: Parquet data scored with the compiled Spark SQL on a SparkSession."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..csvsafe import safe_columns
from ..errors import InputError
from ..icpfile import ICP
from ..schema import ColumnMapping
from .inputs import (
    _bad_value_warnings,
    _bad_values_query,
    _format_of,
    _is_uri,
    _numeric_text_attrs,
    _plan_columns,
)
from .output import OUT_COLUMNS, TEXT_COLUMNS, EngineResult, EngineUnavailable
from .scorer import absent_warnings, number_attributes
from .sql import compile_sql

_INPUT_VIEW = "icpkit_input"


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
    reasons: bool = True,
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
        return _score_spark(icp, sources, out, master, id_column, mapping, started, reasons)


def _score_spark(
    icp: ICP,
    sources: list[str],
    out: str | Path | None,
    master: str | None,
    id_column: str | None,
    mapping: ColumnMapping | None,
    started: float,
    reasons: bool = True,
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
        sql = compile_sql(
            icp, table=view, dialect="spark", columns=columns, pretty=False, reasons=reasons
        )
        scored = session.sql(sql)
        result = EngineResult(
            engine="spark", rows=0, unknown_attributes=absent, bad_values=bad, warnings=warnings
        )
        if out is None:
            rows = scored.collect()
            names = OUT_COLUMNS if reasons else [c for c in OUT_COLUMNS if c != "reasons"]
            frame = pd.DataFrame([r.asDict() for r in rows], columns=names)
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
    if as_csv:  # text cells that a spreadsheet would run as formulas get an apostrophe
        scored = scored.selectExpr(*safe_columns(list(scored.columns), TEXT_COLUMNS, "spark"))
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
