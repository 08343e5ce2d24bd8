"""The leakage guard: outcome-carrying account columns are found, excluded, reported and keepable."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.ingest import infer_family, read_table
from icpkit.ingest.canonical import map_columns
from icpkit.leakage import MIN_COVERAGE, find_leaks, guard, name_reason
from icpkit.profile import fit_icp
from icpkit.sample import generate
from icpkit.schema import TABLES, ColumnMapping

from .conftest import dataset
from .test_real_data import olist_files

LEAKS = ("type", "lifecycle_stage")


def _with_leaks(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Accounts with a Salesforce-style Type and a HubSpot-style lifecycle stage set from the outcome."""
    acc = data["accounts"].copy()
    deals = data["deals"]
    bought = acc["account_id"].isin(deals.loc[deals["outcome"] == "won", "account_id"])
    acc["type"] = np.where(bought, "Customer - Direct", "Prospect")
    acc["lifecycle_stage"] = np.where(bought, "customer", "lead")
    return acc


def _meta(acc: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    kinds = {
        c: ("num" if pd.api.types.is_numeric_dtype(acc[c]) else "str")
        for c in acc.columns
        if c not in ("account_id", "name")
    }
    kinds["tech_stack"] = "list"
    return kinds, {c: infer_family(c) for c in kinds}


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate(n_accounts=1000)


@pytest.fixture(scope="module")
def builds(small):
    """The same sample learned clean, with the two leaking columns, and with Type kept."""
    leaky = _with_leaks(small)
    clean = small["accounts"]
    kinds, fams = _meta(leaky)
    ck, cf = _meta(clean)
    return {
        "clean": fit_icp(clean, small["deals"], kinds=ck, families=cf),
        "leaky": fit_icp(leaky, small["deals"], kinds=kinds, families=fams),
        "kept": fit_icp(leaky, small["deals"], kinds=kinds, families=fams, keep_columns=["Type"]),
    }


def _used(icp: icpfile.ICP) -> set[str]:
    names = {f.attribute for f in icp.scorecard.features}
    names |= {d.attribute for d in icp.disqualifiers}
    for t in icp.tiers:
        names |= {c.attribute for cs in t.criteria.values() for c in cs}
        names |= {c.attribute for s in t.segments for c in s.conditions}
    return names


# -- by name -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Lifecycle Stage",
        "lifecyclestage",
        "Lead Status",
        "hs_lead_status",
        "Became a Customer Date",
        "Became a Marketing Qualified Lead Date",
        "Number of Associated Deals",
        "Total Revenue",
        "Recent Deal Amount",
        "Recent Deal Close Date",
        "First Deal Created Date",
        "Days to Close",
        "Customer since",
        "Close Date",
        "Date entered 'Customer (Lifecycle Stage Pipeline)'",
        "Time in 'Lead (Lifecycle Stage Pipeline)'",
        "Customer Priority",
        "CustomerPriority__c",
        "Active__c",
        "Upsell Opportunity",
        "SLA",
        "SLA Expiration Date",
        "Won Deals",
    ],
)
def test_post_sale_crm_fields_are_found_by_the_name_ingest_gives_them(header):
    raw = pd.DataFrame({"Record ID": ["1"], "Company name": ["Acme"], header: ["x"]})
    mapped, _ = map_columns(raw, TABLES["accounts"], ColumnMapping(), "accounts.csv")
    (col,) = [c for c in mapped.columns if c not in ("account_id", "name")]
    assert name_reason(col, mapped[col]) is not None, col


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Industry", ["Retail"]),
        ("Annual Revenue", ["100"]),
        ("Number of Employees", ["12"]),
        ("Number of Locations", ["3"]),
        ("Time in business", ["4"]),
        ("Year Founded", ["1999"]),
        ("Type", ["Public", "Private"]),
        ("Status", ["active", "inactive"]),
        ("Ownership", ["Customer - Direct"]),
    ],
)
def test_firmographics_are_not_found_by_name(header, values):
    raw = pd.DataFrame({"Record ID": [str(i) for i in range(len(values))], header: values})
    mapped, _ = map_columns(raw, TABLES["accounts"], ColumnMapping(), "accounts.csv")
    (col,) = [c for c in mapped.columns if c != "account_id"]
    assert name_reason(col, mapped[col]) is None, col


