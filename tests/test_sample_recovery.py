"""`icp run` on the shipped sample recovers what its generator planted."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.sample import PLANTED
from icpkit.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(sample_run):
    """The session's one run of the chain on the sample: (output folder, result)."""
    return sample_run.out, sample_run.result


def test_planted_icp_is_tier_1(demo, sample_run):
    out, _ = demo
    icp = icpfile.load(out / "icp.yaml")
    assert icp.evidence.strength in ("moderate", "strong")
    t1 = icp.tier(1)
    assert t1 is not None and t1.segments
    planted = set(PLANTED["icp"]["industry"])
    top = t1.segments[0]
    inds = {v for c in top.conditions if c.attribute == "industry" for v in (c.in_ or [])}
    assert inds and inds <= planted
    assert top.evidence.win_rate >= 0.6 and top.evidence.n >= 30
    # accounts of the planted ICP score far above the planted negative ICP
    scores = pd.read_csv(out / "scores.csv", dtype={"tier": str}).merge(
        pd.read_csv(sample_run.inputs["accounts"]), on="account_id"
    )
    lo, hi = PLANTED["icp"]["employees"]
    icp_rows = scores["industry"].isin(planted) & scores["employees"].between(lo, hi)
    gov = scores["industry"].isin(PLANTED["negative"]["industry"])
    assert scores.loc[icp_rows, "score"].mean() > scores.loc[~icp_rows & ~gov, "score"].mean() + 15
    assert (scores.loc[gov, "tier"] == "excluded").all()


def test_planted_negative_icp_is_vetoed_with_evidence(demo):
    out, _ = demo
    icp = icpfile.load(out / "icp.yaml")
    vetoes = {d.text(): d for d in icp.disqualifiers if d.enabled}
    assert "industry=government" in vetoes
    ev = vetoes["industry=government"].evidence
    assert ev is not None and ev.n >= 30 and ev.win_rate < 0.1
    small = [
        d
        for d in icp.disqualifiers
        if d.attribute == "employees" and d.enabled and d.between and d.between[0] is None
    ]
    assert small and small[0].between[1] <= 120


def test_planted_trigger_and_timing_columns(demo):
    out, _ = demo
    icp = icpfile.load(out / "icp.yaml")
    types = {t["type"] for t in (icp.timing or {}).get("triggers", [])}
    assert "funding_round" in types
    assert types <= set(PLANTED["trigger"]["types"] + PLANTED["upcoming_trigger"]["types"])
    scores = pd.read_csv(out / "scores.csv", dtype={"tier": str}, keep_default_na=False)
    assert {"fit", "timing", "priority", "why_now", "route_note"} <= set(scores.columns)
    assert (scores["priority"] >= scores["fit"]).all() and (scores["score"] == scores["fit"]).all()


def test_planted_upcoming_renewal_is_found_and_moves_routes(demo):
    """The renewal due within 60 days of a deal is an upcoming Tier 1 trigger; renewals
    scheduled after the sample's last day make accounts active now, and the route rule
    sends the good fits among them to high touch."""
    out, _ = demo
    icp = icpfile.load(out / "icp.yaml")
    assert icp.timing is not None
    ren = {t.type: t for t in icp.timing.triggers}["renewal"]
    assert ren.when == "upcoming" and ren.tier == 1
    assert ren.window_days == PLANTED["upcoming_trigger"]["window_days"]
    assert ren.evidence["n"] >= 30 and ren.evidence["win_rate"] > 2 * ren.evidence["rate_without"]
    assert [r.model_dump() for r in icp.timing.route_rules] == [
        {"min_fit": 65, "trigger_tier": 1, "route": "high_touch"}
    ]
    scores = pd.read_csv(out / "scores.csv", dtype={"tier": str}, keep_default_na=False)
    due = scores["why_now"].str.contains(r"renewal in \d+ days", regex=True)
    assert due.sum() >= 50
    moved = scores[scores["route_note"] != ""]
    assert len(moved) >= 1
    assert (moved["route"] == "high_touch").all() and (moved["fit"] >= 65).all()
    assert (moved["fit"] < icp.routing.high_touch).all()
    # every good fit with a renewal due is worked now; nothing the rule does not cover moved
    assert (
        scores.loc[due & (scores["fit"] >= 65) & (scores["tier"] != "excluded"), "route"]
        == "high_touch"
    ).all()
    rest = scores["route_note"] == ""
    r = icp.routing
    bins = [-1, r.nurture - 1, r.high_touch - 1, 100]
    fit_route = pd.cut(scores["fit"], bins, labels=["deprioritize", "nurture", "high_touch"])
    ok = rest & (scores["tier"] != "excluded")
    assert (scores.loc[ok, "route"] == fit_route[ok].astype(str)).all()


def test_persona_and_pain_fill_the_statement(demo):
    out, _ = demo
    st = icpfile.load(out / "icp.yaml").statement
    assert "to be confirmed" not in st.persona
    assert any(w in st.persona for w in ("operations", "data"))
    assert any(theme.split()[0] in st.pain for theme in PLANTED["themes"]["icp"])
    assert "spreadsheet" in st.workaround


def test_report_has_every_section(demo):
    out, _ = demo
    html = (out / "report.html").read_text()
    for anchor in (
        'id="tiers"',
        'id="negative"',
        'id="timing"',
        'id="health"',
        'id="voc"',
        'id="validation"',
        "Personas",
    ):
        assert anchor in html, anchor
    assert '<script src="http' not in html and "cdn" not in html.lower()


def test_ask_answers_from_the_archive(demo):
    out, _ = demo
    r = CliRunner().invoke(
        app,
        [
            "ask",
            "what did tier 1 customers say about pricing in june 2026",
            "-w",
            str(out),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    ans = json.loads(r.output)
    assert ans["passages"] and all(p["tier"] == "1" for p in ans["passages"])
    assert all(p["date"].startswith("2026-06") for p in ans["passages"])
    empty = CliRunner().invoke(
        app, ["ask", "what did our best 20 customers say about pricing in 2019", "-w", str(out)]
    )
    assert empty.exit_code == 0 and "no conversations" in empty.output


def test_validation_ran_inside_run(demo):
    out, _ = demo
    v = json.loads((out / "validation.json").read_text())
    assert v
    with Workspace(out, read_only=True) as ws:
        assert ws.artifact("voc.json")


def test_every_attribute_family_is_named(demo):
    from icpkit.profile import families_in

    fams = families_in(icpfile.load(demo[0] / "icp.yaml"))
    assert "funding round in the 90 days before the deal" in fams["trigger"]
    assert "primary persona" in fams["dmu"]
    assert "snowflake" in fams["technographic"]
