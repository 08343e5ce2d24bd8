"""Compile an ICP's scorecard to SQL, so accounts can be scored inside a warehouse.

``compile_sql(icp)`` returns one ``SELECT`` (or ``CREATE VIEW``) that yields
``account_id, score, tier, route, reasons`` with the same values, row for row,
as :func:`icpkit.scoring.scorer.score_accounts`. The query is built as a
sqlglot expression tree and rendered for ``duckdb``, ``postgres``,
``snowflake``, ``bigquery`` or ``spark``.

How the Python semantics are carried over
-----------------------------------------
Cells are read by the rules of :mod:`icpkit.scoring.clean`, whose SQL forms
the query uses, so every engine reads ``"$1,200"``, ``"n/a"`` or ``" ; "``
as the Python scorer does.

- **Text.** Category tests compare the cell's word: cast to text, trimmed of
  exactly the whitespace Python's ``str.strip()`` removes (Unicode spaces
  included; one ``REGEXP_REPLACE``, see :func:`~icpkit.scoring.clean.sql_trim`)
  and lower-cased, computed once per cell; a blank value or a null word
  (``n/a``, ``-``, ``null``, ``none`` …) counts as missing.
- **Numbers.** A number attribute (tested with ``between``, or a canonical
  number column) reads a numeric column as is (``NaN`` and infinities are
  unknown). Any other column is read as text by the number rule: trimmed,
  lower-cased, currency symbols, thousands separators, percent signs and
  inner spaces removed, then converted only if it looks like a plain number
  (``12``, ``-1.5e3``, ``.5``), so a bad value becomes ``NULL`` instead of an
  error in every dialect (``TRY_CAST``/``SAFE_CAST`` where the dialect has
  one, a guarded ``CAST`` in PostgreSQL). A cell holding no number is
  missing, and category tests on it compare the number's text (``1200``).
- **Lists.** A list attribute is either a native array column (``VARCHAR[]``,
  ``ARRAY<STRING>``, ``text[]``…) or text separated by ``|``, ``;`` or ``,``
  (the first of these found in the value, as in Python). Text lists are
  tested without building arrays: the value is lower-cased, wrapped in its
  separator and the whitespace around each separator is removed with one
  regular expression, so ``has: x`` is a plain substring test for ``<sep>x<sep>``.
  That keeps the SQL portable (no lambdas or ``UNNEST``). An array column is
  first joined with the separator ``"\u241f"`` and treated the same way.
  Which columns are arrays comes from ``list_columns`` or from the column
  types passed in ``columns``. A list without any item is missing.
- **Missing.** ``NULL``, blank text, null words, an empty array and (for
  floating-point columns whose type is known) ``NaN`` are missing, as in Python.
- **Score, tier, route, reasons.** ``score = clamp(base + points, 0, 100)``,
  vetoes lower it to ``veto_score``; tiers check ``min_score``, pinned
  criteria and (``match: definition``) the tier's or a better tier's
  definitions, best tier first; reasons rank the non-zero contributions by
  absolute points then feature order, keep five, and put the veto first.
  Each contribution has a unique key (``|points| * n + n - 1 - feature``);
  the five largest are found with ``GREATEST``, one per step, and
  ``reasons=False`` leaves this part out.

The DuckDB engine's form
------------------------
:func:`build_query` with ``lookups`` (what :func:`~icpkit.scoring.duckdb_engine.score_duckdb`
runs, never the exported SQL) reads a text column once per distinct value
instead of once per cell: the values found in the file's first rows are
cleaned and tested by the Python kernel (:func:`~icpkit.scoring.scorer.evaluate`),
each cell holding one of them gets its position in that list (its code, one
comparison chain or ``ENUM`` lookup) and every condition on it is picked from a
list by that code; any other cell is read by the SQL above. Bins' points and
keys are picked by the bin's number, every (feature, bin) has its own key, so
the reason text is picked by the key, and with at most 62 keys a row's
contributions are the bits of one number whose five highest bits are the
reasons (``floor(log2(m))``, checked with a shift), joined by ``concat_ws``.

Columns
-------
Without ``columns`` the query names every attribute the ICP uses, so the table
must have them all. With ``columns`` (the table's column names, or a mapping
of name to SQL type such as DuckDB's ``DESCRIBE`` gives) an attribute the
table lacks scores neutral, exactly as in the Python scorer (every condition
on it is false: 0 points, no veto, no tier definition); ``absent`` names such
attributes without listing the columns. Column headers are matched by their
normalised name (``"Employee Count"`` serves ``employee_count``) as
:func:`~icpkit.scoring.scorer.align_columns` does. Column names are quoted
only where needed (reserved words, unusual characters, a case the database
would fold away), so ``industry`` still finds Snowflake's ``INDUSTRY``. Types also make two
details exact: a floating-point column compared as a category reads ``5.0``
as ``5`` like Python does, and ``NaN`` counts as missing. Without types a
floating-point column is compared using the database's own text form.

Known differences from the Python scorer: a ``NULL`` id stays ``NULL``
(Python writes ``"None"``/``"nan"``), ``NULL`` items inside an array column
are skipped (Python reads them as the text ``"none"``), and floats of
magnitude 9.2e18 or more are compared as text in the database's notation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError, UnsupportedError

from ..errors import IcpkitError, InputError
from ..icpfile import ICP, Condition
from ..schema import normalize_name
from . import clean
from .scorer import (
    MAX_REASONS,
    Columns,
    conditions,
    evaluate,
    list_attributes,
    number_attributes,
)

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark")
WHITESPACE = clean.WHITESPACE
LIST_SEPARATORS = clean.LIST_SEPARATORS
ARRAY_SEPARATOR = "\u241f"  # joins native array items; not expected inside an item
_DBL_MAX = "1.7976931348623157e308"
_WS_CLASS = clean.regex_class(WHITESPACE)

# column kinds
_TEXT, _FLOAT, _NUMBER, _BOOL, _LIST = "text", "float", "number", "bool", "list"


class UnsupportedDialect(IcpkitError, ValueError):
    """The ICP cannot be compiled to this SQL dialect."""


# -- small builders (each returns a fresh node; no node is shared by two parents) ----

_T = exp.DataType.Type


def _type(t: exp.DType) -> exp.DataType:
    return exp.DataType(this=t)


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _i(n: int | str) -> exp.Expression:
    return exp.Literal.number(n)


def _n(value: float) -> exp.Expression:
    if math.isinf(value):
        big: exp.Expression = _i(_DBL_MAX)
        return exp.Neg(this=big) if value < 0 else big
    if value == int(value) and abs(value) < 1e15:
        return _i(int(value))
    return _i(repr(float(value)))


def _p(e: exp.Expression) -> exp.Expression:
    return (
        e if isinstance(e, (exp.Column, exp.Literal, exp.Boolean, exp.Paren)) else exp.Paren(this=e)
    )


def _and(*parts: exp.Expression) -> exp.Expression:
    if not parts:
        return exp.true()
    out = _p(parts[0])
    for part in parts[1:]:
        out = exp.And(this=out, expression=_p(part))
    return out


def _or(*parts: exp.Expression) -> exp.Expression:
    out = _p(parts[0])
    for part in parts[1:]:
        out = exp.Or(this=out, expression=_p(part))
    return out


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=_p(e))


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _coalesce(e: exp.Expression, default: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[default])


def _in(e: exp.Expression, values: Iterable[str]) -> exp.Expression:
    return exp.In(this=e, expressions=[_s(v) for v in values])


def _case(
    whens: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression | None = None
) -> exp.Expression:
    if not whens:
        return default if default is not None else exp.Null()
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in whens], default=default)


def _cast(e: exp.Expression, t: exp.DType) -> exp.Expression:
    return exp.Cast(this=e, to=_type(t))


def _text(e: exp.Expression) -> exp.Expression:
    return _cast(e, _T.TEXT)


def _null_text() -> exp.Expression:
    return _text(exp.Null())


def _alias(e: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=e, alias=exp.to_identifier(name))


def _reserved_words() -> frozenset[str]:
    from sqlglot.dialects.dialect import Dialect

    words: set[str] = set()
    for d in DIALECTS:
        words |= {w.lower() for w in Dialect.get_or_raise(d).generator_class.RESERVED_KEYWORDS}
    return frozenset(words)


_RESERVED = _reserved_words()
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _table_column(name: str, dialect: str) -> exp.Column:
    """A column of the user's table, quoted only where the dialect needs it.

    An unquoted name keeps each database's usual case rules (PostgreSQL folds to
    lower case, Snowflake to upper case), so ``industry`` finds ``INDUSTRY`` in
    Snowflake; a reserved word, an unusual name or a case the database would
    fold away is quoted.
    """
    plain = bool(_PLAIN_NAME.match(name))
    quote = not plain or name.lower() in _RESERVED
    if dialect == "postgres" and name != name.lower():
        quote = True
    if dialect == "snowflake" and name not in (name.lower(), name.upper()):
        quote = True
    if quote and plain and dialect == "snowflake" and name == name.lower():
        name = name.upper()  # what the unquoted name would mean there
    return exp.Column(this=exp.to_identifier(name, quoted=quote))


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _trim(e: exp.Expression) -> exp.Expression:
    return clean.sql_trim(e)


def _contains(haystack: exp.Expression, needle: exp.Expression) -> exp.Expression:
    return exp.GT(this=exp.StrPosition(this=haystack, substr=needle), expression=_i(0))


def _concat(*parts: exp.Expression) -> exp.Expression:
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part, safe=False)
    return out


def _isnan(e: exp.Expression, dialect: str) -> exp.Expression:
    if dialect in ("postgres", "snowflake"):  # no ISNAN; NaN = NaN holds there
        return exp.EQ(this=e, expression=_cast(_s("NaN"), _T.DOUBLE))
    return exp.IsNan(this=e)


def _select(columns: list[exp.Expression], source: exp.Expression) -> exp.Select:
    return exp.Select(expressions=columns, from_=exp.From(this=source))


def _cte_ref(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name))


def _fmt_points(p: int) -> str:
    return f"+{p}" if p > 0 else str(p)


# -- columns ----------------------------------------------------------------------


@dataclass
class _Attr:
    """One attribute the ICP tests, and where its value comes from."""

    name: str
    index: int
    source: exp.Expression
    kind: str
    absent: bool = False
    word: bool = False  # plain text, read once as a<i>_w (see icp_val)
    number: bool = False  # a number, read once as a<i>_n (see icp_val)
    # the column's known raw values (DuckDB only, see build_query's ``lookups``):
    # a cell holding one of them is read by its code a<i>_c, the others per cell
    lookup: list[str] | None = None
    numeric: bool = False  # a number attribute (scorer.number_attributes)
    listy: bool = False  # a list attribute (scorer.list_attributes)
    _cells: Any = None  # the kernel's view (scorer.Columns) of the known values and NULL

    def src(self) -> exp.Expression:
        return self.source.copy()

    def ref(self, part: str) -> exp.Column:
        return _col(f"a{self.index}_{part}")

    def known(self) -> exp.Expression:
        """The cell is one of the known values (or NULL), so its code reads it."""
        return _not(_is_null(self.ref("c")))

    def lazy(self, e: exp.Expression) -> exp.Expression:
        """``e``, computed only for cells the code does not read (all cells without lookup)."""
        if self.lookup is None:
            return e
        return _case([(_is_null(self.ref("c")), e)])

    def holds(self, c: Condition) -> list[bool]:
        """Whether ``c`` holds, per known value and (last) for NULL: the Python kernel's answer."""
        if self._cells is None:
            import pandas as pd

            values = pd.Series([*(self.lookup or []), None], dtype=object)
            self._cells = Columns(
                pd.DataFrame({self.name: values}),
                numeric=[self.name] if self.numeric else [],
                lists=[self.name] if self.listy else [],
            )
        return [bool(x) for x in evaluate(c, self._cells)]


