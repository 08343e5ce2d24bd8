"""The learner's own rules: binning that keeps the signal, neutral blanks, vetoes that
earn their place, the value objective and the estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpkit import IcpLearner
from icpkit.errors import NotFittedError
from icpkit.features import FeatureSpace, numeric_edges, roundest
from icpkit.profile import fit_icp
from icpkit.sample import generate
from icpkit.scoring.scorer import score_accounts

from .conftest import dataset


@pytest.fixture(scope="module")
def sample_tables():
    return generate(n_accounts=1500)


@pytest.fixture(scope="module")
def sample_build(sample_tables):
    t = sample_tables
    kinds = {
        "industry": "str",
        "employees": "num",
        "annual_revenue": "num",
        "country": "str",
        "region": "str",
        "founded_year": "num",
        "funding_stage": "str",
        "tech_stack": "list",
        "current_solution": "str",
    }
    kinds = {k: v for k, v in kinds.items() if k in t["accounts"].columns}
    return fit_icp(t["accounts"], t["deals"], kinds=kinds, families={}, objective="win")


def spend_table(n: int = 2400, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Past spend is 0 for 70% of accounts (17% win) and above 0 for the rest (about 60%)."""
    r = np.random.default_rng(seed)
    spend = np.where(r.random(n) < 0.7, 0.0, np.round(r.lognormal(8, 1, n), 2))
    p = np.where(spend == 0, 0.17, 0.6)
    won = r.random(n) < p
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "past_spend": spend,
            "noise": r.choice(["a", "b", "c"], n),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": accounts["account_id"],
            "outcome": np.where(won, "won", "lost"),
        }
    )
    return accounts, deals


def test_zero_heavy_number_column_keeps_its_zero_split():
    accounts, deals = spend_table()
    build = fit_icp(
        accounts, deals, kinds={"past_spend": "num", "noise": "str"}, families={}, search=False
    )
    spec = next(s for s in build.space.specs if s.attribute == "past_spend")
    labels = [b.text() for b in spec.bins]
    assert "past_spend = 0" in labels, labels
    feat = next(f for f in build.icp.scorecard.features if f.attribute == "past_spend")
    zero = next(b for b in feat.bins if b.text() == "past_spend = 0")
    assert zero.points < 0 and max(b.points for b in feat.bins) > 0
    assert build.model.cv_auc_ > 0.68


def test_without_supervision_zero_mass_still_gets_its_own_bin():
    accounts, _ = spend_table()
    space = FeatureSpace(min_support=30).fit(accounts, {"past_spend": "num"}, {})
    assert "past_spend = 0" in [b.text() for b in space.specs[0].bins]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e7, 1e9, allow_nan=False), min_size=40, max_size=300),
    st.booleans(),
)
def test_numeric_edges_are_sorted_and_inside_the_data(values, supervised):
    vals = np.array(values)
    y = (vals > np.median(vals)) if supervised else None
    edges, masses = numeric_edges(vals, y, max_bins=5, min_support=10)
    assert edges == sorted(edges)
    assert all(vals.min() < e for e in edges)
    assert all(m in vals for m in masses)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-3, 1e12, allow_nan=False))
def test_roundest_stays_within_ten_percent(x):
    r = roundest(x, 0.0, 1e13)
    assert abs(r - x) <= 0.1 * x + 1e-9 * x or r == pytest.approx(x, rel=0.02)


def test_a_blank_that_means_nothing_scores_zero():
    r = np.random.default_rng(5)
    n = 2000
    industry = r.choice(["logistics", "retail"], n)
    stage = np.where(r.random(n) < 0.4, None, r.choice(["seed", "series_a"], n))
    p = np.where(industry == "logistics", 0.6, 0.2)
    won = r.random(n) < p
    accounts = pd.DataFrame(
        {"account_id": [f"A{i}" for i in range(n)], "industry": industry, "stage": stage}
    )
    deals = pd.DataFrame(
        {"deal_id": accounts["account_id"], "account_id": accounts["account_id"], "outcome": won}
    )
    deals["outcome"] = np.where(won, "won", "lost")
    build = fit_icp(
        accounts, deals, kinds={"industry": "str", "stage": "str"}, families={}, search=False
    )
    for feat in build.icp.scorecard.features:
        for b in feat.bins:
            if b.op == "missing":
                assert b.points == 0, (feat.attribute, b.points)
    rows = pd.DataFrame(
        {"account_id": ["x", "y"], "industry": ["logistics"] * 2, "stage": [None, None]}
    )
    s = score_accounts(build.icp, rows).frame
    assert "(blank)" not in s["reasons"][0]


