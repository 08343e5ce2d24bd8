"""The report's "Deal qualification" section, from the ``deal_context`` workspace artifact.

The figures become blocks (heading, sentences, table rows) once; HTML and
Markdown are both rendered from them. The analysis is in
:mod:`icpkit.mining.deal_context`.
"""

from __future__ import annotations

from typing import Any

from ..report.data import Block, Blocks, Para, Section
from ..report.render import pct
from ..workspace import Workspace
from .deal_context import ARTIFACT, NEGATIVE

ORDER = 40


def _days(v: Any) -> str:
    return "" if v is None else f"{v:,.0f}"


def blocks(d: dict[str, Any]) -> list[tuple[str, list[str], list[dict[str, Any]]]]:
    """(heading, sentences, table rows) of the Deal qualification section."""
    out: list[tuple[str, list[str], list[dict[str, Any]]]] = []
    pats = d.get("patterns") or []
    intro = [
        f"How the deal came about, from the columns of the deals file ({', '.join(sorted(d.get('columns') or {})) or 'none usable'}): "
        f"{d['closed_deals']:,} closed deals, {d['wins']:,} won (base win rate {pct(d['base_win_rate'])}). "
        "These describe deals, not companies: they qualify a deal in the pipeline and are never ICP criteria, "
        "disqualifiers or scorecard points."
    ]
    sig = [p for p in pats if p["significant"]]
    if sig:
        intro += [
            p["text"]
            + f", 95% interval {pct(p['ci_low'])}-{pct(p['ci_high'])}, q={p['q_value']:.2g}."
            for p in sig[:5]
        ]
    elif pats:
        intro.append("No deal-level pattern passed the significance bar (BH q < 0.05).")
    rows = [
        {
            "deal column = level": p["level"],
            "n": p["n"],
            "won": p["wins"],
            "win rate": pct(p["win_rate"]),
            "95% interval": f"{pct(p['ci_low'])}-{pct(p['ci_high'])}",
            "lift": f"{p['lift']:.2f}x",
            "q": f"{p['q_value']:.2g}",
            "median cycle of won deals (days)": _days(p["median_cycle_days"]),
        }
        for p in sorted(
            pats,
            key=lambda p: (p["column"], p["position"] if p["kind"] == "numeric" else -p["lift"]),
        )
        if p["significant"] or p["n"] >= d["min_support"]
    ][:40]
    skipped = d.get("skipped") or {}
    if skipped:
        intro.append(
            "Not analysed: " + "; ".join(f"{c} ({why})" for c, why in sorted(skipped.items())) + "."
        )
    out.append(("Deal qualification patterns", intro, rows))
    lr = d.get("lost_reasons")
    if lr:
        text = [f"{lr['lost_deals']:,} lost deals, {lr['with_reason']:,} with a reason given."]
        out.append(
            (
                "Lost reasons",
                text,
                [
                    {"reason": r["reason"], "lost deals": r["count"], "share": pct(r["share"])}
                    for r in lr.get("overall") or []
                ],
            )
        )
        groups = lr.get("groups") or {}
        if groups:
            names = list(groups)
            reasons = [r["reason"] for r in lr.get("overall") or []]
            share = {
                g: {r["reason"]: (r["count"], r["share"]) for r in groups[g]["reasons"]}
                for g in names
            }
            rows = []
            for r in reasons:
                row: dict[str, Any] = {"reason": r}
                for g in names:
                    c, s = share[g].get(r, (0, 0.0))
                    row[f"{g} (n={groups[g]['n']})"] = f"{pct(s)} ({c})"
                rows.append(row)
            gtext = [
                "Share of each lost reason among the lost deals of accounts in each ICP tier "
                "(tier of the account as scored by the current ICP; excluded = a disqualifier applies; "
                "negative ICP = below Tier 3 or excluded, compared with Tiers 1-3; other groups are "
                "compared with every other scored deal)."
            ]
            chi = lr.get("chi2")
            if chi:
                gtext.append(
                    f"Reasons x tiers: chi-square {chi['statistic']:.1f}, {chi['dof']} degrees of freedom, p={chi['p_value']:.2g}, n={chi['n']}"
                    + (
                        " (some expected counts below 5: read with care)."
                        if chi["min_expected"] < 5
                        else "."
                    )
                )
            for c in (lr.get("differences") or [])[:6]:
                more = "more" if c["share"] > c["rest_share"] else "less"
                gtext.append(
                    f"{c['group']}: '{c['reason']}' is {more} common ({pct(c['share'])}, {c['count']} of {c['n']}) "
                    f"than in {'Tiers 1-3' if c['group'] == NEGATIVE else 'the other groups'} ({pct(c['rest_share'])}, {c['rest_count']} of {c['rest_n']}); Fisher q={c['q_value']:.2g}."
                )
            if not lr.get("differences"):
                gtext.append(
                    "No lost reason differs significantly between tiers (Fisher, BH q < 0.05)."
                )
            out.append(("Lost reasons by ICP tier", gtext, rows))
    return out


def section(ws: Workspace) -> Section | None:
    """The report's "Deal qualification" section, from the ``deal_context`` artifact."""
    d = ws.json_artifact(ARTIFACT)
    if not d or not (d.get("patterns") or d.get("lost_reasons")):
        return None  # no deal column beyond ids, dates and the outcome
    return Section(
        id="deal-qualification",
        title="Deal qualification",
        data=Blocks(
            [Block(heading, [Para(t) for t in text], rows) for heading, text, rows in blocks(d)]
        ),
        template="deal-qualification",
        order=ORDER,
    )
