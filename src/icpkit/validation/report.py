"""The report's Validation section, from the stored ``validation.json``.

The figures become a list of blocks (heading, sentences, table rows, chart)
once; the report renders them through the templates ``sections/validation.*.j2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..report.charts import bars
from ..report.data import Block, Blocks, Para, Section
from ..report.render import pct, render_section
from ..workspace import Workspace

ARTIFACT = "validation.json"
ACTIONS = {
    "keep": "3x rule: met.",
    "narrow": "3x rule: narrow.",
    "widen": "3x rule: widen.",
    "none": "3x rule: no threshold reaches it.",
}


def _block(
    heading: str,
    text: Sequence[str | Para] = (),
    rows: list[dict[str, Any]] | None = None,
    chart: str = "",
) -> Block:
    return Block(
        heading,
        [t if isinstance(t, Para) else Para(t) for t in text],
        rows or [],
        chart,
    )


def _ci(lo: Any, hi: Any) -> str:
    return f"{pct(lo)}-{pct(hi)}" if lo is not None and hi is not None else ""


def _x(v: Any, lo: Any = None, hi: Any = None) -> str:
    if v is None:
        return "n/a"
    s = f"{v:.2f}x"
    return s + (f" ({lo:.2f}-{hi:.2f})" if lo is not None and hi is not None else "")


def _f(v: Any, nd: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{nd}f}"


def _value(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _split_text(s: dict[str, Any]) -> str:
    learned = (
        " Each fold was learned on the value objective (won and still paying, retention as it "
        "stood at the fold's cutoff), as the ICP was; the figures count won and lost deals."
        if s.get("objective") == "value"
        else ""
    )
    if s.get("method") == "time":
        return (
            f"Time split on {s['dates']}: learned from {s['train_deals']} deals closed before "
            f"{s['cutoff']} ({s['cutoff_rule']}), tested on the {s['test_deals']} deals closed from "
            f"{s['cutoff']} to {s['test_to']}. The held-out deals never reached the fitting code."
            + learned
        )
    grouped = (
        ", grouped by account (no account on both sides)" if s.get("grouped_by_account") else ""
    )
    return (
        f"Stratified {s['folds']}-fold cross-validation{grouped}, repeated with seeds "
        f"{', '.join(map(str, s['seeds']))}: every closed deal is scored once per repeat by an ICP "
        "learned without it. Figures below are from the first repeat." + learned
    )


def _gap(g: dict[str, Any] | None) -> str:
    if not g or g.get("gap") is None:
        return ""
    ci = g.get("ci")
    return f"{g['gap']:+.3f}" + (f" ({ci[0]:+.3f} to {ci[1]:+.3f})" if ci else "")


def _rate_n(r: dict[str, Any] | None) -> str:
    if not r or not r.get("n"):
        return "n/a"
    return f"{pct(r['win_rate'])} (n={r['n']:,})"


def _breadth_blocks(v: dict[str, Any]) -> list[Block]:
    """The 3x rule acted on: the breadth curve, the recommendation and the sharpness."""
    h = v["heldout"]
    br = h.get("breadth")
    rec = v.get("recommendation")
    if not br or not rec:
        return []
    peer = {r["target"]: r for r in br.get("best_peer") or []}
    pname = br.get("best_peer_name") or "best peer"
    rows = [
        {
            "breadth": pct(r["breadth"]),
            "score >=": f"{r['threshold']:.0f}",
            "in: deals (accounts)": f"{r['in']['n']:,} ({r['in']['accounts']:,})",
            "in: win rate": pct(r["in"]["win_rate"]),
            "out: deals": f"{r['out']['n']:,}",
            "out: win rate": pct(r["out"]["win_rate"]),
            "in/out (95% CI)": _x(r["ratio"], r["ratio_ci_low"], r["ratio_ci_high"]),
            f"{pname} in/out at the same breadth": _x(peer[r["target"]]["ratio"])
            + f" ({pct(peer[r['target']]['breadth'])})"
            if r["target"] in peer
            else "",
        }
        for r in br["icpkit"]
    ]
    cur = rec["current"]
    sh = h.get("sharpness") or {}
    text: list[str | Para] = [
        Para(rec["message"], strong=ACTIONS.get(rec["action"], rec["action"])),
        (
            f"The ICP as drawn (Tiers 1-3) holds {pct(cur['breadth'])} of held-out deals: "
            f"{_rate_n(cur['in'])} won inside vs {_rate_n(cur['out'])} outside, "
            f"{_x(cur['ratio'], cur['ratio_ci_low'], cur['ratio_ci_high'])}. Held-out win rate "
            f"{pct(rec['base_rate'])}: where most deals win, the ratio rises as the ICP widens; "
            "where most lose, as it narrows."
        ),
        "The table ranks the held-out deals by icpkit's score and counts the top share as the ICP "
        "(scores tie, so each breadth is the nearest score threshold).",
    ]
    bt = v.get("accounts_by_tier")
    if bt:
        total = sum(x["accounts"] for x in bt.values())
        names = {
            "1": "Tier 1",
            "2": "Tier 2",
            "3": "Tier 3",
            "none": "no tier",
            "excluded": "excluded",
        }
        text.append(
            f"Scored with the ICP learned from all deals, the {total:,} accounts split: "
            + ", ".join(f"{names[k]} {x['accounts']:,} ({pct(x['share'])})" for k, x in bt.items())
            + "."
        )
    if sh.get("top"):
        text.append(
            f"Sharpness, which breadth cannot buy: {sh['top_definition']} won {_rate_n(sh['top'])} vs "
            f"{_rate_n(sh['bottom'])} for the {sh['bottom_definition']}: "
            f"{_x(sh['ratio'], sh['ratio_ci_low'], sh['ratio_ci_high'])}."
        )
    chart = bars(
        [
            (f"top {pct(r['breadth'])} (>= {r['threshold']:.0f})", r["ratio"] or 0.0)
            for r in br["icpkit"]
        ],
        title="Held-out in/out win-rate ratio by ICP breadth (target 3x)",
        fmt="{:.2f}x",
    )
    out = [_block("Breadth and the 3x rule, on held-out deals", text, rows, chart)]
    val = h.get("value")
    if val:
        out.append(
            _block(
                "Value capture, on held-out deals",
                [val["message"]],
                [
                    {
                        "group": r["group"],
                        "accounts": f"{r['accounts']:,}",
                        "share of accounts": pct(r["account_share"]),
                        "won deals": f"{r['won_deals']:,}",
                        "share of won revenue": pct(r["won_revenue_share"])
                        if r["won_revenue_share"] is not None
                        else "n/a",
                        "share of retained revenue": pct(r["retained_revenue_share"])
                        if r["retained_revenue_share"] is not None
                        else "n/a",
                        "median won deal (n)": (
                            f"{r['median_won_deal']:,.0f} (n={r['won_deals_with_amount']:,})"
                            if r["median_won_deal"] is not None
                            else "n/a"
                        ),
                    }
                    for r in val["groups"]
                ],
            )
        )
    return out


def blocks(v: dict[str, Any]) -> list[Block]:
    """The Validation section as blocks of sentences and tables."""
    h = v["heldout"]
    io = h["in_vs_out"]
    out = [
        _block(
            "Verdict",
            [Para(v["verdict"]["message"], strong=f"{v['verdict']['strength'].title()}.")]
            + [f"Not checked: {n}." for n in v.get("not_checked", [])]
            + [f"Shortened to scale: {n}." for n in v.get("shortcuts", [])],
            [
                {
                    "check": c["check"],
                    "result": "pass" if c["ok"] else ("n/a" if c["ok"] is None else "fail"),
                    "value": _value(c["value"]),
                }
                for c in v["verdict"]["checks"]
            ],
        ),
    ]
    tiers = [
        {
            "group": r["group"],
            "deals": r["n"],
            "wins": r["wins"],
            "win rate": pct(r["win_rate"]),
            "95% CI": _ci(r["ci_low"], r["ci_high"]),
            "vs out of ICP": _x(r["ratio"], r["ratio_ci_low"], r["ratio_ci_high"])
            if r["ratio"] is not None
            else "",
        }
        for r in h["tiers"]
        if r["n"]
    ]
    out.append(
        _block(
            "In the ICP vs outside it, on held-out deals",
            [
                _split_text(v["split"]),
                (
                    f"In-ICP deals won {pct(io['in']['win_rate'])} vs {pct(io['out']['win_rate'])} outside: "
                    f"{_x(io['ratio'], io['ratio_ci_low'], io['ratio_ci_high'])} "
                    f"({'meets' if io['meets_target'] else 'below'} the 3x floor practitioners use)."
                )
                if io["in"]["n"]
                else (
                    f"No held-out deal falls in the ICP (Tiers 1-3): all {io['out']['n']} are outside it "
                    f"and won {pct(io['out']['win_rate'])}."
                ),
            ],
            tiers,
        )
    )
    mono = h.get("monotonicity")
    if mono:
        out.append(
            _block(
                "Tier order, on held-out deals",
                [
                    Para(mono["message"], strong="Pass." if mono["monotone"] else "Fail."),
                ],
                [
                    {
                        "group": r["group"],
                        "deals": r["n"],
                        "wins": r["wins"],
                        "win rate": pct(r["win_rate"]),
                        "95% CI": _ci(r["ci_low"], r["ci_high"]),
                    }
                    for r in mono["groups"]
                ],
            )
        )
    out += _breadth_blocks(v)
    cap = [
        {
            "top of scores": f"top {int(c['top'] * 100)}%",
            "share of won deals": pct(c["won_share"]),
            "share of won revenue": pct(c["revenue_share"])
            if c["revenue_share"] is not None
            else "n/a",
        }
        for c in h["capture"]
    ]
    vg = h["very_good_vs_low"]
    ts = h["tier_share_of_wins"]
    out.append(
        _block(
            "Capture",
            [
                f"Tier 1 holds {pct(ts['1'])} of held-out wins; Tiers 1-2 {pct(ts['1-2'])}; Tiers 1-3 {pct(ts['1-3'])}.",
                f"Very good vs low ({vg['definition']}): "
                + (
                    f"{vg['note']}."
                    if vg.get("note")
                    else f"{pct(vg['very_good']['win_rate'])} vs {pct(vg['low']['win_rate'])}, "
                    f"{_x(vg['ratio'], vg['ratio_ci_low'], vg['ratio_ci_high'])}."
                ),
            ],
            cap,
            bars(
                [(f"top {int(c['top'] * 100)}%", c["won_share"] or 0.0) for c in h["capture"]],
                title="Share of held-out won deals in the top of the scores",
            ),
        )
    )
    rel = [
        {
            "score band": r["band"],
            "deals": r["n"],
            "predicted": pct(r["predicted"]),
            "observed": pct(r["observed"]),
            "95% CI": _ci(r["ci_low"], r["ci_high"]),
            "in interval": "yes" if r["within_interval"] else "no",
        }
        for r in h["reliability"]
    ]
    reps = v.get("repeats") or []
    rep_txt = (
        [f"ROC AUC by repeat: {', '.join(_f(r['roc_auc']) for r in reps)}."]
        if len(reps) > 1
        else []
    )
    out.append(
        _block(
            "Discrimination and calibration",
            [
                f"ROC AUC {_f(h['roc_auc'])}; PR AUC {_f(h['pr_auc'])} (a random score gets "
                f"{_f(h['pr_auc_baseline'])}). Brier score {_f(h['brier'])} vs {_f(h['brier_reference'])} "
                f"for the training win rate alone (skill {_f(h['brier_skill'])}).",
                f"A score stands for a win probability (50 = the training win rate of {pct(h['train_win_rate'])}, "
                f"+25 points = 3x the odds); held-out deals won {pct(h['win_rate'])}.",
                *rep_txt,
            ],
            rel,
        )
    )
    p = v["peers"]
    gaps = p.get("gaps") or {}
    out.append(
        _block(
            "Peers on the same split",
            [
                p["message"]
                + (
                    f" Every AUC is on the same {p['n']:,} held-out deals ({p['wins']:,} won)."
                    if p.get("n")
                    else ""
                )
                + (
                    f" The raw peers learned from {smp['peer_training_deals']:,} training deals"
                    + (f" ({smp['note']})." if smp.get("note") else ".")
                    if (smp := p.get("sampling"))
                    else ""
                )
            ],
            [
                {
                    "model": k,
                    "held-out AUC": _f(a),
                    "gap to icpkit (95% CI)": _gap(gaps.get(k)),
                    "what": p["models"].get(k, "icpkit's explainable scorecard"),
                }
                for k, a in p["auc"].items()
            ]
            + (
                [
                    {
                        "model": "icpkit before vetoes",
                        "held-out AUC": _f(p["icpkit_unvetoed_auc"]),
                        "gap to icpkit (95% CI)": "",
                        "what": "the same scorecard without disqualifier vetoes (diagnostic)",
                    }
                ]
                if p.get("icpkit_unvetoed_auc") is not None
                else []
            ),
        )
    )
    n = v["null_control"]
    out.append(
        _block(
            "Null control",
            [
                f"{n['verdict']} Outcomes of the {n['training_deals']} training deals were shuffled "
                f"{n['permutations']} times and the pattern search rerun: it called {n['false_discoveries_mean']} "
                f"segment(s) significant on average (max {n['false_discoveries_max']}), Tier 1 in "
                f"{n['permutations_with_false_tier1']} of {n['permutations']} shuffles."
                + (
                    f" The shuffles stopped after {n['permutations']} of "
                    f"{n['permutations_planned']}: {n['stopped_early']}."
                    if n.get("stopped_early")
                    else ""
                )
                + (f" The search was {n['note']}." if n.get("note") else ""),
            ],
        )
    )
    me = v["minimum_evidence"]
    out.append(
        _block(
            "Minimum evidence",
            [me["message"]],
            [
                {
                    "kind": i["kind"],
                    "tier": i["tier"] or "",
                    "condition": i["condition"],
                    "deals": i["n"],
                    "minimum": me["min_support"],
                }
                for i in me["items"]
                if not i["ok"]
            ],
        )
    )
    sz = v.get("sizing")
    if sz:
        out.append(
            _block(
                "Size of the ICP in the market list",
                [sz["message"], *[f"Warning: {w}." for w in sz["warnings"]]],
                [
                    {
                        "level": lv["level"],
                        "accounts": lv["accounts"],
                        "share": pct(lv["share"]),
                        "verdict": lv["verdict"].replace("_", " "),
                    }
                    for lv in sz["levels"]
                ]
                + [
                    {
                        "level": f"score >= {a['min_score']} (recommended)",
                        "accounts": a["accounts"],
                        "share": pct(a["share"]),
                        "verdict": a["verdict"].replace("_", " "),
                    }
                    for a in sz.get("at_scores") or []
                ],
            )
        )
    dr = v.get("drift")
    if dr:
        c = dr["criteria"]
        text = [
            f"Score distributions on {dr['accounts_scored']} accounts: PSI {dr['psi']:.3f} ({dr['psi_label']}); "
            f"evidence {dr['evidence']['old']} -> {dr['evidence']['new']}.",
            f"Criteria added: {', '.join(x['criterion'] for x in c['added']) or 'none'}; removed: "
            f"{', '.join(x['criterion'] for x in c['removed']) or 'none'}; changed: "
            f"{', '.join(x['criterion'] + ' (' + x['change'] + ')' for x in c['changed']) or 'none'}.",
            f"Disqualifiers added: {', '.join(dr['disqualifiers']['added']) or 'none'}; removed: "
            f"{', '.join(dr['disqualifiers']['removed']) or 'none'}.",
            *[n.capitalize() + "." for n in dr["notes"]],
        ]
        rows = []
        if dr["heldout"]:
            for who in ("previous", "new"):
                r = dr["heldout"][who]
                rows.append(
                    {
                        "ICP": who,
                        "held-out AUC": _f(r["roc_auc"]),
                        "in/out ratio": _x(r["in_out_ratio"]),
                        "Tier 1 share of wins": pct(r["tier1_share_of_wins"]),
                    }
                )
        out.append(_block("Drift against the previous ICP", text, rows))
    if v.get("warnings"):
        out.append(_block("Validation warnings", [f"{w}" for w in v["warnings"]]))
    return out


def render_markdown(v: dict[str, Any], *, level: int = 3) -> str:
    """The Validation section as Markdown, its headings at ``level`` (for ``validation.md``)."""
    return str(render_section(_section(v, level), "md"))


def _section(v: dict[str, Any], level: int = 3) -> Section:
    return Section(
        id="validation",
        title="Validation",
        data=Blocks(blocks(v), level),
        template="validation",
        order=20,
    )


def section(ws: Workspace) -> Section | None:
    """The report's Validation section, when the workspace holds validation results."""
    v = ws.json_artifact(ARTIFACT)
    if not v:
        return None
    if v.get("skipped"):
        return Section(
            id="validation",
            title="Validation",
            data=Blocks([Block("Validation skipped", [Para(str(v["skipped"]))])]),
            template="validation",
            order=20,
        )
    return _section(v)
