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
from datetime import date
from typing import Any

from .dates import _NUM, Reader, num, parse_date, read_window

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
    as_of: date | None = None  # the day relative windows ("last month") count from

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
        if self.as_of:
            bits.append(f"as of {self.as_of.isoformat()}")
        return " · ".join(bits)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["since"] = self.since.isoformat() if self.since else None
        d["until"] = self.until.isoformat() if self.until else None
        d["as_of"] = self.as_of.isoformat() if self.as_of else None
        d["description"] = self.describe()
        return d


def _who(r: Reader, s: Scope) -> None:
    for m in r.find(
        rf"\b(?:our\s+|the\s+)?(?:best|top|healthiest|happiest|strongest)\s+{_NUM}\b(?:\s+{_WHO})?"
    ):
        s.best = num(m.group(1))
        r.take(m)
    for m in r.find(
        rf"\b(?:our\s+|the\s+)?(?:worst|bottom|unhealthiest|least\s+healthy|weakest)\s+{_NUM}\b(?:\s+{_WHO})?"
    ):
        s.worst = num(m.group(1))
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


def _key_values(r: Reader, s: Scope, vocab: Vocabulary | None) -> None:
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
    r: Reader,
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


def _attribute_words(r: Reader, s: Scope, vocab: Vocabulary) -> None:
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


def _channels_roles(r: Reader, s: Scope, vocab: Vocabulary) -> None:
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
    r = Reader(text or "")
    _key_values(r, s, vocabulary)
    read_window(r, s, today)
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
        scope.since = since if isinstance(since, date) else parse_date(str(since))
        scope.window = None
    if until is not None:
        scope.until = until if isinstance(until, date) else parse_date(str(until), end=True)
        scope.window = None
    for key, val in (where or {}).items():
        vals = val if isinstance(val, list | tuple | set) else [val]
        scope.where[key] = [str(v) for v in vals]
    return scope
