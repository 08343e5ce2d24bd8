"""Render report data to one self-contained HTML file and to Markdown.

Every part of the report, the extra sections included, is rendered here from
data through a Jinja template. In HTML every value is escaped (autoescape); in
Markdown every value is escaped by :func:`md_escape` (no raw HTML, no broken
table cell) unless it is :class:`~markupsafe.Markup` (tables built here).
Charts are SVG from :mod:`.charts`, inserted into the HTML as safe markup.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ..labels import words
from .data import ReportData, Section
from .glossary import GLOSSARY

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_NEWLINE = re.compile(r"\r\n?|\n")


def md_escape(v: Any) -> str:
    """A value made safe for Markdown text and table cells.

    ``<`` before a letter, ``/``, ``!`` or ``?`` (what opens raw HTML or an autolink)
    becomes ``&lt;``; a leading ``>`` (a quote) becomes ``&gt;``; ``|`` is
    backslash-escaped so it cannot end a table cell; newlines become spaces. Other
    ``<`` and ``>`` (``employees < 20``, ``score >= 50``) stay as written.
    """
    if isinstance(v, Markup):
        return v
    s = _TAG_START.sub("&lt;", str(v)).replace("|", "\\|")
    s = _NEWLINE.sub(" ", s)
    return "&gt;" + s[1:] if s.startswith(">") else s


_env = Environment(
    loader=PackageLoader("icpkit", "report/templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_md_env = Environment(
    loader=PackageLoader("icpkit", "report/templates"),
    autoescape=False,
    finalize=md_escape,
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
        if v != v:
            return ""
        if v == int(v) or abs(v) >= 1000:
            return f"{v:,.0f}"
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


def md_table(rows: list[dict[str, Any]]) -> Markup:
    if not rows:
        return Markup("None.")
    cols = list(rows[0])
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(md_escape(_cell(r[c])) for c in cols) + " |" for r in rows]
    return Markup("\n".join(lines))


_CODE = re.compile(r"`([^`]+)`")


def code(v: Any) -> Markup:
    """Text with `backticked` words set as <code> (the rest escaped)."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(v))))


_env.filters["code"] = code
_env.filters["words"] = _md_env.filters["words"] = words
_env.globals.update(pct=pct, table=html_table, glossary=GLOSSARY)
_md_env.globals.update(pct=pct, mdtable=md_table, glossary=GLOSSARY)


def render_section(section: Section, fmt: str = "html") -> Markup:
    """One extra section's body, rendered from its data by ``sections/<template>.<fmt>.j2``."""
    if fmt not in ("html", "md"):
        raise ValueError(f"Unknown report format {fmt!r}: use 'html' or 'md'.")
    if isinstance(section.data, str):
        raise TypeError(
            f"Report section {section.id!r} carries a string; sections carry data for a template."
        )
    env = _env if fmt == "html" else _md_env
    text = env.get_template(f"sections/{section.template}.{fmt}.j2").render(data=section.data)
    return Markup(text.strip() + ("\n" if fmt == "md" else ""))


def render_html(d: ReportData) -> str:
    def tier_min(n: int) -> int:
        t = d.icp.tier(n)
        return t.min_score if t else 0

    return _env.get_template("report.html.j2").render(
        d=d, tier_min=tier_min, section=lambda s: render_section(s, "html")
    )


def render_markdown(d: ReportData) -> str:
    return _md_env.get_template("report.md.j2").render(
        d=d, section=lambda s: render_section(s, "md")
    )


def write_report(d: ReportData, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.html": out / "report.html", "report.md": out / "report.md"}
    for name, text in (("report.html", render_html(d)), ("report.md", render_markdown(d))):
        tmp = paths[name].with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[name])
    return paths