def test_a_blank_that_is_itself_significant_keeps_its_points():
    r = np.random.default_rng(6)
    n = 2000
    blank = r.random(n) < 0.4
    stage = np.where(blank, None, r.choice(["seed", "series_a"], n))
    won = r.random(n) < np.where(blank, 0.1, 0.5)
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "stage": stage})
    deals = pd.DataFrame(
        {
            "deal_id": accounts["account_id"],
            "account_id": accounts["account_id"],
            "outcome": np.where(won, "won", "lost"),
        }
    )
    build = fit_icp(accounts, deals, kinds={"stage": "str"}, families={}, search=False)
    feat = build.icp.scorecard.features[0]
    blank_bin = next(b for b in feat.bins if b.op == "missing")
    assert blank_bin.points < 0
    assert blank_bin.text() == "stage (blank)"


def test_vetoes_stay_within_the_share_and_hold_out(sample_tables, sample_build):
    icp = sample_build.icp
    scored = score_accounts(icp, sample_tables["accounts"]).frame
    share = float((scored["tier"] == "excluded").mean())
    assert 0 < share <= 0.2
    enabled = [d for d in icp.disqualifiers if d.enabled]
    assert enabled and all("held out" in d.reason for d in enabled)
    assert {"government"} <= {v for d in enabled for v in (d.in_ or [])}
    for d in icp.disqualifiers:
        if not d.enabled:
            assert d.reason.startswith("warning sign")


def test_a_tight_veto_budget_switches_vetoes_to_warnings(sample_tables):
    t = sample_tables
    build = fit_icp(
        t["accounts"],
        t["deals"],
        kinds={"industry": "str", "employees": "num"},
        families={},
        objective="win",
        search=False,
        max_excluded_share=0.01,
    )
    assert not any(d.enabled for d in build.icp.disqualifiers)
    assert any("limit 1%" in d.reason for d in build.icp.disqualifiers)


def test_tiers_report_what_their_accounts_did(sample_build):
    for t in sample_build.icp.tiers:
        assert t.outcomes is not None
        assert t.outcomes.deals >= t.outcomes.wins >= 0


def test_value_objective_on_the_sample_uses_revenue(sample_tables):
    t = sample_tables
    learner = IcpLearner().fit(t["accounts"], t["deals"], revenue=t["revenue"])
    assert learner.icp_.training.objective == "value"
    assert learner.icp_.training.successes < learner.icp_.training.wins
    assert any(w.startswith("objective: value") for w in learner.warnings_)
    won_only = IcpLearner(objective="win").fit(t["accounts"], t["deals"])
    assert won_only.icp_.training.objective == "win"


