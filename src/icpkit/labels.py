"""Readable words for attributes and conditions.

``industry: logistics`` becomes "logistics companies", ``employees 250-579``
becomes "250-579 employees", ``annual_revenue 61M-160M`` becomes
"annual revenue $61M-160M", ``tech_stack has snowflake`` becomes
"uses Snowflake" and a yes/no column reads as its own header ("has partner
program", "no partner program"). Column names come from the header the
data was written with when it is known (``ICP.labels``), else from the
column name with its underscores dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .icpfile import Condition, fmt_number

#: canonical account columns and the words they read as
CANONICAL_WORDS = {
    "industry": "industry",
    "employees": "employees",
    "annual_revenue": "annual revenue",
    "country": "country",
    "region": "region",
    "founded_year": "founded year",
    "funding_stage": "funding stage",
    "tech_stack": "tech stack",
    "current_solution": "current solution",
}
INDUSTRY_WORDS = ("industry", "sector", "vertical")
HEADCOUNT_WORDS = ("employees", "employee", "headcount", "staff", "fte")
MONEY_WORDS = (
    "revenue",
    "amount",
    "arr",
    "mrr",
    "spend",
    "budget",
    "acv",
    "tcv",
    "turnover",
    "sales",
)
TOOL_WORDS = ("tech", "stack", "technologies", "technographics", "tools", "software", "uses")
PLACE_WORDS = ("country", "region", "location", "state", "city", "geo", "hq")
TRUE_WORDS = {"true", "yes", "y", "t"}
FALSE_WORDS = {"false", "no", "n", "f"}
_VERBS = {"uses": "use", "has": "have", "is": "are", "does": "do", "sells": "sell"}


def _tokens(col: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", col.lower()) if t]


def is_money(col: str) -> bool:
    """A column that holds an amount of money (revenue, ARR, spend...)."""
    return any(t in MONEY_WORDS for t in _tokens(col))


def is_headcount(col: str) -> bool:
    return any(t in HEADCOUNT_WORDS for t in _tokens(col))


def is_size(col: str) -> bool:
    """Company size, by people or by revenue: two views of one signal."""
    toks = _tokens(col)
    return is_headcount(col) or (
        "revenue" in toks or "turnover" in toks or col in ("annual_revenue", "size", "company_size")
    )


def is_industry(col: str) -> bool:
    return any(t in INDUSTRY_WORDS for t in _tokens(col))


def is_workaround(col: str) -> bool:
    """What the company uses today instead of the product (``current_solution``)."""
    toks = _tokens(col)
    return "workaround" in toks or (
        "current" in toks and any(t in toks for t in ("solution", "tool", "vendor", "system"))
    )


def is_place(col: str) -> bool:
    return any(t in PLACE_WORDS for t in _tokens(col))


def is_tools(col: str) -> bool:
    return any(t in TOOL_WORDS for t in _tokens(col))


def words(text: str) -> str:
    """A header in words: ``annual_revenue`` -> 'annual revenue', ``ERP System`` -> 'ERP system'."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", str(text))  # camelCase
    s = re.sub(r"[_\s]+", " ", s).strip().rstrip("?:.").strip()
    if s.isupper():  # a header in capitals throughout ('ANNUAL_REVENUE') has no acronyms to keep
        s = s.lower()
    out = []
    for w in s.split(" "):
        out.append(w if (len(w) > 1 and w.isupper()) else w.lower())
    return " ".join(out)


def trigger_words(kind: str, days: object, when: str | None = None) -> str:
    """A trigger in words: ``funding_round``, 90 -> 'funding round in the 90 days before the
    deal'; an upcoming one (``when="upcoming"``) -> 'renewal due within 60 days'."""
    name = words(kind)
    if when == "upcoming":
        return f"{name} due within {days} days"
    return f"{name} in the {days} days before the deal"


def column_words(col: str, labels: Mapping[str, str] | None = None) -> str:
    """How to name a column in a sentence: the source header in words, else the column's."""
    header = (labels or {}).get(col)
    if header and words(header):
        return words(header)
    return CANONICAL_WORDS.get(col) or words(col) or col


def item_words(item: str) -> str:
    """A list item (a tool): 'snowflake' -> 'Snowflake', 'aws' -> 'AWS', 'google_ads' -> 'Google Ads'."""
    parts = re.split(r"[_\s]+", str(item).strip())
    return " ".join(
        p if any(ch.isupper() for ch in p) else (p.upper() if len(p) <= 3 else p.capitalize())
        for p in parts
        if p
    )


