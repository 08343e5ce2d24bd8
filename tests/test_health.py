from __future__ import annotations

import pandas as pd
import pytest

from icpkit.health import compute_health
from icpkit.ingest import ingest
from icpkit.pipeline import step_health
from icpkit.retention import compute_retention
from icpkit.workspace import Workspace

from .conftest import dataset


@pytest.fixture(scope="module")
def raven(tmp_path_factory):
    d = dataset("ravenstack_saas")
    ws = Workspace(tmp_path_factory.mktemp("raven"))
    ingest(
        ws,
        {
            "accounts": d / "ravenstack_accounts.csv",
            "revenue": d / "ravenstack_subscriptions.csv",
            "tickets": d / "ravenstack_support_tickets.csv",
            "usage": d / "ravenstack_feature_usage.csv",
            "churn": d / "ravenstack_churn_events.csv",
        },
    )
    return ws


def test_ravenstack_churn_conflict_is_flagged_and_resolved(raven):
    res = step_health(raven)
    conflicts = raven.json_artifact("health_conflicts")
    kinds = {c["sources"]: c for c in conflicts}
    assert "churn event vs active subscription" in kinds
    assert kinds["churn event vs active subscription"]["winner"].startswith("revenue")
    flag = next(c for k, c in kinds.items() if k.startswith("accounts.churn_flag=true"))
    assert flag["accounts"] == 110
    assert len(res.table) == 500
    assert (res.table["health_tier"] == "worst").sum() == 100 and (
        res.table["health_tier"] == "best"
    ).sum() == 100
    assert res.table["health"].between(0, 100).all()
    assert any("disagree" in w for w in res.warnings)


def test_churn_source_changes_who_counts_as_churned(raven):
    acc = raven.table("accounts")
    opt = {k: raven.table(k) for k in ("revenue", "tickets", "usage", "churn")}
    by_revenue = compute_retention(acc, **opt)
    by_events = compute_retention(acc, churn_source="events", **opt)
    assert by_revenue.status["churned"].sum() < by_events.status["churned"].sum()
    churned_accounts = set(raven.table("churn")["account_id"])
    ev = by_events.status.set_index("account_id")["churned"]
    assert ev[ev].index.isin(churned_accounts).all()
    with pytest.raises(
        ValueError, match="The 'churn_source' parameter must be one of revenue, events, flag"
    ):
        compute_retention(acc, churn_source="vibes", **opt)


def test_usage_links_through_subscription_ids(raven):
    ret = compute_retention(
        raven.table("accounts"), revenue=raven.table("revenue"), usage=raven.table("usage")
    )
    assert "usage" in ret.meta and ret.components["usage"].notna().sum() > 400


def test_negative_mrr_and_overlapping_periods_are_counted():
    revenue = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "b"],
            "period": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-02-01", "2024-01-01", "2024-02-01"]
            ),
            "mrr": [100.0, 120.0, 10.0, 50.0, -5.0],
        }
    )
    ret = compute_retention(pd.DataFrame({"account_id": ["a", "b"]}), revenue=revenue)
    assert any("1 row(s) with negative MRR" in w for w in ret.warnings)
    assert any("1 account-period(s) appear more than once" in w for w in ret.warnings)
    comp = ret.components.set_index("account_id")
    assert comp.loc["a", "nrr"] == pytest.approx(1.3)
    assert comp.loc["b", "retention"] == 0.0  # no MRR in the last month


def test_health_from_deals_ranks_big_fast_repeat_customers_first():
    deals = pd.DataFrame(
        {
            "deal_id": list("123456789"),
            "account_id": ["big", "big", "big", "mid", "mid", "small", "small", "x", "y"],
            "outcome": ["won", "won", "won", "won", "lost", "won", "lost", "won", "won"],
            "amount": [900, 800, 700, 300, 100, 50, 10, 200, 250],
            "created_at": pd.to_datetime(["2024-01-01"] * 9),
            "closed_at": pd.to_datetime(
                [
                    "2024-01-20",
                    "2024-01-25",
                    "2024-01-30",
                    "2024-03-01",
                    "2024-03-01",
                    "2024-06-01",
                    "2024-06-01",
                    "2024-02-01",
                    "2024-02-15",
                ]
            ),
        }
    )
    res = compute_health(deals, weights={"revenue": 1.0})
    t = res.table.set_index("account_id")
    assert t.loc["big", "health_rank"] == 1 and t.loc["big", "health_tier"] == "best"
    assert t.loc["small", "health_tier"] == "worst"
    assert res.weights["revenue"] > 0.35
