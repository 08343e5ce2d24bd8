"""``icp.yaml``: the ICP as code.

A versioned, human-editable file. Its scorecard (points per attribute bin) is
the single source of truth for every scoring path: the Python scorer, the
compiled SQL and the HTTP API all read it. A person may edit it by hand:
change a threshold, pin or drop a criterion, add a disqualifier; loading it
validates every field and names the path of a bad one.

Conditions
----------
A condition tests one attribute with exactly one operator:

- ``in: [a, b]`` / ``not_in: [a, b]``  — category values (case-insensitive)
- ``between: [low, high]``             — numbers, ``low <= x < high``; ``null`` is open
- ``has: item`` / ``lacks: item``      — list attributes such as a tech stack
- ``missing: true``                    — the value is unknown
- ``other: true``                      — (scorecard bins only) any known value not matched earlier
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import IcpFileError
from .schema import FAMILIES

SCHEMA_VERSION = 1
OPS = ("in", "not_in", "between", "has", "lacks", "missing", "other")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Model):
    """One test on one attribute; exactly one operator key is set."""

    attribute: str
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    between: tuple[float | None, float | None] | None = None
    has: str | None = None
    lacks: str | None = None
    missing: bool | None = None
    other: bool | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [op for op in OPS if self.op_value(op) is not None]
        if len(ops) != 1:
            raise ValueError(
                f"a condition needs exactly one of {', '.join(OPS)}; got {ops or 'none'}"
            )
        if self.between is not None:
            lo, hi = self.between
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(
                    f"between [{lo}, {hi}] is empty: the low end must be below the high end"
                )
        if self.in_ is not None:
            self.in_ = [str(v) for v in self.in_]
        if self.not_in is not None:
            self.not_in = [str(v) for v in self.not_in]
        return self

    def op_value(self, op: str) -> Any:
        return self.in_ if op == "in" else getattr(self, op)

    @property
    def op(self) -> str:
        for op in OPS:
            if self.op_value(op) is not None:
                return op
        raise AssertionError

    def text(self) -> str:
        """Readable form, e.g. ``industry=logistics`` or ``employees 200-499``."""
        if self.label:
            return self.label
        return describe(self)


def fmt_number(x: float) -> str:
    """Short readable number; whole numbers below 10,000 are written out.

    >>> fmt_number(1200), fmt_number(45_000), fmt_number(3_500_000), fmt_number(2.5e9)
    ('1200', '45k', '3.5M', '2.5B')
    >>> fmt_number(12.5), fmt_number(0.25), fmt_number(float("nan"))
    ('12.5', '0.25', '?')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if x != 0 and math.isfinite(x):
        x = float(f"{x:.6g}")  # 7999999.999999999 reads as 8M, not 8000k
    a = abs(x)
    if a < 10000 and x == int(x):
        return str(int(x))
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div * 10 or (a >= div and x == round(x / div, 1) * div):
            v = x / div
            return (
                f"{v:.0f}{suffix}"
                if v == int(v) or abs(v) >= 100
                else f"{v:.1f}{suffix}".replace(".0" + suffix, suffix)
            )
    if x == int(x):
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def describe(c: Condition) -> str:
    a = c.attribute
    op = c.op
    if op == "in":
        vals = c.in_ or []
        return f"{a}={vals[0]}" if len(vals) == 1 else f"{a} in ({', '.join(vals)})"
    if op == "not_in":
        vals = c.not_in or []
        return f"{a}!={vals[0]}" if len(vals) == 1 else f"{a} not in ({', '.join(vals)})"
    if op == "between":
        lo, hi = c.between or (None, None)
        if lo is None and hi is not None:
            return f"{a} < {fmt_number(hi)}"
        if hi is None and lo is not None:
            return f"{a} >= {fmt_number(lo)}"
        return f"{a} {fmt_number(lo)} to <{fmt_number(hi)}"  # type: ignore[arg-type]
    if op == "has":
        return f"{a} has {c.has}"
    if op == "lacks":
        return f"no {c.lacks} in {a}"
    if op == "missing":
        return f"{a} (blank)"
    return f"{a}=other"