def bool_value(v: str) -> bool | None:
    low = str(v).strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


def _flag(col: str, labels: Mapping[str, str] | None, value: bool) -> str:
    name = column_words(col, labels)
    if name.endswith(" flag"):  # 'churn flag' reads as 'churn'
        name = name[: -len(" flag")]
    first, _, rest = name.partition(" ")
    if first in ("is", "has", "uses", "does") and rest:
        if value:
            return name
        neg = {"is": "is not", "has": "has no", "uses": "does not use", "does": "does not"}
        return f"{neg[first]} {rest}"
    return name if value else f"no {name}"


def _values(vals: list[str]) -> str:
    return " or ".join(str(v).replace("_", " ") for v in vals)


def _range(lo: float | None, hi: float | None, prefix: str = "", c: Condition | None = None) -> str:
    f = fmt_number
    if lo is None and hi is not None:
        return f"under {prefix}{f(hi)}"
    if hi is None and lo is not None:
        return f"{prefix}{f(lo)}+"
    assert lo is not None and hi is not None
    # integer bins read inclusively ('250-579'), as the binning labelled them
    if c is not None and c.label and c.label.endswith(f" {f(lo)}-{f(hi - 1)}"):
        return f"{prefix}{f(lo)}-{f(hi - 1)}"
    return f"{prefix}{f(lo)}-{f(hi)}"


def _custom_label(c: Condition) -> bool:
    """A label a person wrote by hand (not one the binning generated from the column name)."""
    if not c.label:
        return False
    return not (c.label.startswith(c.attribute) or c.label.endswith(f" in {c.attribute}"))


def label(
    c: Condition,
    labels: Mapping[str, str] | None = None,
    currency: str = "$",
    *,
    plural: bool = False,
) -> str:
    """One condition in plain words (no column names in snake_case, no 'true'/'false').

    ``plural=True`` conjugates a leading verb for 'companies that ...' ('use Snowflake').
    """
    text = _label(c, labels, currency)
    if plural:
        first, sep, rest = text.partition(" ")
        if first in _VERBS:
            text = _VERBS[first] + sep + rest
        elif _custom_label(c) or text.startswith("based in ") or text.endswith(" companies"):
            pass
        elif _is_flag(c):
            text = "have " + text  # 'have partner program', 'have no partner program'
        elif c.op in ("in", "not_in"):
            text = "have " + text.replace(": ", " ", 1)  # 'have origin organic search'
    return text


def _is_flag(c: Condition) -> bool:
    vals = (c.in_ if c.op == "in" else c.not_in if c.op == "not_in" else None) or []
    flags = {bool_value(v) for v in vals}
    return bool(vals) and None not in flags and len(flags) == 1


def _label(c: Condition, labels: Mapping[str, str] | None, currency: str) -> str:
    if _custom_label(c):
        return str(c.label)
    a = c.attribute
    name = column_words(a, labels)
    op = c.op
    if op in ("in", "not_in"):
        vals = [str(v) for v in ((c.in_ if op == "in" else c.not_in) or [])]
        if _is_flag(c):
            value = bool(bool_value(vals[0]))
            return _flag(a, labels, value if op == "in" else not value)
        if op == "in" and is_workaround(a):
            return f"currently uses {_values([v.lower() for v in vals])}"
        if op == "in" and is_place(a):
            return f"based in {' or '.join(vals)}"
        if op == "in" and is_industry(a):
            return f"{_values([v.lower() for v in vals])} companies"
        if op == "in":
            return f"{name}: {_values(vals)}"
        return f"{name} not {_values(vals)}"
    if op == "between":
        lo, hi = c.between or (None, None)
        if is_headcount(a):
            if lo is None and hi is not None:
                return f"fewer than {fmt_number(hi)} employees"
            return f"{_range(lo, hi, c=c)} employees"
        if " " not in name and name.endswith("s") and not is_money(a):  # a count: '10-50 seats'
            if lo is None and hi is not None:
                return f"fewer than {fmt_number(hi)} {name}"
            return f"{_range(lo, hi, c=c)} {name}"
        return f"{name} {_range(lo, hi, currency if is_money(a) else '', c)}"
    if op == "has":
        item = item_words(str(c.has))
        return f"uses {item}" if is_tools(a) else f"{name} includes {item}"
    if op == "lacks":
        item = item_words(str(c.lacks))
        return f"does not use {item}" if is_tools(a) else f"no {item} in {name}"
    if op == "missing":
        return f"{name} unknown" if c.missing else f"{name} known"
    return f"{name}: another value"


