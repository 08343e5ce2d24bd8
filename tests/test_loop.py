"""The operating loop: upcoming triggers and routes, the pipeline audit, the refresh,
the staleness warning, and `icp ask` on the demo."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.audit import audit_pipeline, save_audit
from icpkit.cli import app
from icpkit.scoring.engines import score_with_engine
from icpkit.workspace import Workspace

pytestmark = pytest.mark.slow


# -- routes raised by an upcoming trigger ----------------------------------------------------
def test_an_upcoming_renewal_moves_the_route_in_the_engine_that_scores_timing(sample_run, tmp_path):
    """Two accounts with a fit of 65-74 (nurture by score): the one with a renewal due in
    10 days goes to high touch by the rule in icp.yaml; without events nothing moves, and
    the compiled SQL (which has no events) gives the fit route."""
    icp = icpfile.load(sample_run.out / "icp.yaml")
    scores = pd.read_csv(sample_run.out / "scores.csv", dtype={"tier": str})
    nurture = scores[(scores["fit"].between(65, 74)) & (scores["route_note"].isna())]
    picked = nurture["account_id"].head(2).tolist()
    assert len(picked) == 2
    accounts = pd.read_csv(sample_run.inputs["accounts"])
    acc = tmp_path / "accounts.csv"
    accounts[accounts["account_id"].isin(picked)].to_csv(acc, index=False)
    ev = tmp_path / "events.csv"
    pd.DataFrame(
        {
            "account_id": [picked[0]],
            "occurred_at": ["2026-07-10"],
            "type": ["renewal"],
            "detail": ["Contract with Competitor A up for renewal"],
        }
    ).to_csv(ev, index=False)
    res = score_with_engine(icp, acc, None, "python", events=ev, as_of="2026-06-30")
    assert res.frame is not None
    got = res.frame.set_index("account_id")
    assert got.loc[picked[0], "route"] == "high_touch"
    assert got.loc[picked[0], "route_note"].startswith("nurture -> high_touch: fit ")
    assert got.loc[picked[0], "why_now"].startswith("renewal in 10 days")
    assert got.loc[picked[1], "route"] == "nurture" and got.loc[picked[1], "route_note"] == ""
    # the same renewal already past, or beyond its 60-day window, is not active
    for day in ("2026-06-20", "2026-09-15"):
        pd.DataFrame({"account_id": [picked[0]], "occurred_at": [day], "type": ["renewal"]}).to_csv(
            ev, index=False
        )
        late = score_with_engine(icp, acc, None, "python", events=ev, as_of="2026-06-30")
        assert late.frame is not None
        assert set(late.frame["route"]) == {"nurture"}, day
    # without the events the route is the fit route, in pandas and in the compiled SQL
    plain = score_with_engine(icp, acc, None, "python")
    sql = score_with_engine(icp, acc, None, "duckdb")
    assert plain.frame is not None and sql.frame is not None
    assert set(plain.frame["route"]) == set(sql.frame["route"]) == {"nurture"}


def test_a_route_rule_edited_in_icp_yaml_is_honoured(sample_run, tmp_path):
    data = icpfile.to_dict(icpfile.load(sample_run.out / "icp.yaml"))
    data["timing"]["route_rules"] = [{"min_fit": 101, "trigger_tier": 1, "route": "high_touch"}]
    with pytest.raises(icpfile.IcpFileError, match=r"timing\.route_rules\[0\]\.min_fit"):
        icpfile.from_dict(data)
    data["timing"]["route_rules"] = []  # no rule: triggers raise priority only
    icp = icpfile.from_dict(data)
    scores = pd.read_csv(sample_run.out / "scores.csv")
    moved = scores.loc[scores["route_note"].notna(), "account_id"].head(3).tolist()
    assert moved
    accounts = pd.read_csv(sample_run.inputs["accounts"])
    acc = tmp_path / "a.csv"
    accounts[accounts["account_id"].isin(moved)].to_csv(acc, index=False)
    res = score_with_engine(
        icp, acc, None, "python", events=sample_run.inputs["events"], as_of="2026-06-30"
    )
    assert res.frame is not None
    assert set(res.frame["route"]) == {"nurture"} and (res.frame["route_note"] == "").all()
    assert (res.frame["priority"] > res.frame["fit"]).all()


# -- the pipeline audit ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def audited(sample_run, tmp_path_factory):
    """A private copy of the sample run, and its open deals with their account's score."""
    out = sample_run.copy(tmp_path_factory.mktemp("audit") / "out")
    deals = pd.read_csv(sample_run.inputs["deals"])
    scores = pd.read_csv(out / "scores.csv", dtype={"tier": str}, keep_default_na=False)
    open_ = deals[deals["outcome"] == "open"].merge(scores, on="account_id", how="left")
    return out, open_


