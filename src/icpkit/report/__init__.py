"""The report: data assembly, SVG charts and Jinja rendering, kept apart."""

from .data import ReportData, Section, collect
from .render import render_html, render_markdown, write_report

__all__ = ["ReportData", "Section", "collect", "render_html", "render_markdown", "write_report"]