def _kind_of(type_name: str | None, dialect: str) -> str:
    if not type_name:
        return _TEXT
    head = type_name.strip().upper()
    if head.endswith("]") or head.startswith(("ARRAY", "LIST")):  # also DuckDB's '"NULL"[]'
        return _LIST
    try:
        dt = exp.DataType.build(type_name, dialect=dialect, udt=True)
    except (SqlglotError, ValueError):
        return _TEXT
    t = dt.this
    if t in (_T.ARRAY, _T.LIST):
        return _LIST
    if t == _T.BOOLEAN:
        return _BOOL
    if t in (_T.DOUBLE, _T.FLOAT, _T.UDOUBLE):
        return _FLOAT
    if t in exp.DataType.INTEGER_TYPES or t in exp.DataType.REAL_TYPES:
        return _NUMBER
    return _TEXT


def _resolve(
    columns: Iterable[str] | Mapping[str, str] | None,
) -> tuple[dict[str, str], dict[str, str | None]] | None:
    """Map each attribute name to its table column, renaming as ``align_columns`` does."""
    if columns is None:
        return None
    types: dict[str, str | None]
    if isinstance(columns, Mapping):
        types = {str(k): (str(v) if v is not None else None) for k, v in columns.items()}
    else:
        types = {str(c): None for c in columns}
    have = set(types)
    names: dict[str, str] = {}
    for col in types:
        norm = normalize_name(col)
        names.setdefault(norm if norm != col and norm not in have else col, col)
    return names, types


