"""Date windows in questions: "last month", "in Q2 2025", "since 2024-03-01", ...

``read_window`` sets ``since``/``until`` (both inclusive) and a label on a
scope. Relative windows are calendar-based: "last month" is the previous
calendar month, "last quarter" the previous calendar quarter, "in Q3" the most
recent Q3 that has begun.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scope import Scope

_NUM_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "a hundred": 100,
}  # fmt: skip
_NUM = r"(\d{1,6}|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + r")"
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]  # fmt: skip
    )
    for m in names
}
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_MON = "(?:" + _MONTH[1:-1] + ")"
_DATE = rf"(\d{{4}}-\d{{1,2}}(?:-\d{{1,2}})?|{_MON}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MON}\s+\d{{4}}|{_MON}\s+\d{{4}})"


class Reader:
    """A lower-cased question with the spans already understood masked out."""

    def __init__(self, text: str) -> None:
        self.raw = text
        self.text = text.lower()
        self.used = [False] * len(text)

    def find(self, pattern: str) -> list[re.Match[str]]:
        out = []
        for m in re.finditer(pattern, self.text):
            if not any(self.used[m.start() : m.end()]):
                out.append(m)
        return out

    def take(self, m: re.Match[str] | tuple[int, int]) -> None:
        s, e = (m.start(), m.end()) if isinstance(m, re.Match) else m
        for i in range(s, e):
            self.used[i] = True

    def rest(self) -> str:
        return "".join(" " if u else c for c, u in zip(self.raw, self.used, strict=True))


def _month_bounds(y: int, m: int) -> tuple[date, date]:
    start = date(y, m, 1)
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def _quarter_bounds(y: int, q: int) -> tuple[date, date]:
    start = date(y, 3 * (q - 1) + 1, 1)
    return start, _month_bounds(y, 3 * q)[1]


def _shift_month(y: int, m: int, k: int) -> tuple[int, int]:
    idx = y * 12 + (m - 1) + k
    return idx // 12, idx % 12 + 1


def parse_date(text: str, *, end: bool = False) -> date | None:
    """ISO ``YYYY-MM-DD`` / ``YYYY-MM``, ``March 5, 2025``, ``5 March 2025``, ``March 2025``."""
    t = text.strip().lower().replace(",", "")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", t)
    try:
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            if m.group(3):
                return date(y, mo, int(m.group(3)))
            return _month_bounds(y, mo)[1 if end else 0]
        parts = t.split()
        if len(parts) == 3 and parts[0] in _MONTHS:
            return date(int(parts[2]), _MONTHS[parts[0]], int(parts[1]))
        if len(parts) == 3 and parts[1] in _MONTHS:
            return date(int(parts[2]), _MONTHS[parts[1]], int(parts[0]))
        if len(parts) == 2 and parts[0] in _MONTHS:
            return _month_bounds(int(parts[1]), _MONTHS[parts[0]])[1 if end else 0]
    except ValueError:
        return None
    return None


def num(tok: str) -> int:
    return int(tok) if tok.isdigit() else _NUM_WORDS[tok]


def read_window(r: Reader, s: Scope, today: date) -> None:
    """Read the first date window in the question into ``s``."""

    def setw(m: re.Match[str], since: date | None, until: date | None, label: str) -> None:
        s.since, s.until, s.window = since, until, label
        r.take(m)

    for m in r.find(rf"\bbetween\s+{_DATE}\s+and\s+{_DATE}"):
        a, b = parse_date(m.group(1)), parse_date(m.group(2), end=True)
        if a and b:
            setw(m, a, b, m.group(0).strip())
            return
    for m in r.find(rf"\b(?:since|after|from|starting)\s+{_DATE}"):
        d = parse_date(m.group(1))
        if d:
            s.since, s.window = d, (s.window or "") + m.group(0).strip()
            r.take(m)
    for m in r.find(rf"\b(?:until|till|before|through|to)\s+{_DATE}"):
        d = parse_date(m.group(1), end=True)
        if d:
            if m.group(0).startswith("before"):
                d = parse_date(m.group(1)) or d
                d = d - timedelta(days=1)
            s.until = d
            s.window = ((s.window + ", ") if s.window else "") + m.group(0).strip()
            r.take(m)
    if s.since or s.until:
        return
    unit_days = {"day": 1, "week": 7}
    for m in r.find(
        rf"\b(?:in\s+the\s+|over\s+the\s+|during\s+the\s+)?(?:last|past|previous)\s+{_NUM}\s+(day|week|month|quarter|year)s?\b"
    ):
        n, unit = num(m.group(1)), m.group(2)
        if unit in unit_days:
            since = today - timedelta(days=n * unit_days[unit] - 1)
        else:
            months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
            y, mo = _shift_month(today.year, today.month, -months)
            day = min(today.day, _month_bounds(y, mo)[1].day)
            since = date(y, mo, day) + timedelta(days=1)
        setw(m, since, today, f"last {n} {unit}s")
        return
    y, mo = today.year, today.month
    q = (mo - 1) // 3 + 1
    rel = [
        (r"\b(?:in\s+|during\s+)?(?:the\s+)?(?:last|previous|past|prior)\s+month\b", lambda: (*_month_bounds(*_shift_month(y, mo, -1)), "last month")),
        (r"\b(?:in\s+|during\s+)?this\s+month\b|\bmonth[- ]to[- ]date\b|\bmtd\b", lambda: (date(y, mo, 1), today, "this month")),
        (r"\b(?:in\s+|during\s+)?(?:the\s+)?(?:last|previous|past|prior)\s+quarter\b", lambda: (*_quarter_bounds(*(divmod(y * 4 + q - 2, 4)[0], divmod(y * 4 + q - 2, 4)[1] + 1)), "last quarter")),
        (r"\b(?:in\s+|during\s+)?this\s+quarter\b|\bquarter[- ]to[- ]date\b|\bqtd\b", lambda: (_quarter_bounds(y, q)[0], today, "this quarter")),
        (r"\b(?:in\s+|during\s+)?(?:the\s+)?(?:last|previous|past|prior)\s+year\b", lambda: (date(y - 1, 1, 1), date(y - 1, 12, 31), "last year")),
        (r"\b(?:in\s+|during\s+)?this\s+year\b|\byear[- ]to[- ]date\b|\bytd\b", lambda: (date(y, 1, 1), today, "this year")),
        (r"\b(?:in\s+|during\s+)?(?:the\s+)?(?:last|previous|past|prior)\s+week\b", lambda: (today - timedelta(days=today.weekday() + 7), today - timedelta(days=today.weekday() + 1), "last week")),
        (r"\b(?:in\s+|during\s+)?this\s+week\b", lambda: (today - timedelta(days=today.weekday()), today, "this week")),
        (r"\byesterday\b", lambda: (today - timedelta(days=1), today - timedelta(days=1), "yesterday")),
        (r"\btoday\b", lambda: (today, today, "today")),
    ]  # fmt: skip
    for pat, fn in rel:
        found = r.find(pat)
        if found:
            a, b, label = fn()
            setw(found[0], a, b, label)
            return
    for m in r.find(
        r"\b(?:in\s+|during\s+)?(?:the\s+)?q([1-4])(?:\s*(?:of\s+)?(\d{4})|\s*'(\d{2}))?\b|\b(\d{4})\s*[- ]?q([1-4])\b"
    ):
        qq = int(m.group(1) or m.group(5))
        yy = m.group(2) or (("20" + m.group(3)) if m.group(3) else None) or m.group(4)
        year = int(yy) if yy else (y if qq <= q else y - 1)
        a, b = _quarter_bounds(year, qq)
        setw(m, a, b, f"Q{qq} {year}")
        return
    for m in r.find(rf"\b(?:in|during|for|throughout)\s+{_MONTH}(?:\s+(\d{{4}}))?\b"):
        mm = _MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (y if mm <= mo else y - 1)
        a, b = _month_bounds(year, mm)
        setw(m, a, b, f"{m.group(1).capitalize()} {year}")
        return
    for m in r.find(r"\b(?:in|during|for|throughout|of)\s+((?:19|20)\d{2})\b"):
        year = int(m.group(1))
        setw(m, date(year, 1, 1), date(year, 12, 31), m.group(1))
        return