class Evidence(_Model):
    """What the data says about a condition, on the training deals."""

    n: int = Field(ge=0, description="closed deals matching")
    wins: int | None = Field(default=None, ge=0)
    win_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    lift: float | None = None
    q_value: float | None = None
    revenue_share: float | None = None
    health_n: int | None = Field(default=None, description="customers in best/worst-20% comparison")
    note: str | None = None


class Criterion(Condition):
    family: str = "firmographic"
    evidence: Evidence | None = None
    source: Literal["data", "manual"] = "data"
    pinned: bool = Field(
        default=False, description="pinned criteria must hold for an account to enter the tier"
    )
    flag: str | None = Field(default=None, description="e.g. 'small sample'")


class Disqualifier(Condition):
    reason: str = ""
    family: str = "firmographic"
    evidence: Evidence | None = None
    source: Literal["data", "manual"] = "data"
    enabled: bool = True


class Bin(Condition):
    points: int
    n: int | None = None
    win_rate: float | None = None


class Feature(_Model):
    attribute: str
    family: str = "firmographic"
    kind: Literal["numeric", "categorical", "flag"]
    bins: list[Bin]

    @model_validator(mode="before")
    @classmethod
    def _bins_inherit_attribute(cls, data: Any) -> Any:
        """A bin written without ``attribute`` tests its feature's (the compact form icp.yaml uses)."""
        if isinstance(data, dict) and isinstance(data.get("bins"), list) and "attribute" in data:
            data = dict(data)
            data["bins"] = [
                {"attribute": data["attribute"], **b}
                if isinstance(b, dict) and "attribute" not in b
                else b
                for b in data["bins"]
            ]
        return data

    @model_validator(mode="after")
    def _bins_on_attribute(self) -> Feature:
        for b in self.bins:
            if b.attribute != self.attribute:
                raise ValueError(
                    f"bin '{b.text()}' tests '{b.attribute}' inside feature '{self.attribute}'"
                )
        return self


class Scorecard(_Model):
    model: str = "woe-logistic"
    base: int
    points_per_odds_tripling: float = 25.0
    features: list[Feature] = Field(default_factory=list)


class SegmentRef(_Model):
    """A conjunction of conditions that converts as a group (from the segment search)."""

    conditions: list[Condition]
    evidence: Evidence

    def text(self) -> str:
        return " AND ".join(c.text() for c in self.conditions)


class TierOutcomes(_Model):
    """What the tier's accounts did in the training data (in-sample; validation holds out)."""

    accounts: int = Field(ge=0, description="accounts in the tier")
    deals: int = Field(default=0, ge=0, description="their closed deals")
    wins: int = Field(default=0, ge=0)
    win_rate: float | None = None
    median_deal: float | None = Field(default=None, description="median won deal amount")
    won_revenue_share: float | None = Field(default=None, description="share of all won revenue")
    customers: int = Field(default=0, ge=0, description="customers with known retention")
    retention: float | None = Field(default=None, description="share of customers still paying")
    nrr: float | None = Field(default=None, description="median net revenue retention")
    median_cycle_days: float | None = None


