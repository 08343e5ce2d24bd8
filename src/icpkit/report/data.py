"""Report data: plain dataclasses assembled from the workspace, apart from rendering.

Other subjects (validation, personas, voice of customer, deal qualification)
add sections with a function ``section(ws) -> Section | None``; they are listed
in :func:`section_providers`. A section carries data only: ``report/render.py``
renders it with the templates ``sections/<template>.html.j2`` and
``sections/<template>.md.j2``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import WorkspaceError
from ..icpfile import ICP, Condition, SegmentRef
from ..labels import column_words, label, segment_label
from ..profile import families_in
from ..workspace import Workspace
from . import charts
from .executive import Executive, executive


@dataclass
class Section:
    """An extra report section: an id for the navigation, a title and its data.

    ``data`` is what the section's templates render (a dataclass or a dict, never
    markup); ``template`` names them, ``sections/<template>.{html,md}.j2``.
    """

    id: str
    title: str
    data: Any
    template: str
    order: int = 50

    @property
    def html(self) -> str:
        """The section body as HTML (rendered from its template)."""
        from .render import render_section

        return render_section(self, "html")

    @property
    def markdown(self) -> str:
        """The section body as Markdown (rendered from its template)."""
        from .render import render_section

        return render_section(self, "md")


@dataclass
class Para:
    """A sentence or paragraph, optionally led by a few words in bold."""

    text: str
    strong: str = ""


@dataclass
class Block:
    """A titled part of a section: paragraphs, a table (rows of dicts) and a chart."""

    heading: str
    text: list[Para] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    chart: str = ""  # inline SVG from report.charts


@dataclass
class Blocks:
    """A section made of blocks, their headings at Markdown ``level``."""

    blocks: list[Block] = field(default_factory=list)
    level: int = 3


def section_providers() -> tuple[Callable[[Workspace], Section | None], ...]:
    """The functions adding report sections, in no particular order (sections carry their own).

    Imported here, not at the top: each provider module imports :class:`Section` from this one.
    """
    from ..mining.deal_report import section as deal_qualification
    from ..personas.report import section as personas
    from ..validation.report import section as validation
    from ..voc.report import section as voice_of_customer

    return (validation, personas, voice_of_customer, deal_qualification)


@dataclass
class ReportData:
    title: str
    icp: ICP
    families: dict[str, str]
    segments: list[dict[str, Any]]
    negative_segments: list[dict[str, Any]]
    segment_counts: dict[str, int]
    health_weights: dict[str, float]
    health_descriptions: dict[str, str]
    best: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    n_customers: int
    tier_counts: dict[str, int]
    route_counts: dict[str, int]
    n_accounts: int
    charts: dict[str, str]
    warnings: list[str]
    sources: list[dict[str, Any]]
    scorecard_auc: float | None
    health_conflicts: list[dict[str, Any]] = field(default_factory=list)
    health_as_of: str | None = None
    why_now: list[dict[str, Any]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    excluded_columns: list[dict[str, Any]] = field(default_factory=list)
    executive: Executive | None = None

    def words(self, item: Condition | SegmentRef | str) -> str:
        """A condition, a segment or a segment's text in the report's words, as the forest
        plots label it ('logistics companies and 250-579 employees'); ``item.text()`` (or
        the segment's text) stays the exact rule."""
        if isinstance(item, str):
            return segment_label(item, _known(self.icp), self.icp.attributes, self.icp.labels)
        if isinstance(item, SegmentRef):
            return " and ".join(label(c, self.icp.labels) for c in item.conditions)
        return label(item, self.icp.labels)

    def column(self, attribute: str) -> str:
        """An attribute's name in words (its source header when known)."""
        return column_words(attribute, self.icp.labels)


def _records(df: pd.DataFrame, n: int | None = None) -> list[dict[str, Any]]:
    d = df if n is None else df.head(n)
    return [
        {k: (None if (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
        for r in d.to_dict("records")
    ]


def _known(icp: ICP) -> dict[str, Condition]:
    """The ICP's conditions by their text: the scorecard's bins, disqualifiers, tier segments and criteria."""
    known: dict[str, Condition] = {}
    for c in (
        *(b for f in icp.scorecard.features for b in f.bins),
        *icp.disqualifiers,
        *(c for t in icp.tiers for s in t.segments for c in s.conditions),
        *(c for t in icp.tiers for cs in t.criteria.values() for c in cs),
    ):
        known[c.text()] = c
    return known


def _labelled(rows: list[dict[str, Any]], icp: ICP) -> list[dict[str, Any]]:
    """``rows`` (segments) with a ``label``: the segment in the words the report uses."""
    known = _known(icp)
    return [
        {**r, "label": segment_label(str(r["segment"]), known, icp.attributes, icp.labels)}
        for r in rows
    ]


def collect(ws: Workspace, *, title: str = "Ideal Customer Profile") -> ReportData:
    icp = ws.current_icp()
    if icp is None:
        raise WorkspaceError("The workspace has no ICP yet. Run `icp build` first.")
    seg = ws.table("segments") if ws.has("segments") else pd.DataFrame()
    health = ws.table("health") if ws.has("health") else pd.DataFrame()
    scores = ws.table("scores") if ws.has("scores") else pd.DataFrame()
    base = icp.evidence.base_win_rate
    positive = seg[seg["tier"].isin(["1", "2", "3"])] if len(seg) else seg
    if len(seg) and len(positive) < 12:
        extra = (
            seg[~seg.index.isin(positive.index) & seg["tier"].ne("negative")]
            .sort_values("q_value")
            .head(12 - len(positive))
        )
        shown = pd.concat([positive, extra])
    else:
        shown = positive.head(30)
    negative = seg[seg["tier"].eq("negative")] if len(seg) else seg
    ch: dict[str, str] = {}
    if len(scores):
        ch["scores"] = charts.histogram(
            scores["score"].to_numpy(),
            groups=scores["tier"].astype(str).tolist(),
            title="Fit score of every account, by tier",
            order=["excluded", "none", "3", "2", "1"],
        )
    shown_rows = _labelled(_records(shown), icp)
    if len(shown):
        ch["segments"] = charts.forest(
            shown_rows[:20],
            base,
            title="Win rate of each segment, with its 95% interval",
        )
    if len(negative):
        ch["negative"] = charts.forest(
            _labelled(_records(negative.head(12)), icp),
            base,
            title="Losing segments: win rate with 95% interval",
        )
    if len(health):
        ch["health"] = charts.histogram(
            health["health"].to_numpy(),
            groups=health["health_tier"].astype(str).tolist(),
            title="Customer health (0-100): worst 20%, middle and best 20%",
            xlabel="health score",
            ylabel="customers",
            order=["worst", "middle", "best"],
        )
    hw = dict(icp.health.weights) if icp.health else {}
    ch["weights"] = charts.bars(sorted(hw.items(), key=lambda kv: -kv[1]), title="Health weights")
    cols = [
        c
        for c in (
            "health_rank",
            "account_id",
            "name",
            "health",
            "won_deals",
            "revenue",
            "sales_cycle",
            "expansion",
        )
        if c in health.columns
    ]
    warnings = [
        w
        for w in (ws.artifact("ingest_warnings") or "").splitlines()
        + (ws.artifact("build_warnings") or "").splitlines()
        if w.strip()
    ]
    src = ws.sources()
    auc = ws.artifact("scorecard_auc")
    data = ReportData(
        title=title,
        icp=icp,
        families=families_in(
            icp, lambda c: label(c, icp.labels), lambda a: column_words(a, icp.labels)
        ),
        segments=shown_rows,
        negative_segments=_labelled(_records(negative.head(15)), icp),
        segment_counts={k: int((seg["tier"] == k).sum()) for k in ("1", "2", "3", "negative")}
        if len(seg)
        else {},
        health_weights=hw,
        health_descriptions=dict(icp.health.components) if icp.health else {},
        best=_records(health[health["health_tier"] == "best"][cols], 20) if len(health) else [],
        worst=_records(health[health["health_tier"] == "worst"][cols].sort_values("health"), 20)
        if len(health)
        else [],
        n_customers=len(health),
        tier_counts=scores["tier"].astype(str).value_counts().to_dict() if len(scores) else {},
        route_counts=scores["route"].value_counts().to_dict() if len(scores) else {},
        n_accounts=len(scores),
        charts=ch,
        warnings=warnings,
        sources=_records(src[["tbl", "path", "rows"]]) if len(src) else [],
        scorecard_auc=float(auc) if auc else None,
        health_conflicts=ws.json_artifact("health_conflicts") or [],
        health_as_of=ws.artifact("health_as_of") or None,
        why_now=_records(
            scores[scores["why_now"].fillna("") != ""].sort_values("priority", ascending=False)[
                ["account_id", "fit", "timing", "priority", "route", "why_now"]
            ],
            15,
        )
        if "why_now" in scores.columns
        else [],
        excluded_columns=[e.model_dump() for e in icp.excluded_columns],
    )
    v = ws.json_artifact("validation.json")
    data.executive = executive(
        icp, v if isinstance(v, dict) else None, data.tier_counts, data.route_counts, len(scores)
    )
    for provider in section_providers():
        s = provider(ws)
        if s is not None:
            data.sections.append(s)
    data.sections.sort(key=lambda s: s.order)
    return data
