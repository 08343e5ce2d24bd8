"""Deal qualification: deal columns are analysed as deal patterns, never as company traits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icpkit import icpfile
from icpkit.ingest import ingest, read_table
from icpkit.mining.deal_context import (
    ARTIFACT,
    deal_context_step,
    deal_like_account_columns,
    deal_patterns,
    lost_reasons,
)
from icpkit.mining.deal_report import section
from icpkit.pipeline import run_all
from icpkit.profile import fit_icp
from icpkit.report import collect, write_report
from icpkit.workspace import Workspace

from .conftest import dataset

DEAL_COLUMNS = {"source", "deal_type", "product", "budget_confirmed", "competitors", "amount"}


def _synthetic(seed: int = 7, n_accounts: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts with a planted industry effect; deals with a planted channel and deal-type effect.

    Referral deals and expansion deals of existing customers win more; new business
    wins less. Each account has one new-business deal, some also an expansion deal.
    """
    r = np.random.default_rng(seed)
    industry = r.choice(["logistics", "retail", "software"], n_accounts, p=[0.3, 0.4, 0.3])
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n_accounts)],
            "name": [f"Co {i}" for i in range(n_accounts)],
            "industry": industry,
            "employees": r.integers(5, 5000, n_accounts).astype(float),
        }
    )
    rows = []
    for i in range(n_accounts):
        kinds = ["new_business"] + (["existing_customer"] if r.random() < 0.6 else [])
        for k in kinds:
            rows.append((f"A{i}", k))
    deals = pd.DataFrame(rows, columns=["account_id", "deal_type"])
    m = len(deals)
    deals["deal_id"] = [f"D{i}" for i in range(m)]
    deals["source"] = r.choice(["referral", "outbound", "inbound"], m, p=[0.2, 0.45, 0.35])
    deals["product"] = r.choice(["core", "pro"], m)
    deals["budget_confirmed"] = r.choice(["yes", "no", ""], m)
    deals["competitors"] = [
        ";".join(sorted(set(r.choice(["acme", "globex", "initech"], r.integers(0, 4)))))
        for _ in range(m)
    ]
    deals["sales_owner"] = r.choice(["ann", "bob", "cy"], m)
    ind = deals["account_id"].map(dict(zip(accounts["account_id"], industry, strict=True)))
    p = (
        np.where(deals["deal_type"] == "existing_customer", 0.55, 0.2)
        + np.where(deals["source"] == "referral", 0.25, 0.0)
        + np.where(ind == "logistics", 0.1, 0.0)
    )
    won = r.random(m) < np.clip(p, 0, 0.95)
    deals["outcome"] = np.where(won, "won", "lost")
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 400, m), unit="D")
    deals["created_at"] = created.strftime("%Y-%m-%d")
    cyc = np.where(deals["source"] == "referral", 20, 60) + r.integers(0, 30, m)
    deals["closed_at"] = (created + pd.to_timedelta(cyc, unit="D")).strftime("%Y-%m-%d")
    deals["amount"] = r.integers(1000, 50000, m)
    deals["lost_reason"] = np.where(
        won, None, r.choice(["price", "timing", "no budget", "competitor"], m)
    )
    return accounts, deals


@pytest.fixture(scope="session")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    accounts, deals = _synthetic()
    d = tmp_path_factory.mktemp("dealctx")
    a, dl = d / "accounts.csv", d / "deals.csv"
    accounts.to_csv(a, index=False)
    deals.to_csv(dl, index=False)
    return {"accounts": a, "deals": dl}