class Tier(_Model):
    tier: Literal[1, 2, 3]
    name: str
    min_score: int = Field(ge=0, le=100)
    criteria: dict[str, list[Criterion]] = Field(default_factory=dict)
    segments: list[SegmentRef] = Field(default_factory=list)
    summary: str | None = None
    outcomes: TierOutcomes | None = None
    match: Literal["definition", "score"] = Field(
        default="definition",
        description=(
            "definition: an account enters the tier only if it also matches one of the tier's "
            "definitions (a criterion, or a segment whose conditions all hold) or one of a "
            "better tier's; score: reaching min_score (and the pinned criteria) is enough"
        ),
    )

    @model_validator(mode="after")
    def _families(self) -> Tier:
        for fam in self.criteria:
            if fam not in FAMILIES:
                raise ValueError(
                    f"unknown attribute family '{fam}'; use one of {', '.join(FAMILIES)}"
                )
        return self

    def pinned(self) -> list[Criterion]:
        return [c for cs in self.criteria.values() for c in cs if c.pinned]

    def definitions(self) -> list[list[Condition]]:
        """The tier's definitions, each a conjunction: one per criterion, one per segment."""
        out: list[list[Condition]] = [[c] for cs in self.criteria.values() for c in cs]
        out += [list(s.conditions) for s in self.segments if s.conditions]
        return out