def test_type_counts_only_when_its_values_are_relationship_stages():
    stages = pd.Series(["Customer - Direct", "Customer - Channel", "Prospect", None])
    assert name_reason("type", stages) is not None
    assert name_reason("Type", pd.Series(["Public", "Private", "Nonprofit"])) is None
    assert name_reason("account_status", pd.Series(["Former Customer", "Prospect"])) is not None


# -- on the sample company ---------------------------------------------------


def test_outcome_columns_are_excluded_and_named(builds):
    icp = builds["leaky"].icp
    assert sorted(e.column for e in icp.excluded_columns) == sorted(LEAKS)
    for e in icp.excluded_columns:
        assert e.found_by == "name" and e.reason
        assert "won 0 of" in e.evidence and "n=" in e.evidence
    text = icpfile.dumps(icp)
    assert "excluded_columns" in text and "lifecycle_stage" in text
    assert icpfile.loads(text).excluded_columns == icp.excluded_columns
    for col in LEAKS:
        (w,) = [
            w for w in builds["leaky"].warnings if f"column '{col}' looks like the outcome" in w
        ]
        assert f"--keep-column {col}" in w and "excluded from learning" in w
    assert not set(LEAKS) & _used(icp)
    assert not set(LEAKS) & set(icp.attributes)


def test_a_leak_changes_nothing_that_is_learned(builds):
    clean, leaky = builds["clean"].icp, builds["leaky"].icp
    assert leaky.evidence == clean.evidence
    assert leaky.scorecard == clean.scorecard
    assert leaky.tiers == clean.tiers
    assert leaky.disqualifiers == clean.disqualifiers
    assert clean.excluded_columns == []


def test_keep_column_learns_from_it_and_says_so(builds):
    kept, clean = builds["kept"], builds["clean"].icp
    icp = kept.icp
    assert [e.column for e in icp.excluded_columns] == ["lifecycle_stage"]
    assert icp.kept_columns == ["type"] and builds["leaky"].icp.kept_columns == []
    assert "type" in _used(icp)
    assert any("column 'type'" in w and "kept because" in w for w in kept.warnings)
    # what the guard prevents: the disguised outcome makes the evidence look stronger
    order = ["none", "weak", "moderate", "strong"]
    assert order.index(icp.evidence.strength) > order.index(clean.evidence.strength)
    assert any(d.attribute == "type" for d in icp.disqualifiers)


def test_genuine_strong_attributes_of_the_full_sample_are_not_flagged():
    data = generate()
    kinds, _ = _meta(data["accounts"])
    assert find_leaks(data["accounts"], data["deals"], kinds) == []


def test_an_innocent_name_that_carries_the_outcome_is_found_by_statistics(small):
    acc = (
        _with_leaks(small).rename(columns={"type": "segment_code"}).drop(columns="lifecycle_stage")
    )
    kinds, _ = _meta(acc)
    (leak,) = find_leaks(acc, small["deals"], kinds)
    assert leak.column == "segment_code" and leak.kind == "statistics"
    assert leak.lost_coverage >= MIN_COVERAGE and not leak.kept
    closed = small["deals"]["outcome"].isin(["won", "lost"]).sum()
    assert leak.n == closed and f"n={closed} closed deals" in leak.evidence
    (kept,) = find_leaks(acc, small["deals"], kinds, keep=["Segment Code"])
    assert kept.kept


def test_a_list_column_with_an_outcome_item_is_found_item_by_item(small):
    """HubSpot-style tags: 'customer' is set on accounts that bought, among innocent tags."""
    acc = small["accounts"].copy()
    deals = small["deals"]
    won_acc = set(deals.loc[deals["outcome"] == "won", "account_id"])
    rng = np.random.default_rng(3)
    acc["tags"] = [
        ";".join(
            [t for t in ("webinar", "partner-referral", "event") if rng.random() < 0.4]
            + (["customer"] if a in won_acc else [])
        )
        for a in acc["account_id"]
    ]
    kinds, _ = _meta(acc)
    kinds["tags"] = "list"
    (leak,) = find_leaks(acc, deals, kinds)
    assert leak.column == "tags" and leak.kind == "statistics"
    sides = {lv.value: lv.side for lv in leak.levels}
    assert sides.get("has customer") == "won" or sides.get("no customer") == "lost", leak.levels
    # the innocent tags alone are not flagged, nor is the tech stack
    acc["tags"] = acc["tags"].str.replace("customer", "", regex=False)
    assert find_leaks(acc, deals, kinds) == []


