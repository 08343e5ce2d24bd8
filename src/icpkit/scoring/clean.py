"""Reading raw cells: the one set of rules every scorer applies to its input.

The same account must score the same whether it comes from a CSV read by
pandas, a CSV or Parquet file read by DuckDB, a Spark table, a warehouse
table or a JSON request. Each rule is defined here once and comes in three
forms: a scalar one (one value, for the API's one-account path), a
vectorised pandas one (the Python scorer's ``Columns`` and ingest's number
parsing) and a SQL one (sqlglot expressions for the compiled query).

Rules
-----
- **Trim.** Text is trimmed of whitespace: exactly the characters Python's
  ``str.strip()`` removes (:data:`WHITESPACE`, Unicode spaces included).
- **Null cells.** A cell is missing when it is null, blank after trimming, or
  one of the :data:`NULL_WORDS` (``-``, ``n/a``, ``null``, ``none``,
  ``nan`` …, compared trimmed and lower-cased). A list is missing when it
  has no non-blank item.
- **Numbers.** A cell is read as a number in four steps. (1) Trim and
  lower-case it and remove currency symbols and codes (``$ € £ ¥ ₹``,
  ``usd``, ``eur``, ``chf`` … :data:`CURRENCY`), thousands separators other
  than the comma and dot (``_``, ``'``, spaces, no-break spaces), percent
  signs (:data:`NUMBER_STRIP`). (2) Accounting negatives: ``(1200)`` is
  ``-1200``. (3) The comma and the dot: with two or more dot-separated groups
  of three digits, or one followed by a comma (``1.234.567``, ``1.234,5``),
  dots separate thousands and the comma is the decimal mark; a lone comma
  followed by one or two digits (``12,5``, ``12,50``) is a decimal mark;
  any other comma separates thousands (``1,200``, ``1,234,567.5``).
  (4) What is left must be a plain decimal number (:data:`NUMBER_PATTERN`:
  ``12``, ``-1.5``, ``.5``, ``5.``, ``1.2e3``). So ``"$5,850,000.00"`` is
  5850000, ``"USD 12,000.00"`` is 12000, ``"1.234.567,89 €"`` is
  1234567.89, ``"1 234,50"`` is 1234.5, ``" 300 "`` is 300, ``"12%"`` is 12
  and ``"12,5"`` is 12.5; ``"1.234"`` is 1.234 (a single dot group is a
  decimal). A null cell, one of :data:`NUMBER_NULL_WORDS` (``na``, ``inf``
  …) or a number too large for a double is no number (unknown); any other
  text is *not a number* (unknown too, and counted as a bad value). A native
  number is read as is, except that ``NaN`` and infinities are unknown; a
  boolean is no number.
- **Lists.** A list is a native list/array, or text split on the first of
  ``|``, ``;``, ``,`` found in it; items are trimmed and lower-cased and blank
  items dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the SQL half imports sqlglot when it runs: the Python scorer does not need it
    from sqlglot import exp

# what str.strip() removes (every character whose str.isspace() is true; written out
# because scanning all of Unicode for them costs a tenth of a second at every start)
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NULL_WORDS = ("-", "--", "n/a", "#n/a", "null", "none", "nan", "nil")
NUMBER_NULL_WORDS = ("na", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
# currency codes and symbols, removed wherever they are in a number cell (longest first)
CURRENCY = (
    "usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "nzd", "sek", "nok", "dkk", "inr",
    "brl", "cny", "rmb", "zar", "mxn", "sgd", "hkd", "pln", "czk", "huf", "ils", "krw",
    "r$", "kr", "zł", "$", "€", "£", "¥", "₹", "₩", "₽", "₺", "₪", "฿",
)  # fmt: skip
NUMBER_STRIP = (*CURRENCY, "_", "'", "’", "%", " ", "\t", "\u00a0", "\u202f")
# one regular expression removing all of them (longest first, so every engine removes the same)
STRIP_PATTERN = "|".join(
    "".join(f"[{ch}]" if not ch.isalnum() else ch for ch in x)
    for x in sorted(NUMBER_STRIP, key=lambda x: (-len(x), x))
)
NUMBER_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?$"
# ``(1200)``: an accounting negative
PARENS_PATTERN = r"^[(][^()]*[)]$"
# dots separate thousands, the comma (if any) is the decimal mark: 1.234.567 or 1.234,5
DOT_THOUSANDS_PATTERN = (
    r"^[+-]?[0-9]{1,3}([.][0-9]{3}){2,}(,[0-9]*)?$|^[+-]?[0-9]{1,3}[.][0-9]{3},[0-9]*$"
)
# a lone comma before one or two digits is the decimal mark: 12,5 or 1234,50
DECIMAL_COMMA_PATTERN = r"^[+-]?[0-9]*,[0-9]{1,2}$"
LIST_SEPARATORS = ("|", ";", ",")
DBL_MAX = "1.7976931348623157e308"

_LIST_TYPES = (list, tuple, np.ndarray, frozenset, set)
_NUMBER_RE = re.compile(NUMBER_PATTERN)
_STRIP_RE = re.compile(STRIP_PATTERN)
_PARENS_RE = re.compile(PARENS_PATTERN)
_DOT_THOUSANDS_RE = re.compile(DOT_THOUSANDS_PATTERN)
_DECIMAL_COMMA_RE = re.compile(DECIMAL_COMMA_PATTERN)
_NULLS = frozenset(("", *NULL_WORDS))
_NO_NUMBER = frozenset((*_NULLS, *NUMBER_NULL_WORDS))


# -- scalar -------------------------------------------------------------------------


def is_null(v: Any) -> bool:
    """Whether one cell is missing (null, blank, a null word, a list of blank items)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return v.strip().lower() in _NULLS
    if isinstance(v, _LIST_TYPES):
        return not any(str(x).strip() for x in v if x is not None)
    return False


