"""The "Personas" report section: the primary persona and persona cards per tier."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from icpkit.personas.hooks import ARTIFACT
from icpkit.personas.labels import fmt_q, function_label, q_is, role_label, seniority_label
from icpkit.report.data import Section
from icpkit.workspace import Workspace

ORDER = 30
_CSS = (
    "<style>"
    ".pcards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px;margin:8px 0 4px}"
    ".pcard{border:1px solid #e4e7eb;border-radius:6px;padding:8px 10px;font-size:13px;background:#fff}"
    ".pcard h4{margin:0 0 4px;font-size:14px}.pcard.up{border-top:3px solid #1b7f3b}"
    ".pcard.down{border-top:3px solid #8a1c2b}.pcard div{margin:2px 0}"
    ".pcard ul{margin:4px 0 0;padding-left:16px}.pcard li{margin:2px 0}"
    ".pcard q{font-style:italic}.tier.negative{border-color:#c0392b}.tier.all{border-color:#9aa5b1}"
    "</style>"
)
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


def _badge(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("lift") is None:
        return ""
    text = f"lift {_lift(stat)}"
    if stat.get("significant"):
        cls = "strong" if stat["lift"] > 1 else "none"
        return f" <span class='badge {cls}'>{escape(text)}</span>"
    if stat.get("flag"):
        return f" <span class='badge weak' title='{escape(stat['flag'])}'>{escape(text)}?</span>"
    return f" <span class='muted'>{escape(text)}, not significant</span>"


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


def _card_html(r: dict[str, Any]) -> str:
    s = r.get("stat")
    lines = [f"<h4>{escape(role_label(r['role']).capitalize())}{_badge(s)}</h4>"]
    lines.append(f"<div>on <b>{_pct(r['share_of_won'])}</b> of won deals ({r['won_deals']})</div>")
    if s:
        lines.append(
            f"<div>win rate {_pct(s['win_rate'])} ({_pct(s['ci_low'])}–{_pct(s['ci_high'])}) with "
            f"vs {_pct(s['rate_without'])} without · n={s['n']} · {q_is(s['q_value'])}</div>"
        )
    if _mostly(r):
        lines.append(f"<div>mostly {escape(_mostly(r))}</div>")
    if r["titles"]:
        lines.append(
            f"<div class='muted'>e.g. {escape(', '.join(t for t, _ in r['titles'][:4]))}</div>"
        )
    fns = _by_function(r)
    if fns:
        lines.append(f"<div>by function: {escape('; '.join(fns))}</div>")
    if _late(r):
        lines.append(f"<div>{escape(_late(r))}</div>")
    if r["pains"]:
        items = "".join(
            f"<li><q>{escape(p['quote'])}</q> <span class='muted'>{escape(p['phrase'])} · "
            f"{p['passages']} passage(s){'' if p['distinctive'] else ', heard from every role'}</span></li>"
            for p in r["pains"]
        )
        lines.append(f"<div class='muted'>in their own words:</div><ul>{items}</ul>")
    return f"<div class='pcard {_direction(s)}'>{''.join(lines)}</div>"


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


def section(ws: Workspace) -> Section | None:
    data = ws.json_artifact(ARTIFACT)
    if not data:
        return None
    warnings = [w for w in (ws.artifact("personas_warnings") or "").splitlines() if w.strip()]
    return Section(
        id="personas",
        title="Personas and buying committee",
        html=render_html(data, warnings),
        markdown=render_markdown(data, warnings),
        order=ORDER,
    )


def render_html(data: dict[str, Any], warnings: list[str] | None = None) -> str:
    out = [_CSS, f"<p class='muted'>{escape(_intro(data))}</p>"]
    p = data.get("primary")
    if p:
        out.append(
            f"<p class='statement'><b>Primary persona:</b> {escape(p['sentence'])}.<br>"
            f"<span class='muted'>Chosen as {escape(p['reason'])}.</span></p>"
        )
    else:
        out.append(
            "<p class='statement'>No contact sits on a won deal: the primary persona is to be confirmed in interviews.</p>"
        )
    for g in data["groups"]:
        cls = _TIER_CLASS.get(g["key"], "")
        out.append(f"<div class='tier {cls}'><h3>{escape(_group_title(g))}</h3>")
        if not g["deals"]:
            out.append(f"<p class='muted'>{escape(g.get('note') or 'No closed deals.')}</p></div>")
            continue
        if not g["roles"]:
            out.append("<p class='muted'>No contact with a known role on these deals.</p></div>")
            continue
        out.append(
            "<div class='pcards'>" + "".join(_card_html(r) for r in g["roles"]) + "</div></div>"
        )
    if data.get("pains_source"):
        out.append(
            f"<p class='muted'>Pains: the customer side of {data['conversations_used']} conversations, "
            f"by the role of the contact speaking ({escape(data['pains_source'])}); a pain is a phrase "
            "heard more often from this role in this group than in every other customer conversation.</p>"
        )
    for w in warnings or []:
        out.append(f"<div class='warn'>{escape(w)}</div>")
    return "\n".join(out)


def _md(text: Any) -> str:
    return str(text).replace("|", "/")


def render_markdown(data: dict[str, Any], warnings: list[str] | None = None) -> str:
    out = [_intro(data), ""]
    p = data.get("primary")
    if p:
        out += [f"**Primary persona:** {p['sentence']}. _Chosen as {p['reason']}._", ""]
    for g in data["groups"]:
        out.append(f"### {_group_title(g)}")
        out.append("")
        if not g["deals"] or not g["roles"]:
            out += [g.get("note") or "No contact with a known role on these deals.", ""]
            continue
        out.append(
            "| role | on won deals | win rate with / without | lift | n | q | mostly | typical titles |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for r in g["roles"]:
            s = r.get("stat") or {}
            mark = ""
            if s.get("significant"):
                mark = " ↑" if (s.get("lift") or 0) > 1 else " ↓"
            elif s.get("flag"):
                mark = " (small sample)"
            out.append(
                "| "
                + " | ".join(
                    _md(x)
                    for x in (
                        role_label(r["role"]),
                        _pct(r["share_of_won"]),
                        f"{_pct(s.get('win_rate'))} / {_pct(s.get('rate_without'))}" if s else "",
                        _lift(s) + mark,
                        s.get("n", ""),
                        fmt_q(s["q_value"]) if s else "",
                        _mostly(r),
                        ", ".join(t for t, _ in r["titles"][:3]),
                    )
                )
                + " |"
            )
        out.append("")
        for r in g["roles"]:
            extra = _by_function(r)
            if extra:
                out.append(f"- {role_label(r['role'])} by function: {'; '.join(extra)}")
            if _late(r):
                out.append(f"- {role_label(r['role'])}: {_late(r)}")
        pains = [(r["role"], q) for r in g["roles"] for q in r["pains"]]
        if pains:
            out.append("")
            out.append("In their own words:")
            out.append("")
            for role, q in pains:
                common = "" if q["distinctive"] else ", heard from every role"
                out.append(
                    f"- **{role_label(role)}**: “{q['quote']}” ({q['phrase']}, {q['passages']}{common})"
                )
        out.append("")
    for w in warnings or []:
        out.append(f"> warning: {w}")
    return "\n".join(out).rstrip() + "\n"