def test_validation_peers_learn_from_the_columns_the_icp_may_use(small):
    """Peers fitted on a leaking column would score near 1 and make any honest ICP look
    broken: they see the raw values of the columns the ICP may learn from, nothing more."""
    from sklearn.metrics import roc_auc_score

    from icpkit.validation.backtest import closed_deals, plan_splits, run_fold

    acc = _with_leaks(small)
    kinds, fams = _meta(acc)
    closed = closed_deals(small["deals"])
    split = plan_splits(closed).splits[0]
    fit = functools.partial(fit_icp, search=False)  # the peers are what is tested
    fold = run_fold(acc, closed, split, fit=fit, kinds=kinds, families=fams, peers=True)
    assert {e.column for e in fold.build.icp.excluded_columns} >= set(LEAKS)
    won = fold.scored["won"].to_numpy(dtype=bool)
    for peer in ("logistic", "boosting", "forest"):
        assert roc_auc_score(won, fold.scored[f"p_{peer}"]) < 0.85, peer


def test_guard_drops_only_what_is_not_kept_and_names_unknown_kept_columns(small):
    acc = _with_leaks(small)
    kinds, fams = _meta(acc)
    warnings: list[str] = []
    out, k2, f2, excluded, kept = guard(
        acc, small["deals"], kinds, fams, keep=["Lifecycle Stage", "no_such"], warnings=warnings
    )
    assert [e.column for e in excluded] == ["type"] and kept == ["lifecycle_stage"]
    assert "type" not in out.columns and "type" not in k2 and "type" not in f2
    assert "lifecycle_stage" in out.columns and "lifecycle_stage" in k2
    assert any("'no_such'" in w for w in warnings)
    assert "type" in acc.columns  # the caller's frame is untouched


def test_numeric_outcome_copy_is_found_by_statistics(small):
    acc = small["accounts"].copy()
    deals = small["deals"]
    won_amount = deals[deals["outcome"] == "won"].groupby("account_id")["amount"].sum()
    acc["spend_to_date"] = acc["account_id"].map(won_amount).fillna(0.0)
    kinds, _ = _meta(acc)
    leaks = find_leaks(acc, deals, kinds)
    assert [(x.column, x.kind) for x in leaks] == [("spend_to_date", "statistics")]