def number_word(low: str) -> str:
    """A trimmed, lower-cased cell reduced to a plain number's text by steps 1-3 of the
    number rule (currency and spaces removed, ``(x)`` to ``-x``, decimal mark to ``.``)."""
    s = _STRIP_RE.sub("", low)
    if _PARENS_RE.match(s):
        s = "-" + s[1:-1]
    if _DOT_THOUSANDS_RE.match(s):
        return s.replace(".", "").replace(",", ".")
    if _DECIMAL_COMMA_RE.match(s):
        return s.replace(",", ".")
    return s.replace(",", "")


def parse_number(text: str) -> tuple[float, bool]:
    """``(value, bad)`` for one text cell: NaN when no number; ``bad`` when it is text
    that is neither a number nor a null word.

    >>> parse_number("USD 12,000.00"), parse_number("1.234.567,89 €"), parse_number("(1,200)")
    ((12000.0, False), (1234567.89, False), (-1200.0, False))
    >>> parse_number("12,5"), parse_number("1,200"), parse_number("abc")
    ((12.5, False), (1200.0, False), (nan, True))
    """
    low = text.strip().lower()
    if low in _NO_NUMBER:
        return math.nan, False
    s = number_word(low)
    if _NUMBER_RE.match(s):
        x = float(s)
        return (x, False) if math.isfinite(x) else (math.nan, False)
    return math.nan, s not in _NO_NUMBER


def number(v: Any) -> float:
    """One cell as a number (NaN when it is none)."""
    if v is None or isinstance(v, (bool, np.bool_) + _LIST_TYPES) or v is pd.NA:
        return math.nan
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        return x if math.isfinite(x) else math.nan
    return parse_number(str(v))[0]


def number_text(x: float) -> str | None:
    """A number's category text: ``5.0`` is ``"5"``, ``2.5`` is ``"2.5"``."""
    if math.isnan(x):
        return None
    if x == round(x) and abs(x) < 2**62:
        return str(int(x))
    return str(float(x)).lower()


def split_items(v: Any) -> list[str]:
    """A list cell's items: trimmed, lower-cased, blanks dropped (duplicates kept)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return []
    if isinstance(v, _LIST_TYPES):
        parts = [str(x) for x in v]
    else:
        s = str(v)
        sep = next((c for c in LIST_SEPARATORS[:-1] if c in s), LIST_SEPARATORS[-1])
        parts = s.split(sep)
    return [p for p in (x.strip().lower() for x in parts) if p]


# -- pandas -------------------------------------------------------------------------


def distinct_objects(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct objects (by identity) of an object array: a code per cell and one
    position of each object, so a rule on cells can be applied once per object."""
    ids = np.fromiter(map(id, cells), dtype=np.uint64, count=len(cells))
    codes, uniq = pd.factorize(ids)
    first = np.empty(len(uniq), dtype=np.int64)
    first[codes] = np.arange(len(cells))  # any position of an object: it is the same object
    return codes, first


