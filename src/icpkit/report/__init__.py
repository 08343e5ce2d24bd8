"""The report: data assembly, SVG charts and Jinja rendering, kept apart.

Every section, the ones other subjects provide included, is data rendered
through templates (``templates/sections/<name>.{html,md}.j2``) by one renderer.
"""

from .data import Block, Blocks, Para, ReportData, Section, collect
from .render import render_html, render_markdown, render_section, write_report

__all__ = [
    "Block",
    "Blocks",
    "Para",
    "ReportData",
    "Section",
    "collect",
    "render_html",
    "render_markdown",
    "render_section",
    "write_report",
]
