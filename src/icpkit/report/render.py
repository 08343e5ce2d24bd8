"""Render report data to one self-contained HTML file and to Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from .data import ReportData

_env = Environment(
    loader=PackageLoader("icpkit", "report/templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_md_env = Environment(
    loader=PackageLoader("icpkit", "report/templates"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def pct(v: Any) -> str:
    if v is None:
        return ""
    try:
        return f"{float(v):.0%}" if abs(float(v)) >= 0.1 or float(v) == 0 else f"{float(v):.1%}"
    except (TypeError, ValueError):
        return str(v)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def html_table(rows: list[dict[str, Any]]) -> Markup:
    if not rows:
        return Markup("<p class='muted'>None.</p>")
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(r[c]))}</td>" for c in cols) + "</tr>" for r in rows
    )
    return Markup(f"<table><tr>{head}</tr>{body}</table>")


def md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "None."
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r[c]).replace("|", "/") for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def render_html(d: ReportData) -> str:
    def tier_min(n: int) -> int:
        t = d.icp.tier(n)
        return t.min_score if t else 0

    return _env.get_template("report.html.j2").render(
        d=d, pct=pct, table=html_table, tier_min=tier_min
    )


def render_markdown(d: ReportData) -> str:
    return _md_env.get_template("report.md.j2").render(d=d, pct=pct, mdtable=md_table)


def write_report(d: ReportData, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.html": out / "report.html", "report.md": out / "report.md"}
    for name, text in (("report.html", render_html(d)), ("report.md", render_markdown(d))):
        tmp = paths[name].with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[name])
    return paths
