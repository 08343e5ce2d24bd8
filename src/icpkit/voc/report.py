"""The "Voice of customer" report section: themes per tier and for the negative
ICP with counts and quotes, and the language that separates best from worst."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..report.data import Section
from ..workspace import Workspace

ORDER = ("tier 1", "tier 2", "tier 3", "negative ICP", "best", "worst")


def _quote(q: dict[str, Any], chars: int = 240) -> str:
    text = str(q.get("quote", ""))
    return text if len(text) <= chars else text[: chars - 1] + "…"


def section(ws: Workspace) -> Section | None:
    raw = ws.artifact("voc.json")
    if not raw:
        return None
    voc = json.loads(raw)
    themes = voc.get("themes") or {}
    groups = themes.get("groups") or {}
    html: list[str] = []
    md: list[str] = []
    idx = voc.get("index") or {}
    html.append(
        f"<p class='muted'>{idx.get('total_passages', 0):,} passages indexed from the conversation archive{' (customer side only)' if voc.get('speakers') else ''}. Ask it anything with <code>icp ask \"what did our best 20 customers say about pricing last month\"</code>.</p>"
    )
    md.append(
        f'{idx.get("total_passages", 0):,} passages indexed. Ask with `icp ask "what did our best 20 customers say about pricing last month"`.\n'
    )
    for key, title in (
        ("icp_vs_negative", "Sharpest pain language: Tier 1 against the negative ICP"),
        (None, "Best 20% against worst 20% of customers"),
    ):
        c = voc.get(key) if key else themes.get("contrast")
        if not c or not (c.get("over_a") or c.get("over_b")):
            continue
        a, b = c["a"], c["b"]
        html.append(
            f"<h3>{escape(title)}</h3><table><tr><th>over-represented in {escape(a)}</th><th class='n'>{escape(a)} passages</th><th class='n'>{escape(b)} passages</th><th class='n'>z</th><th>over-represented in {escape(b)}</th><th class='n'>{escape(b)} passages</th><th class='n'>{escape(a)} passages</th><th class='n'>z</th></tr>"
        )
        md += [
            f"### {title}",
            "",
            f"| over-represented in {a} | {a} passages | {b} passages | z | over-represented in {b} | {b} passages | {a} passages | z |",
            "|---|---:|---:|---:|---|---:|---:|---:|",
        ]
        left, right = c.get("over_a", [])[:10], c.get("over_b", [])[:10]
        for i in range(max(len(left), len(right))):
            cells = []
            for r, x, y in (
                (left[i] if i < len(left) else None, a, b),
                (right[i] if i < len(right) else None, b, a),
            ):
                if r is None:
                    cells.append(["", "", "", ""])
                else:
                    cells.append(
                        [
                            r["phrase"],
                            f"{r[f'{x}_passages']}/{r[f'{x}_total']}",
                            f"{r[f'{y}_passages']}/{r[f'{y}_total']}",
                            f"{abs(r['z']):.1f}",
                        ]
                    )
            flat = cells[0] + cells[1]
            html.append(
                "<tr>"
                + "".join(
                    f"<td{' class=n' if j % 4 else ''}>{escape(v)}</td>" for j, v in enumerate(flat)
                )
                + "</tr>"
            )
            md.append("| " + " | ".join(flat) + " |")
        html.append("</table>")
        md.append("")
    for g in ORDER:
        data = groups.get(g)
        if not data or not data.get("themes"):
            continue
        html.append(
            f"<h3>{escape(g.capitalize() if g.islower() else g)}: recurring themes <span class='muted'>({data['accounts_with_text']} of {data['accounts']} accounts have conversations; {data['passages']} passages)</span></h3><table><tr><th>theme</th><th class='n'>passages</th><th class='n'>accounts</th><th>in their words</th></tr>"
        )
        md += [
            f"### {g}: recurring themes",
            "",
            f"{data['accounts_with_text']} of {data['accounts']} accounts have conversations; {data['passages']} passages.",
            "",
            "| theme | passages | accounts | in their words |",
            "|---|---:|---:|---|",
        ]
        for t in data["themes"][:6]:
            q = t["quotes"][0] if t.get("quotes") else None
            qh = (
                f"“{escape(_quote(q))}” <span class='muted'>— {escape(str(q.get('account_id')))}, {escape(str(q.get('date')))}, {escape(str(q.get('source_id')))}</span>"
                if q
                else ""
            )
            html.append(
                f"<tr><td>{escape(t['phrase'])}</td><td class='n'>{t['passages']}</td><td class='n'>{t['accounts']}</td><td>{qh}</td></tr>"
            )
            qm = (
                f"“{_quote(q, 160)}” — {q.get('account_id')}, {q.get('date')}, {q.get('source_id')}"
                if q
                else ""
            )
            md.append(
                f"| {t['phrase']} | {t['passages']} | {t['accounts']} | {qm.replace('|', '/')} |"
            )
        html.append("</table>")
        md.append("")
    return Section(
        id="voc", title="Voice of customer", html="".join(html), markdown="\n".join(md), order=60
    )