# -- conditions -------------------------------------------------------------------


def _pick(a: _Attr, per_value: Sequence[Any]) -> exp.Expression:
    """The entry of ``per_value`` (one per known value, then NULL's) for the cell's code."""
    lits = [v if isinstance(v, exp.Expression) else _literal(v) for v in per_value]
    if all(x == lits[0] for x in lits[1:]):
        return lits[0]
    return exp.Anonymous(
        this="list_extract",
        expressions=[exp.Array(expressions=lits), exp.Add(this=a.ref("c"), expression=_i(1))],
    )


def _literal(v: Any) -> exp.Expression:
    if isinstance(v, bool):
        return exp.true() if v else exp.false()
    if isinstance(v, int):
        return _i(v)
    if v is None:
        return exp.Null()
    return _s(str(v))


# a lookup of at most FEW_VALUES values is coded by comparisons, a longer one by an ENUM cast
FEW_VALUES = 24


def _highest_bit(m: exp.Expression) -> exp.Expression:
    """1 + the position of the highest bit of ``m`` (a BIGINT >= 0), 0 for ``m = 0``.

    ``floor(log2(m))`` is the position or one more (when the conversion to a double
    rounds ``m`` up to the next power of two), so it is checked with a shift.
    """
    h = _cast(exp.Floor(this=exp.Anonymous(this="log2", expressions=[m.copy()])), _T.INT)
    over = exp.GT(
        this=exp.BitwiseLeftShift(this=_cast(_i(1), _T.BIGINT), expression=h.copy()),
        expression=m.copy(),
    )
    exact = exp.Sub(this=h, expression=_cast(over, _T.INT))
    return _case(
        [(exp.GT(this=m.copy(), expression=_i(0)), exp.Add(this=exact, expression=_i(1)))], _i(0)
    )


def _code(a: _Attr) -> exp.Expression:
    """The cell's position in ``a.lookup`` (NULL: ``len(a.lookup)``; another value: NULL)."""
    values = a.lookup or []
    whens: list[tuple[exp.Expression, exp.Expression]] = [(_is_null(a.src()), _i(len(values)))]
    if len(values) <= FEW_VALUES:  # a few comparisons cost less than a hash lookup
        whens += [(exp.EQ(this=a.src(), expression=_s(v)), _i(i)) for i, v in enumerate(values)]
        return _case(whens)
    enum = exp.DataType(this=_T.ENUM, expressions=[_s(v) for v in values])
    code = exp.Anonymous(this="enum_code", expressions=[exp.TryCast(this=a.src(), to=enum)])
    return _case(whens, code)


def _condition(c: Condition, a: _Attr) -> exp.Expression:
    """A boolean expression, never NULL, that holds where ``c`` holds.

    With a lookup, a known value's answer comes from the Python kernel (one per
    distinct value, picked by the cell's code); other cells are tested by the SQL.
    """
    if a.lookup is None or a.absent:
        return _compiled_condition(c, a)
    return _case([(a.known(), _pick(a, a.holds(c)))], _compiled_condition(c, a))


def _compiled_condition(c: Condition, a: _Attr) -> exp.Expression:
    """:func:`_condition` tested on the cell by the SQL forms of the cleaning rules."""
    if a.absent:  # an absent column scores neutral: no condition on it holds
        return exp.false()
    op = c.op
    if op == "missing":
        return a.ref("m") if c.missing else _not(a.ref("m"))
    if op == "other":
        return _not(a.ref("m"))
    if op in ("in", "not_in"):
        values = (c.in_ if op == "in" else c.not_in) or []
        wanted = sorted({str(v).strip().lower() for v in values} - {""})
        if wanted and a.kind != _LIST:
            hit = _coalesce(_in(a.ref("t"), wanted), exp.false())
        else:  # Python reads no category text from an array value
            hit = exp.false()
        if op == "in":
            return _and(hit, _not(a.ref("m")))
        return _and(_not(a.ref("m")), _not(hit))
    if op == "between":
        lo, hi = c.between or (None, None)
        if (lo is not None and math.isnan(lo)) or (hi is not None and math.isnan(hi)):
            return exp.false()
        parts: list[exp.Expression] = []
        if lo is not None and not (math.isinf(lo) and lo < 0):
            parts.append(exp.GTE(this=a.ref("n"), expression=_n(lo)))
        if hi is not None:
            parts.append(exp.LT(this=a.ref("n"), expression=_n(hi)))
        if not parts:  # no bound: any number
            return _not(_is_null(a.ref("n")))
        # a comparison with NULL (no number) is NULL, which COALESCE makes false
        return _coalesce(_and(*parts), exp.false())
    if op in ("has", "lacks"):
        item = str(c.has if op == "has" else c.lacks).strip().lower()
        if op == "has":
            return _has(a, item)
        return _and(_not(_has(a, item)), _not(a.ref("m")))
    raise UnsupportedDialect(f"unknown condition operator '{op}'")


