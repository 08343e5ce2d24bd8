"""What the SQL engines read: input files, their columns matched to the ICP's
attributes, and the values that are not numbers where the ICP expects one."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from ..errors import InputError
from ..schema import TABLES, ColumnMapping, normalize_name
from . import clean
from .output import PARQUET_SUFFIXES

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")


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
    # every node is built here and used once, so nothing is copied (deep copies of these
    # trees cost tens of milliseconds)
    selects: list[exp.Expr] = []
    for i, (a, kind) in enumerate(picked):
        col = exp.Column(this=exp.to_identifier(a, quoted=True))
        text = exp.Cast(this=col.copy(), to=exp.DataType.build("text"))
        if kind == "bool":
            bad: exp.Expr = exp.Not(this=exp.Is(this=col, expression=exp.Null()))
        else:
            bad = clean.sql_bad_number(col)
        case_n = exp.Case(ifs=[exp.If(this=bad.copy(), true=exp.Literal.number(1))])
        case_v = exp.Case(ifs=[exp.If(this=bad, true=text)])
        selects.append(exp.alias_(exp.Count(this=case_n), f"n{i}", copy=False))
        selects.append(exp.alias_(exp.Min(this=case_v), f"e{i}", copy=False))
    query = exp.select(*selects, copy=False).from_(exp.to_table(table), copy=False)
    return query.sql(dialect=dialect, copy=False)


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
