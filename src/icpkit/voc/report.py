"""The "Voice of customer" report section: themes per tier and for the negative
ICP with counts and quotes, and the language that separates best from worst.

:func:`section` gathers the figures as :class:`VocSection`; the report renders
them through the templates ``sections/voc.*.j2``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..report.data import Section
from ..workspace import Workspace

ORDER = ("tier 1", "tier 2", "tier 3", "negative ICP", "best", "worst")


def _quote(q: dict[str, Any], chars: int = 240) -> str:
    text = str(q.get("quote", ""))
    return text if len(text) <= chars else text[: chars - 1] + "…"


@dataclass
class Contrast:
    """Phrases over-represented in group ``a`` against ``b`` and the reverse, side by side."""

    title: str
    a: str
    b: str
    rows: list[list[str]]  # 8 cells: phrase, a passages, b passages, z; then the same for b


@dataclass
class Theme:
    phrase: str
    passages: int
    accounts: int
    quote: str = ""  # the first quote, shortened for the HTML table
    quote_short: str = ""  # shorter, for the Markdown table
    account_id: str = ""
    date: str = ""
    source_id: str = ""


@dataclass
class ThemeGroup:
    name: str
    accounts_with_text: int
    accounts: int
    passages: int
    themes: list[Theme]

    @property
    def label(self) -> str:
        return self.name.capitalize() if self.name.islower() else self.name


@dataclass
class VocSection:
    passages: int
    customer_side_only: bool
    contrasts: list[Contrast] = field(default_factory=list)
    groups: list[ThemeGroup] = field(default_factory=list)


def _contrast(title: str, c: dict[str, Any]) -> Contrast:
    a, b = c["a"], c["b"]
    left, right = c.get("over_a", [])[:10], c.get("over_b", [])[:10]
    rows = []
    for i in range(max(len(left), len(right))):
        cells: list[str] = []
        for r, x, y in (
            (left[i] if i < len(left) else None, a, b),
            (right[i] if i < len(right) else None, b, a),
        ):
            cells += (
                ["", "", "", ""]
                if r is None
                else [
                    r["phrase"],
                    f"{r[f'{x}_passages']}/{r[f'{x}_total']}",
                    f"{r[f'{y}_passages']}/{r[f'{y}_total']}",
                    f"{abs(r['z']):.1f}",
                ]
            )
        rows.append(cells)
    return Contrast(title, a, b, rows)


def _theme(t: dict[str, Any]) -> Theme:
    q = t["quotes"][0] if t.get("quotes") else None
    out = Theme(t["phrase"], t["passages"], t["accounts"])
    if q:
        out.quote, out.quote_short = _quote(q), _quote(q, 160)
        out.account_id, out.date = str(q.get("account_id")), str(q.get("date"))
        out.source_id = str(q.get("source_id"))
    return out


def collect(voc: dict[str, Any]) -> VocSection:
    """The section's figures from the stored ``voc.json``."""
    themes = voc.get("themes") or {}
    groups = themes.get("groups") or {}
    out = VocSection(
        passages=(voc.get("index") or {}).get("total_passages", 0),
        customer_side_only=bool(voc.get("speakers")),
    )
    for key, title in (
        ("icp_vs_negative", "Sharpest pain language: Tier 1 against the negative ICP"),
        (None, "Best 20% against worst 20% of customers"),
    ):
        c = voc.get(key) if key else themes.get("contrast")
        if c and (c.get("over_a") or c.get("over_b")):
            out.contrasts.append(_contrast(title, c))
    for g in ORDER:
        data = groups.get(g)
        if data and data.get("themes"):
            out.groups.append(
                ThemeGroup(
                    g,
                    data["accounts_with_text"],
                    data["accounts"],
                    data["passages"],
                    [_theme(t) for t in data["themes"][:6]],
                )
            )
    return out


def section(ws: Workspace) -> Section | None:
    raw = ws.artifact("voc.json")
    if not raw:
        return None
    return Section(
        id="voc",
        title="Voice of customer",
        data=collect(json.loads(raw)),
        template="voc",
        order=60,
    )