def _number_steps(bins: Sequence[Condition], a: _Attr) -> exp.Expression | None:
    """A number feature's first matching bin as a count of the bounds the number reaches,
    where its bins are a ladder: ``between`` bins, consecutive, each starting where the
    one before ends, and at most a ``missing`` bin (which never competes with them: a
    number is missing or not). None where the bins are of another form.

    ``CASE WHEN x IS NULL THEN <missing bin> WHEN x < <first bound> THEN -1 WHEN x >=
    <last bound> THEN -1 ELSE <first ladder bin> + (x >= b1) + (x >= b2) ... END`` picks
    the same bin as testing each bin in turn, with one comparison per bound instead of
    two per bin (the DuckDB engine's form).
    """
    if not a.number or a.absent:
        return None
    missing_at: int | None = None
    ladder: list[tuple[int, float | None, float | None]] = []
    for i, b in enumerate(bins):
        if b.op == "missing" and b.missing:
            missing_at = i if missing_at is None else missing_at
        elif b.op == "between" and b.between is not None:
            lo, hi = b.between
            if any(v is not None and math.isnan(v) for v in (lo, hi)):
                return None
            ladder.append((i, lo, hi))
        else:
            return None
    if not ladder or [i for i, _, _ in ladder] != list(
        range(ladder[0][0], ladder[0][0] + len(ladder))
    ):
        return None
    for (_, _lo, hi), (_, nxt, _) in zip(ladder, ladder[1:], strict=False):
        if hi is None or nxt is None or hi != nxt:
            return None
    if any(lo is not None and hi is not None and not lo < hi for _, lo, hi in ladder):
        return None
    x = a.ref("n")
    first, last = ladder[0][1], ladder[-1][2]
    whens: list[tuple[exp.Expression, exp.Expression]] = [
        (_is_null(x.copy()), _i(-1 if missing_at is None else missing_at))
    ]
    if first is not None and not (math.isinf(first) and first < 0):
        whens.append((exp.LT(this=x.copy(), expression=_n(first)), _i(-1)))
    if last is not None:
        whens.append((exp.GTE(this=x.copy(), expression=_n(last)), _i(-1)))
    index: exp.Expression = _i(ladder[0][0])
    for _, _, hi in ladder[:-1]:
        reached = _cast(exp.GTE(this=x.copy(), expression=_n(hi)), _T.INT)  # type: ignore[arg-type]
        index = exp.Add(this=index, expression=reached)
    return _case(whens, index)


def _has(a: _Attr, item: str) -> exp.Expression:
    if not item:
        return exp.false()
    if a.kind == _LIST:
        if ARRAY_SEPARATOR in item:
            return exp.false()
        test = _contains(a.ref("l"), _s(ARRAY_SEPARATOR + item + ARRAY_SEPARATOR))
    else:
        test = _contains(a.ref("l"), _concat(a.ref("s"), _s(item), a.ref("s")))
        inside = [s for s in LIST_SEPARATORS if s in item]
        if inside:  # Python splits on the row's separator, so an item holding it never matches
            test = _and(test, _not(_in(a.ref("s"), inside)))
    return _and(_coalesce(test, exp.false()), _not(a.ref("m")))


# -- per-attribute values ----------------------------------------------------------


def _normalised_list(value: exp.Expression, sep: str) -> exp.Expression:
    """``<sep>item<sep>item<sep>``, lower-cased, no whitespace around separators."""
    wrapped = _concat(_s(sep), exp.Lower(this=value), _s(sep))
    pattern = _WS_CLASS + "*" + clean.regex_class(sep) + _WS_CLASS + "*"
    return exp.RegexpReplace(this=wrapped, expression=_s(pattern), replacement=_s(sep))


def _no_items(value: exp.Expression, sep: str) -> exp.Expression:
    """Text list ``value`` holds no non-blank item: only separators and whitespace."""
    bare = exp.Replace(this=value, expression=_s(sep), replacement=_s(""))
    return exp.EQ(this=_trim(bare), expression=_s(""))


def _number_text(n: exp.Expression) -> exp.Expression:
    """A number's category text as Python writes it: a whole number without ``.0``."""
    whole = _and(
        exp.EQ(this=n.copy(), expression=exp.Floor(this=n.copy())),
        exp.LT(this=exp.Abs(this=n.copy()), expression=_i(str(2**62))),
    )
    return _case([(whole, _text(_cast(n.copy(), _T.BIGINT)))], _text(n.copy()))


def _category(txt: exp.Expression) -> exp.Expression:
    """A value's category text: trimmed, lower case, NULL when empty."""
    return exp.Nullif(this=exp.Lower(this=_trim(txt)), expression=_s(""))