def null_mask(s: pd.Series) -> np.ndarray:
    """Vectorised :func:`is_null`."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.isna().to_numpy(dtype=bool, copy=True)
    if s.dtype != object and pd.api.types.is_string_dtype(s.dtype):
        # each distinct text tested once
        codes, uniques = pd.factorize(s)
        t = pd.Series(uniques, dtype=s.dtype).str.strip().str.lower().isin(_NULLS)
        return np.append(t.fillna(False).to_numpy(dtype=bool), True)[codes]
    cells = s.to_numpy(dtype=object)
    codes, first = distinct_objects(cells)
    if len(first) < len(cells):  # rows sharing an object (a list cell) share its answer
        return _null_mask_cells(pd.Series(cells[first], dtype=object))[codes]
    return _null_mask_cells(s)


def _null_mask_cells(s: pd.Series) -> np.ndarray:
    m = s.isna().to_numpy(dtype=bool, copy=True)
    obj = s.astype(object)
    types = obj.map(type).to_numpy()
    is_str = np.array([t is str for t in types], dtype=bool)
    if is_str.any():
        m[is_str] |= obj[is_str].str.strip().str.lower().isin(_NULLS).to_numpy(dtype=bool)
    is_list = np.array([t in _LIST_TYPES for t in types], dtype=bool)
    if is_list.any():
        m[is_list] |= obj[is_list].map(is_null).to_numpy(dtype=bool)
    return m


def parse_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`number`: ``(values, bad)``, ``bad`` marking text that is not a
    number (neither a number nor a null word)."""
    n = len(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype=float, na_value=np.nan).copy()
        x[~np.isfinite(x)] = np.nan
        return x, np.zeros(n, dtype=bool)
    obj = s.astype(object).reset_index(drop=True)
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    types = obj.map(type).to_numpy()
    is_str = np.array([t is str for t in types], dtype=bool)
    if is_str.any():
        low = obj[is_str].str.strip().str.lower()
        stripped = _number_words(low)
        ok = stripped.str.match(NUMBER_PATTERN).to_numpy(dtype=bool)
        vals = np.full(len(low), np.nan)
        if ok.any():
            with np.errstate(over="ignore"):
                vals[ok] = stripped[ok].astype(float).to_numpy()
        vals[~np.isfinite(vals)] = np.nan
        idx = np.flatnonzero(is_str)
        out[idx] = vals
        nothing = low.isin(_NO_NUMBER).to_numpy() | stripped.isin(_NO_NUMBER).to_numpy()
        bad[idx] = ~ok & ~nothing
    other = ~is_str
    if other.any():
        out[other] = [number(v) for v in obj[other]]
        bad[other] = [isinstance(v, _LIST_TYPES) for v in obj[other]]
    return out, bad


def _number_words(low: pd.Series) -> pd.Series:
    """Vectorised :func:`number_word`."""
    s = low.str.replace(_STRIP_RE, "", regex=True)
    parens = s.str.match(PARENS_PATTERN)
    s = s.where(~parens, "-" + s.str.slice(1, -1))
    dots = s.str.match(DOT_THOUSANDS_PATTERN)
    comma = ~dots & s.str.match(DECIMAL_COMMA_PATTERN)
    plain = ~dots & ~comma
    out = s.copy()
    out[dots] = s[dots].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    out[comma] = s[comma].str.replace(",", ".", regex=False)
    out[plain] = s[plain].str.replace(",", "", regex=False)
    return out


def numbers(s: pd.Series) -> np.ndarray:
    """Vectorised :func:`number` (NaN where a cell holds no number)."""
    return parse_numbers(s)[0]


# -- SQL ----------------------------------------------------------------------------


def _s(text: str) -> exp.Literal:
    from sqlglot import exp

    return exp.Literal.string(text)


