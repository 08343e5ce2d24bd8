"""The report's first page: the decision in plain words, for a reader who stops there.

The ICP statement, a table of what each tier's accounts did, the verdict against
the 3x rule in one sentence, the ICP's size in the market and what to do next.
No statistical vocabulary: the methods appendix explains the terms used after it.
Every figure keeps the count it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..icpfile import ICP

# Words a first-page reader should not meet; the methods appendix explains them.
GLOSSARY_WORDS = ("q-value", "q=", "Wilson", "Benjamini", "PSI", "Brier", "PR AUC", "AUC")
TARGET = 3.0


@dataclass
class TierRow:
    tier: str
    name: str
    accounts: int
    deals: int
    wins: int
    win_rate: str
    median_deal: str
    retention: str
    revenue_share: str


@dataclass
class Executive:
    """What the first page says; every field is plain text or rows of plain text."""

    basis: str
    headline: str
    recognize: list[str]
    exclude: list[str]
    persona: str
    tiers: list[TierRow]
    tiers_note: str
    verdict: str
    verdict_ok: bool | None
    size: str
    next_steps: list[str] = field(default_factory=list)


def money(v: float | None, currency: str = "$") -> str:
    """A deal amount as a person writes it: $13,500; $1.2M."""
    if v is None:
        return ""
    a = abs(float(v))
    if a >= 1e6:
        return f"{currency}{v / 1e6:.1f}M"
    return f"{currency}{v:,.0f}"


def share(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:.0%}" if v >= 0.1 or v == 0 else f"{v:.1%}"


def _clean(s: str) -> str:
    """A statement signal without trailing statistics in parentheses kept readable."""
    return s.replace(" (in customers' own words)", "")


def _headline(icp: ICP) -> str:
    text = icp.statement.text
    head = text.split(" We recognize a fit by:", 1)[0].strip()
    if head.startswith("ICP: "):
        head = "Our best customers are " + head[5:]
    return _clean(head)


def _tier_rows(icp: ICP, currency: str) -> list[TierRow]:
    rows = []
    for t in icp.tiers:
        o = t.outcomes
        if o is None:
            continue
        rows.append(
            TierRow(
                tier=f"Tier {t.tier}",
                name=t.name,
                accounts=o.accounts,
                deals=o.deals,
                wins=o.wins,
                win_rate=f"{share(o.win_rate)} ({o.wins} of {o.deals})"
                if o.win_rate is not None
                else "no closed deals",
                median_deal=money(o.median_deal, currency) + f" (n={o.wins})"
                if o.median_deal is not None
                else "unknown",
                retention=f"{share(o.retention)} (n={o.customers})"
                if o.retention is not None
                else "unknown",
                revenue_share=share(o.won_revenue_share)
                if o.won_revenue_share is not None
                else "unknown",
            )
        )
    return rows


def _verdict(v: dict[str, Any] | None) -> tuple[str, bool | None]:
    if not v or v.get("skipped"):
        return (
            "Not yet tested on deals it did not learn from: run `icp validate` (or `icp run` "
            "without --no-validate) before relying on it.",
            None,
        )
    io = (v.get("heldout") or {}).get("in_vs_out") or {}
    if not io or io.get("ratio") is None:
        return ("Too few later deals to test the ICP against the 3x rule.", None)
    a, b = io["in"], io["out"]
    ok = bool(io.get("meets_target"))
    target = io.get("target", TARGET)
    when = ""
    sp = v.get("split") or {}
    if sp.get("method") == "time" and sp.get("test_from"):
        when = f" closed from {sp['test_from']} to {sp['test_to']}"
    return (
        f"On {v['heldout']['n']:,} later deals{when}, which the ICP did not learn from, companies "
        f"in the ICP won {share(a['win_rate'])} of their deals ({a['wins']:,} of {a['n']:,}) against "
        f"{share(b['win_rate'])} outside it ({b['wins']:,} of {b['n']:,}): {io['ratio']:.1f} times as "
        f"often, {'which meets' if ok else 'short of'} the {target:g}x a sharp ICP should reach.",
        ok,
    )


def _size(v: dict[str, Any] | None, tier_counts: dict[str, int], n_accounts: int) -> str:
    sz = (v or {}).get("sizing")
    if sz:
        return str(sz["message"])
    inside = sum(tier_counts.get(k, 0) for k in ("1", "2", "3"))
    own = (
        f" Among your own {n_accounts:,} accounts, {inside:,} ({share(inside / n_accounts)}) are "
        "in Tiers 1-3."
        if n_accounts
        else ""
    )
    return (
        "No market list was given, so how many companies in the market fit is not known yet." + own
    )


def _next_steps(
    icp: ICP, v: dict[str, Any] | None, tier_counts: dict[str, int], route_counts: dict[str, int]
) -> list[str]:
    steps = []
    rec = (v or {}).get("recommendation") or {}
    cand = rec.get("candidate") or {}
    if rec.get("action") in ("widen", "narrow") and cand:
        verb = "Widen" if rec["action"] == "widen" else "Narrow"
        if rec.get("chosen_on_heldout", True):
            check = (
                "The cut-off was picked on those same deals: confirm it on next quarter's deals "
                "before changing the tiers in icp.yaml."
            )
        elif rec.get("confirmed"):
            check = (
                "The cut-off was picked on the earlier deals and holds on the later ones; "
                "change the tiers in icp.yaml to adopt it."
            )
        else:
            check = (
                "The cut-off was picked on the earlier deals and falls short of 3x on the later "
                "ones: confirm it on next quarter's deals before changing the tiers in icp.yaml."
            )
        steps.append(
            f"{verb} the ICP to accounts scoring {rec['min_score']} or more: on the later deals they "
            f"won {share(cand['in']['win_rate'])} ({cand['in']['wins']:,} of {cand['in']['n']:,}) "
            f"against {share(cand['out']['win_rate'])} for the rest ({cand['out']['wins']:,} of "
            f"{cand['out']['n']:,}). {check}"
        )
    t1 = tier_counts.get("1", 0)
    if t1:
        steps.append(
            f"Give the {t1:,} Tier 1 accounts to account executives first; the "
            f"{route_counts.get('high_touch', 0):,} accounts routed high-touch are in scores.csv, "
            "ready to import into the CRM."
        )
    ex = tier_counts.get("excluded", 0)
    on = [d for d in icp.disqualifiers if d.enabled]
    if ex and on:
        which = icp.statement.exclude[:3] or [d.text() for d in on[:3]]
        steps.append(
            f"Stop spending sales time on the {ex:,} accounts that match a disqualifier, such as "
            + " or ".join(which)
            + "."
        )
    if icp.evidence.strength in ("moderate", "weak", "none") or "to be confirmed" in (
        icp.statement.persona + icp.statement.pain
    ):
        steps.append(
            "Confirm Tier 1 and the buyer in 10-20 customer interviews: the interview plan "
            "(interview-plan.md, written by `icp export`) names whom to call and what to ask."
        )
    if not (v or {}).get("sizing"):
        steps.append(
            "Size the ICP in your market: add a list of target companies with `--market FILE` "
            "to `icp run` or `icp validate`."
        )
    return steps


def executive(
    icp: ICP,
    validation: dict[str, Any] | None,
    tier_counts: dict[str, int],
    route_counts: dict[str, int],
    n_accounts: int,
    currency: str = "$",
) -> Executive:
    ev = icp.evidence
    tr = icp.training
    basis = (
        f"Learned from {ev.closed_deals:,} closed deals ({ev.wins:,} won, "
        f"{share(ev.base_win_rate)} on average)"
    )
    if tr and tr.date_from:
        basis += f" closed {tr.date_from} to {tr.date_to}"
    basis += f"; {n_accounts:,} accounts scored." if n_accounts else "."
    verdict, ok = _verdict(validation)
    objective = (
        " A deal counts as a success when it was won and the customer still pays."
        if tr and tr.objective == "value"
        else ""
    )
    return Executive(
        basis=basis,
        headline=_headline(icp),
        recognize=[_clean(s) for s in icp.statement.recognize],
        exclude=list(icp.statement.exclude),
        persona=icp.statement.persona[:1].upper() + icp.statement.persona[1:],
        tiers=_tier_rows(icp, currency),
        tiers_note="Outcomes of each tier's accounts on the deals the ICP learned from; "
        "the verdict below tests it on later deals." + objective,
        verdict=verdict,
        verdict_ok=ok,
        size=_size(validation, tier_counts, n_accounts),
        next_steps=_next_steps(icp, validation, tier_counts, route_counts),
    )