class Routing(_Model):
    high_touch: int = Field(default=75, ge=0, le=100)
    nurture: int = Field(default=50, ge=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> Routing:
        if self.nurture > self.high_touch:
            raise ValueError(
                f"nurture ({self.nurture}) must not be above high_touch ({self.high_touch})"
            )
        return self


class EvidenceSummary(_Model):
    strength: Literal["strong", "moderate", "weak", "none"]
    message: str
    closed_deals: int
    wins: int
    base_win_rate: float
    significant_segments: int = 0
    min_support: int = 30


_PARTS = re.compile(
    r"We recognize a fit by: (?P<recognize>.*?)\. We deliberately exclude: (?P<exclude>.*?)\. "
    r"(?=Second candidate ICP|Other candidate ICPs|Primary persona)"
    r"(?:.*?\. )??Primary persona: (?P<persona>.*)\.$",
    re.S,
)
_NONE_RECOGNIZED = "no attribute passed the evidence bar"
_NONE_EXCLUDED = "nothing yet (no disqualifier passed the evidence bar)"


def statement_parts(text: str) -> dict[str, Any] | None:
    """``recognize``, ``exclude`` and ``persona`` as the statement's text spells them, or None.

    icp.yaml writes the statement once: these three are left out when the text
    holds them exactly, and read back from it.
    """
    m = _PARTS.search(text)
    if m is None:
        return None
    rec, exc = m.group("recognize"), m.group("exclude")
    return {
        "recognize": [] if rec == _NONE_RECOGNIZED else rec.split("; "),
        "exclude": [] if exc == _NONE_EXCLUDED else exc.split("; "),
        "persona": m.group("persona"),
    }


class Statement(_Model):
    @model_validator(mode="before")
    @classmethod
    def _parts_from_text(cls, data: Any) -> Any:
        """Fill recognize, exclude and persona from the text when the file leaves them out."""
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            missing = [k for k in ("recognize", "exclude", "persona") if k not in data]
            parts = statement_parts(data["text"]) if missing else None
            if parts:
                data = {**data, **{k: parts[k] for k in missing}}
        return data

    text: str
    entity: str
    trait: str
    pain: str
    workaround: str
    budget: str
    recognize: list[str] = Field(default_factory=list, description="the 3-5 strongest signals")
    more: list[str] = Field(default_factory=list, description="further signals, weaker")
    exclude: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(
        default_factory=list, description="other candidate ICPs the best tier splits into"
    )
    persona: str = "to be confirmed in interviews"


class Training(_Model):
    deals: int
    wins: int
    accounts: int
    date_from: str | None = None
    date_to: str | None = None
    objective: Literal["win", "value"] = Field(
        default="win",
        description="win: a success is a won deal; value: won and the customer still pays",
    )
    successes: int | None = Field(default=None, description="deals counted as successes")


class ExcludedColumn(_Model):
    """An account column left out of learning: it looks like the outcome, or describes a deal."""

    column: str
    found_by: Literal["name", "statistics", "deal", "objective"]
    reason: str
    evidence: str


class _Section(_Model):
    """A typed free-form section that still reads like the mapping it was.

    ``section.get("key")`` and ``section["key"]`` work as on a dict, so code
    written against the plain YAML mapping keeps working.
    """

    def get(self, key: str, default: Any = None) -> Any:
        if key in type(self).model_fields:
            value = getattr(self, key)
            return default if value is None else value
        return (self.model_extra or {}).get(key, default)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None


class Health(_Section):
    """``health``: component weights (editable), what each component means, which churn source wins."""

    weights: dict[str, float] = Field(default_factory=dict)
    components: dict[str, str] = Field(default_factory=dict)
    churn_source: Literal["revenue", "events", "flag"] | None = None


class Trigger(_Section):
    """One timing trigger: an event type that, within ``window_days`` before a deal
    (``when: upcoming``: due within ``window_days`` after it), lifts the win rate."""

    type: str
    when: Literal["past", "upcoming"] = Field(
        default="past",
        description="past: the event happened; upcoming: it is scheduled ahead (a renewal, a contract end)",
    )
    window_days: int = Field(gt=0)
    points: int | float
    tier: int | None = Field(
        default=None,
        ge=1,
        le=3,
        description="1 at 3x the odds, 2 at 1.75x, else 3 (default: from the points)",
    )
    evidence: dict[str, Any] = Field(default_factory=dict)
    median_cycle_with: float | None = None
    median_cycle_without: float | None = None


class RouteRule(_Model):
    """Raise the route of an account with ``fit >= min_fit`` and an active trigger of
    ``trigger_tier`` or better (never lowers a route, never moves an excluded account)."""

    min_fit: int = Field(ge=0, le=100)
    trigger_tier: int = Field(default=1, ge=1, le=3)
    route: Literal["high_touch", "nurture"] = "high_touch"


class Timing(_Section):
    """``timing``: the triggers behind the timing score, how fast an event's points decay,
    and the rules by which an active trigger raises the route."""

    half_life_days: int | float = Field(default=45.0, gt=0)
    windows: list[int] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    route_rules: list[RouteRule] = Field(default_factory=list)


class Personas(_Section):
    """``personas``: the primary persona and a card per role and group (written by the build)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    method: str | None = None
    min_support: int | None = None
    primary: dict[str, Any] | None = None
    groups: dict[str, Any] | None = None


class Voc(_Section):
    """``voc``: the pain and workaround found in customers' own words, with the evidence."""

    pain: str | None = None
    workaround: str | None = None
    evidence: str | None = None


class Refresh(_Model):
    """``refresh``: how often the ICP should be re-learned on fresh exports (``icp refresh``);
    ``icp score`` warns when the ICP is older."""

    interval_days: int = Field(default=90, gt=0)


class ICP(_Model):
    """The whole ICP file."""

    version: Literal[1] = 1
    generated_at: str | None = None
    generator: str | None = None
    evidence: EvidenceSummary
    statement: Statement
    routing: Routing = Field(default_factory=Routing)
    tiers: list[Tier] = Field(default_factory=list)
    disqualifiers: list[Disqualifier] = Field(default_factory=list)
    veto_score: int = Field(
        default=0, ge=0, le=100, description="score given to an account a disqualifier excludes"
    )
    scorecard: Scorecard
    attributes: dict[str, str] = Field(
        default_factory=dict, description="attribute -> family, as found in the training data"
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="attribute -> column header as written in the source"
    )
    health: Health | None = None
    training: Training | None = None
    personas: Personas | None = None
    timing: Timing | None = None
    voc: Voc | None = None
    refresh: Refresh = Field(default_factory=Refresh)
    overrides: list[str] = Field(
        default_factory=list, description="where a person overruled the data"
    )
    excluded_columns: list[ExcludedColumn] = Field(
        default_factory=list,
        description="account columns left out of learning because they look like the outcome",
    )
    kept_columns: list[str] = Field(
        default_factory=list,
        description="columns that look like the outcome but were learned from on request (--keep-column)",
    )

    def __init__(self, **data: Any) -> None:
        # The sections (health, timing, personas, voc) may be given as plain
        # mappings, as the builder writes them; validation types them.
        super().__init__(**data)

    @model_validator(mode="after")
    def _tiers(self) -> ICP:
        nums = [t.tier for t in self.tiers]
        if len(set(nums)) != len(nums):
            raise ValueError(f"each tier may appear once; got {nums}")
        by = {t.tier: t.min_score for t in self.tiers}
        order = sorted(by)
        for a, b in zip(order, order[1:], strict=False):
            if by[a] < by[b]:
                raise ValueError(
                    f"tier {a} min_score ({by[a]}) is below tier {b} min_score ({by[b]})"
                )
        return self

    def tier(self, n: int) -> Tier | None:
        for t in self.tiers:
            if t.tier == n:
                return t
        return None

    def used_attributes(self) -> list[str]:
        names = {f.attribute for f in self.scorecard.features}
        names |= {d.attribute for d in self.disqualifiers}
        names |= {c.attribute for t in self.tiers for c in t.pinned()}
        if any(t.match == "definition" for t in self.tiers):
            names |= {c.attribute for t in self.tiers for d in t.definitions() for c in d}
        return sorted(names)

    def tier_definitions(self) -> dict[int, list[list[Condition]]]:
        """Per tier, the definitions that admit an account to it: its own and every better
        tier's (``match: definition``); tiers with ``match: score`` are absent."""
        out: dict[int, list[list[Condition]]] = {}
        acc: list[list[Condition]] = []
        for t in sorted(self.tiers, key=lambda t: t.tier):
            acc = acc + t.definitions()
            if t.match == "definition":
                out[t.tier] = list(acc)
        return out


# -- YAML in and out ------------------------------------------------------------


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None and v != [] and v != {}}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if obj != 0 and abs(obj) < 1e-3:
            return float(f"{obj:.3g}")
        return round(obj, 4)
    return obj


