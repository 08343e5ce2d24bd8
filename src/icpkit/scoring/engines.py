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

The engines live in their own modules: :mod:`~icpkit.scoring.duckdb_engine`,
:mod:`~icpkit.scoring.spark`; input discovery and checks in
:mod:`~icpkit.scoring.inputs`, results and writing in
:mod:`~icpkit.scoring.output`, the progress bar in
:mod:`~icpkit.scoring.progress`. This module dispatches and keeps every
public name importable from here.

Bad input is counted and warned, never fatal: an attribute the file lacks
scores neutral (0 points, no veto, no tier definition; the warning gives the
points at stake), and a value that is not a number in an attribute the ICP
tests with ``between`` (``"abc"`` among employee counts) scores as unknown
and is counted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..icpfile import ICP
from ..schema import ColumnMapping
from .duckdb_engine import score_duckdb
from .inputs import CSV_SUFFIXES, _expand, _format_of, _is_uri, _plan_columns
from .output import OUT_COLUMNS, PARQUET_SUFFIXES, EngineResult, EngineUnavailable, _write_frame
from .progress import ProgressFn
from .spark import _java, _pyspark, score_spark, spark_session

__all__ = [
    "CSV_SUFFIXES",
    "ENGINES",
    "OUT_COLUMNS",
    "PARQUET_SUFFIXES",
    "EngineResult",
    "EngineUnavailable",
    "ProgressFn",
    "_expand",
    "_format_of",
    "_is_uri",
    "_java",
    "_plan_columns",
    "_pyspark",
    "score_duckdb",
    "score_python",
    "score_spark",
    "score_with_engine",
    "spark_session",
]

ENGINES = ("duckdb", "spark", "python")


def score_python(
    icp: ICP,
    accounts: str | Path,
    out: str | Path | None = None,
    *,
    events: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    mapping: Mapping[str, ColumnMapping] | None = None,
    encoding: str | None = None,
    reasons: bool = True,
) -> EngineResult:
    """The pandas path: read and check the file as ``icp ingest`` does, then score it.

    The only path that adds timing (``events``) and ``points_*`` columns.
    """
    from ..ingest import read_table
    from ..scores import score_with_timing
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
    if not reasons:
        res.frame = res.frame.drop(columns=["reasons"])
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


def _is_excel(accounts: str | Path | Sequence[str | Path]) -> bool:
    from ..ingest.read import EXCEL_SUFFIXES

    paths = [accounts] if isinstance(accounts, (str, Path)) else list(accounts)
    return len(paths) == 1 and Path(str(paths[0])).suffix.lower() in EXCEL_SUFFIXES


def _has_footer(accounts: str | Path | Sequence[str | Path]) -> bool:
    from ..ingest.read import has_report_footer

    paths = [accounts] if isinstance(accounts, (str, Path)) else list(accounts)
    return len(paths) == 1 and has_report_footer(paths[0])


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
    reasons: bool = True,
) -> EngineResult:
    """Score an account file with the named engine (what ``icp score --engine`` runs).

    ``engine`` is ``duckdb`` (default), ``spark`` or ``python``. Timing needs
    pandas: with ``events`` the ``duckdb`` engine hands over to ``python``
    (and says so in ``notes``); ``spark`` with ``events`` is an error.
    ``out`` ending in ``.parquet`` writes Parquet, anything else CSV.
    ``reasons=False`` leaves out the ``reasons`` column.
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
    if name == "duckdb" and _is_excel(accounts):
        name = "python"
        notes.append("an Excel workbook: scoring with the python engine (it reads workbooks)")
    if name == "duckdb" and _has_footer(accounts):
        name = "python"
        notes.append(
            "the file ends with a report footer: scoring with the python engine (it skips it)"
        )
    if name == "python":
        paths = (
            [accounts] if isinstance(accounts, (str, Path)) else list(accounts)  # type: ignore[list-item]
        )
        if len(paths) != 1:
            raise InputError(
                "the python engine reads one file", hint="Use --engine duckdb for several files"
            )
        res = score_python(
            icp, paths[0], out, events=events, as_of=as_of, mapping=maps, encoding=encoding,
            reasons=reasons,
        )  # fmt: skip
    elif name == "spark":
        res = score_spark(icp, accounts, out=out, master=master, mapping=table_map, reasons=reasons)
    else:
        res = score_duckdb(
            icp, accounts, out=out, mapping=table_map, encoding=encoding, progress=progress,
            reasons=reasons,
        )  # fmt: skip
        if icp.timing and icp.timing.get("triggers"):
            notes.append(
                "the ICP has timing triggers: pass --events (python engine) to add timing columns"
            )
    from ..refresh import staleness

    stale = staleness(icp)
    if stale:
        res.warnings.append(stale)
    res.notes = notes + res.notes
    return res