@pytest.fixture(scope="session")
def canonical(synth_files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """The synthetic files read as canonical tables, as ingest stores them."""
    accounts, akinds, _ = read_table("accounts", synth_files["accounts"])
    deals, dkinds, _ = read_table("deals", synth_files["deals"])
    return accounts, deals, akinds, dkinds


@pytest.fixture(scope="session")
def built(synth_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``icp run`` on the synthetic files (the build step analyses the deal columns)."""
    out = tmp_path_factory.mktemp("dealctx_run")
    run_all(synth_files, out)
    return out


def _by_level(ctx) -> dict:  # type: ignore[no-untyped-def]
    return {p.level: p for p in ctx.patterns}


def test_planted_channel_and_deal_type_are_found_with_their_direction(canonical):
    _, deals, _, dkinds = canonical
    ctx = deal_patterns(deals, kinds=dkinds)
    by = _by_level(ctx)
    ref, out = by["source=referral"], by["source=outbound"]
    assert ref.significant and ref.lift > 1.3 and ref.win_rate > out.win_rate
    assert (
        ref.ci_low <= ref.win_rate <= ref.ci_high and ref.n == (deals["source"] == "referral").sum()
    )
    ex, new = by["deal_type=existing_customer"], by["deal_type=new_business"]
    assert ex.significant and new.significant
    assert ex.lift > 1 > new.lift
    # worded as deals, never as companies
    assert ref.text.startswith("deals with source=referral win") and "compan" not in ref.text
    # referral deals close faster: the median cycle comes from the dates
    assert (
        ref.median_cycle_days is not None
        and ref.median_cycle_days < by["source=outbound"].median_cycle_days
    )
    # nothing planted on product or competitors
    assert not any(p.significant for p in ctx.patterns if p.column in ("product", "competitors"))


def test_owner_ids_dates_and_lost_reason_are_not_deal_traits(canonical):
    _, deals, _, dkinds = canonical
    ctx = deal_patterns(deals, kinds=dkinds)
    analysed = {p.column for p in ctx.patterns}
    assert analysed == DEAL_COLUMNS
    assert "who worked the deal" in ctx.skipped["sales_owner"]
    assert not analysed & {"deal_id", "account_id", "created_at", "closed_at", "lost_reason"}
    assert ctx.columns["budget_confirmed"] == "bool" and ctx.columns["competitors"] == "list"
    assert any(p.level.startswith("amount") for p in ctx.patterns)  # amount is binned
    assert {p.level for p in ctx.patterns if p.column == "budget_confirmed"} >= {
        "budget_confirmed not recorded"
    }


def test_fit_icp_never_uses_a_deal_column(canonical):
    accounts, deals, akinds, _ = canonical
    fams = {c: "firmographic" for c in akinds}
    build = fit_icp(accounts, deals, kinds=akinds, families=fams)
    icp = build.icp
    used = {s.attribute for s in build.space.specs}
    used |= {f.attribute for f in icp.scorecard.features}
    used |= {d.attribute for d in icp.disqualifiers}
    used |= {c.attribute for t in icp.tiers for cs in t.criteria.values() for c in cs}
    used |= {c.attribute for t in icp.tiers for s in t.segments for c in s.conditions}
    assert "industry" in used  # the planted account trait is learned
    assert not used & (DEAL_COLUMNS | {"sales_owner", "lost_reason", "outcome"})
    assert "new_business" not in icp.statement.text


def test_icp_run_keeps_deal_columns_out_and_reports_them_as_deal_qualification(built):
    with Workspace(built) as ws:
        icp_text = ws.artifact("icp.yaml") or ""
        seg = ws.table("segments")
        stored = ws.json_artifact(ARTIFACT)
        s = section(ws)
        data = collect(ws)
    assert stored["min_support"] == icpfile.loads(icp_text).evidence.min_support
    assert "## Deal qualification" in (built / "report.md").read_text()  # written by icp run
    for col in DEAL_COLUMNS | {"sales_owner"}:
        assert f"attribute: {col}" not in icp_text
        assert not seg["segment"].str.contains(col).any()
    levels = {p["level"]: p for p in stored["patterns"]}
    assert levels["source=referral"]["significant"] and levels["source=referral"]["lift"] > 1
    assert s is not None and s.title == "Deal qualification"
    assert "deals with source=referral win" in s.markdown
    assert "deal_type=existing_customer" in s.markdown and "Lost reasons by ICP tier" in s.markdown
    assert "never ICP criteria" in s.html
    assert any(x.id == "deal-qualification" for x in data.sections)
    files = write_report(data, built / "report_check")
    md = files["report.md"].read_text()
    assert "## Deal qualification" in md and "deals with source=referral win" in md
    assert 'href="#deal-qualification"' in files["report.html"].read_text()


def test_lost_reasons_overall_and_per_tier_on_the_built_workspace(built):
    with Workspace(built) as ws:
        lr = ws.json_artifact(ARTIFACT)["lost_reasons"]
        deals = ws.table("deals")
        scores = ws.table("scores")
    lost = deals[deals["outcome"] == "lost"]
    assert lr["lost_deals"] == len(lost) and lr["with_reason"] == lost["lost_reason"].notna().sum()
    assert sum(r["count"] for r in lr["overall"]) == lr["with_reason"]
    assert {r["reason"] for r in lr["overall"]} == {"price", "timing", "no budget", "competitor"}
    tier_of = dict(zip(scores["account_id"], scores["tier"].astype(str), strict=True))
    neg = lost["account_id"].map(tier_of).isin(["none", "excluded"]).sum()
    if neg:
        assert lr["groups"]["negative ICP"]["n"] == neg
    partition = {k: g for k, g in lr["groups"].items() if k != "negative ICP"}
    assert sum(g["n"] for g in partition.values()) + lr["unscored"] == lr["with_reason"]
    for g in partition.values():
        assert sum(r["count"] for r in g["reasons"]) == g["n"]


def test_lost_reason_that_differs_by_tier_is_flagged_with_its_direction():
    r = np.random.default_rng(11)
    n = 900
    tiers = r.choice(["1", "2", "3", "none", "excluded"], n)
    neg = np.isin(tiers, ["none", "excluded"])
    reason = np.where(
        neg & (r.random(n) < 0.6),
        "no budget",
        r.choice(["price", "timing", "competitor", "no budget"], n),
    )
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": [f"A{i}" for i in range(n)],
            "outcome": "lost",
            "lost_reason": reason,
        }
    )
    scores = pd.DataFrame({"account_id": deals["account_id"], "tier": tiers})
    lr = lost_reasons(deals, scores)
    assert lr is not None
    assert lr["groups"]["negative ICP"]["n"] == int(neg.sum())
    assert lr["differences"][0]["reason"] == "no budget"
    neg_cell = next(
        c for c in lr["differences"] if (c["group"], c["reason"]) == ("negative ICP", "no budget")
    )
    assert neg_cell["share"] > neg_cell["rest_share"] and neg_cell["q_value"] < 0.001
    assert neg_cell["n"] == int(neg.sum()) and neg_cell["rest_n"] == int((~neg).sum())
    for g in ("below tier 3", "excluded"):  # each side of the negative ICP shows it too
        assert lr["groups"][g]["reasons"][0]["reason"] == "no budget"
    # tiers 1-3 lose to no budget less often than everyone else
    assert all(
        c["share"] < c["rest_share"]
        for c in lr["differences"]
        if c["reason"] == "no budget" and c["group"].startswith("tier")
    )
    assert lr["chi2"]["p_value"] < 0.001
    # no scores: overall only
    alone = lost_reasons(deals)
    assert alone is not None and alone["groups"] == {} and alone["with_reason"] == n
    assert lost_reasons(deals.drop(columns="lost_reason")) is None


def test_deal_column_shadowing_an_account_column_is_skipped_with_a_warning(tmp_path):
    accounts, deals = _synthetic(seed=3, n_accounts=200)
    accounts["source"] = "website"
    run_all_paths = {"accounts": tmp_path / "a.csv", "deals": tmp_path / "d.csv"}
    accounts.to_csv(run_all_paths["accounts"], index=False)
    deals.to_csv(run_all_paths["deals"], index=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, run_all_paths)
        warnings = deal_context_step(ws)
        ctx = ws.json_artifact(ARTIFACT)
    assert "accounts file" in ctx["skipped"]["source"]
    assert not any(p["column"] == "source" for p in ctx["patterns"])
    assert any("'source'" in w and "remove them from the accounts file" in w for w in warnings)
    assert any("no scores" in w for w in warnings)


def test_column_filled_only_on_won_deals_is_not_a_pattern():
    accounts, deals = _synthetic(seed=5, n_accounts=300)
    deals["contract_tier"] = np.where(deals["outcome"] == "won", "gold", None)
    deals["close_value"] = np.where(deals["outcome"] == "won", deals["amount"], 0)
    ctx = deal_patterns(deals)
    assert "filled on won deals only" in ctx.skipped["contract_tier"]
    assert "empty or 0 on the others" in ctx.skipped["close_value"]
    assert not any(p.column in ("contract_tier", "close_value") for p in ctx.patterns)
    assert any(p.column == "amount" for p in ctx.patterns)  # a real amount stays


def test_maven_crm_deal_columns():
    """Maven CRM's pipeline: the close value is 0 on lost deals (recorded after the outcome),
    the sales agent is not a trait of the deal, and the product barely moves the win rate."""
    deals, kinds, _ = read_table("deals", dataset("maven_crm", "sales_pipeline.csv"))
    ctx = deal_patterns(deals, kinds=kinds)
    assert (ctx.closed_deals, ctx.wins) == (6711, 4238)
    assert "recorded after the outcome" in ctx.skipped["amount"]
    assert "who worked the deal" in ctx.skipped["sales_agent"]
    assert {p.column for p in ctx.patterns} == {"product"}
    assert not any(p.significant for p in ctx.patterns)
    assert all(0.9 < p.lift < 1.1 for p in ctx.patterns)


def test_without_both_outcomes_there_is_a_warning_and_no_pattern():
    deals = pd.DataFrame(
        {"deal_id": ["1", "2", "3"], "account_id": ["a", "b", "c"], "outcome": "won", "source": "x"}
    )
    ctx = deal_patterns(deals)
    assert ctx.patterns == [] and "won and lost" in ctx.warnings[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(20, 200),
    levels=st.integers(1, 6),
    rate=st.floats(0.05, 0.95),
    seed=st.integers(0, 10_000),
)
def test_levels_partition_the_closed_deals_and_figures_are_consistent(n, levels, rate, seed):
    r = np.random.default_rng(seed)
    deals = pd.DataFrame(
        {
            "deal_id": [str(i) for i in range(n)],
            "account_id": [str(i) for i in range(n)],
            "outcome": r.choice(["won", "lost", "open"], n, p=[rate * 0.9, (1 - rate) * 0.9, 0.1]),
            "channel": r.choice([f"c{i}" for i in range(levels)], n),
        }
    )
    deals.loc[r.random(n) < 0.1, "channel"] = None
    closed = deals["outcome"].isin(["won", "lost"])
    ctx = deal_patterns(deals)
    if ctx.wins in (0, ctx.closed_deals):
        assert ctx.patterns == []
        return
    pats = [p for p in ctx.patterns if p.column == "channel"]
    if not pats:
        assert "channel" in ctx.skipped
        return
    assert sum(p.n for p in pats) == closed.sum()
    assert sum(p.wins for p in pats) == (deals["outcome"] == "won").sum()
    for p in pats:
        assert 0 <= p.ci_low <= p.win_rate <= p.ci_high <= 1
        assert 0 <= p.p_value <= 1 and p.p_value <= p.q_value + 1e-12 <= 1 + 1e-12
        assert p.lift == pytest.approx(p.shrunk_rate / ctx.base_win_rate, rel=1e-2)
        # shrinkage pulls toward the base rate but never flips the direction
        assert (p.lift - 1) * (p.win_rate - ctx.base_win_rate) >= -1e-3
        assert p.significant == (p.q_value < 0.05)


def test_olist_channels_come_out_as_deal_patterns(tmp_path):
    """Olist's MQL origin is the lead channel: paid and organic search convert at
    about 12%, email at about 3% (published conversion by channel)."""
    mql = pd.read_csv(
        dataset("olist_marketing_funnel", "olist_marketing_qualified_leads_dataset.csv")
    )
    won = pd.read_csv(dataset("olist_marketing_funnel", "olist_closed_deals_dataset.csv"))
    d = mql.merge(won[["mql_id", "won_date", "lead_type"]], on="mql_id", how="left")
    raw = pd.DataFrame(
        {
            "mql_id": d["mql_id"],
            "first_contact_date": d["first_contact_date"],
            "won_date": d["won_date"].str[:10],
            "outcome": d["won_date"].notna().map({True: "won", False: "lost"}),
            "origin": d["origin"],
            "lead_type": d["lead_type"],  # only known for won sellers
        }
    )
    path = tmp_path / "olist_deals.csv"
    raw.to_csv(path, index=False)
    deals, kinds, _ = read_table("deals", path)
    assert "source" in deals.columns  # 'origin' is the lead source
    ctx = deal_patterns(deals, kinds=kinds)
    assert (ctx.closed_deals, ctx.wins) == (8000, 842)
    by = _by_level(ctx)
    email, paid, organic = by["source=email"], by["source=paid_search"], by["source=organic_search"]
    assert email.win_rate == pytest.approx(0.03, abs=0.01) and email.n == 493
    assert paid.win_rate == pytest.approx(0.123, abs=0.01)
    assert email.significant and email.lift < 0.5
    assert paid.lift > 1 and organic.lift > 1
    assert paid.ci_low > email.ci_high and organic.ci_low > email.ci_high
    assert by["source=social"].significant and by["source=social"].lift < 1
    assert "filled on won deals only" in ctx.skipped["lead_type"]
    assert ctx.median_cycle_days is not None and paid.cycle_n == paid.wins


def test_deal_type_in_the_accounts_file_is_flagged(tmp_path):
    """The reported failure: a deal type carried on the accounts file (one row per opportunity)
    reads as a company trait. It is named in a warning with the way to fix it."""
    accounts, deals = _synthetic(seed=9, n_accounts=300)
    first = deals.drop_duplicates("account_id", keep="last").set_index("account_id")
    accounts["type"] = (
        accounts["account_id"]
        .map(first["deal_type"])
        .map({"new_business": "New Business", "existing_customer": "Existing Business"})
    )
    accounts["opportunity_stage_note"] = "x"
    accounts["segment"] = np.where(accounts.index % 2, "new", "mid")  # not only deal types
    found = deal_like_account_columns(accounts)
    assert set(found) == {"type", "opportunity_stage_note"}
    assert "deal types" in found["type"] and "new_business" in found["type"]
    paths = {"accounts": tmp_path / "a.csv", "deals": tmp_path / "d.csv"}
    accounts.to_csv(paths["accounts"], index=False)
    deals.to_csv(paths["deals"], index=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, paths)
        warnings = deal_context_step(ws)
    hit = [w for w in warnings if "accounts column 'type'" in w]
    assert hit and "accounts: {exclude: [type]}" in hit[0]


def test_salesforce_opportunity_export(tmp_path):
    """A Salesforce opportunity export: Type and LeadSource are deal patterns; Probability,
    ForecastCategory and FiscalYear follow the stage or the calendar and are left out."""
    _, deals = _synthetic(seed=13, n_accounts=400)
    won = deals["outcome"] == "won"
    sf = pd.DataFrame(
        {
            "Id": deals["deal_id"],
            "AccountId": deals["account_id"],
            "StageName": np.where(won, "Closed Won", "Closed Lost"),
            "Type": deals["deal_type"].map(
                {"new_business": "New Business", "existing_customer": "Existing Business"}
            ),
            "LeadSource": deals["source"].str.title(),
            "Probability": np.where(won, 100, 0),
            "ForecastCategoryName": np.where(won, "Closed", "Omitted"),
            "FiscalYear": 2024,
            "Amount": deals["amount"],
        }
    )
    path = tmp_path / "Opportunity.csv"
    sf.to_csv(path, index=False)
    frame, kinds, _ = read_table("deals", path)
    ctx = deal_patterns(frame, kinds=kinds)
    assert {p.column for p in ctx.patterns} == {"type", "source", "amount"}
    by = _by_level(ctx)
    assert by["type=existing business"].lift > 1 > by["type=new business"].lift
    assert by["source=referral"].significant and by["source=referral"].lift > 1
    assert "known only at the end" in ctx.skipped["probability"]
    assert "known only at the end" in ctx.skipped["forecastcategoryname"]
    # the same columns under names that say nothing are caught by their values
    anon = frame.rename(columns={"probability": "p1", "forecastcategoryname": "fc"})
    skipped = deal_patterns(anon, kinds=None).skipped
    assert "recorded after the outcome" in skipped["p1"]
    assert "follow the outcome" in skipped["fc"]
    assert "period" in ctx.skipped["fiscalyear"]


def test_no_section_without_deal_columns(tmp_path):
    accounts, deals = _synthetic(seed=17, n_accounts=150)
    deals = deals[["deal_id", "account_id", "outcome", "created_at", "closed_at"]]
    paths = {"accounts": tmp_path / "a.csv", "deals": tmp_path / "d.csv"}
    accounts.to_csv(paths["accounts"], index=False)
    deals.to_csv(paths["deals"], index=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, paths)
        assert section(ws) is None  # nothing stored yet
        deal_context_step(ws)
        stored = ws.json_artifact(ARTIFACT)
        assert stored["patterns"] == [] and stored["lost_reasons"] is None
        assert stored["closed_deals"] == len(deals)
        assert section(ws) is None
