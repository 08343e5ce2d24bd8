"""Turn a plain-English question into a search scope, with rules only.

``parse_question("what do our best 10 customers say about onboarding last
quarter?")`` understands *who* (best/worst N by health, tiers, the negative
ICP, won/lost/churned accounts, attribute values such as ``industry=logistics``
or "in logistics", persona words when contacts carry a ``dmu_role``), *when*
(last month, last quarter, this month, since 2024-03-01, in Q2 2025, last 30
days, in 2025, ...) and *where* (channels such as emails or calls), and keeps
the remaining words as the topic. No hosted model is involved; the parsed
:class:`Scope` is returned so callers can echo how the question was read.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

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
_WHO = r"(?:customers?|accounts?|clients?|companies|company|firms?|businesses|logos?|users?)"
_TIER = r"(1|2|3|one|two|three)"

STOPWORDS = set(
    """a about above after again all also am an and any are as at be been being below between both
    but by can could did do does doing done during each either else ever every few for from further
    get gets getting give given go going got had has have having he her here hers him his how i if
    in into is it its itself just let lets like me more most much must my no nor not now of off on
    once only or other our ours out over own please same say says said saying she should show shown
    so some such tell talk talking talked than that the their theirs them then there these they this
    those through to too under until up upon us very was we were what whats when where which while who
    whom why will with within would you your yours mention mentioned mentions mentioning discuss
    discussed discussing feel feedback think thinks thought find list summarize summarise anything
    something everything people customer customers account accounts client clients company companies
    our we've they're what's hear heard complain complaining complained complaint complaints
    recently recent regarding re ytd mtd qtd""".split()
)
# Words a question uses to talk about feedback rather than a topic; kept out of the topic
# unless they are the only words left.
_SOFT = {"complain", "complaining", "complained", "complaint", "complaints", "feedback"}


@dataclass
class Vocabulary:
    """What the workspace knows, so words can be matched to real values.

    ``attributes`` maps a column to {lower-cased value: stored value}.
    """

    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    speakers: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class Scope:
    """How a question was read. Empty fields mean "no restriction"."""

    question: str = ""
    topic: str = ""
    best: int | None = None
    worst: int | None = None
    health_tier: str | None = None  # 'best' | 'middle' | 'worst'
    tiers: list[str] = field(default_factory=list)  # '1','2','3','none','excluded'
    outcome: str | None = None  # 'won' | 'lost' | 'churned' | 'open'
    where: dict[str, list[str]] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None  # inclusive
    window: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def needs_accounts(self) -> bool:
        return bool(
            self.best or self.worst or self.health_tier or self.tiers or self.outcome or self.where
        )

    def who(self) -> str:
        """Human description of the account scope, e.g. 'tier 1 accounts in logistics'."""
        parts: list[str] = []
        if self.best:
            parts.append(f"the best {self.best} customers by health")
        if self.worst:
            parts.append(f"the worst {self.worst} customers by health")
        if self.health_tier:
            parts.append(f"{self.health_tier}-health customers")
        if self.tiers:
            named = [t for t in self.tiers if t not in ("excluded", "none")]
            if named:
                parts.append("tier " + "/".join(named) + " accounts")
            if "excluded" in self.tiers:
                parts.append("negative-ICP (excluded) accounts")
            if "none" in self.tiers:
                parts.append("untiered accounts")
        if self.outcome:
            parts.append(f"{self.outcome} accounts")
        for col, vals in self.where.items():
            parts.append(f"{col} = {' or '.join(vals)}")
        if self.roles:
            parts.append("contacts in role " + " or ".join(self.roles))
        return ", ".join(parts) if parts else "all accounts"

    def when(self) -> str:
        if self.since is None and self.until is None:
            return "any time"
        rng = f"{self.since or '…'} – {self.until or '…'}"
        return f"{self.window} ({rng})" if self.window else rng

    def describe(self) -> str:
        bits = [self.who(), self.when()]
        if self.channels:
            bits.append("channel " + "/".join(self.channels))
        if self.speakers:
            bits.append("speaker " + "/".join(self.speakers))
        bits.append(f"topic: {self.topic!r}" if self.topic else "no topic (newest first)")
        return " · ".join(bits)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["since"] = self.since.isoformat() if self.since else None
        d["until"] = self.until.isoformat() if self.until else None
        d["description"] = self.describe()
        return d


# -- dates ---------------------------------------------------------------------------
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


def _parse_date(text: str, *, end: bool = False) -> date | None:
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


def _num(tok: str) -> int:
    return int(tok) if tok.isdigit() else _NUM_WORDS[tok]


class _Reader:
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


def _dates(r: _Reader, s: Scope, today: date) -> None:
    def setw(m: re.Match[str], since: date | None, until: date | None, label: str) -> None:
        s.since, s.until, s.window = since, until, label
        r.take(m)

    for m in r.find(rf"\bbetween\s+{_DATE}\s+and\s+{_DATE}"):
        a, b = _parse_date(m.group(1)), _parse_date(m.group(2), end=True)
        if a and b:
            setw(m, a, b, m.group(0).strip())
            return
    for m in r.find(rf"\b(?:since|after|from|starting)\s+{_DATE}"):
        d = _parse_date(m.group(1))
        if d:
            s.since, s.window = d, (s.window or "") + m.group(0).strip()
            r.take(m)
    for m in r.find(rf"\b(?:until|till|before|through|to)\s+{_DATE}"):
        d = _parse_date(m.group(1), end=True)
        if d:
            if m.group(0).startswith("before"):
                d = _parse_date(m.group(1)) or d
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
        n, unit = _num(m.group(1)), m.group(2)
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


def _who(r: _Reader, s: Scope) -> None:
    for m in r.find(
        rf"\b(?:our\s+|the\s+)?(?:best|top|healthiest|happiest|strongest)\s+{_NUM}\b(?:\s+{_WHO})?"
    ):
        s.best = _num(m.group(1))
        r.take(m)
    for m in r.find(
        rf"\b(?:our\s+|the\s+)?(?:worst|bottom|unhealthiest|least\s+healthy|weakest)\s+{_NUM}\b(?:\s+{_WHO})?"
    ):
        s.worst = _num(m.group(1))
        r.take(m)
    for m in r.find(
        rf"\b(?:our\s+|the\s+)?(best|healthiest|happiest|top|worst|unhealthiest|at[- ]risk|unhealthy|least\s+healthy)\s+{_WHO}"
    ):
        word = m.group(1)
        s.health_tier = "best" if word in ("best", "healthiest", "happiest", "top") else "worst"
        r.take(m)
    for m in r.find(
        r"\b(?:(?:best|worst|middle)[- ]health|health(?:\s+tier)?\s*[=:]\s*(?:best|middle|worst))\b"
    ):
        s.health_tier = re.search(r"best|middle|worst", m.group(0)).group(0)  # type: ignore[union-attr]
        r.take(m)
    tier_words = {"one": "1", "two": "2", "three": "3"}
    for m in r.find(
        rf"\btiers?\s*[- ]?\s*{_TIER}((?:\s*(?:,|and|or|&|/|-|to)\s*(?:tier\s*)?{_TIER})*)(?:\s+{_WHO})?"
    ):
        nums = [
            tier_words.get(t, t) for t in re.findall(r"\b(?:1|2|3|one|two|three)\b", m.group(0))
        ]
        if re.search(r"\d\s*(?:-|to)\s*\d", m.group(0)) and len(nums) == 2:
            nums = [str(i) for i in range(int(nums[0]), int(nums[1]) + 1)]
        s.tiers += [n for n in nums if n not in s.tiers]
        r.take(m)
    for m in r.find(rf"\bt([123])\b(?:\s+{_WHO})?"):
        if m.group(1) not in s.tiers:
            s.tiers.append(m.group(1))
        r.take(m)
    for m in r.find(
        rf"\b(?:the\s+)?(?:negative|anti|non)[- ]?icp\b(?:\s+{_WHO})?|\bexcluded(?:\s+{_WHO})?|\bdisqualified\s+{_WHO}"
    ):
        if "excluded" not in s.tiers:
            s.tiers.append("excluded")
        r.take(m)
    for m in r.find(rf"\b(?:untiered|unscored|no[- ]tier)(?:\s+{_WHO})?"):
        if "none" not in s.tiers:
            s.tiers.append("none")
        r.take(m)
    outcome_pats = [
        (
            rf"\b(?:closed[- ])?(won|lost|churned|open)\s+(?:{_WHO}|deals?|opportunit(?:y|ies)|prospects?|logos?)",
            None,
        ),
        (rf"\b{_WHO}\s+(?:that\s+|who\s+)?(?:we\s+)?(won|lost|churned)\b", None),
        (r"\b(?:deals?|opportunities)\s+(?:we\s+)?(won|lost)\b", None),
        (r"\b(churned|churners|ex[- ]customers|former\s+customers)\b", "churned"),
    ]
    for pat, fixed in outcome_pats:
        for m in r.find(pat):
            s.outcome = fixed or m.group(1)
            r.take(m)


def _key_values(r: _Reader, s: Scope, vocab: Vocabulary | None) -> None:
    cols = set(vocab.attributes) if vocab else set()
    for m in r.find(r"\b([a-z_][a-z0-9_]*)\s*(?:==|=|:)\s*(\"[^\"]+\"|'[^']+'|[^\s,;?]+)"):
        key, val = m.group(1), m.group(2).strip("\"'")
        raw_val = r.raw[m.start(2) : m.end(2)].strip("\"'")
        _assign(s, key, val, raw_val, vocab, r, m)
    if cols:
        keys = "|".join(
            re.escape(c.replace("_", " ")) + "|" + re.escape(c)
            for c in sorted(cols, key=len, reverse=True)
        )
        for m in r.find(rf"\b({keys})\s+(?:is|equals|of)\s+(\"[^\"]+\"|'[^']+'|[^\s,;?]+)"):
            key = m.group(1).replace(" ", "_")
            raw_val = r.raw[m.start(2) : m.end(2)].strip("\"'")
            _assign(s, key, m.group(2).strip("\"'"), raw_val, vocab, r, m)


def _assign(
    s: Scope,
    key: str,
    val: str,
    raw_val: str,
    vocab: Vocabulary | None,
    r: _Reader,
    m: re.Match[str],
) -> None:
    if key in ("channel", "channels"):
        s.channels.append(vocab.channels.get(val, val) if vocab else val)
    elif key in ("speaker", "speakers", "author", "author_role"):
        s.speakers.append(vocab.speakers.get(val, val) if vocab else val)
    elif key in ("dmu_role", "role", "persona"):
        s.roles.append(vocab.roles.get(val, val) if vocab else val)
    elif key in ("tier",):
        s.tiers.append({"one": "1", "two": "2", "three": "3"}.get(val, val))
    elif key in ("health", "health_tier"):
        s.health_tier = val
    elif key in ("outcome", "status") and val in ("won", "lost", "churned", "open"):
        s.outcome = val
    else:
        known = vocab.attributes.get(key) if vocab else None
        if vocab is not None and not vocab.attributes:
            pass
        elif vocab is not None and key not in vocab.attributes:
            s.notes.append(f"'{key}' is not an account attribute; '{key}={raw_val}' was ignored")
            r.take(m)
            return
        value = known.get(val, raw_val) if known else raw_val
        if known is not None and val not in known:
            s.notes.append(f"no account has {key} = {raw_val!r}")
        s.where.setdefault(key, [])
        if value not in s.where[key]:
            s.where[key].append(value)
    r.take(m)


def _plural_re(value: str) -> str:
    v = re.escape(value).replace(r"\ ", r"[\s_-]+")
    return rf"{v}(?:s|es)?"


def _attribute_words(r: _Reader, s: Scope, vocab: Vocabulary) -> None:
    pre = r"(?:in|from|within|among|across|at|for)\s+(?:the\s+)?"
    post = r"(?:\s+(?:companies|company|accounts?|customers?|firms?|clients?|businesses|sector|industry|vertical|space|market|segment|based|headquartered))"
    items = sorted(
        (
            (col, low, val)
            for col, vals in vocab.attributes.items()
            for low, val in vals.items()
            if len(low) >= 3
        ),
        key=lambda t: -len(t[1]),
    )
    for col, low, val in items:
        v = _plural_re(low)
        for m in r.find(rf"\b{pre}({v})\b|\b({v}){post}\b"):
            s.where.setdefault(col, [])
            if val not in s.where[col]:
                s.where[col].append(val)
            r.take(m)


def _channels_roles(r: _Reader, s: Scope, vocab: Vocabulary) -> None:
    synonyms = {"call": ["phone call", "phone"], "email": ["e-mail", "mail"], "meeting": ["meetings"],
                "chat": ["live chat"], "ticket": ["support ticket"]}  # fmt: skip
    for low, val in sorted(vocab.channels.items(), key=lambda t: -len(t[0])):
        alts = [low] + synonyms.get(low, [])
        pat = "|".join(_plural_re(a) for a in alts)
        for m in r.find(
            rf"\b(?:(?:in|on|from|via|over|during|through)\s+(?:the\s+|our\s+)?)?(?:{pat})\b"
        ):
            if val not in s.channels:
                s.channels.append(val)
            r.take(m)
    verbs = r"(?:said|say|says|saying|wrote|write|writes|mention\w*|told|tell|asked|ask|complain\w*|report(?:ed|s)?|raised?)"
    for low, val in sorted(vocab.speakers.items(), key=lambda t: -len(t[0])):
        if len(low) < 3:
            continue
        v = _plural_re(low)
        for m in r.find(rf"\b(?:from|by)\s+(?:the\s+|our\s+)?{v}\b|\b{v}\s+{verbs}\b"):
            if val not in s.speakers:
                s.speakers.append(val)
            r.take(m)
    for low, val in sorted(vocab.roles.items(), key=lambda t: -len(t[0])):
        for m in r.find(rf"\b(?:from\s+|by\s+)?(?:the\s+|our\s+)?{_plural_re(low)}\b"):
            if val not in s.roles:
                s.roles.append(val)
            r.take(m)


def topic_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9][a-z0-9_'\-]*", text.lower())
    keep = [w.strip("'-") for w in words if w not in STOPWORDS and w.strip("'-")]
    strong = [w for w in keep if w not in _SOFT]
    return strong or keep


def parse_question(
    text: str, today: date | None = None, *, vocabulary: Vocabulary | None = None
) -> Scope:
    """Read a question into a :class:`Scope`.

    Parameters
    ----------
    text : str
        The question, e.g. ``"tier 1 accounts in logistics on onboarding in Q2"``.
    today : date, optional
        The reference day for relative windows (default: today).
    vocabulary : Vocabulary, optional
        Known attribute values, channels, speakers and roles from the
        workspace; without it only explicit ``key=value`` filters are read.
    """
    today = today or date.today()
    s = Scope(question=text)
    r = _Reader(text or "")
    _key_values(r, s, vocabulary)
    _dates(r, s, today)
    _who(r, s)
    if vocabulary is not None:
        _attribute_words(r, s, vocabulary)
        _channels_roles(r, s, vocabulary)
    s.topic = " ".join(topic_words(r.rest()))
    if s.since and s.until and s.since > s.until:
        s.notes.append(f"the window {s.since} – {s.until} is empty (start after end)")
    return s


def apply_overrides(
    scope: Scope,
    *,
    top: int | None = None,
    tier: str | int | list[str | int] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    where: dict[str, Any] | None = None,
) -> Scope:
    """Explicit arguments win over what the question says.

    ``top=N`` is the best N customers by health rank, ``top=-N`` the worst N.
    """
    if top is not None:
        if int(top) >= 0:
            scope.best, scope.worst = int(top), None
        else:
            scope.best, scope.worst = None, -int(top)
        scope.health_tier = None
    if tier is not None:
        tiers = tier if isinstance(tier, list | tuple | set) else [tier]
        scope.tiers = [str(t).lower().replace("tier", "").strip() for t in tiers]
    if since is not None:
        scope.since = since if isinstance(since, date) else _parse_date(str(since))
        scope.window = None
    if until is not None:
        scope.until = until if isinstance(until, date) else _parse_date(str(until), end=True)
        scope.window = None
    for key, val in (where or {}).items():
        vals = val if isinstance(val, list | tuple | set) else [val]
        scope.where[key] = [str(v) for v in vals]
    return scope