def _attribute_columns(
    a: _Attr, ops: set[str], dialect: str, numeric: bool, listy: bool
) -> list[exp.Expression]:
    x = a.src
    kind = a.kind
    out: list[exp.Expression] = []
    if a.absent:
        return out

    def joined() -> exp.Expression:
        return _normalised_list(
            exp.ArrayToString(this=x(), expression=_s(ARRAY_SEPARATOR)), ARRAY_SEPARATOR
        )

    def number() -> exp.Expression:
        if kind in (_FLOAT, _NUMBER):
            return clean.sql_finite(_cast(x(), _T.DOUBLE))
        if kind in (_BOOL, _LIST):
            return _cast(exp.Null(), _T.DOUBLE)
        return clean.sql_number(x())

    if numeric:
        # read the number once here; icp_val derives a<i>_m and a<i>_t from it
        a.number = True
        out.append(_alias(number(), f"a{a.index}_n"))
    elif kind == _LIST:
        size = _coalesce(exp.ArraySize(this=x()), _i(0))
        missing = _or(
            _is_null(x()),
            exp.EQ(this=size, expression=_i(0)),
            _no_items(exp.ArrayToString(this=x(), expression=_s(ARRAY_SEPARATOR)), ARRAY_SEPARATOR),
        )
    elif kind == _FLOAT:
        missing = _or(_is_null(x()), _isnan(x(), dialect))
    elif kind in (_NUMBER, _BOOL):
        missing = _is_null(x())
    elif not listy and not ops & {"has", "lacks"}:
        # plain text: read the word once here; icp_val derives a<i>_m and a<i>_t from it
        a.word = True
        return [_alias(clean.sql_word(x()), f"a{a.index}_w")]
    else:
        missing = clean.sql_is_null_text(x())
        if listy:  # a list with no item is missing
            *first, last = LIST_SEPARATORS
            empty = _case(
                [(_contains(_text(x()), _s(s)), _no_items(_text(x()), s)) for s in first],
                _no_items(_text(x()), last),
            )
            missing = _or(missing, empty)
    if not numeric:
        out.append(_alias(_coalesce(missing, exp.true()), f"a{a.index}_m"))

    if ops & {"in", "not_in"} and kind != _LIST and not numeric:
        if kind == _FLOAT:  # Python writes a whole float without ".0"
            txt = _number_text(x())
        else:
            txt = _text(x())
        out.append(_alias(_category(txt), f"a{a.index}_t"))

    if ops & {"has", "lacks"}:
        if kind == _LIST:
            out.append(_alias(joined(), f"a{a.index}_l"))
        else:

            def found(sep: str) -> exp.Expression:
                return _contains(_text(x()), _s(sep))

            *first, last = LIST_SEPARATORS
            lst = _case(
                [(found(s), _normalised_list(_text(x()), s)) for s in first],
                _normalised_list(_text(x()), last),
            )
            sep = _case([(found(s), _s(s)) for s in first], _s(last))
            out.append(_alias(lst, f"a{a.index}_l"))
            out.append(_alias(sep, f"a{a.index}_s"))
    return out


# -- the query --------------------------------------------------------------------


