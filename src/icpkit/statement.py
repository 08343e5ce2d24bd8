"""The ICP statement: the sentence a person would write, filled from the evidence.

``ICP: [entity] that [trait], experiencing [pain], currently [workaround], with
[budget]. We recognize a fit by: [3-5 signals]. We deliberately exclude:
[2-3 disqualifiers]. Primary persona: [persona].``

Every slot is written in plain words (see :mod:`icpkit.labels`); every number
carries its sample size. When the best tier's segments split into groups that
cannot hold together (``industry=logistics`` vs ``industry=manufacturing``),
the statement describes the most valuable group and names the others as
candidate ICPs of their own, rather than merging them into one blurred entity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .icpfile import ICP, Condition, Criterion, Disqualifier, SegmentRef, Statement, Tier
from .icpfile import fmt_number as fmt
from .labels import (
    bool_value,
    is_industry,
    is_size,
    label,
    noun_phrase,
    trigger_words,
    words,
)
from .mining.segments import Training as TrainingData
from .scoring.scorer import Columns, evaluate

if TYPE_CHECKING:
    from .workspace import Workspace

TBC = "to be confirmed in interviews"
MAX_SIGNALS = 5
MAX_EXCLUDE = 3
MAX_ALTERNATIVES = 2
MIN_SIGNAL_LIFT = 1.1  # a signal must raise the win rate by a tenth at least
WORKAROUND_WORDS = ("solution", "workaround", "current")
TRAIT_FAMILIES = ("technographic", "behavioral", "trigger", "dmu")
ORDINALS = ("Second", "Third", "Fourth")


# -- conditions: keys, conflicts, unions -----------------------------------------


def _key(c: Condition) -> str:
    """Conditions with one key describe one signal (list items are signals of their own)."""
    if c.op in ("has", "lacks"):
        return f"{c.attribute}|{str(c.has or c.lacks).lower()}"
    return c.attribute


def _conflict(a: Condition, b: Condition) -> bool:
    """True when no account can meet both (disjoint categories, has vs lacks one item)."""
    if a.attribute != b.attribute:
        return False
    if a.op == "in" and b.op == "in":
        return not {v.lower() for v in a.in_ or []} & {v.lower() for v in b.in_ or []}
    if {a.op, b.op} == {"has", "lacks"}:
        return str(a.has or a.lacks).lower() == str(b.has or b.lacks).lower()
    return False


def _conflicts(a: list[Condition], b: list[Condition]) -> bool:
    return any(_conflict(x, y) for x in a for y in b)


def _union(conds: list[Condition]) -> Condition:
    """One condition covering all of ``conds`` (same key): categories joined, ranges widened."""
    first = conds[0]
    if len(conds) == 1:
        return first
    if all(c.op == "in" for c in conds):
        vals: list[str] = []
        for c in conds:
            vals += [v for v in c.in_ or [] if v.lower() not in {x.lower() for x in vals}]
        return Condition.model_validate({"attribute": first.attribute, "in": vals})
    rng = [c.between for c in conds if c.op == "between" and c.between]
    if len(rng) == len(conds):
        lows = [lo for lo, _ in rng]
        highs = [hi for _, hi in rng]
        lo = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
        hi = None if any(v is None for v in highs) else max(v for v in highs if v is not None)
        if lo is None and hi is None:
            return first
        same = [c for c in conds if c.between == (lo, hi)]
        return same[0] if same else Condition(attribute=first.attribute, between=(lo, hi))
    return first


def merged(conds: Sequence[Condition]) -> dict[str, Condition]:
    """The union of conditions per signal key, in order of first appearance."""
    by: dict[str, list[Condition]] = {}
    for c in conds:
        if c.op in ("missing", "other"):
            continue
        by.setdefault(_key(c), [])
        if c not in by[_key(c)]:
            by[_key(c)].append(c)
    return {k: _union(cs) for k, cs in by.items()}


def merge_conditions(
    conds: list[Condition], labels: Mapping[str, str] | None = None, currency: str = "$"
) -> dict[str, str]:
    """Readable union per attribute: categories joined with 'or', ranges widened, items listed."""
    out: dict[str, str] = {}
    for key, c in merged(conds).items():
        text = label(c, labels, currency)
        a = c.attribute
        out[a] = f"{out[a]}, {text}" if a in out and key != a else text
    return out


# -- evidence on the training deals ------------------------------------------------


class _Evidence:
    """Counts for a set of accounts, evaluated on the training deals when it can be.

    Conditions test account attributes, so they are evaluated once per account
    (not per deal) and the account's closed deals, wins and won amount are
    summed over the accounts that match.
    """

    def __init__(
        self,
        data: TrainingData | None,
        fallback_base: float = 0.0,
        attributes: set[str] | None = None,
    ) -> None:
        self.data = data
        self.fallback_base = fallback_base
        self.cols: Columns | None = None
        self._masks: dict[str, np.ndarray] = {}
        if data is None or not len(data.won):
            return
        codes, _ = pd.factorize(data.account)
        _, first = np.unique(codes, return_index=True)
        used = [c for c in data.frame.columns if attributes is None or c in attributes]
        self.attributes = set(used)
        self.cols = Columns(data.frame[used].iloc[first].reset_index(drop=True))
        won = data.won.astype(bool)
        amount = np.where(won & ~np.isnan(data.amount), data.amount, 0.0)
        k = len(first)
        self.deals = np.bincount(codes, minlength=k)
        self.wins = np.bincount(codes, weights=won.astype(float), minlength=k).round().astype(int)
        self.won_amount = np.bincount(codes, weights=amount, minlength=k)

    @property
    def base(self) -> float:
        return self.data.base_rate if self.data is not None else self.fallback_base

    def _one(self, c: Condition) -> np.ndarray:
        key = repr(c.model_dump(exclude={"label"}))
        if key not in self._masks:
            assert self.cols is not None
            self._masks[key] = evaluate(c, self.cols)
        return self._masks[key]

    def mask(self, groups: list[list[Condition]]) -> np.ndarray | None:
        """Accounts meeting any group (all conditions of a group); None when it cannot be evaluated."""
        if self.cols is None or not groups:
            return None
        if any(c.attribute not in self.attributes for g in groups for c in g):
            return None
        out = np.zeros(self.cols.n, dtype=bool)
        for g in groups:
            m = np.ones(self.cols.n, dtype=bool)
            for c in g:
                m &= self._one(c)
            out |= m
        return out

    def counts(self, groups: list[list[Condition]]) -> tuple[int, int, float] | None:
        """(closed deals, wins, won amount) of the accounts meeting any group."""
        m = self.mask(groups)
        if m is None:
            return None
        return int(self.deals[m].sum()), int(self.wins[m].sum()), float(self.won_amount[m].sum())


@dataclass
class _Signal:
    key: str
    cond: Condition
    family: str
    n: int
    wins: int | None
    lift: float | None
    text: str = ""

    def excess(self, base: float) -> float:
        """Wins above what the base rate predicts: support and lift in one number."""
        if self.wins is not None:
            return self.wins - self.n * base
        return ((self.lift or 1.0) - 1.0) * self.n * base

    def numbers(self) -> str:
        if self.wins is not None and self.n:
            return f"win rate {self.wins / self.n:.0%}, n={fmt(self.n)}"
        return f"{self.lift or 0:.1f}x the average win odds, n={fmt(self.n)}"


def _stored(c: Condition, crits: list[Criterion]) -> tuple[int, int | None, float | None]:
    """Evidence recorded with a criterion testing ``c`` (the largest one on its key)."""
    same = [x for x in crits if _key(x) == _key(c) and x.evidence is not None]
    exact = [x for x in same if x.text() == c.text()] or same
    if not exact:
        return 0, None, None
    best = max(exact, key=lambda x: x.evidence.n if x.evidence else 0)
    ev = best.evidence
    assert ev is not None
    return ev.n, ev.wins, ev.lift


def _signal(
    key: str,
    c: Condition,
    family: str,
    ev: _Evidence,
    crits: list[Criterion],
    segs: list[SegmentRef],
) -> _Signal:
    counts = ev.counts([[c]])
    if counts is not None:
        dn, dw, _ = counts
        return _Signal(key, c, family, dn, dw, (dw / dn / ev.base) if dn and ev.base else None)
    exact = [x for x in crits if x.text() == c.text() and x.evidence is not None]
    holders = [s for s in segs if any(_key(x) == key for x in s.conditions)]
    if holders and not exact:  # known through the segments it sits in
        best = max(holders, key=lambda s: s.evidence.n)
        return _Signal(key, c, family, best.evidence.n, best.evidence.wins, best.evidence.lift)
    n, wins, lift = _stored(c, crits)
    return _Signal(key, c, family, n, wins, lift)


# -- the statement -------------------------------------------------------------------


def _base_from(tiers: list[Tier]) -> float:
    """The base win rate implied by recorded evidence (win rate / lift), without the deals."""
    evs = [c.evidence for t in tiers for cs in t.criteria.values() for c in cs]
    evs += [s.evidence for t in tiers for s in t.segments]
    rates = [e.win_rate / e.lift for e in evs if e and e.win_rate and e.lift]
    return float(np.median(rates)) if rates else 0.0


def _groups(segments: list[SegmentRef]) -> list[list[SegmentRef]]:
    """Segments that can describe one kind of company together; a conflict opens a new group."""
    groups: list[list[SegmentRef]] = []
    for s in segments:
        home = next(
            (g for g in groups if not any(_conflicts(s.conditions, o.conditions) for o in g)),
            None,
        )
        if home is None:
            groups.append([s])
        else:
            home.append(s)
    return groups


def _same_icp(
    prim: dict[str, Condition],
    prim_segs: list[SegmentRef],
    g: list[SegmentRef],
    ev: _Evidence,
    alpha: float = 0.05,
) -> dict[str, Condition] | None:
    """The primary conditions widened to ``g``'s values when ``g`` is the same ICP, else None.

    ``g`` conflicts with the primary group on some category (another industry,
    say). Its accounts are the same ICP when they convert as well in the
    primary group's own segments with that category swapped: the swapped
    segments win clearly more often than the base rate (half the primary's
    uplift at least) and not significantly less often than the primary's
    (one-sided Fisher's exact test at ``alpha``). Without the deals to test it,
    they stay apart.
    """
    from scipy.stats import fisher_exact

    theirs = merged([c for s in g for c in s.conditions])
    clashing = [c for c in theirs.values() if _conflicts([c], list(prim.values()))]
    if not clashing or any(c.op != "in" for c in clashing):
        return None
    swap = {c.attribute: c for c in clashing}
    mine = [s.conditions for s in prim_segs]
    swapped = [[swap.get(c.attribute, c) for c in conds] for conds in mine]
    a = ev.counts(mine)
    b = ev.counts(swapped)
    if a is None or b is None or not a[0] or b[0] < 10:
        return None
    (na, wa, _), (nb, wb, _) = a, b
    base = ev.base
    if wb / nb < base + 0.5 * (wa / na - base):
        return None
    p = fisher_exact([[wa, na - wa], [wb, nb - wb]], alternative="greater").pvalue
    if p < alpha:
        return None
    out = dict(prim)
    for c in clashing:
        key = _key(c)
        out[key] = _union([out[key], c]) if key in out else c
    return out


def _group_value(g: list[SegmentRef], ev: _Evidence) -> tuple[float, int, int]:
    """(won revenue, or wins when amounts are unknown; deals; wins) of the group's accounts."""
    counts = ev.counts([s.conditions for s in g])
    if counts is not None:
        n, wins, revenue = counts
        return (revenue if revenue > 0 else float(wins)), n, wins
    best = max(g, key=lambda s: (s.evidence.revenue_share or 0.0, s.evidence.wins or 0))
    value = float(best.evidence.revenue_share or 0.0) * 1e12 + float(best.evidence.wins or 0)
    return value, best.evidence.n, best.evidence.wins or 0


def _entity(
    conds: dict[str, Condition],
    fam_of: Mapping[str, str],
    skip: set[str],
    labels: Mapping[str, str] | None,
    currency: str,
) -> tuple[str, list[str]]:
    """'manufacturing companies with 250+ employees' from firmographic conditions; returns the keys used."""
    head = "companies"
    parts: list[str] = []
    place: list[str] = []
    used: list[str] = []
    for key, c in conds.items():
        if key in skip or fam_of.get(c.attribute, "firmographic") != "firmographic":
            continue
        if c.op == "in" and is_industry(c.attribute) and head == "companies":
            head = label(c, labels, currency)
            used.append(key)
            continue
        if c.op not in ("in", "between") or len(parts) + len(place) >= 2:
            continue
        if c.op == "in" and all(bool_value(v) is not None for v in c.in_ or []):
            continue  # a yes/no column reads as a trait
        text = label(c, labels, currency)
        if text.startswith("based in "):
            place.append(text)
        else:
            parts.append(text)
        used.append(key)
    out = head + (" with " + " and ".join(parts) if parts else "")
    return out + (" " + " ".join(place) if place else ""), used


def _is_trait(c: Condition, fam_of: Mapping[str, str]) -> bool:
    if fam_of.get(c.attribute, "firmographic") in TRAIT_FAMILIES:
        return True
    return c.op in ("has", "lacks") or (
        c.op == "in" and all(bool_value(v) is not None for v in c.in_ or [])
    )


def _workaround_key(conds: dict[str, Condition]) -> str | None:
    return next(
        (
            k
            for k, c in conds.items()
            if c.op == "in" and any(w in c.attribute for w in WORKAROUND_WORDS)
        ),
        None,
    )


def _drop_weaker_size(sigs: list[_Signal], base: float) -> tuple[list[_Signal], list[_Signal]]:
    """Size by revenue and size by headcount are one signal: keep the stronger."""
    sizes = [s for s in sigs if s.cond.op == "between" and is_size(s.cond.attribute)]
    if len(sizes) < 2:
        return sigs, []
    keep = max(sizes, key=lambda s: s.excess(base))
    drop = [s for s in sizes if s is not keep]
    return [s for s in sigs if s not in drop], drop


def _exclusion(d: Disqualifier, labels: Mapping[str, str] | None, currency: str) -> str:
    who = noun_phrase(d, labels, currency)
    ev = d.evidence
    if ev is not None and ev.win_rate is not None and ev.n:
        return f"{who} ({ev.win_rate:.0%} win rate, n={fmt(ev.n)})"
    if ev is not None and ev.health_n:
        return f"{who} (over-represented among the least healthy customers, n={fmt(ev.health_n)})"
    return who


def _exclusions(
    disq: list[Disqualifier], base: float, labels: Mapping[str, str] | None, currency: str
) -> list[str]:
    """The top enabled disqualifiers, by wins they cost; one size view only."""

    def cost(d: Disqualifier) -> tuple[int, float]:
        ev = d.evidence
        if ev is None or ev.win_rate is None:
            return (0, float(ev.health_n or 0) if ev else 0.0)
        return (1, ev.n * (base - ev.win_rate))

    on = sorted((d for d in disq if d.enabled), key=cost, reverse=True)
    out: list[Disqualifier] = []
    for d in on:
        if d.op == "between" and is_size(d.attribute):
            if any(o.op == "between" and is_size(o.attribute) for o in out):
                continue
        out.append(d)
    return [_exclusion(d, labels, currency) for d in out[:MAX_EXCLUDE]]


def _trigger_signal(t: dict[str, Any], base: float) -> _Signal | None:
    ev = t.get("evidence") or {}
    n = int(ev.get("n") or 0)
    if not n:
        return None
    wr = ev.get("win_rate")
    wins = int(round(float(wr) * n)) if wr is not None else ev.get("wins")
    cond = Condition(attribute="event", missing=False)
    s = _Signal(
        f"trigger|{t.get('type')}",
        cond,
        "trigger",
        n,
        wins,
        ev.get("lift"),
    )
    s.text = trigger_words(str(t.get("type", "an event")), t.get("window_days"), t.get("when"))
    return s


def make_statement(
    tiers: list[Tier],
    disq: list[Disqualifier],
    data: TrainingData | None,
    strength: str,
    timing: dict | None = None,
    families: dict[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    currency: str = "$",
) -> Statement:
    """Fill the ICP statement template from the tiers; unfilled slots say so.

    ``labels`` maps a column to the header it was written with (``ICP.labels``);
    ``currency`` prefixes money amounts.
    """
    best = next((t for t in tiers if t.criteria or t.segments), None)
    crits = [c for t in tiers for cs in t.criteria.values() for c in cs]
    used = {c.attribute for c in crits} | {d.attribute for d in disq}
    used |= {c.attribute for t in tiers for sg in t.segments for c in sg.conditions}
    ev = _Evidence(data, fallback_base=_base_from(tiers), attributes=used)
    base = ev.base
    fam_of: dict[str, str] = dict(families or {})
    for c in crits:
        fam_of.setdefault(c.attribute, c.family)

    # one ICP per coherent group of the best tier's segments; the most valuable is primary
    segs = list(best.segments) if best else []
    ranked = sorted(((_group_value(g, ev), g) for g in _groups(segs)), key=lambda vg: -vg[0][0])
    primary = list(ranked[0][1]) if ranked else []
    prim_conds = merged([c for s in primary for c in s.conditions])
    others = []
    for value, g in ranked[1:]:
        widened = _same_icp(prim_conds, primary, g, ev)
        if widened is not None:  # the same kind of company in another industry: one ICP
            prim_conds = widened
        else:
            others.append((value, g))
    others = others[:MAX_ALTERNATIVES]
    prim_list = list(prim_conds.values())

    # candidate signals: the primary group's conditions, then criteria that do not contradict it
    cands: dict[str, _Signal] = {}
    for key, cond in prim_conds.items():
        cands[key] = _signal(
            key, cond, fam_of.get(cond.attribute, "firmographic"), ev, crits, primary
        )
    prim_attrs = {c.attribute for c in prim_list}
    extra = [
        c
        for c in crits
        if not (c.attribute in prim_attrs and c.op not in ("has", "lacks"))
        and not _conflicts([c], prim_list)
    ]
    # each criterion must win more often on its own before values of one attribute are joined
    positive = [
        c
        for c in extra
        if _signal(_key(c), c, fam_of.get(c.attribute, "firmographic"), ev, crits, []).excess(base)
        > 0
    ]
    for key, cond in merged(positive).items():
        if key not in cands:
            cands[key] = _signal(
                key, cond, fam_of.get(cond.attribute, "firmographic"), ev, crits, []
            )
    for t in (timing or {}).get("triggers", [])[:3]:
        ts = _trigger_signal(t, base)
        if ts is not None:
            cands[ts.key] = ts
    sigs = [
        s
        for s in cands.values()
        if s.n and s.excess(base) > 0 and (s.lift is None or s.lift >= MIN_SIGNAL_LIFT)
    ]
    sigs.sort(key=lambda s: -s.excess(base))
    sigs, weaker = _drop_weaker_size(sigs, base)
    for s in sigs + weaker:
        if not s.text:
            s.text = label(s.cond, labels, currency)
    recognize = [f"{s.text} ({s.numbers()})" for s in sigs[:MAX_SIGNALS]]
    more = [f"{s.text} ({s.numbers()})" for s in sigs[MAX_SIGNALS:] + weaker]

    # the slots: entity and trait from the primary group (else the strongest signals)
    dropped = {s.key for s in weaker}
    pool = prim_conds if prim_conds else {s.key: s.cond for s in sigs if s.family != "trigger"}
    wa_key = _workaround_key(pool) or _workaround_key({s.key: s.cond for s in sigs})
    skip = dropped | ({wa_key} if wa_key else set())
    entity_conds = {k: c for k, c in pool.items() if not _is_trait(c, fam_of)}
    if dropped & set(entity_conds):  # the size view kept among the signals sizes the entity
        kept = next(s for s in sigs if s.cond.op == "between" and is_size(s.cond.attribute))
        entity_conds.setdefault(kept.key, kept.cond)
    entity, _used = _entity(entity_conds, fam_of, skip, labels, currency)
    if entity == "companies" and not prim_conds and not sigs:
        entity = "B2B companies (no firmographic pattern passed the evidence bar)"
    # a trait says what the company does or has; "does not use X" only when nothing positive
    pool_traits = [c for k, c in pool.items() if k not in skip and _is_trait(c, fam_of)]
    sig_traits = [
        s.cond
        for s in sigs
        if s.key not in skip and s.family != "trigger" and _is_trait(s.cond, fam_of)
    ]
    chosen = next(
        (
            group[:2]
            for group in (
                [c for c in pool_traits if c.op != "lacks"],
                [c for c in sig_traits if c.op != "lacks"],
                pool_traits,
                sig_traits,
            )
            if group
        ),
        [],
    )
    traits = [label(c, labels, currency, plural=True) for c in chosen]
    trait_s = " and ".join(traits) if traits else f"[trait: {TBC}]"
    workaround = None
    if wa_key:
        wc = pool.get(wa_key) or cands[wa_key].cond
        workaround = "using " + " or ".join(v.replace("_", " ") for v in wc.in_ or [])

    won_amt = data.amount[data.won] if data is not None else np.array([])
    won_amt = won_amt[~np.isnan(won_amt)]
    budget = (
        f"a typical deal of {currency}{fmt(float(np.median(won_amt)))} (median of {fmt(len(won_amt))} won deals)"
        if len(won_amt) >= 5
        else f"[budget: {TBC}]"
    )
    exclude = _exclusions(disq, base, labels, currency)
    alternatives = []
    for (_v, n, wins), g in others:
        conds = merged([c for s in g for c in s.conditions])
        alt_sigs = [
            _signal(k, c, fam_of.get(c.attribute, "firmographic"), ev, crits, g)
            for k, c in conds.items()
        ]
        _kept, weak = _drop_weaker_size(alt_sigs, base)
        weak_keys = {s.key for s in weak}
        who, _ = _entity(
            {k: c for k, c in conds.items() if not _is_trait(c, fam_of)},
            fam_of,
            weak_keys,
            labels,
            currency,
        )
        tr = [
            label(c, labels, currency, plural=True)
            for k, c in conds.items()
            if _is_trait(c, fam_of) and k not in weak_keys
        ][:1]
        rate = f"win rate {wins / n:.0%}, n={fmt(n)}" if n else ""
        alternatives.append(who + (f" that {tr[0]}" if tr else "") + (f" ({rate})" if rate else ""))
    persona = TBC
    pain = f"[pain: {TBC}]"
    wa = workaround or f"[workaround: {TBC}]"
    excl = (
        "; ".join(exclude) if exclude else "nothing yet (no disqualifier passed the evidence bar)"
    )
    alt_s = ""
    if len(alternatives) == 1:
        alt_s = f"Second candidate ICP: {alternatives[0]}. "
    elif alternatives:
        alt_s = (
            "Other candidate ICPs: "
            + "; ".join(f"{ORDINALS[i].lower()}, {a}" for i, a in enumerate(alternatives))
            + ". "
        )
    fields: dict[str, Any] = dict(
        pain=pain,
        workaround=wa,
        budget=budget,
        recognize=recognize,
        more=more,
        exclude=exclude,
        alternatives=alternatives,
        persona=persona,
    )
    if strength == "none":
        text = (
            "ICP: not supported by the data yet — no attribute in these accounts separates won from lost deals. "
            f"Entity, trait, pain, workaround and budget are {TBC}. We deliberately exclude: {excl}. Primary persona: {persona}."
        )
        fields.update(recognize=[], more=recognize + more, alternatives=[])
        return Statement(text=text, entity="no data-backed segment yet", trait=TBC, **fields)
    hedge = " (weak evidence: a hypothesis to test)" if strength == "weak" else ""
    text = (
        f"ICP{hedge}: {entity} that {trait_s}, experiencing {pain}, currently {wa}, with {budget}. "
        f"We recognize a fit by: {'; '.join(recognize) if recognize else 'no attribute passed the evidence bar'}. "
        f"We deliberately exclude: {excl}. {alt_s}Primary persona: {persona}."
    )
    return Statement(text=text, entity=entity, trait=trait_s, **fields)


def restate(icp: ICP, data: TrainingData | None, labels: Mapping[str, str] | None = None) -> ICP:
    """Record the source headers in ``icp.labels`` and write the statement with them.

    Headers that only differ from the column name by case and underscores read
    the same, so an ICP without other headers keeps the statement it has.
    """
    if labels is not None:
        icp.labels = {
            k: v for k, v in labels.items() if k in icp.attributes and words(v) != words(k)
        }
        if not icp.labels:
            return icp
    icp.statement = make_statement(
        icp.tiers,
        icp.disqualifiers,
        data,
        icp.evidence.strength,
        icp.timing.model_dump() if icp.timing is not None else None,
        dict(icp.attributes),
        icp.labels,
    )
    return icp


def source_headers(ws: Workspace, table: str = "accounts") -> dict[str, str]:
    """{column: header as written in the source file} recorded at ingest (empty when unknown)."""
    stored = ws.json_artifact("source_headers")
    return {str(k): str(v) for k, v in ((stored or {}).get(table) or {}).items()}
