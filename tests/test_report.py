"""The report: every section rendered from data through templates, every value escaped."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpkit.icpfile import Condition
from icpkit.labels import label, parse_condition, segment_label
from icpkit.pipeline import run_all
from icpkit.report import collect, render_html, render_markdown
from icpkit.report.data import Section
from icpkit.report.render import md_escape, md_table, render_section
from icpkit.sample import generate
from icpkit.workspace import Workspace

EVIL = "<script>alert(1)</script>|x"
EVIL_HTML = "&lt;script&gt;alert(1)&lt;/script&gt;|x"
EVIL_MD = "&lt;script>alert(1)&lt;/script>\\|x"
TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "icpkit" / "report" / "templates"
# sections that show account or deal attribute values (industry, lead source)
HTML_WITH_VALUES = {"summary", "tiers", "negative", "segments", "scorecard", "deal-qualification"}
MD_WITH_VALUES = {"", "The five attribute families", "Tiered ICP", "Negative ICP", "Segments"}
MD_WITH_VALUES |= {"Deal qualification"}
VOID = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample company, with markup and a pipe planted in industries, lead sources and titles."""
    root = tmp_path_factory.mktemp("hostile")
    tables = generate(seed=7, n_accounts=1000)
    acc, deals, contacts = tables["accounts"], tables["deals"], tables["contacts"]
    acc["industry"] = acc["industry"].replace(
        {"logistics": f"logistics {EVIL}", "government": f"government {EVIL}"}
    )
    deals["source"] = deals["source"].astype(str) + " " + EVIL
    lost = deals["lost_reason"].notna()
    deals.loc[lost, "lost_reason"] = deals.loc[lost, "lost_reason"].astype(str) + " " + EVIL
    contacts["title"] = contacts["title"].astype(str) + " " + EVIL
    (root / "in").mkdir()
    paths = {}
    for name, df in tables.items():
        paths[name] = root / "in" / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    out = root / "out"
    run_all(paths, out)
    with Workspace(out) as ws:
        data = collect(ws)
    return {
        "data": data,
        "html": (out / "report.html").read_text(encoding="utf-8"),
        "md": (out / "report.md").read_text(encoding="utf-8"),
    }