def test_ravenstack_learns_from_retention_when_every_deal_is_won(tmp_path):
    from icpkit.ingest import ingest
    from icpkit.pipeline import attribute_meta, retention_inputs
    from icpkit.workspace import Workspace

    d = dataset("ravenstack_saas")
    subs = pd.read_csv(d / "ravenstack_subscriptions.csv")
    first = subs.sort_values("start_date").drop_duplicates("account_id")
    deals_csv = tmp_path / "deals.csv"
    pd.DataFrame(
        {
            "deal_id": first["subscription_id"],
            "account_id": first["account_id"],
            "outcome": "won",
            "amount": first["arr_amount"],
            "created_at": first["start_date"],
            "closed_at": first["start_date"],
        }
    ).to_csv(deals_csv, index=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest(
            ws,
            {
                "accounts": d / "ravenstack_accounts.csv",
                "deals": deals_csv,
                "revenue": d / "ravenstack_subscriptions.csv",
                "churn": d / "ravenstack_churn_events.csv",
            },
        )
        kinds, fams = attribute_meta(ws)
        accounts, deals = ws.table("accounts"), ws.table("deals")
        # the subscriptions show every account paying; the churn events say who left
        assert (retention_inputs(ws).components["retention"] == 1).all()
        ret = retention_inputs(ws, "events")
        # a backtest's fold learns retention as it stood at its cutoff, not from the future:
        # half-way through the churn events, only the earlier half had left
        churned_at = pd.to_datetime(ws.table("churn")["churned_at"])
        mid = churned_at.quantile(0.5)
        then = retention_inputs(ws, "events", as_of=mid)
    assert ret is not None and then is not None and then.as_of <= mid < ret.as_of
    left_now = set(ret.components.loc[ret.components["retention"].eq(0), "account_id"])
    left_then = set(then.components.loc[then.components["retention"].eq(0), "account_id"])
    assert left_then and left_then < left_now
    with pytest.raises(ValueError, match="both won and lost"):
        fit_icp(accounts, deals, kinds=kinds, families=fams, objective="win")
    build = fit_icp(
        accounts,
        deals,
        kinds=kinds,
        families=fams,
        extra_health=ret.components,
        extra_health_meta=ret.meta,
    )
    assert build.icp.training.objective == "value"
    assert 0 < build.icp.training.successes < build.icp.training.deals
    used = {f.attribute for f in build.icp.scorecard.features}
    assert "churn_flag" not in used
    assert any("churn_flag" in w and "excluded" in w for w in build.warnings)


def test_learner_contract():
    learner = IcpLearner(objective="win", min_support=20)
    assert learner.get_params()["min_support"] == 20
    with pytest.raises(NotFittedError):
        learner.score(pd.DataFrame({"account_id": ["a"]}))
    with pytest.raises(ValueError, match="The 'objective' parameter of IcpLearner must be one of"):
        IcpLearner(objective="revenue").fit(pd.DataFrame(), pd.DataFrame())
    with pytest.raises(ValueError, match="must be a float in \\[0, 1\\]. Got 2"):
        IcpLearner(max_excluded_share=2).fit(pd.DataFrame(), pd.DataFrame())


def test_one_icp_per_product_line(tmp_path, sample_tables):
    from icpkit.errors import InputError
    from icpkit.pipeline import run_all
    from icpkit.workspace import Workspace

    acc, deals = tmp_path / "accounts.csv", tmp_path / "deals.csv"
    sample_tables["accounts"].to_csv(acc, index=False)
    sample_tables["deals"].to_csv(deals, index=False)
    closed = sample_tables["deals"][sample_tables["deals"]["outcome"].isin(["won", "lost"])]
    want = int((closed["product"].str.lower() == "growth").sum())
    res = run_all({"accounts": acc, "deals": deals}, tmp_path / "growth", product="Growth")
    assert any("--product Growth: learning from" in w for w in res.warnings)
    with Workspace(tmp_path / "growth", read_only=True) as ws:
        assert set(ws.table("deals")["product"].str.lower()) == {"growth"}
        assert ws.current_icp().training.deals == want
    with pytest.raises(InputError, match="no deal has that product") as err:
        run_all({"accounts": acc, "deals": deals}, tmp_path / "none", product="Platinum")
    assert "growth" in str(err.value) and "starter" in str(err.value)


def test_a_best_tier_of_small_deals_is_called_out():
    r = np.random.default_rng(9)
    n = 1500
    industry = r.choice(["retail", "energy", "media"], n, p=[0.3, 0.35, 0.35])
    won = r.random(n) < np.where(industry == "retail", 0.8, 0.25)
    amount = np.where(industry == "retail", r.normal(1000, 100, n), r.normal(30000, 3000, n))
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "industry": industry})
    deals = pd.DataFrame(
        {
            "deal_id": accounts["account_id"],
            "account_id": accounts["account_id"],
            "outcome": np.where(won, "won", "lost"),
            "amount": amount.round(),
        }
    )
    build = fit_icp(accounts, deals, kinds={"industry": "str"}, families={}, search=False)
    best = next(t for t in build.icp.tiers if t.outcomes and t.outcomes.wins)
    assert best.criteria and best.outcomes.median_deal < 2000
    note = next(w for w in build.warnings if "points at small deals" in w)
    assert note in build.icp.evidence.message and "won deals" in note


def test_the_veto_budget_is_a_cli_option(small_crm, tmp_path):
    from typer.testing import CliRunner

    from icpkit import icpfile
    from icpkit.cli import app

    out = tmp_path / "out"
    args = ["run", "--accounts", small_crm["accounts"], "--deals", small_crm["deals"]]
    r = CliRunner().invoke(app, [str(a) for a in [*args, "--out", out, "--max-excluded", "0"]])
    assert r.exit_code == 0, r.output
    icp = icpfile.load(out / "icp.yaml")
    assert icp.disqualifiers and not any(d.enabled for d in icp.disqualifiers)
    assert "limit 0%" in icp.disqualifiers[0].reason
    bad = CliRunner().invoke(app, [str(a) for a in [*args, "--out", out, "--max-excluded", "2"]])
    assert bad.exit_code != 0 and "max-excluded" in bad.output


