"""The seeded sample company: shape, determinism, and that the planted truth is really there."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from icpkit.sample import END_DATE, PLANTED, START_DATE, TABLE_NAMES, generate, write_sample
from icpkit.schema import TABLES


@pytest.fixture(scope="module")
def data(sample_frames) -> dict[str, pd.DataFrame]:
    return sample_frames


@pytest.fixture(scope="module")
def closed(data) -> pd.DataFrame:
    """Closed deals joined to their accounts, with ICP / negative-ICP flags from PLANTED."""
    deals = data["deals"]
    x = deals[deals["outcome"] != "open"].merge(data["accounts"], on="account_id", how="left")
    lo, hi = PLANTED["icp"]["employees"]
    x["icp"] = (
        x["industry"].isin(PLANTED["icp"]["industry"]) & x["employees"].between(lo, hi)
    ).fillna(False)
    x["neg"] = (
        x["industry"].isin(PLANTED["negative"]["industry"])
        | (x["employees"] < PLANTED["negative"]["employees_below"])
    ).fillna(False)
    x["won"] = x["outcome"] == "won"
    return x


def _odds(won: pd.Series) -> float:
    p = won.mean()
    return p / (1 - p)


def test_generate_returns_every_table_with_canonical_columns(data):
    assert set(data) == set(TABLE_NAMES)
    for name, df in data.items():
        canonical = {c.name for c in TABLES[name].columns}
        assert set(TABLES[name].required) <= set(df.columns), name
        extra = set(df.columns) - canonical
        assert extra == ({"current_solution"} if name == "accounts" else set()), (name, extra)
        assert len(df) > 0, name
    for name in ("accounts", "deals", "contacts", "tickets", "conversations"):
        key = TABLES[name].key
        assert data[name][key].is_unique, name


def test_row_counts_are_realistic(data):
    assert len(data["accounts"]) == 3000
    closed = data["deals"]["outcome"].isin(["won", "lost"]).sum()
    assert 5000 <= closed <= 7000
    assert (data["deals"]["outcome"] == "open").sum() > 100
    assert 10_000 <= len(data["conversations"]) <= 20_000
    per_account = data["contacts"].groupby("account_id").size()
    assert per_account.median() >= 3


def test_same_seed_same_frames_other_seed_differs():
    a, b = generate(seed=11, n_accounts=300), generate(seed=11, n_accounts=300)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = generate(seed=12, n_accounts=300)
    assert not a["deals"].equals(c["deals"])


def test_no_date_after_the_end_and_deals_inside_the_window(data):
    for name, df in data.items():
        if name == "events":  # renewals are scheduled ahead: the only later dates
            df = df[~df["type"].isin(PLANTED["upcoming_trigger"]["types"])]
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                assert df[col].max() <= END_DATE, (name, col)
    deals = data["deals"]
    assert deals["created_at"].min() >= START_DATE
    done = deals["outcome"] != "open"
    assert deals.loc[done, "closed_at"].notna().all()
    assert deals.loc[~done, "closed_at"].isna().all()
    assert (deals.loc[done, "closed_at"] >= deals.loc[done, "created_at"]).all()
    assert (data["revenue"]["period"].dt.day == 1).all()


def test_accounts_are_plausible(data):
    acc = data["accounts"]
    assert acc["industry"].nunique() >= 10
    assert acc["employees"].min() >= 5 and acc["employees"].max() <= 50_000
    emp, rev = acc["employees"].astype(float), acc["annual_revenue"].astype(float)
    assert (
        np.corrcoef(np.log(emp[emp.notna() & rev.notna()]), np.log(rev[emp.notna() & rev.notna()]))[
            0, 1
        ]
        > 0.7
    )
    assert acc.groupby("country")["region"].nunique().max() == 1  # region follows country
    for col in ("employees", "annual_revenue", "tech_stack"):
        assert 0.005 < acc[col].isna().mean() < 0.1, col
    tools = acc["tech_stack"].dropna().str.split(";").explode()
    assert tools.nunique() == 15 and "snowflake" in set(tools)
    assert acc["domain"].is_unique and acc["name"].is_unique
    assert set(acc["current_solution"]) == {
        "spreadsheets",
        "legacy_erp",
        "competitor_a",
        "competitor_b",
        "none",
    }


def test_amounts_and_lost_reasons(data):
    deals = data["deals"]
    assert (deals.loc[deals["outcome"] == "won", "amount"] > 0).all()
    assert (deals.loc[deals["outcome"] == "lost", "amount"] > 0).all()
    lost = deals["outcome"] == "lost"
    assert deals.loc[lost, "lost_reason"].notna().all()
    assert deals.loc[~lost, "lost_reason"].isna().all()
    assert set(deals.loc[lost, "lost_reason"]) == {
        "price",
        "no decision",
        "competitor",
        "timing",
        "missing feature",
    }
    assert set(deals["source"]) == {"inbound", "outbound", "partner", "event", "paid_search"}


def test_base_win_rate(closed):
    assert 0.25 <= closed["won"].mean() <= 0.35


def test_planted_icp_has_at_least_3x_odds(closed):
    icp, rest = closed[closed["icp"]], closed[~closed["icp"]]
    assert len(icp) > 300
    assert _odds(icp["won"]) / _odds(rest["won"]) >= 3.0
    snow = icp["tech_stack"].fillna("").str.contains(PLANTED["icp"]["tech_stack_has"])
    assert icp.loc[snow, "won"].mean() > icp.loc[~snow, "won"].mean() + 0.08


def test_negative_icp_loses_most_deals(closed):
    neg, rest = closed[closed["neg"]], closed[~closed["neg"] & ~closed["icp"]]
    assert neg["won"].mean() < 0.15
    assert neg["won"].mean() < 0.5 * rest["won"].mean()
    gov = closed["industry"].isin(PLANTED["negative"]["industry"])
    small = closed["employees"] < PLANTED["negative"]["employees_below"]
    for part in (gov, small):  # each half of the negative ICP loses on its own
        assert part.sum() > 100
        assert closed.loc[part, "won"].mean() < 0.5 * rest["won"].mean()


def test_noise_attributes_carry_little_signal(closed):
    rest = closed[~closed["icp"] & ~closed["neg"]]
    rates = rest.groupby("region")["won"].mean()
    assert rates.max() - rates.min() < 0.12


def test_icp_sales_cycle_is_shorter_and_expands_more(closed, data):
    days = (closed["closed_at"] - closed["created_at"]).dt.days
    assert days[closed["icp"]].median() < 0.75 * days[~closed["icp"]].median()
    deals = data["deals"].merge(closed[["account_id", "icp"]].drop_duplicates(), on="account_id")
    per = deals.groupby(["account_id", "icp"]).size().reset_index(name="n")
    assert per.loc[per["icp"], "n"].mean() > per.loc[~per["icp"], "n"].mean()


def test_trigger_events_raise_the_win_rate(closed, data):
    ev = data["events"]
    assert set(ev["type"]) == set(
        PLANTED["trigger"]["types"]
        + PLANTED["trigger"]["noise_types"]
        + PLANTED["upcoming_trigger"]["types"]
    )
    trig = ev[ev["type"].isin(PLANTED["trigger"]["types"])]
    m = closed[["deal_id", "account_id", "created_at"]].merge(trig, on="account_id")
    gap = (m["created_at"] - m["occurred_at"]).dt.days
    hit = set(m.loc[(gap > 0) & (gap <= PLANTED["trigger"]["window_days"]), "deal_id"])
    t = closed["deal_id"].isin(hit)
    assert 0.1 < t.mean() < 0.4
    assert closed.loc[t, "won"].mean() > closed.loc[~t, "won"].mean() + 0.1
    details = ev.loc[ev["type"] == "funding_round", "detail"]
    assert details.str.match(r"^(Seed|Series [ABC]|Growth equity) \$\d+M$").all()


def test_renewals_due_soon_raise_the_win_rate_and_some_lie_ahead(closed, data):
    ev = data["events"]
    up = PLANTED["upcoming_trigger"]
    ren = ev[ev["type"].isin(up["types"])]
    m = closed[["deal_id", "account_id", "created_at"]].merge(ren, on="account_id")
    ahead = (m["occurred_at"] - m["created_at"]).dt.days
    hit = set(m.loc[(ahead >= 0) & (ahead <= up["window_days"]), "deal_id"])
    t = closed["deal_id"].isin(hit)
    assert 0.05 < t.mean() < 0.3
    assert closed.loc[t, "won"].mean() > closed.loc[~t, "won"].mean() + 0.2
    later = ren["occurred_at"] > END_DATE
    assert later.sum() >= 20 and ren.loc[later, "occurred_at"].max() <= END_DATE + pd.Timedelta(
        days=up["window_days"]
    )


def test_persona_effects(closed, data):
    c = data["contacts"]
    title = c["title"].fillna("").str.lower()
    champ = c["deal_role"] == "champion"
    ops = set(
        c.loc[
            champ & title.str.contains(r"operat|ops mgr|data eng|supply|logistics|warehouse"),
            "deal_id",
        ]
    )
    blockers = set(c.loc[c["deal_role"] == "blocker", "deal_id"])
    won = closed.set_index("deal_id")["won"]
    in_ops = won.index.isin(list(ops))
    in_block = won.index.isin(list(blockers))
    assert won[in_ops].mean() > won[~in_ops].mean() + 0.05
    assert won[in_block].mean() < won[~in_block].mean() - 0.1
    # late blockers only speak in the last part of the deal
    conv = data["conversations"].merge(
        c.loc[c["deal_role"] == "blocker", ["contact_id", "deal_id"]], on="contact_id"
    )
    conv = conv.merge(data["deals"][["deal_id", "created_at", "closed_at"]], on="deal_id").dropna(
        subset=["closed_at"]
    )
    span = (conv["closed_at"] - conv["created_at"]).dt.days.clip(lower=1)
    frac = (conv["occurred_at"] - conv["created_at"]).dt.days / span
    assert len(conv) > 200 and frac.min() >= 0.75


def test_titles_are_messy(data):
    c = data["contacts"]
    titles = c["title"].dropna()
    assert titles.nunique() >= 150
    assert c["title"].isna().mean() > 0.01
    for token in ("Sr.", "Mgr", "VP,", "Dir.", "Eng"):
        assert titles.str.contains(token, regex=False).any(), token
    assert (titles == titles.str.lower()).mean() > 0.05
    assert (titles == titles.str.upper()).mean() > 0.02
    role = c["deal_role"]
    assert 0.3 < role.notna().mean() < 0.6
    assert set(role.dropna()) == {
        "champion",
        "economic buyer",
        "technical buyer",
        "end user",
        "blocker",
    }
    assert c["department"].isna().mean() > 0.1
    emails = c["email"].dropna()
    assert emails.str.match(r"^[a-z._]+@[a-z0-9.]+$").all()


def test_revenue_tickets_follow_the_segments(data):
    acc = data["accounts"]
    lo, hi = PLANTED["icp"]["employees"]
    acc = acc.assign(
        icp=(
            acc["industry"].isin(PLANTED["icp"]["industry"]) & acc["employees"].between(lo, hi)
        ).fillna(False),
        neg=((acc["industry"] == "government") | (acc["employees"] < 20)).fillna(False),
    )
    rev = data["revenue"]
    assert (rev["mrr"] > 0).all()
    churn = (
        rev.groupby("account_id")["churned"]
        .any()
        .rename("churned")
        .reset_index()
        .merge(acc, on="account_id")
    )
    rate = {
        k: churn.loc[m, "churned"].mean()
        for k, m in (
            ("icp", churn["icp"]),
            ("neg", churn["neg"]),
            ("rest", ~churn["icp"] & ~churn["neg"]),
        )
    }
    assert rate["neg"] > 0.3 and rate["neg"] > 2 * rate["rest"] > 2 * rate["icp"], rate
    grow = (
        rev.merge(acc, on="account_id").groupby(["account_id", "icp"])["mrr"].agg(["first", "last"])
    )
    grow = (grow["last"] / grow["first"]).groupby(level="icp").median()
    assert grow[True] > grow[False] and grow[True] > 1.2
    assert rev.groupby("account_id")["churned"].sum().max() == 1
    won_accounts = set(data["deals"].loc[data["deals"]["outcome"] == "won", "account_id"])
    assert set(rev["account_id"]) == won_accounts
    t = data["tickets"].merge(acc, on="account_id")
    assert t.loc[t["neg"], "escalated"].mean() > 1.5 * t.loc[~t["neg"], "escalated"].mean()
    assert set(data["tickets"]["account_id"]) <= won_accounts


def test_conversation_themes_and_recent_pricing(data):
    conv = data["conversations"].merge(
        data["accounts"][["account_id", "industry", "employees"]], on="account_id"
    )
    lo, hi = PLANTED["icp"]["employees"]
    icp = (
        conv["industry"].isin(PLANTED["icp"]["industry"]) & conv["employees"].between(lo, hi)
    ).fillna(False)
    text = conv["text"].str.lower()
    icp_talk = text.str.contains("|".join(map(re.escape, PLANTED["themes"]["icp"])))
    neg_talk = text.str.contains("|".join(map(re.escape, PLANTED["themes"]["negative"])))
    assert icp_talk[icp].mean() > 3 * icp_talk[~icp].mean()
    assert neg_talk[~icp].mean() > neg_talk[icp].mean()
    assert set(conv["channel"]) == {"call", "email", "ticket", "note"}
    assert set(conv["speaker"]) == {"customer", "us"}
    assert conv["contact_id"].isin(data["contacts"]["contact_id"]).all()
    june = conv[conv["occurred_at"] >= "2026-06-01"]
    assert june["text"].str.contains("pric", case=False).sum() >= 20
    tiers = {
        t
        for t in ("Starter", "Growth", "Enterprise")
        if june["text"].str.contains(f"{t} tier").any()
    }
    assert tiers == {"Starter", "Growth", "Enterprise"}


def test_write_sample_round_trip(tmp_path):
    frames = generate(seed=3, n_accounts=400)
    paths = write_sample(tmp_path / "out", seed=3, n_accounts=400)
    assert set(paths) == set(TABLE_NAMES)
    for name, path in paths.items():
        assert path.name == f"{name}.csv" and path.exists()
        back = pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""])
        assert len(back) == len(frames[name]), name
        assert list(back.columns) == list(frames[name].columns)
    raw = (tmp_path / "out" / "deals.csv").read_text(encoding="utf-8")
    assert re.search(r",\d{4}-\d{2}-\d{2},", raw) and "00:00:00" not in raw
    acc = pd.read_csv(paths["accounts"])
    assert acc["tech_stack"].dropna().str.contains(";").mean() > 0.9
    assert set(pd.read_csv(paths["revenue"])["churned"].astype(str).str.lower()) <= {
        "true",
        "false",
    }


def test_small_and_invalid_sizes():
    tiny = generate(seed=1, n_accounts=20)
    assert len(tiny["accounts"]) == 20
    with pytest.raises(ValueError):
        generate(n_accounts=0)


def test_generation_is_fast():
    start = time.perf_counter()
    generate()
    assert time.perf_counter() - start < 5.0
