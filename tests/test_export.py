"""`icp export`: the sales one-pager, a persona card per role per tier, the negative-ICP
card and the interview plan, each checked against the workspace it comes from."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit import export
from icpkit.cli import app
from icpkit.workspace import Workspace


@pytest.fixture(scope="module")
def cards(sample_run, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("export")
    with Workspace(sample_run.out, read_only=True) as ws:
        files = export.write(ws, out, pdf=False)
        icp = ws.current_icp()
        scores = ws.table("scores")
        health = ws.table("health")
        deals = ws.table("deals")
        accounts = ws.table("accounts")
    return {
        "out": out,
        "files": files,
        "icp": icp,
        "scores": scores,
        "health": health,
        "deals": deals,
        "accounts": accounts,
    }


def _md(cards, slug: str) -> str:
    return (cards["out"] / f"{slug}.md").read_text(encoding="utf-8")


def _section(md: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", md, flags=re.M | re.S)
    assert m, heading
    return m.group(1)


def test_sales_one_pager(cards):
    md = _md(cards, "icp-one-pager")
    icp = cards["icp"]
    for h in (
        "Who to chase",
        "How to recognise them",
        "Who to reject",
        "Trigger to watch",
        "Who buys and what they care about",
        "Tier 1 accounts to call first",
    ):
        assert f"## {h}" in md, h
    assert "manufacturing or logistics" in _section(md, "Who to chase").lower()
    assert "government companies" in _section(md, "Who to reject")
    trig = _section(md, "Trigger to watch")
    assert "funding round in the last 90 days" in trig and "(n=" in trig  # the planted trigger
    assert "“" in _section(md, "Who buys and what they care about")  # customers' own words
    # the accounts to call are Tier 1 accounts, by name
    names = set(_section(md, "Tier 1 accounts to call first").split("\n"))
    tier1 = cards["scores"][cards["scores"]["tier"].astype(str) == "1"]["account_id"]
    t1_names = set(cards["accounts"].set_index("account_id").loc[tier1, "name"])
    rows = [r.split(" | ")[0].strip("| ") for r in names if r.startswith("| ") and "---" not in r]
    rows = [r for r in rows if r != "account"]
    assert len(rows) == 10 and set(rows) <= t1_names
    assert icp.statement.recognize[0] in md
    html = (cards["out"] / "icp-one-pager.html").read_text()
    assert "<script" not in html and "Who to chase" in html


def test_persona_card_per_role_per_tier(cards):
    groups = cards["icp"].personas.groups
    expected = {
        f"personas/tier-{t}-{r['role'].replace('_', '-')}"
        for g, t in (("tier_1", 1), ("tier_2", 2), ("tier_3", 3))
        for r in groups[g]["roles"]
    }
    written = {
        k[: -len(".md")] for k in cards["files"] if k.startswith("personas/") and k.endswith(".md")
    }
    assert written == expected and len(written) >= 12
    md = _md(cards, "personas/tier-1-champion")
    champ = next(r for r in groups["tier_1"]["roles"] if r["role"] == "champion")
    assert champ["titles"][0] in _section(md, "Who they are")
    often = _section(md, "How often they are in the deal")
    assert f"{champ['share_of_won']:.0%} of Tier 1's won deals" in often and "(n=" in often
    pains = _section(md, "Pains, in customers' words")
    assert pains.count("“") >= 2
    # the planted late blockers are procurement and legal
    objections = _section(md, "Objections heard from blockers")
    assert re.search(r"procurement|legal", objections, flags=re.I)
    all_html = (cards["out"] / "personas" / "all.html").read_text()
    assert all_html.count("<main>") == len(expected)


def test_negative_icp_card(cards):
    md = _md(cards, "negative-icp")
    icp = cards["icp"]
    vetoes = _section(md, "Who we do not serve")
    on = [d for d in icp.disqualifiers if d.enabled]
    off = [d for d in icp.disqualifiers if not d.enabled]
    table_rows = [r for r in vetoes.splitlines() if r.startswith("| ") and "---" not in r][1:]
    assert len(table_rows) == len(on)
    for d, row in zip(on, table_rows, strict=True):
        assert f"({d.evidence.wins} of {d.evidence.n})" in row
    n_excluded = int((cards["scores"]["tier"].astype(str) == "excluded").sum())
    assert f"{n_excluded:,} accounts match" in vetoes
    if off:
        assert "## Warning signs (not vetoed)" in md
    assert "government companies" in vetoes and "fewer than 20 employees" in vetoes


def test_interview_plan(cards):
    md = _md(cards, "interview-plan")
    plan = _section(md, "Whom to interview")
    rows = [r.split(" | ") for r in plan.splitlines() if r.startswith("| ") and "---" not in r][1:]
    assert 10 <= len(rows) <= 20
    name_to_id = dict(zip(cards["accounts"]["name"], cards["accounts"]["account_id"], strict=True))
    tier = cards["scores"].set_index("account_id")["tier"].astype(str)
    health = cards["health"].set_index("account_id")
    whys = set()
    for account, t, why, whom in rows:
        aid = name_to_id[account.strip("| ")]
        assert tier[aid] == t and t in ("1", "2", "3")
        whys.add(why)
        if why == "best-20% customer in Tier 1":
            assert health.loc[aid, "health_tier"] == "best" and t == "1"
        if why == "churned customer that looks like the ICP":
            assert health.loc[aid, "retention"] == 0
        assert whom.strip(" |")  # whom inside: champion / economic buyer
    assert whys == {
        "best-20% customer in Tier 1",
        "recent loss inside the ICP",
        "churned customer that looks like the ICP",
    }
    questions = _section(md, "Questions, one per weak claim")
    for word in ("Trigger", "Alternatives", "Buying committee"):
        assert word in questions


def test_icp_export_cli_prints_pdfs_with_chromium(sample_run, tmp_path):
    if not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    out = tmp_path / "cards"
    r = CliRunner().invoke(app, ["export", "-w", str(sample_run.out), "--out", str(out)])
    assert r.exit_code == 0, r.output
    for name in ("icp-one-pager.pdf", "negative-icp.pdf", "interview-plan.pdf", "personas/all.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF-"), name
    assert not list(out.rglob("*.tmp"))