def test_no_validate_skips_the_backtest_and_says_so(small_crm, tmp_path):
    import json

    from typer.testing import CliRunner

    from icpkit.cli import app

    out = tmp_path / "out"
    args = ["run", "--accounts", small_crm["accounts"], "--deals", small_crm["deals"]]
    r = CliRunner().invoke(app, [str(a) for a in [*args, "--out", out]])
    assert r.exit_code == 0, r.output
    assert "heldout" in json.loads((out / "validation.json").read_text())
    r = CliRunner().invoke(app, [str(a) for a in [*args, "--out", out, "--no-validate"]])
    assert r.exit_code == 0, r.output
    assert "validation skipped (--no-validate)" in r.output
    # the previous run's figures are replaced, not left to describe this ICP
    assert "skipped" in json.loads((out / "validation.json").read_text())
    md = (out / "report.md").read_text()
    assert "Validation skipped" in md and "held-out" in md


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3000), st.floats(0, 1)), min_size=1, max_size=40),
    st.one_of(st.sampled_from([0.0, 1.0, 0.5, 1 / 3, 2.2250738585072014e-308]), st.floats(0, 1)),
)
def test_binom_pvalues_are_scipys_binomtest(groups, p0):
    """The vectorised two-sided test gives scipy's p-value for every group, bit for bit."""
    from scipy import stats

    from icpkit.mining.stats import binom_pvalues

    n = np.array([g[0] for g in groups])
    k = np.floor(np.array([g[1] for g in groups]) * (n + 1)).astype(int).clip(0, n)
    try:
        want = [
            stats.binomtest(int(a), int(b), p0).pvalue if b > 0 else 1.0
            for a, b in zip(k, n, strict=True)
        ]
    except OverflowError:  # scipy's own limit (a rate at the edge of the float range, ~1e-308)
        with pytest.raises(OverflowError):
            binom_pvalues(k, n, p0)
        return
    assert binom_pvalues(k, n, p0).tolist() == want


@settings(max_examples=25, deadline=None)
@given(
    st.integers(12, 200),
    st.integers(1, 12),
    st.floats(0.05, 0.95),
    st.floats(0, 3),
    st.integers(0, 2**31 - 1),
)
def test_the_scorecards_log_loss_is_scikit_learns(rows, cols, rate, signal, seed):
    """The penalty search scores folds as scoring="neg_log_loss" does, bit for bit."""
    import warnings

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    from icpkit.scoring.fit import neg_log_loss

    r = np.random.default_rng(seed)
    X = (r.random((rows, cols)) < r.random(cols)).astype(float)
    y = (r.random(rows) < np.clip(rate + signal * (X[:, 0] - 0.5) / 4, 0, 1)).astype(int)
    if min(y.sum(), len(y) - y.sum()) < 3:
        y[:3], y[-3:] = 0, 1
    runs = []
    for scoring in ("neg_log_loss", neg_log_loss):
        cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search = LogisticRegressionCV(Cs=np.logspace(-3, 1, 9), cv=cv, scoring=scoring)
            runs.append(search.fit(X, y))
    assert runs[1].scores_[1].tolist() == runs[0].scores_[1].tolist()
    assert runs[1].C_.tolist() == runs[0].C_.tolist()


def test_the_null_controls_lean_search_finds_the_same_tiers(sample_build):
    """Without revenue shares and cycles the search gives every segment the same figures
    and tier; only those two are left out."""
    from icpkit.mining.segments import SegmentMiner

    b = sample_build
    ms = b.icp.evidence.min_support
    full = SegmentMiner(min_support=ms).fit(b.space, b.training)
    lean = SegmentMiner(min_support=ms, detail=False).fit(b.space, b.training)
    segs = [*full.univariate_, *full.segments_]
    assert any(s.tier for s in segs) and any(s.revenue_share for s in segs)
    for a, c in zip(segs, [*lean.univariate_, *lean.segments_], strict=True):
        assert (a.keys, a.n, a.wins, a.accounts, a.p_value, a.q_value, a.tier, a.flag) == (
            c.keys, c.n, c.wins, c.accounts, c.p_value, c.q_value, c.tier, c.flag
        )  # fmt: skip
        assert c.revenue_share is None and c.median_cycle_days is None
