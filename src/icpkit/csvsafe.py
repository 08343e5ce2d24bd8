"""Every CSV icpkit writes is safe to open in a spreadsheet: the one rule, in one place.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read by Excel, LibreOffice and Google Sheets as a formula (CSV or
formula injection). As OWASP recommends, such a cell is written with a
leading apostrophe (``'=HYPERLINK(...)``), which the spreadsheet shows as
text. Numbers stay numbers: numeric columns are never touched, and a text
cell that is a plain number (``-5``, ``+1.5e3``) is kept as it is, since it
cannot be a formula.

- :func:`neutralise` is the rule for one value;
- :func:`safe_frame` applies it to every text cell of a DataFrame;
- :func:`write_csv` and :func:`csv_text` write a frame through it;
- :func:`sql_expression` is the same rule as a SQL expression, for the
  engines that write CSV with SQL (DuckDB ``COPY``, Spark's CSV writer).

>>> neutralise("=1+1")
"'=1+1"
>>> neutralise("-5")
'-5'
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
_NUMBER = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
_PLAIN_NUMBER = re.compile(_NUMBER)


def neutralise(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return PREFIX + value
    return value


def _is_text_column(s: pd.Series) -> bool:
    return bool(pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s))


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every risky text cell neutralised (a copy only when something changed)."""
    out = frame
    for i, col in enumerate(frame.columns):
        s = frame.iloc[:, i]
        if not _is_text_column(s):
            continue
        fixed = s.map(neutralise, na_action="ignore")
        changed = (fixed.astype(object) != s.astype(object)) & s.notna()
        if bool(changed.any()):
            if out is frame:
                out = frame.copy()
            out.isetitem(i, fixed)
        del col
    # header names are text cells too
    names = [neutralise(c) for c in out.columns]
    if names != list(out.columns):
        out = out.copy() if out is frame else out
        out.columns = names
    return out


def _quoting(frame: pd.DataFrame, kw: dict[str, Any]) -> dict[str, Any]:
    """Quote every text cell when one holds a carriage return.

    Python's CSV writer quotes a cell holding ``\\r`` only when ``\\r`` is part of
    the line terminator, so with ``\\n`` line ends such a cell would split the row.
    """
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if _is_text_column(s) and bool(s.map(lambda v: isinstance(v, str) and "\r" in v).any()):
            return {**kw, "quoting": csv.QUOTE_NONNUMERIC}
    return kw


def csv_text(frame: pd.DataFrame, **kw: Any) -> str:
    """``frame`` as CSV text (no index, ``\\n`` line ends unless given), made safe."""
    buf = io.StringIO()
    kw.setdefault("lineterminator", "\n")
    safe = safe_frame(frame)
    safe.to_csv(buf, index=False, **_quoting(safe, kw))
    return buf.getvalue()


def write_csv(frame: pd.DataFrame, path: str | Path, *, atomic: bool = True, **kw: Any) -> Path:
    """Write ``frame`` as CSV to ``path`` (through a temporary file unless ``atomic=False``), made safe."""
    path = Path(path)
    safe = safe_frame(frame)
    kw = _quoting(safe, kw)
    if not atomic:
        safe.to_csv(path, index=False, **kw)
        return path
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        safe.to_csv(tmp, index=False, **kw)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def sql_expression(column: str, dialect: str = "duckdb") -> str:
    """The rule as a SQL expression over one text column (DuckDB or Spark SQL).

    >>> print(sql_expression("reasons"))  # doctest: +ELLIPSIS
    CASE WHEN REGEXP_MATCHES("reasons", '^[=+@...-]') AND NOT ...
    """
    from sqlglot import exp

    col = exp.Column(this=exp.to_identifier(column, quoted=True))
    trigger = exp.RegexpLike(this=col, expression=exp.Literal.string("^[=+@\t\r-]"))
    number = exp.RegexpLike(this=col.copy(), expression=exp.Literal.string(f"^{_NUMBER}$"))
    case = exp.Case(
        ifs=[
            exp.If(
                this=exp.And(this=trigger, expression=exp.Not(this=number)),
                true=exp.DPipe(this=exp.Literal.string(PREFIX), expression=col.copy()),
            )
        ],
        default=col.copy(),
    )
    return case.sql(dialect)


def safe_columns(all_columns: list[str], text_columns: list[str], dialect: str) -> list[str]:
    """Select expressions for ``all_columns``, in order, with ``text_columns`` neutralised."""
    from sqlglot import exp

    parts = []
    for c in all_columns:
        ident = exp.to_identifier(c, quoted=True).sql(dialect)
        parts.append(f"{sql_expression(c, dialect)} AS {ident}" if c in text_columns else ident)
    return parts


def safe_select(sql: str, text_columns: list[str], all_columns: list[str], dialect: str) -> str:
    """``SELECT`` over the query ``sql`` with ``text_columns`` neutralised, columns kept in order."""
    cols = ", ".join(safe_columns(all_columns, text_columns, dialect))
    return f"SELECT {cols} FROM ({sql}) AS icp_csv_safe"