def test_audit_figures_on_the_samples_open_deals(audited):
    out, open_ = audited
    with Workspace(out) as ws:
        a = audit_pipeline(ws)
        v = ws.json_artifact("validation.json")
    s = a.summary
    assert s["open_deals"] == len(open_) == 608
    assert s["pipeline_value"] == pytest.approx(open_["amount"].sum())
    outside = open_["tier"].isin(["none", "excluded"])
    excluded = open_["tier"] == "excluded"
    total = open_["amount"].sum()
    assert s["deals_outside_icp"] == outside.sum()
    assert s["share_value_outside_icp"] == pytest.approx(
        open_.loc[outside, "amount"].sum() / total, abs=1e-4
    )
    assert s["deals_disqualified"] == excluded.sum() > 0
    assert s["share_value_disqualified"] == pytest.approx(
        open_.loc[excluded, "amount"].sum() / total, abs=1e-4
    )
    # by tier: counts and values add up; expected wins = deals x the tier's held-out win rate
    by = a.by_tier.set_index("tier")
    assert by["deals"].sum() == 608 and by["value"].sum() == pytest.approx(total)
    held = {g["group"]: g for g in v["heldout"]["tiers"]}
    for tier, group in (
        ("1", "Tier 1"),
        ("2", "Tier 2"),
        ("3", "Tier 3"),
        ("excluded", "Excluded (disqualified)"),
    ):
        n_open = int((open_["tier"] == tier).sum())
        assert by.loc[tier, "deals"] == n_open
        assert by.loc[tier, "rate_n"] == held[group]["n"]
        assert by.loc[tier, "expected_wins"] == pytest.approx(
            n_open * held[group]["win_rate"], abs=0.06
        )
    assert by.loc["1", "win_rate"] > by.loc["none", "win_rate"] > by.loc["excluded", "win_rate"]
    assert "held-out" in a.rates_source
    # by route: the scores' routes
    assert a.by_route.set_index("route")["deals"].to_dict() == {
        r: int((open_["route"] == r).sum()) for r in ("high_touch", "nurture", "deprioritize")
    }
    # every deal of a disqualified account is to be re-qualified, and says why
    rq = a.requalify
    assert set(open_.loc[excluded, "deal_id"]) <= set(rq["deal_id"])
    assert rq.loc[rq["tier"] == "excluded", "requalify"].str.contains("disqualified").all()
    assert (rq["amount"].diff().dropna() <= 0).all()  # largest first
    assert a.previous is None and a.trend == {}


def test_audit_trend_against_the_previous_audit(audited, tmp_path):
    out, open_ = audited
    with Workspace(out) as ws:
        save_audit(ws, audit_pipeline(ws))
    # next month: the deals of disqualified accounts were closed out of the pipeline
    keep = open_[open_["tier"] != "excluded"]
    pipe = tmp_path / "open_pipeline.csv"
    keep[["deal_id", "account_id", "amount", "created_at", "outcome"]].to_csv(pipe, index=False)
    r = CliRunner().invoke(
        app, ["audit", "-w", str(out), "--deals", str(pipe), "--out", str(tmp_path / "a")]
    )
    assert r.exit_code == 0, r.output
    assert "Pipeline audit as of" in r.output and "Deals to re-qualify" in r.output
    got = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert got["summary"]["open_deals"] == len(keep)
    assert got["summary"]["share_value_disqualified"] == 0
    assert got["trend"]["open_deals"] == -int((open_["tier"] == "excluded").sum())
    assert got["trend"]["share_value_disqualified"] < 0
    assert "Since the audit of" in r.output
    rows = pd.read_csv(tmp_path / "a" / "audit.csv")
    assert len(rows) == len(keep) and {"deal_id", "tier", "route", "p_win", "requalify"} <= set(
        rows.columns
    )
    with Workspace(out, read_only=True) as ws:
        assert len(ws.audits()) == 2  # the library call above and the command