def build_query(
    icp: ICP,
    *,
    table: str = "accounts",
    dialect: str = "duckdb",
    id_column: str = "account_id",
    list_columns: set[str] | None = None,
    columns: Iterable[str] | Mapping[str, str] | None = None,
    absent: Iterable[str] | None = None,
    reasons: bool = True,
    lookups: Mapping[str, Sequence[str]] | None = None,
) -> exp.Select:
    """The scoring query as a sqlglot expression (see :func:`compile_sql`).

    ``lookups`` (DuckDB only; the engine's form, see the module notes) gives,
    for text columns of the table, raw values the column holds (distinct,
    without NULL; ``{}`` for none). Each condition on such a column is then
    answered once per value, by the Python kernel (:mod:`~icpkit.scoring.clean`,
    :func:`~icpkit.scoring.scorer.evaluate`), and a cell holding one of them is
    read by its code in that list instead of being trimmed, lower-cased and
    tested; any other cell is read by the SQL as without ``lookups``. The
    result is the same either way.
    """
    dialect = _check_dialect(dialect)
    if lookups and dialect != "duckdb":
        raise UnsupportedDialect("lookups are a DuckDB form of the query")
    resolved = _resolve(columns)
    list_columns = set(list_columns or ())
    absent_names = {normalize_name(a) for a in absent or ()} | set(absent or ())

    def source_of(name: str) -> tuple[exp.Column | None, str | None]:
        if resolved is None:
            return _table_column(name, dialect), None
        names, types = resolved
        col = names.get(name)
        if col is None:
            return None, None
        return _table_column(col, dialect), types.get(col)

    # the operators each attribute is tested with
    tier_defs = icp.tier_definitions()
    numbers, lists = number_attributes(icp), list_attributes(icp)
    ops: dict[str, set[str]] = {}
    for c in conditions(icp):
        ops.setdefault(c.attribute, set()).add(c.op)

    attrs: dict[str, _Attr] = {}
    for i, name in enumerate(sorted(ops)):
        col, type_name = source_of(name)
        if col is None or name in absent_names:  # absent: neutral, as in Python
            attrs[name] = _Attr(name, i, _null_text(), _TEXT, absent=True)
            continue
        listed = name in list_columns or col.name in list_columns
        kind = _LIST if listed else _kind_of(type_name, dialect)
        attrs[name] = _Attr(name, i, col, kind, numeric=name in numbers, listy=name in lists)
        if lookups is not None and kind == _TEXT and col.name in lookups:
            attrs[name].lookup = [str(v) for v in lookups[col.name]]

    id_col, _ = source_of(id_column)
    if id_col is None:
        raise InputError(
            f"the id column '{id_column}' is not in the table",
            column=id_column,
            hint="pass id_column= with the name of the table's account id column",
        )

    # 1. icp_src: per-attribute values (missing flag, category text, number, list)
    #    (0. icp_in, with lookups: each cell's code, the position of its value in
    #    the lookup, NULL last; NULL for a value not in it)
    source: exp.Expression = _table_name(table, dialect)
    looked = [a for a in attrs.values() if a.lookup is not None]
    in_q = None
    if looked:
        in_q = _select([exp.Star(), *[_alias(_code(a), f"a{a.index}_c") for a in looked]], source)
        source = _cte_ref("icp_in")
    src_cols: list[exp.Expression] = [_alias(_text(id_col), "account_id")]
    for a in attrs.values():
        if a.lookup is not None:
            src_cols.append(a.ref("c"))
        for e in _attribute_columns(a, ops[a.name], dialect, a.numeric, a.listy):
            src_cols.append(_alias(a.lazy(e.this), e.alias) if a.lookup is not None else e)
    src_q = _select(src_cols, source)

    # 1b. icp_val: missing flag and category text of the plain text and number
    #     attributes, from their word or number (read once, not once per use)
    val_cols: list[exp.Expression] = []
    for src_col in src_cols:
        name = src_col.alias_or_name
        a_num = next((a for a in attrs.values() if a.number and name == f"a{a.index}_n"), None)
        if a_num is not None:  # a number's missing flag and category text, from the number
            val_cols.append(_col(name))
            val_cols.append(
                _alias(a_num.lazy(_coalesce(_is_null(_col(name)), exp.true())), f"a{a_num.index}_m")
            )
            if ops[a_num.name] & {"in", "not_in"} and a_num.kind != _LIST:
                val_cols.append(
                    _alias(a_num.lazy(_category(_number_text(_col(name)))), f"a{a_num.index}_t")
                )
            continue
        a_word = next((a for a in attrs.values() if a.word and name == f"a{a.index}_w"), None)
        if a_word is None:
            val_cols.append(_col(name))
            continue
        val_cols.append(
            _alias(a_word.lazy(clean.sql_is_null_word(_col(name))), f"a{a_word.index}_m")
        )
        if ops[a_word.name] & {"in", "not_in"}:
            val_cols.append(
                _alias(exp.Nullif(this=_col(name), expression=_s("")), f"a{a_word.index}_t")
            )
    val_q = _select(val_cols, _cte_ref("icp_src"))

    # 2. icp_feat: which bin of each feature holds (first match), veto reason,
    #    pinned criteria per tier; each condition is tested once
    feats = icp.scorecard.features
    nf = len(feats)
    feat_cols: list[exp.Expression] = [_col("account_id")]
    for j, f in enumerate(feats):
        on = {attrs[b.attribute].name for b in f.bins}
        one = attrs[f.bins[0].attribute] if len(on) == 1 and f.bins else None
        steps = (
            _number_steps(f.bins, one)
            if lookups is not None and one is not None and one.lookup is None
            else None
        )
        if steps is not None:
            which = steps
        elif one is not None and one.lookup is not None and not one.absent:
            a = one
            # the first bin holding, per known value; other cells tested by the SQL
            held = [a.holds(b) for b in f.bins]
            first = [next((i for i, h in enumerate(held) if h[v]), -1) for v in range(len(held[0]))]
            which = _case(
                [(a.known(), _pick(a, first))],
                _case([(_compiled_condition(b, a), _i(i)) for i, b in enumerate(f.bins)], _i(-1)),
            )
        else:
            which = _case(
                [(_condition(b, attrs[b.attribute]), _i(i)) for i, b in enumerate(f.bins)],
                _i(-1),
            )
        feat_cols.append(_alias(which, f"b{j}"))
    veto = _case(
        [
            (
                _condition(d, attrs[d.attribute]),
                _s(f"VETO {d.text()}" + (f" ({d.reason})" if d.reason else "")),
            )
            for d in icp.disqualifiers
            if d.enabled
        ],
        _null_text(),
    )
    feat_cols.append(_alias(veto, "veto"))
    tiers = sorted(icp.tiers, key=lambda t: t.tier)
    for t in tiers:
        pinned = _and(*[_condition(c, attrs[c.attribute]) for c in t.pinned()])
        if t.tier in tier_defs:
            defs = tier_defs[t.tier]
            defined = (
                _or(*[_and(*[_condition(c, attrs[c.attribute]) for c in d]) for d in defs])
                if defs
                else exp.false()
            )
            pinned = _and(pinned, defined)
        feat_cols.append(_alias(pinned, f"pin{t.tier}"))
    feat_q = _select(feat_cols, _cte_ref("icp_val"))

    # 3. icp_score: total points; per feature its reason text and a sort key for
    #    its contribution, unique per feature: larger |points| first, then the
    #    earlier feature (Python's (-|p|, j) order); -1 for no contribution
    def by_bin(
        j: int, value: Callable[[Any], exp.Expression | None]
    ) -> list[tuple[exp.Expression, exp.Expression]]:
        """(bin j's index is i, value(bin)) for each bin of feature j with a value."""
        out: list[tuple[exp.Expression, exp.Expression]] = []
        for i, b in enumerate(feats[j].bins):
            v = value(b)
            if v is not None:
                out.append((exp.EQ(this=_col(f"b{j}"), expression=_i(i)), v))
        return out

    def key_of(j: int) -> Callable[[Any], exp.Expression | None]:
        return lambda b: _i(abs(b.points) * nf + nf - 1 - j) if b.points else None

    # with lookups (the DuckDB engine's form) a bin's points and key are picked
    # from a list by the bin's number, and each (feature, bin) has its own key,
    # 1 for the last contribution in Python's order, so the reason text is
    # picked by the key itself; the exported SQL keeps the portable CASEs
    picked = lookups is not None
    order = sorted(
        ((j, i) for j, f in enumerate(feats) for i, b in enumerate(f.bins) if b.points),
        key=lambda ji: (-abs(feats[ji[0]].bins[ji[1]].points), ji[0], ji[1]),
    )
    codes = {ji: len(order) - r for r, ji in enumerate(order)}
    texts = [feats[j].bins[i] for j, i in reversed(order)]  # texts[k - 1]: key k's bin
    nothing = 0 if picked else -1  # the key of no contribution

    def by_number(j: int, values: list[int]) -> exp.Expression:
        """values[i] for feature j's bin i; 0 where no bin holds."""
        return exp.Anonymous(
            this="list_extract",
            expressions=[
                exp.Array(expressions=[_i(v) for v in [0, *values]]),
                exp.Add(this=_col(f"b{j}"), expression=_i(2)),
            ],
        )

    keep = ["account_id", "veto", *[f"pin{t.tier}" for t in tiers]]
    explain = range(nf) if reasons else range(0)
    score_cols: list[exp.Expression] = [_col(c) for c in keep]
    total: exp.Expression = _i(icp.scorecard.base)
    for j in range(nf):
        if picked:
            points = by_number(j, [b.points for b in feats[j].bins])
        else:
            points = _case(by_bin(j, lambda b: _i(b.points) if b.points else None), _i(0))
        total = exp.Add(this=total, expression=_p(points))
    score_cols.append(_alias(total, "total"))
    # with at most 62 keys, the contributions of a row are one number's bits
    # (key k is bit k - 1), and the five largest keys are its five highest bits
    bitwise = picked and len(order) <= 62 and bool(explain)
    if bitwise:
        bits: exp.Expression = _i(0)
        for j in explain:
            per_bin = [
                1 << (codes[(j, i)] - 1) if (j, i) in codes else 0
                for i in range(len(feats[j].bins))
            ]
            bits = exp.Add(this=bits, expression=_p(by_number(j, per_bin)))
        score_cols.append(_alias(_cast(bits, _T.BIGINT), "m1"))
    for j in explain:
        if bitwise:
            break
        if picked:
            key = by_number(j, [codes.get((j, i), 0) for i in range(len(feats[j].bins))])
            score_cols.append(_alias(key, f"k{j}"))
            continue
        reason = _case(
            by_bin(j, lambda b: _s(f"{b.text()} {_fmt_points(b.points)}") if b.points else None),
            _null_text(),
        )
        key = _case(by_bin(j, key_of(j)), _i(-1))
        score_cols += [_alias(reason, f"r{j}"), _alias(key, f"k{j}")]
    score_q = _select(score_cols, _cte_ref("icp_feat"))

    # 4. icp_rank: score = clamp(total, 0, 100), lowered to veto_score by a veto;
    #    top1 = the largest key; icp_top<i>: top<i> = the largest key below top<i-1>
    def vetoed() -> exp.Expression:
        return _not(_is_null(_col("veto")))

    vs = icp.veto_score  # within 0..100, so min(clamp(total), vs) is this CASE
    score = _case(
        [
            (_and(vetoed(), exp.GT(this=_col("total"), expression=_i(vs))), _i(vs)),
            (exp.LT(this=_col("total"), expression=_i(0)), _i(0)),
            (exp.GT(this=_col("total"), expression=_i(100)), _i(100)),
        ],
        _col("total"),
    )
    carried = [*keep, *[f"r{j}" for j in explain if not picked]]
    carried += ["m1"] if bitwise else [f"k{j}" for j in explain]
    top = min(MAX_REASONS, len(explain))
    rank_cols: list[exp.Expression] = [_col(c) for c in carried]
    rank_cols.append(_alias(score, "score"))
    stages: list[tuple[str, exp.Select]] = []
    if bitwise:
        stages.append(("icp_rank", _select(rank_cols, _cte_ref("icp_score"))))
        for pos in range(1, top + 1):
            # top<pos> = the highest bit of m<pos>, plus one (0: none); then m<pos+1>
            # is m<pos> without that bit (computed in stages: each reads the one before)
            have = [*carried, "score", *[f"top{i}" for i in range(1, pos)]]
            if pos > 1:
                have.append(f"m{pos}")
            cols: list[exp.Expression] = [_col(c) for c in have if c != "m1" or pos == 1]
            cols.append(_alias(_highest_bit(_col(f"m{pos}")), f"top{pos}"))
            stages.append((f"icp_top{pos}", _select(cols, _cte_ref(stages[-1][0]))))
            if pos < top:
                cols = [_col(c) for c in [*have, f"top{pos}"] if c not in (f"m{pos}", "m1")]
                rest = exp.Sub(
                    this=_col(f"m{pos}"),
                    expression=_case(
                        [
                            (
                                exp.GT(this=_col(f"top{pos}"), expression=_i(0)),
                                exp.BitwiseLeftShift(
                                    this=_cast(_i(1), _T.BIGINT),
                                    expression=exp.Sub(this=_col(f"top{pos}"), expression=_i(1)),
                                ),
                            )
                        ],
                        _i(0),
                    ),
                )
                cols.append(_alias(rest, f"m{pos + 1}"))
                stages.append((f"icp_bits{pos + 1}", _select(cols, _cte_ref(stages[-1][0]))))
    elif top:
        greatest = exp.Greatest(this=_i(nothing), expressions=[_col(f"k{j}") for j in range(nf)])
        rank_cols.append(_alias(greatest, "top1"))
    if not bitwise:
        stages.append(("icp_rank", _select(rank_cols, _cte_ref("icp_score"))))
    for pos in range(2, top + 1 if not bitwise else 0):
        below = [
            _case(
                [(exp.LT(this=_col(f"k{j}"), expression=_col(f"top{pos - 1}")), _col(f"k{j}"))],
                _i(nothing),
            )
            for j in range(nf)
        ]
        cols = [_col(c) for c in [*carried, "score", *[f"top{i}" for i in range(1, pos)]]]
        cols.append(_alias(exp.Greatest(this=_i(nothing), expressions=below), f"top{pos}"))
        stages.append((f"icp_top{pos}", _select(cols, _cte_ref(stages[-1][0]))))

    # 5. tier, route, reasons
    tier = _case(
        [(vetoed(), _s("excluded"))]
        + [
            (
                _and(exp.GTE(this=_col("score"), expression=_i(t.min_score)), _col(f"pin{t.tier}")),
                _s(str(t.tier)),
            )
            for t in tiers
        ],
        _s("none"),
    )
    r = icp.routing
    route = _case(
        [
            (vetoed(), _s("deprioritize")),
            (exp.GTE(this=_col("score"), expression=_i(r.high_touch)), _s("high_touch")),
            (exp.GTE(this=_col("score"), expression=_i(r.nurture)), _s("nurture")),
        ],
        _s("deprioritize"),
    )
    parts: list[exp.Expression] = [_col("veto")]
    for pos in range(1, top + 1):
        if picked:  # list_extract(texts, 0) is NULL: no contribution at this position
            text = [_s(f"{b.text()} {_fmt_points(b.points)}") for b in texts]
            parts.append(
                exp.Anonymous(
                    this="list_extract",
                    expressions=[exp.Array(expressions=text), _col(f"top{pos}")],
                )
            )
            continue
        at_pos = [
            (
                _and(
                    exp.GTE(this=_col(f"k{j}"), expression=_i(0)),
                    exp.EQ(this=_col(f"k{j}"), expression=_col(f"top{pos}")),
                ),
                _col(f"r{j}"),
            )
            for j in range(nf)
        ]
        parts.append(_case(at_pos, _null_text()))
    if picked:  # DuckDB's concat_ws skips NULLs (Snowflake's would give NULL)
        because: exp.Expression = exp.Anonymous(this="concat_ws", expressions=[_s("; "), *parts])
    else:  # '; ' before each present part, then drop the first two characters
        joined = _concat(*[_coalesce(_concat(_s("; "), _p(part)), _s("")) for part in parts])
        because = exp.Substring(this=joined, start=_i(3))
    outputs = [
        _col("account_id"),
        _alias(_cast(_col("score"), _T.INT), "score"),
        _alias(tier, "tier"),
        _alias(route, "route"),
    ]
    if reasons:
        outputs.append(_alias(because, "reasons"))
    final = _select(outputs, _cte_ref(stages[-1][0]))
    for name, query in (
        *([("icp_in", in_q)] if in_q is not None else []),
        ("icp_src", src_q),
        ("icp_val", val_q),
        ("icp_feat", feat_q),
        ("icp_score", score_q),
        *stages,
    ):
        final = final.with_(name, as_=query, copy=False)
    return final