def _html_sections(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', html, flags=re.S))


def _md_sections(md: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def test_every_section_is_in_both_reports(hostile):
    html, md = _html_sections(hostile["html"]), _md_sections(hostile["md"])
    ids = {s.id for s in hostile["data"].sections}
    assert {"validation", "personas", "voc", "deal-qualification"} <= ids
    assert ids | HTML_WITH_VALUES <= set(html)
    assert {s.title for s in hostile["data"].sections} <= set(md)


def test_attribute_values_are_escaped_in_the_html_report(hostile):
    html = hostile["html"]
    assert "<script" not in html.lower()  # the report carries no script at all
    sections = _html_sections(html)
    for sid, body in sections.items():
        assert "<script" not in body.lower(), sid
    for sid in HTML_WITH_VALUES:
        assert EVIL_HTML in sections[sid], sid


def test_attribute_values_are_escaped_in_the_markdown_report(hostile):
    md = hostile["md"]
    assert not re.search(r"<[A-Za-z/!?]", md)  # no raw HTML anywhere
    sections = _md_sections(md)
    for title in MD_WITH_VALUES:
        assert EVIL_MD in sections[title], title
    # a pipe in a value never splits a table cell: every row has its header's cell count
    for block in re.findall(r"(?:^\|.*\n?)+", md, flags=re.M):
        lines = block.strip("\n").split("\n")
        cells = [len(re.findall(r"(?<!\\)\|", line)) for line in lines]
        assert len(set(cells)) == 1, lines[0]


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
        else:
            self.stack.pop()


def _balanced(body: str) -> list[str]:
    p = _Balance()
    p.feed(body)
    p.close()
    return p.errors + [f"<{t}> never closed" for t in p.stack]


def test_every_html_section_has_balanced_tags(hostile):
    sections = _html_sections(hostile["html"])
    assert len(sections) >= 12
    for sid, body in sections.items():
        assert _balanced(body) == [], sid


def test_the_balance_check_catches_a_broken_section():
    assert _balanced("<div><p>a</div>") != []
    assert _balanced("<table><tr><td>a</td></tr>") == ["<table> never closed"]
    assert _balanced("<p>a<br>b</p><svg><line x1='0'/></svg>") == []


def _strings(v: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(v, str):
        return [(path, v)]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        v = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return [x for k, x2 in v.items() for x in _strings(x2, f"{path}.{k}")]
    if isinstance(v, list | tuple):
        return [x for i, x2 in enumerate(v) for x in _strings(x2, f"{path}[{i}]")]
    return []


def test_sections_carry_data_and_render_through_their_templates(hostile):
    assert [f.name for f in dataclasses.fields(Section)] == [
        "id",
        "title",
        "data",
        "template",
        "order",
    ]
    markup = re.compile(r"<(p|div|table|tr|td|th|h\d|span|ul|li|b|strong|code|br)\b", re.I)
    for s in hostile["data"].sections:
        assert dataclasses.is_dataclass(s.data) or isinstance(s.data, dict), s.id
        for fmt in ("html", "md"):
            assert (TEMPLATES / "sections" / f"{s.template}.{fmt}.j2").is_file(), (s.id, fmt)
        # no markup is built outside the templates (charts are SVG, drawn by report.charts)
        for path, text in _strings(s.data):
            if not path.endswith(".chart"):
                assert not markup.search(text), (s.id, path, text[:80])
        assert s.html == render_section(s, "html") and s.markdown == render_section(s, "md")


def test_a_section_of_prebuilt_markup_is_refused():
    s = Section(id="x", title="X", data="<p>hand-made</p>", template="validation")
    with pytest.raises(TypeError, match="carries a string"):
        render_section(s)
    with pytest.raises(ValueError, match="Unknown report format"):
        render_section(Section(id="x", title="X", data={}, template="validation"), "pdf")


def test_report_renders_the_same_from_the_same_data(hostile):
    d = hostile["data"]
    assert render_html(d) == render_html(d) and render_markdown(d) == render_markdown(d)


# -- Markdown escaping ----------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\\"))


@given(TEXT)
def test_md_escape_leaves_no_raw_html_and_no_cell_break(text):
    out = md_escape(text)
    assert not re.search(r"<[A-Za-z/!?]", out)
    assert not re.search(r"(?<!\\)\|", out)
    assert "\n" not in out and "\r" not in out and not out.startswith(">")
    if "&" not in text:  # nothing else changes: undoing the escapes gives the text back
        undone = out.replace("&lt;", "<").replace("\\|", "|")
        undone = ">" + undone[4:] if undone.startswith("&gt;") else undone
        assert undone == re.sub(r"\r\n?|\n", " ", text)


@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=5))
def test_md_table_rows_keep_their_cell_count(rows):
    table = md_table([{"a": x, "b": y} for x, y in rows])
    lines = str(table).split("\n")
    assert len(lines) == len(rows) + 2
    assert {len(re.findall(r"(?<!\\)\|", line)) for line in lines} == {3}


def test_md_escape_keeps_comparisons_readable():
    assert md_escape("employees < 20; score >= 50") == "employees < 20; score >= 50"
    assert md_escape("a <b>bold</b> | c") == "a &lt;b>bold&lt;/b> \\| c"
    assert md_escape("> quoted") == "&gt; quoted"


def _row_labels(svg: str) -> list[str]:
    """The forest plot's row labels (the text of each row, its lines joined) and the
    names its tooltips give the rows."""
    rows = [
        " ".join(re.findall(r"<tspan[^>]*>(.*?)</tspan>", t))
        for t in re.findall(r'<text class="tick" text-anchor="end">(.*?)</text>', svg)
    ]
    return rows + re.findall(r"<title>(.*?): [\d.]+% \(n=", svg)


def test_forest_plot_rows_read_in_words_not_column_names(hostile):
    d = hostile["data"]
    snake = sorted(a for a in d.icp.attributes if "_" in a)
    assert "annual_revenue" in snake and "tech_stack" in snake  # names the labels must not show
    seen = []
    for chart in ("segments", "negative"):
        labels = _row_labels(d.charts[chart])
        assert labels, chart
        for text in labels:
            assert not any(a in text for a in snake), text
            assert " AND " not in text and "=" not in text and ">=" not in text, text
        seen += labels
    assert len(_row_labels(d.charts["segments"])) == 2 * min(20, len(d.segments))
    text = " | ".join(seen)
    assert "companies" in text and "employees" in text and "annual revenue $" in text
    assert re.search(r"\b(uses|does not use) [A-Z]", text)  # tech stack items read as tools
    assert "logistics &lt;script&gt;" in text  # values are still escaped


@st.composite
def _conditions(draw: st.DrawFn) -> Condition:
    attr = draw(st.sampled_from(["industry", "employees", "annual_revenue", "tech_stack", "x"]))
    value = draw(st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8))
    number = st.sampled_from([0.0, 7.0, 45.0, 1200.0, 45_000.0, 3_500_000.0, 2.5e9, 12.5])
    op = draw(
        st.sampled_from(["in", "in2", "not_in", "between", "has", "lacks", "missing", "other"])
    )
    if op == "between":
        lo, hi = sorted(draw(st.lists(number, min_size=2, max_size=2, unique=True)))
        lo, hi = draw(st.sampled_from([(None, hi), (lo, None), (lo, hi)]))
        return Condition(attribute=attr, between=(lo, hi))
    if op == "in2":
        return Condition(attribute=attr, **{"in": [value, value + "b"]})
    if op in ("missing", "other"):
        return Condition(attribute=attr, **{op: True})
    return Condition(attribute=attr, **{op: [value] if op in ("in", "not_in") else value})


@given(_conditions())
def test_a_condition_is_read_back_from_its_text(c):
    attrs = ["industry", "employees", "annual_revenue", "tech_stack", "x"]
    back = parse_condition(c.text(), attrs)
    assert back is not None and back.attribute == c.attribute and back.op == c.op
    assert back.text() == c.text()
    assert segment_label(f"{c.text()} AND {c.text()}", {}, attrs) == " and ".join([label(c)] * 2)
    assert parse_condition("revenue > 5", attrs) is None