class _Dumper(yaml.SafeDumper):
    pass


def _repr_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in data) and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _scalar_or_list(v: Any) -> bool:
    return not isinstance(v, dict) and (
        not isinstance(v, list) or all(not isinstance(x, (dict, list)) for x in v)
    )


def _repr_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    # a condition or a scorecard bin: one line each
    if (
        ("points" in data or ("attribute" in data and "label" in data and len(data) <= 4))
        and "reason" not in data
        and all(_scalar_or_list(v) for v in data.values())
    ):
        return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
    simple = (
        all(not isinstance(v, (dict, list)) for v in data.values())
        and len(data) <= 8
        and "reason" not in data
        and "text" not in data
    )
    inline = simple and (
        "points" in data
        or set(data)
        <= {
            "n",
            "wins",
            "win_rate",
            "ci_low",
            "ci_high",
            "lift",
            "q_value",
            "revenue_share",
            "health_n",
        }
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=inline)


_Dumper.add_representer(list, _repr_list)
_Dumper.add_representer(dict, _repr_dict)

HEADER = """\
# icp.yaml — the Ideal Customer Profile as code (schema version 1).
# Edit by hand: change a threshold, pin (pinned: true) or drop a criterion, switch a
# disqualifier on or off (enabled), add one (source: manual). `icp score` honours every
# change; keep `version: 1`. What a person edits first comes first: routing, tiers,
# disqualifiers; the statement, the evidence and the scorecard follow.
"""