_NAME_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_BIGQUERY_PART = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")  # project ids hold hyphens


def _table_name(name: str, dialect: str) -> exp.Table:
    """``name`` (``table``, ``schema.table`` or ``catalog.schema.table``) as a table, checked.

    Each part must be a plain identifier (letters, digits, ``_``, ``$``; ``-`` for
    BigQuery project ids), so no name can carry SQL of its own (``a;b``).
    """
    parts = str(name).split(".")
    rule = _BIGQUERY_PART if dialect == "bigquery" else _NAME_PART
    if not 1 <= len(parts) <= 3 or not all(rule.fullmatch(p) for p in parts):
        raise InputError(
            f"'{name}' is not a valid table or view name",
            hint="Use letters, digits and _ (optionally schema.table), e.g. crm.accounts",
        )
    try:
        return exp.to_table(name, dialect=dialect)
    except SqlglotError as exc:
        raise InputError(f"'{name}' is not a valid {dialect} table or view name ({exc})") from exc


def _check_dialect(dialect: str) -> str:
    d = str(dialect).strip().lower()
    if d == "postgresql":
        d = "postgres"
    if d not in DIALECTS:
        raise UnsupportedDialect(
            f"unknown SQL dialect '{dialect}'; supported: {', '.join(DIALECTS)}"
        )
    return d