def sql_text(e: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return exp.Cast(this=e, to=exp.DataType(this=exp.DataType.Type.TEXT))


def sql_trim(e: exp.Expression) -> exp.Expression:
    """``e`` without leading and trailing :data:`WHITESPACE`, as ``str.strip()``.

    One regular expression, ``^[ws]+|[ws]+$`` replaced by nothing (every
    match): ``TRIM`` with a set of characters gives the same text but is
    about ten times slower in DuckDB.
    """
    from sqlglot import exp

    ws = regex_class(WHITESPACE)
    return exp.RegexpReplace(this=e, expression=_s(f"^{ws}+|{ws}+$"), replacement=_s(""))


def sql_word(e: exp.Expression) -> exp.Expression:
    """The cell as lower-cased, trimmed text (compare with :data:`NULL_WORDS`)."""
    from sqlglot import exp

    return exp.Lower(this=sql_trim(sql_text(e)))


def sql_is_null_text(e: exp.Expression) -> exp.Expression:
    """Text cell ``e`` is missing: NULL, blank or a null word (never NULL itself)."""
    return sql_is_null_word(sql_word(e))


def sql_is_null_word(word: exp.Expression) -> exp.Expression:
    """:func:`sql_is_null_text` of a cell already read by :func:`sql_word`."""
    from sqlglot import exp

    return exp.Coalesce(
        this=exp.In(this=word, expressions=[_s(w) for w in sorted(_NULLS)]),
        expressions=[exp.true()],
    )


def _replace(e: exp.Expression, old: str, new: str) -> exp.Expression:
    from sqlglot import exp

    return exp.Replace(this=e, expression=_s(old), replacement=_s(new))


def _strip_number(word: exp.Expression) -> exp.Expression:
    """:func:`number_word` in SQL: the cell's text reduced to a plain number's text."""
    from sqlglot import exp

    s: exp.Expression = exp.RegexpReplace(
        this=word, expression=_s(STRIP_PATTERN), replacement=_s("")
    )
    # (x) -> -x: the parentheses removed and a minus put in front
    s = exp.Case(
        ifs=[
            exp.If(
                this=exp.RegexpLike(this=s.copy(), expression=_s(PARENS_PATTERN)),
                true=exp.DPipe(
                    this=_s("-"), expression=_replace(_replace(s.copy(), "(", ""), ")", "")
                ),
            )
        ],
        default=s.copy(),
    )
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.RegexpLike(this=s.copy(), expression=_s(DOT_THOUSANDS_PATTERN)),
                true=_replace(_replace(s.copy(), ".", ""), ",", "."),
            ),
            exp.If(
                this=exp.RegexpLike(this=s.copy(), expression=_s(DECIMAL_COMMA_PATTERN)),
                true=_replace(s.copy(), ",", "."),
            ),
        ],
        default=_replace(s.copy(), ",", ""),
    )


def sql_number(e: exp.Expression) -> exp.Expression:
    """Text cell ``e`` read as a DOUBLE by the number rule; NULL when it holds none."""
    from sqlglot import exp

    stripped = _strip_number(sql_word(e))
    value = exp.TryCast(
        this=stripped.copy(),
        to=exp.DataType(this=exp.DataType.Type.DOUBLE),
        safe=True,
        requires_string=True,
    )
    parsed = exp.Case(
        ifs=[exp.If(this=exp.RegexpLike(this=stripped, expression=_s(NUMBER_PATTERN)), true=value)]
    )
    return sql_finite(parsed)


def sql_finite(e: exp.Expression) -> exp.Expression:
    """``e`` where it is a finite number, else NULL (NaN and infinities are unknown)."""
    from sqlglot import exp

    return exp.Case(
        ifs=[
            exp.If(
                this=exp.LTE(this=exp.Abs(this=e.copy()), expression=exp.Literal.number(DBL_MAX)),
                true=e,
            )
        ]
    )


def sql_bad_number(e: exp.Expression) -> exp.Expression:
    """Text cell ``e`` is text that is not a number (neither a number nor a null word)."""
    from sqlglot import exp

    word = sql_word(e)
    return exp.and_(  # type: ignore[return-value]
        exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null())),
        exp.Not(this=exp.In(this=word.copy(), expressions=[_s(w) for w in sorted(_NO_NUMBER)])),
        exp.Not(
            this=exp.In(
                this=_strip_number(word.copy()), expressions=[_s(w) for w in sorted(_NO_NUMBER)]
            )
        ),
        exp.Not(this=exp.RegexpLike(this=_strip_number(word), expression=_s(NUMBER_PATTERN))),
    )


def regex_class(chars: Iterable[str]) -> str:
    """A regular-expression character class of ``chars`` (for RE2, Java, POSIX engines)."""
    return "[" + "".join("\\" + c if c in "]\\^-[" else c for c in chars) + "]"