# the order of the top-level keys in the written file: what a person edits first, first
ORDER = (
    "version",
    "routing",
    "tiers",
    "disqualifiers",
    "veto_score",
    "statement",
    "evidence",
    "scorecard",
)
COMMENTS = {
    "routing": "# Routing: accounts scoring {high_touch}+ go high-touch, {nurture}+ nurture, the rest deprioritize.",
    "tiers": "# Tiers: an account enters a tier when its score reaches min_score and it matches one of the\n"
    "# tier's criteria or segments (or a better tier's). Evidence: n closed deals, win rate, 95% interval.",
    "disqualifiers": "# Disqualifiers: an account matching an enabled one is tiered excluded and scored veto_score.\n"
    "# enabled: false keeps one as a warning sign only.",
    "statement": "# The ICP statement, once: the signals we recognize a fit by, who we exclude and the primary\n"
    "# persona are read from its text. The build rewrites it.",
    "scorecard": "# Scorecard: score = base ({base}) + the points of each matching bin, clamped to 0-100.\n"
    "# A score of 50 means the average odds of winning (base is the score before any bin's points);\n"
    "# every {ppt:g} points triples the odds. One line per bin: its points, its closed deals (n), their win rate.",
    "health": "# Customer health: the weights of each component (editable) and what each means.",
}


def to_dict(icp: ICP) -> dict[str, Any]:
    d: dict[str, Any] = _clean(icp.model_dump(by_alias=True, exclude_none=True))
    for f in d.get("scorecard", {}).get("features", []):
        f["bins"] = [
            {k: v for k, v in b.items() if not (k == "attribute" and v == f.get("attribute"))}
            for b in f.get("bins", [])
        ]
    st = d.get("statement")
    if isinstance(st, dict) and "text" in st:
        parts = statement_parts(st["text"])
        mine = {
            k: st.get(k, [] if k != "persona" else None)
            for k in ("recognize", "exclude", "persona")
        }
        if parts is not None and parts == mine:
            # the statement once: its text holds these three exactly
            d["statement"] = {k: v for k, v in st.items() if k not in parts}
    first = {k: d[k] for k in ORDER if k in d}
    return {**first, **{k: v for k, v in d.items() if k not in first}}


def dumps(icp: ICP) -> str:
    text = yaml.dump(to_dict(icp), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=130)
    values = {
        "high_touch": icp.routing.high_touch,
        "nurture": icp.routing.nurture,
        "base": icp.scorecard.base,
        "ppt": icp.scorecard.points_per_odds_tripling,
    }
    lines = []
    for line in text.split("\n"):
        key = line.split(":", 1)[0] if line[:1].isalpha() else ""
        if key in COMMENTS:
            lines += ["", COMMENTS[key].format(**values)]
        lines.append(line)
    return HEADER + "\n".join(lines)


def _location(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(parts)


def from_dict(data: Any, source: str = "icp.yaml") -> ICP:
    if not isinstance(data, dict):
        raise IcpFileError(f"{source}: expected a mapping at the top level")
    if data.get("version") not in (None, SCHEMA_VERSION):
        raise IcpFileError(
            f"{source}: version {data.get('version')!r} is not supported; this icpkit reads version {SCHEMA_VERSION}"
        )
    try:
        return ICP.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:10]:
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after"))
            )
            lines.append(f"  - {_location(loc, data) or '(top level)'}: {err['msg']}")
        raise IcpFileError(f"{source} is not a valid ICP file:\n" + "\n".join(lines)) from None


def loads(text: str, source: str = "icp.yaml") -> ICP:
    try:
        # libyaml's loader where PyYAML has it: the same documents, about 10x faster
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise IcpFileError(f"{source}: not valid YAML ({exc})") from exc
    return from_dict(data, source)


def load(path: str | Path) -> ICP:
    p = Path(path)
    if p.is_dir():
        p = p / "icp.yaml"
    if not p.exists():
        raise IcpFileError(f"{p}: file not found. Build one with `icp run` or `icp build`.")
    return loads(p.read_text(encoding="utf-8"), str(p))


def save(icp: ICP, path: str | Path) -> Path:
    p = Path(path)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(dumps(icp), encoding="utf-8")
    tmp.replace(p)
    return p


def now_iso() -> str:
    return datetime.now().replace(microsecond=0).isoformat()