def compile_sql(
    icp: ICP,
    *,
    table: str = "accounts",
    dialect: str = "duckdb",
    view: str | None = None,
    id_column: str = "account_id",
    list_columns: set[str] | None = None,
    columns: Iterable[str] | Mapping[str, str] | None = None,
    absent: Iterable[str] | None = None,
    replace: bool = False,
    pretty: bool = True,
    reasons: bool = True,
) -> str:
    """SQL that scores every row of ``table`` exactly as ``score_accounts`` does.

    Returns a ``SELECT`` of ``account_id, score, tier, route, reasons``, or a
    ``CREATE VIEW view AS SELECT ...`` (``CREATE OR REPLACE VIEW`` with
    ``replace=True``) when ``view`` is given.

    - ``dialect``: one of ``duckdb``, ``postgres``, ``snowflake``, ``bigquery``, ``spark``.
    - ``list_columns``: attributes stored as native array columns; any other
      list attribute is read as ``|``/``;``/``,`` separated text.
    - ``columns``: the table's column names, or a mapping of name to SQL
      type; attributes the table lacks then score neutral and array
      types are recognised as lists (see the module notes).
    - ``absent``: attributes the table does not have (when ``columns`` is
      not given): they score neutral. Without ``columns`` or ``absent`` the
      table must have every attribute the ICP uses.
    - ``reasons=False``: leave out the ``reasons`` column (and the ranking
      of contributions behind it); the other columns are unchanged.

    Raises :class:`UnsupportedDialect` for an unknown dialect or a construct
    the dialect cannot express, and :class:`~icpkit.errors.InputError` when
    ``columns`` is given and lacks ``id_column``.
    """
    dialect = _check_dialect(dialect)
    tree: exp.Expression = build_query(
        icp,
        table=table,
        dialect=dialect,
        id_column=id_column,
        list_columns=list_columns,
        columns=columns,
        absent=absent,
        reasons=reasons,
    )
    if view:
        tree = exp.Create(
            this=_table_name(view, dialect),
            kind="VIEW",
            expression=tree,
            replace=replace,
        )
    try:
        return tree.sql(
            dialect=dialect, copy=False, pretty=pretty, unsupported_level=ErrorLevel.RAISE
        )
    except UnsupportedError as exc:
        raise UnsupportedDialect(
            f"the {dialect} dialect cannot express part of this ICP's query: {exc}"
        ) from exc