# -- the report's tables read in words ---------------------------------------------------------

# columns of the report's tables that name a segment, criterion, disqualifier, bin or attribute
WORDS_COLUMNS = {
    "segment",
    "segment (all conditions together)",
    "criterion",
    "disqualifier",
    "attribute",
    "bin",
    "what the ICP says",
}


class _Tables(HTMLParser):
    """Every table's cells: (header, text, title attribute) per cell, the header from its column."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str | None]]]] = []
        self.cell: list[str] | None = None
        self.title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell, self.title = [], dict(attrs).get("title")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(("".join(self.cell).strip(), self.title))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _word_cells_html(html: str) -> list[tuple[str, str | None]]:
    """The cells of the word columns (WORDS_COLUMNS) of every table in the report's body."""
    parser = _Tables()
    parser.feed(html)
    cells = []
    for table in parser.tables:
        head = [h for h, _ in table[0]]
        for row in table[1:]:
            cells += [c for h, c in zip(head, row, strict=True) if h in WORDS_COLUMNS and c[0]]
    return cells


def _word_cells_md(md: str) -> list[tuple[str, str]]:
    """(cell, its row's rule) of the word columns of every Markdown table."""
    cells = []
    for block in re.findall(r"(?:^\|.*\n?)+", md, flags=re.M):
        rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in block.strip("\n").split("\n")]
        head = [h.strip() for h in rows[0]]
        for row in rows[2:]:
            rule = row[head.index("rule")].strip() if "rule" in head else ""
            cells += [
                (c.strip(), rule)
                for h, c in zip(head, row, strict=True)
                if h in WORDS_COLUMNS and c.strip()
            ]
    return cells


def _reads_in_words(text: str, snake: list[str]) -> None:
    assert not any(a in text for a in snake), text
    rule = re.sub(r"\bn=\d[\d,]*", "", text)  # a sample size ('n=452') is not a rule
    assert " AND " not in rule and "=" not in rule, text


def test_the_report_tables_read_in_words_as_the_plots_do(sample_run):
    with Workspace(sample_run.out, read_only=True) as ws:
        d = collect(ws)
    snake = sorted(a for a in d.icp.attributes if "_" in a)
    assert {"annual_revenue", "tech_stack", "current_solution"} <= set(snake)
    html, md = render_html(d), render_markdown(d)
    cells = _word_cells_html(html)
    raw = {
        *(s.text() for t in d.icp.tiers for s in t.segments),
        *(c.text() for t in d.icp.tiers for cs in t.criteria.values() for c in cs),
        *(q.text() for q in d.icp.disqualifiers),
        *(b.text() for f in d.icp.scorecard.features for b in f.bins),
        *(s["segment"] for s in d.segments),
    }
    titled = {title for _, title in cells if title}
    assert raw <= titled  # every rule is in the table, as a tooltip on its words
    for text, _ in cells:
        _reads_in_words(text, snake)
    shown = " | ".join(text for text, _ in cells)
    for phrase in ("manufacturing companies", "200-999 employees", "annual revenue $", "uses "):
        assert phrase in shown
    assert len(cells) >= len(raw)
    md_cells = _word_cells_md(md)
    for text, _ in md_cells:
        _reads_in_words(text, snake)
    words = {text for text, _ in md_cells}
    assert {d.words(s) for t in d.icp.tiers for s in t.segments} <= words
    assert {d.words(q) for q in d.icp.disqualifiers} <= words
    rules = {rule for _, rule in md_cells if rule}  # the appendix keeps each segment's rule
    assert {s["segment"] for s in d.segments} <= rules
    assert {s["label"] for s in d.segments} <= words


def test_the_report_tables_in_words_keep_values_escaped(hostile):
    html, md = hostile["html"], hostile["md"]
    cells = _word_cells_html(html)
    evil = "logistics <script>alert(1)</script>|x companies"
    assert any(evil in text for text, _ in cells)  # read back from the escaped HTML
    assert any(title and "<script>" in title for _, title in cells)  # the rule, escaped too
    assert any(f"logistics {EVIL_MD} companies" in text for text, _ in _word_cells_md(md))
    assert "<script" not in html.lower()


def test_triggers_read_in_words_in_every_place_they_are_written(sample_run):
    """The event types (``funding_round``) are data; the statement, the criteria per family
    and the timing table write them in the same words."""
    with Workspace(sample_run.out, read_only=True) as ws:
        d = collect(ws)
    types = [t["type"] for t in d.icp.timing["triggers"]]
    assert {"funding_round", "executive_hire"} <= set(types)
    html, md = render_html(d), render_markdown(d)
    for text in (html, md):
        for kind in (k for k in types if "_" in k):  # one-word types read as they are
            assert kind not in text, kind
    assert "funding round in the 90 days before the deal" in md
    assert "renewal due within 60 days" in md
    timing = md[md.index("| event type |") :].split("\n\n")[0]
    assert "| funding round | 90 d |" in timing and "| renewal | 60 d ahead |" in timing