def noun_phrase(c: Condition, labels: Mapping[str, str] | None = None, currency: str = "$") -> str:
    """The companies a condition picks out: 'government companies', 'companies with fewer than 45 employees'."""
    text = label(c, labels, currency, plural=True)
    if text.endswith(" companies"):
        return text
    first = text.split(" ", 1)[0]
    if text.startswith("based in "):
        return f"companies {text}"
    if first in ("use", "have", "are", "do", "sell"):
        return f"companies that {text}"
    return f"companies with {text}"


_SUFFIX = {"k": 1e3, "M": 1e6, "B": 1e9}


def _read_number(text: str) -> float | None:
    """The inverse of :func:`icpkit.icpfile.fmt_number`: '45k' -> 45000.0, '2.5B', '1200'."""
    t = text.strip()
    scale = _SUFFIX.get(t[-1:], 1.0) if t else 1.0
    if scale != 1.0:
        t = t[:-1]
    try:
        return float(t) * scale
    except ValueError:
        return None


def _parse_on(text: str, a: str) -> Condition | None:
    """``text`` as :func:`icpkit.icpfile.describe` writes a condition on column ``a``."""
    ops: dict[str, Any] | None = None
    if text == f"{a} (blank)":
        ops = {"missing": True}
    elif text == f"{a}=other":
        ops = {"other": True}
    elif text.startswith(f"{a}!="):
        ops = {"not_in": [text[len(a) + 2 :]]}
    elif text.startswith(f"{a}="):
        ops = {"in": [text[len(a) + 1 :]]}
    elif text.startswith(f"{a} not in (") and text.endswith(")"):
        ops = {"not_in": text[len(a) + 9 : -1].split(", ")}
    elif text.startswith(f"{a} in (") and text.endswith(")"):
        ops = {"in": text[len(a) + 5 : -1].split(", ")}
    elif text.startswith(f"{a} has "):
        ops = {"has": text[len(a) + 5 :]}
    elif text.startswith("no ") and text.endswith(f" in {a}") and len(text) > len(a) + 7:
        ops = {"lacks": text[3 : -len(a) - 4]}
    elif text.startswith(f"{a} < "):
        hi = _read_number(text[len(a) + 3 :])
        ops = {"between": (None, hi)} if hi is not None else None
    elif text.startswith(f"{a} >= "):
        lo = _read_number(text[len(a) + 4 :])
        ops = {"between": (lo, None)} if lo is not None else None
    elif text.startswith(f"{a} ") and " to <" in text:
        lo_t, _, hi_t = text[len(a) + 1 :].partition(" to <")
        lo, hi = _read_number(lo_t), _read_number(hi_t)
        ops = {"between": (lo, hi)} if lo is not None and hi is not None and lo < hi else None
    return Condition(attribute=a, **ops) if ops else None


def parse_condition(text: str, attributes: Iterable[str]) -> Condition | None:
    """The condition :func:`icpkit.icpfile.describe` wrote as ``text``, on one of
    ``attributes`` (the longest name that reads first); None when it is not one."""
    for a in sorted(set(attributes), key=len, reverse=True):
        c = _parse_on(text, a)
        if c is not None:
            return c
    return None


def segment_label(
    text: str,
    known: Mapping[str, Condition],
    attributes: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    currency: str = "$",
) -> str:
    """A segment's text ('industry=logistics AND employees 250-579') in the report's
    words ('logistics companies and 250-579 employees').

    Each ``AND`` part is read as the condition it describes: from ``known``
    (condition text -> condition, e.g. the ICP's criteria and scorecard bins),
    else parsed on ``attributes``; a part that is neither keeps its text with
    the column names in words.
    """
    names = sorted(set(attributes) | {c.attribute for c in known.values()}, key=len, reverse=True)
    out = []
    for part in text.split(" AND "):
        c = known.get(part) or parse_condition(part, names)
        if c is not None:
            out.append(label(c, labels, currency))
            continue
        for a in names:
            if a in part:
                part = part.replace(a, column_words(a, labels))
                break
        out.append(part)
    return " and ".join(out)
