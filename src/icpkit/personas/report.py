"""The "Personas" report section: the primary persona and persona cards per tier.

:func:`section` gathers the figures as :class:`PersonasSection`; the report
renders them through the templates ``sections/personas.*.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from icpkit.personas.hooks import ARTIFACT
from icpkit.personas.labels import fmt_q, function_label, q_is, role_label, seniority_label
from icpkit.report.data import Section
from icpkit.workspace import Workspace

ORDER = 30
_TIER_CLASS = {
    "tier_1": "tier1",
    "tier_2": "",
    "tier_3": "tier3",
    "negative": "negative",
    "all": "all",
}


def _pct(x: Any) -> str:
    return "" if x is None else f"{float(x):.0%}"


def _lift(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("lift") is None:
        return ""
    return f"{stat['lift']:.2f}x"


def _direction(stat: dict[str, Any] | None) -> str:
    if not stat or not stat.get("significant") or stat.get("lift") is None:
        return ""
    return "up" if stat["lift"] > 1 else "down"


def _mostly(r: dict[str, Any]) -> str:
    parts = []
    if r["function"] != "unknown":
        parts.append(f"{function_label(r['function'])} ({_pct(r['function_share'])})")
    if r["seniority"] != "unknown":
        parts.append(f"{seniority_label(r['seniority'])} ({_pct(r['seniority_share'])})")
    return " · ".join(parts)


def _by_function(r: dict[str, Any]) -> list[str]:
    return [
        f"{function_label(s['function'])} {s['lift']:.2f}x {'↑' if s['lift'] > 1 else '↓'} "
        f"(n={s['n']}, {q_is(s['q_value'])})"
        for s in r["by_function"]
        if s.get("significant") and s.get("lift") is not None
    ]


def _late(r: dict[str, Any]) -> str:
    if r.get("late_share") is None:
        return ""
    return f"{_pct(r['late_share'])} first speak in the last quarter of the deal (n={r['late_n']})"


def _group_title(g: dict[str, Any]) -> str:
    return (
        f"{g['label']} — {g['deals']} closed deals, {g['wins']} won ({_pct(g['win_rate'])}), "
        f"{g['accounts']} accounts"
    )


def _intro(data: dict[str, Any]) -> str:
    link = (
        "the deal each contact is on"
        if data["link"] == "deal"
        else "every closed deal of the contact's account (contacts have no deal_id)"
    )
    return (
        f"Roles come from explicit deal roles, else from the normalised title (function × seniority); "
        f"{data['contacts_on_closed']} of {data['contacts']} contacts are tied to closed deals by {link}. "
        "For each role: the share of won deals with someone in it, and the win rate of closed deals with "
        "the role against those without (Wilson 95% interval; lift on the rate shrunk toward the rate "
        "without). A lift counts when Fisher's exact test gives a Benjamini-Hochberg q below "
        f"{data['alpha']} within the group and at least {data['min_support']} closed deals stand behind it. "
        "Roles here ignore the deal outcome (a contact seen only on lost deals is not made a blocker for it)."
    )


@dataclass
class Pain:
    quote: str
    phrase: str
    passages: int
    distinctive: bool


@dataclass
class PersonaCard:
    """One role in one group, its figures already worded."""

    role: str
    direction: str  # "up", "down" or "" (lift not significant)
    badge: str  # "strong", "none" (significant), "weak" (flagged), "muted", "" (no lift)
    lift: str
    flag: str
    share_of_won: str
    won_deals: int
    win_rate: str  # "win rate 40% (30%–50%) with vs 20% without · n=.. · q.." or ""
    rates: str  # "40% / 20%" (with / without) or ""
    mark: str  # " ↑", " ↓", " (small sample)" or ""
    n: Any
    q: str
    mostly: str
    titles: list[str]
    by_function: list[str]
    late: str
    pains: list[Pain]


@dataclass
class PersonaGroup:
    key: str
    title: str
    css: str
    deals: int
    note: str
    cards: list[PersonaCard]


@dataclass
class PersonasSection:
    intro: str
    primary: dict[str, str] | None  # sentence, reason
    groups: list[PersonaGroup]
    pains_source: str
    conversations_used: Any
    warnings: list[str] = field(default_factory=list)


def _card(r: dict[str, Any]) -> PersonaCard:
    s = r.get("stat") or {}
    lift = _lift(s)
    badge, mark = "", ""
    if lift:
        if s.get("significant"):
            badge = "strong" if s["lift"] > 1 else "none"
        else:
            badge = "weak" if s.get("flag") else "muted"
    if s.get("significant"):
        mark = " ↑" if (s.get("lift") or 0) > 1 else " ↓"
    elif s.get("flag"):
        mark = " (small sample)"
    return PersonaCard(
        role=role_label(r["role"]),
        direction=_direction(s),
        badge=badge,
        lift=lift,
        flag=str(s.get("flag") or ""),
        share_of_won=_pct(r["share_of_won"]),
        won_deals=r["won_deals"],
        win_rate=(
            f"win rate {_pct(s['win_rate'])} ({_pct(s['ci_low'])}–{_pct(s['ci_high'])}) with "
            f"vs {_pct(s['rate_without'])} without · n={s['n']} · {q_is(s['q_value'])}"
        )
        if s
        else "",
        rates=f"{_pct(s.get('win_rate'))} / {_pct(s.get('rate_without'))}" if s else "",
        mark=mark,
        n=s.get("n", ""),
        q=fmt_q(s["q_value"]) if s else "",
        mostly=_mostly(r),
        titles=[t for t, _ in r["titles"]],
        by_function=_by_function(r),
        late=_late(r),
        pains=[Pain(p["quote"], p["phrase"], p["passages"], p["distinctive"]) for p in r["pains"]],
    )


def collect(data: dict[str, Any], warnings: list[str] | None = None) -> PersonasSection:
    """The section's figures from the stored personas artifact."""
    p = data.get("primary")
    return PersonasSection(
        intro=_intro(data),
        primary={"sentence": p["sentence"], "reason": p["reason"]} if p else None,
        groups=[
            PersonaGroup(
                key=g["key"],
                title=_group_title(g),
                css=_TIER_CLASS.get(g["key"], ""),
                deals=g["deals"],
                note=g.get("note") or "",
                cards=[_card(r) for r in g["roles"]] if g["deals"] else [],
            )
            for g in data["groups"]
        ],
        pains_source=data.get("pains_source") or "",
        conversations_used=data.get("conversations_used"),
        warnings=list(warnings or []),
    )


def section(ws: Workspace) -> Section | None:
    data = ws.json_artifact(ARTIFACT)
    if not data:
        return None
    warnings = [w for w in (ws.artifact("personas_warnings") or "").splitlines() if w.strip()]
    return Section(
        id="personas",
        title="Personas and buying committee",
        data=collect(data, warnings),
        template="personas",
        order=ORDER,
    )