def test_audit_says_what_is_missing(small_crm_run, tmp_path):
    r = CliRunner().invoke(app, ["audit", "-w", str(small_crm_run), "--no-save"])
    assert r.exit_code != 0
    assert "no open deals to audit" in r.output and "--deals" in r.output
    for args in (["audit", "-w"], ["refresh", "--versions", "--out"]):
        r = CliRunner().invoke(app, [*args, str(tmp_path / "nowhere")])
        assert r.exit_code != 0 and "no data yet" in r.output
        assert not (tmp_path / "nowhere").exists()  # nothing created by a failed command


# -- staleness -------------------------------------------------------------------------------
def test_score_warns_when_the_icp_is_older_than_its_refresh_interval(
    small_crm_run, small_crm, tmp_path
):
    data = icpfile.to_dict(icpfile.load(small_crm_run / "icp.yaml"))
    data["generated_at"] = (datetime.now() - timedelta(days=120)).replace(microsecond=0).isoformat()
    old = tmp_path / "icp.yaml"
    old.write_text(icpfile.dumps(icpfile.from_dict(data)))
    args = [
        "score",
        "--icp",
        str(old),
        "--accounts",
        str(small_crm["accounts"]),
        "--out",
        str(tmp_path / "s.csv"),
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "120 days ago, beyond its refresh interval of 90 days" in " ".join(r.output.split())
    data["refresh"] = {"interval_days": 180}
    old.write_text(icpfile.dumps(icpfile.from_dict(data)))
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and "refresh interval" not in r.output
    # a fresh ICP scores without the warning
    r = CliRunner().invoke(app, [*args[:2], str(small_crm_run / "icp.yaml"), *args[3:]])
    assert r.exit_code == 0 and "refresh interval" not in r.output


# -- ask on the demo -------------------------------------------------------------------------
def test_readme_ask_example_returns_customer_quotes_on_the_demo(sample_run):
    from icpkit.voc import ask

    q = "what did our best 20 customers say about pricing last month"
    r = CliRunner().invoke(app, ["ask", q, "-w", str(sample_run.out), "--format", "json"])
    assert r.exit_code == 0, r.output
    ans = json.loads(r.output)
    assert ans["scope"]["as_of"] == "2026-06-30"  # the archive's latest date, not the wall clock
    assert (ans["scope"]["since"], ans["scope"]["until"]) == ("2026-05-01", "2026-05-31")
    assert ans["passages"] and {p["speaker"] for p in ans["passages"]} == {"customer"}
    assert len(ans["summary"]) == 2 and ans["summary"][1].startswith("Themes:")
    with Workspace(sample_run.out, read_only=True) as ws:
        ours = ask(ws, "pricing", speaker="us", limit=10)
        every = ask(ws, "pricing", speaker="all", limit=10)
        earlier = ask(ws, q, as_of=date(2026, 3, 15))
        table = ask(ws, "what did tier 1 customers say about pricing", limit=10).to_table(width=100)
    assert ours.passages and {p.speaker for p in ours.passages} == {"us"}
    assert every.total_matches > ours.total_matches
    assert (earlier.scope.since, earlier.scope.until) == (date(2026, 2, 1), date(2026, 2, 28))
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
    assert "as of 2026-06-30" in " ".join(text.split())


def test_ask_rejects_a_bad_speaker_or_date(sample_run):
    for args, msg in (
        (["--speaker", "them"], "--speaker must be"),
        (["--as-of", "soon"], "not a date"),
    ):
        r = CliRunner().invoke(app, ["ask", "pricing", "-w", str(sample_run.out), *args])
        assert r.exit_code != 0 and msg in r.output


# -- the refresh -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def refreshed(small_sample_files, tmp_path_factory):
    """A first run on an older export (deals closed before 2026-01-01, events until then),
    then `icp refresh` on the full export."""
    from icpkit.pipeline import run_all
    from icpkit.refresh import refresh

    root = tmp_path_factory.mktemp("refresh")
    old = root / "old"
    old.mkdir()
    cut = "2026-01-01"
    deals = pd.read_csv(small_sample_files["deals"])
    deals = deals[deals["created_at"] < cut].copy()
    late = deals["closed_at"].fillna("9999") >= cut
    deals.loc[late, "outcome"] = "open"
    deals.loc[late, "closed_at"] = None
    deals.to_csv(old / "deals.csv", index=False)
    ev = pd.read_csv(small_sample_files["events"])
    ev[ev["occurred_at"] < "2026-03-01"].to_csv(old / "events.csv", index=False)
    out = root / "out"
    first = {
        "accounts": small_sample_files["accounts"],
        "deals": old / "deals.csv",
        "events": old / "events.csv",
    }
    run_all(first, out)
    before = icpfile.load(out / "icp.yaml")
    scores_before = pd.read_csv(out / "scores.csv")
    fresh = {k: small_sample_files[k] for k in ("accounts", "deals", "events")}
    result, report = refresh(fresh, out)
    return out, before, scores_before, report


def test_refresh_compares_the_new_run_with_the_previous_one(refreshed):
    out, before, _, report = refreshed
    after = icpfile.load(out / "icp.yaml")
    assert report.version == report.previous_version + 1
    c = report.counts()
    assert sum(c.values()) == len(report.criteria) > 0
    assert c["added"] + c["dropped"] + c["strengthened"] + c["weakened"] > 0
    texts_before = {r["criterion"] for r in report.criteria if r["change"] != "added"}
    texts_after = {r["criterion"] for r in report.criteria if r["change"] != "dropped"}

    def defs(icp):
        crit = {c.text() for t in icp.tiers for cs in t.criteria.values() for c in cs}
        return crit | {s.text() for t in icp.tiers for s in t.segments}

    assert texts_before == defs(before) and texts_after == defs(after)
    for r in report.criteria:
        if r["change"] == "strengthened" and r["tier_before"] == r["tier_after"]:
            assert r["lift_after"] >= 1.1 * r["lift_before"] - 1e-9
    assert report.psi is not None and report.psi["psi"] >= 0
    assert report.psi["psi_label"] in ("stable", "moderate shift", "major shift")
    assert report.quality_then and report.quality_now
    assert report.quality_then["deals"] < report.quality_now["deals"]  # more closed deals now
    trig = {t["trigger"]: t for t in report.triggers}
    assert trig and all(
        t["status"] in ("still qualifies", "no longer qualifies", "new") for t in trig.values()
    )
    # the renewals scheduled after the sample's end are active now
    assert trig["renewal"]["when"] == "upcoming" and trig["renewal"]["active_accounts"] > 0
    md = (out / "refresh.md").read_text()
    assert f"version {report.previous_version} -> {report.version}" in md and "PSI" in md
    with Workspace(out, read_only=True) as ws:
        assert json.loads(ws.artifact("refresh.json") or "{}")["version"] == report.version


def test_refresh_keeps_the_previous_version_restorable(refreshed):
    out, before, scores_before, report = refreshed
    r = CliRunner().invoke(app, ["refresh", "--out", str(out), "--versions"])
    assert r.exit_code == 0 and str(report.previous_version) in r.output
    r = CliRunner().invoke(
        app, ["refresh", "--out", str(out), "--restore", str(report.previous_version)]
    )
    assert r.exit_code == 0, r.output
    restored = icpfile.load(out / "icp.yaml")
    assert icpfile.dumps(restored) == icpfile.dumps(before)
    with Workspace(out, read_only=True) as ws:
        assert ws.latest_icp_version() == report.version + 1
        assert ws.icp_versions()["note"].iloc[-1] == f"restored version {report.previous_version}"
    # the accounts are scored with the restored ICP again
    now = pd.read_csv(out / "scores.csv").set_index("account_id")["score"]
    was = scores_before.set_index("account_id")["score"]
    assert (now.loc[was.index] == was).all()
    r = CliRunner().invoke(app, ["refresh", "--out", str(out), "--restore", "99"])
    assert r.exit_code != 0 and "no ICP version 99" in r.output


def test_refresh_needs_a_previous_run(small_sample_files, tmp_path):
    args = ["refresh", "--out", str(tmp_path / "none"), "--accounts", str(small_sample_files["accounts"]),
            "--deals", str(small_sample_files["deals"])]  # fmt: skip
    r = CliRunner().invoke(app, args)
    assert r.exit_code != 0 and "no previous run" in r.output