# -- small tables: strong but genuine signals stay ---------------------------


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    n=st.integers(40, 400),
    rates=st.lists(st.floats(0.15, 0.85), min_size=2, max_size=4),
    slope=st.floats(-1.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_strong_but_genuine_attributes_on_small_tables_are_not_flagged(n, rates, slope, seed):
    # up to 32x the odds between categories, and a size effect of e^1 per standard deviation
    r = np.random.default_rng(seed)
    level = r.integers(0, len(rates), n)
    size = r.normal(0, 1, n)
    logit = np.log(np.asarray(rates) / (1 - np.asarray(rates)))[level] + slope * size
    won = r.random(n) < 1 / (1 + np.exp(-logit))
    if won.all() or not won.any():
        won[0] = not won[0]
    ids = [f"A{i}" for i in range(n)]
    acc = pd.DataFrame(
        {"account_id": ids, "segment": [f"s{v}" for v in level], "size": np.round(size, 2)}
    )
    deals = pd.DataFrame(
        {"deal_id": ids, "account_id": ids, "outcome": np.where(won, "won", "lost")}
    )
    assert find_leaks(acc, deals, {"segment": "str", "size": "num"}) == []


@settings(max_examples=20, deadline=None, derandomize=True)
@given(n=st.integers(300, 1500), noise=st.floats(0.0, 0.01), base=st.floats(0.2, 0.6))
def test_a_column_that_copies_the_outcome_is_always_flagged(n, noise, base):
    r = np.random.default_rng(n)
    won = r.random(n) < base
    if won.all() or not won.any():
        won[:2] = [True, False]
    flip = r.random(n) < noise
    ids = [f"A{i}" for i in range(n)]
    acc = pd.DataFrame({"account_id": ids, "flag_x": np.where(won ^ flip, "yes please", "not now")})
    deals = pd.DataFrame(
        {"deal_id": ids, "account_id": ids, "outcome": np.where(won, "won", "lost")}
    )
    (leak,) = find_leaks(acc, deals, {"flag_x": "str"})
    assert leak.kind == "statistics" and leak.auc is not None and leak.auc >= 0.95


# -- real datasets: no false positives -----------------------------------------


def test_maven_crm_has_no_leaks_in_full_or_in_small_samples():
    acc, kinds, _ = read_table("accounts", dataset("maven_crm", "accounts.csv"))
    deals, _, _ = read_table("deals", dataset("maven_crm", "sales_pipeline.csv"))
    assert find_leaks(acc, deals, kinds) == []
    closed = deals[deals["outcome"] != "open"]
    r = np.random.default_rng(5)
    for n in (60, 150, 400):
        for _ in range(5):
            sub = closed.iloc[r.choice(len(closed), n, replace=False)]
            assert find_leaks(acc, sub, kinds) == [], n


def test_olist_has_no_leaks_until_fields_known_only_after_signing_are_joined(tmp_path):
    files = olist_files(tmp_path)
    acc, kinds, _ = read_table("accounts", files["accounts"])
    deals, _, _ = read_table("deals", files["deals"])
    assert find_leaks(acc, deals, kinds) == []
    # the closed-deals file describes sellers only once they signed: every field leaks
    signed = pd.read_csv(dataset("olist_marketing_funnel", "olist_closed_deals_dataset.csv"))
    extra = signed[["mql_id", "lead_type", "declared_monthly_revenue"]]
    joined = acc.merge(extra.rename(columns={"mql_id": "account_id"}), on="account_id", how="left")
    kinds = {**kinds, "lead_type": "str", "declared_monthly_revenue": "num"}
    leaks = find_leaks(joined, deals, kinds)
    assert {(x.column, x.kind) for x in leaks} == {
        ("lead_type", "statistics"),
        ("declared_monthly_revenue", "statistics"),
    }


# -- end to end: CLI, mapping file, report -------------------------------------


@pytest.fixture(scope="module")
def crm_files(tmp_path_factory, small) -> dict[str, Path]:
    """The small sample as a CRM export: Salesforce 'Type' and HubSpot 'Lifecycle Stage' headers."""
    d = tmp_path_factory.mktemp("leaky")
    acc = _with_leaks(small).rename(columns={"type": "Type", "lifecycle_stage": "Lifecycle Stage"})
    a, dl = d / "accounts.csv", d / "deals.csv"
    acc.to_csv(a, index=False)
    small["deals"].to_csv(dl, index=False)
    return {"accounts": a, "deals": dl}


def test_cli_build_excludes_reports_and_keeps_on_request(tmp_path, crm_files):
    runner = CliRunner()
    ws = tmp_path / "ws"
    base = ["--workspace", str(ws)]
    r = runner.invoke(
        app,
        [
            "ingest",
            *base,
            "--accounts",
            str(crm_files["accounts"]),
            "--deals",
            str(crm_files["deals"]),
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["build", *base])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "column 'type' looks like the outcome" in out and "--keep-column type" in out
    icp = icpfile.load(ws / "icp.yaml")
    assert sorted(e.column for e in icp.excluded_columns) == sorted(LEAKS)
    r = runner.invoke(app, ["report", *base])
    assert r.exit_code == 0, r.output
    md = (ws / "report.md").read_text()
    html = (ws / "report.html").read_text()
    for text in (md, html):
        assert "Columns excluded as outcome leaks" in text and "lifecycle_stage" in text
    r = runner.invoke(app, ["build", *base, "--keep-column", "type"])
    assert r.exit_code == 0, r.output
    icp = icpfile.load(ws / "icp.yaml")
    assert [e.column for e in icp.excluded_columns] == ["lifecycle_stage"]
    assert "type" in _used(icp)
    r = runner.invoke(app, ["report", *base])
    assert (
        "Learned from on request although they look like the outcome: type"
        in (ws / "report.md").read_text()
    )


def test_mapping_file_keep_reaches_the_build(tmp_path, crm_files):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"accounts": {"keep": ["Lifecycle Stage"]}}))
    from icpkit.ingest import ingest
    from icpkit.pipeline import step_build
    from icpkit.workspace import Workspace

    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, crm_files, mapping_path=mapping)
        build = step_build(ws)
    assert [e.column for e in build.icp.excluded_columns] == ["type"]
    assert any("column 'lifecycle_stage'" in w and "kept because" in w for w in build.warnings)
