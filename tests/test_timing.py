from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpkit.mining.stats import odds_ratio, shrink
from icpkit.timing import clean_events, fit_timing, score_timing


def closed_deals(created: pd.DatetimeIndex, won: np.ndarray, cycle_days: int) -> pd.DataFrame:
    """One closed deal per account, ``cycle_days`` from creation to close."""
    n = len(won)
    return pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "created_at": created,
            "closed_at": created + pd.Timedelta(days=cycle_days),
            "outcome": np.where(won, "won", "lost"),
        }
    )


def planted(seed: int = 5, n: int = 2000):
    """Deals win 55% after a funding round within 60 days, 25% otherwise; hires are noise."""
    r = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D")
    funded = r.random(n) < 0.3
    lag = r.integers(1, 60, n)
    won = r.random(n) < np.where(funded, 0.55, 0.25)
    deals = closed_deals(created, won, cycle_days=40)
    ev = pd.DataFrame(
        {
            "account_id": deals["account_id"][funded],
            "occurred_at": (created - pd.to_timedelta(lag, unit="D"))[funded],
            "type": "Funding_Round",
            "detail": "Series B $20M",
        }
    )
    hires = r.random(n) < 0.3
    ev2 = pd.DataFrame(
        {
            "account_id": deals["account_id"][hires],
            "occurred_at": (created - pd.to_timedelta(r.integers(1, 90, n), unit="D"))[hires],
            "type": "executive_hire",
            "detail": "New VP Finance",
        }
    )
    return deals, pd.concat([ev, ev2], ignore_index=True)


def test_planted_trigger_is_recovered_and_noise_is_not():
    deals, events = planted()
    ev, warnings = clean_events(events, set(deals["account_id"]), today=pd.Timestamp("2026-01-01"))
    tm = fit_timing(deals, ev, min_support=30)
    got = {t["type"]: t for t in tm.to_icp()["triggers"]}
    assert "funding_round" in got and "executive_hire" not in got
    f = got["funding_round"]
    assert f["window_days"] in (60, 90, 180) and f["points"] > 10
    assert f["evidence"]["win_rate"] == pytest.approx(0.55, abs=0.06)
    assert f["evidence"]["rate_without"] == pytest.approx(0.25, abs=0.04)


@pytest.mark.parametrize("every_win_funded", [False, True])
def test_trigger_odds_ratio_is_the_segments_shrunk_odds_ratio(every_win_funded: bool) -> None:
    """A trigger's odds ratio is the one segments report: the shrunk win rate's odds
    against the rate without the event, also when no deal was won without it."""
    deals, events = planted()
    if every_win_funded:
        funded = set(events.loc[events["type"] == "Funding_Round", "account_id"])
        lost = ~deals["account_id"].isin(funded)
        deals.loc[lost, "outcome"] = "lost"
    ev, _ = clean_events(events, set(deals["account_id"]), today=pd.Timestamp("2026-01-01"))
    tm = fit_timing(deals, ev, min_support=30)
    assert tm.triggers
    if every_win_funded:
        assert any(t.rate_without == 0 for t in tm.triggers)
    for t in tm.triggers:
        shrunk = shrink(np.array([t.wins]), np.array([t.n]), t.rate_without, 20.0)
        assert t.odds_ratio == float(odds_ratio(shrunk, t.rate_without)[0])


def test_timing_decays_and_explains_why_now():
    timing = {
        "half_life_days": 30,
        "triggers": [{"type": "funding_round", "window_days": 90, "points": 20}],
    }
    accounts = pd.DataFrame({"account_id": ["fresh", "old", "none", "stale"]})
    events = pd.DataFrame(
        {
            "account_id": ["fresh", "old", "stale"],
            "occurred_at": pd.to_datetime(["2026-06-20", "2026-05-01", "2025-01-01"]),
            "type": ["funding_round"] * 3,
            "detail": ["Series B $25M", None, None],
        }
    )
    out = score_timing(
        timing, accounts, events, np.array([60, 60, 60, 60]), as_of=pd.Timestamp("2026-06-30")
    )
    assert out["timing"].tolist()[0] > out["timing"].tolist()[1] > 0
    assert out["timing"].tolist()[2:] == [0, 0]
    assert out["priority"].tolist()[0] == 60 + out["timing"][0]
    assert out["why_now"][0] == "funding round 10 days ago (Series B $25M)"


def test_bad_events_are_counted_not_silently_dropped():
    events = pd.DataFrame(
        {
            "account_id": ["a", "zz", "a", "a"],
            "occurred_at": pd.to_datetime(["2025-01-01", "2025-01-01", "2099-01-01", None]),
            "type": ["x", "x", "x", "x"],
        }
    )
    ev, warnings = clean_events(events, {"a"}, today=pd.Timestamp("2026-01-01"))
    # the event dated ahead is kept: it is an upcoming event, not an error
    assert sorted(ev["occurred_at"].dt.year.tolist()) == [2025, 2099]
    text = " ".join(warnings)
    assert "1 row(s) without a type or date" in text and "1 row(s) for unknown accounts" in text
    assert "future" not in text


def planted_renewals(seed: int = 9, n: int = 2000):
    """Deals win 60% when a renewal is due 1-59 days after they are created, 25% otherwise."""
    r = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D")
    due = r.random(n) < 0.3
    won = r.random(n) < np.where(due, 0.6, 0.25)
    deals = closed_deals(created, won, cycle_days=30)
    ev = pd.DataFrame(
        {
            "account_id": deals["account_id"][due],
            "occurred_at": (created + pd.to_timedelta(r.integers(1, 60, n), unit="D"))[due],
            "type": "contract_renewal",
        }
    )
    return deals, ev


def test_upcoming_renewal_is_tested_ahead_of_the_deal():
    deals, events = planted_renewals()
    tm = fit_timing(deals, events, min_support=30)
    got = {t["type"]: t for t in tm.to_icp()["triggers"]}
    r = got["contract_renewal"]
    assert r["when"] == "upcoming" and r["window_days"] in (60, 90)
    assert r["evidence"]["win_rate"] == pytest.approx(0.6, abs=0.06)
    assert r["tier"] == 1
    # tested the other way round (events before the deal) the renewal finds nothing
    past = fit_timing(deals, events, min_support=30, upcoming=set())
    assert not past.to_icp()["triggers"]


def test_which_event_types_are_scheduled_ahead():
    from icpkit.timing import upcoming_types

    deals = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01", "2026-03-01"])})
    events = pd.DataFrame(
        {
            "type": ["renewal_date", "audit", "funding_round", "funding_round"],
            "occurred_at": pd.to_datetime(["2025-01-01", "2026-09-01", "2026-03-20", "2026-01-01"]),
        }
    )
    today = pd.Timestamp("2026-04-01")
    # the audit lies in the future; a funding round after the last deal (a later
    # export) is not scheduled ahead, it has already happened
    assert upcoming_types(deals, events, today=today) == {"renewal_date", "audit"}
    assert upcoming_types(deals, events, today=pd.Timestamp("2026-03-10")) == {
        "renewal_date",
        "audit",
        "funding_round",
    }


def test_upcoming_event_is_active_until_it_falls_due():
    timing = {
        "half_life_days": 45,
        "triggers": [{"type": "renewal", "when": "upcoming", "window_days": 60, "points": 30}],
    }
    accounts = pd.DataFrame({"account_id": ["due_soon", "due_later", "too_far", "past"]})
    events = pd.DataFrame(
        {
            "account_id": ["due_soon", "due_later", "too_far", "past"],
            "occurred_at": pd.to_datetime(["2026-07-05", "2026-08-20", "2026-10-01", "2026-06-01"]),
            "type": "renewal",
            "detail": ["Contract with Competitor A up for renewal", None, None, None],
        }
    )
    out = score_timing(
        timing, accounts, events, np.array([60, 60, 60, 60]), as_of=pd.Timestamp("2026-06-30")
    )
    assert out["timing"].tolist()[0] > out["timing"].tolist()[1] > 0
    assert out["timing"].tolist()[2:] == [0, 0]
    assert out["why_now"][0] == "renewal in 5 days (Contract with Competitor A up for renewal)"
    assert out["trigger_tier"].tolist() == [1, 1, 0, 0]


def test_route_rule_raises_the_route_of_a_good_fit_with_a_tier_1_trigger():
    from icpkit.timing import DEFAULT_ROUTE_RULES, route_by_triggers

    route = np.array(["nurture", "nurture", "nurture", "deprioritize", "deprioritize"])
    tier = np.array(["2", "2", "2", "excluded", "none"])
    fit = np.array([70, 64, 70, 0, 66])
    ttier = np.array([1, 1, 2, 1, 1])
    new, notes = route_by_triggers(DEFAULT_ROUTE_RULES, route, tier, fit, ttier)
    # fit 70 + tier 1 moves; fit 64 does not; a tier 2 trigger does not; excluded never moves
    assert new.tolist() == ["high_touch", "nurture", "nurture", "deprioritize", "high_touch"]
    assert notes[0] == "nurture -> high_touch: fit 70 >= 65 with an active tier 1 trigger"
    assert notes[1:4] == ["", "", ""]
    # a rule never lowers a route
    same, _ = route_by_triggers(
        [{"min_fit": 0, "trigger_tier": 3, "route": "nurture"}],
        np.array(["high_touch"]),
        np.array(["1"]),
        np.array([90]),
        np.array([1]),
    )
    assert same.tolist() == ["high_touch"]


def test_events_dated_in_the_future_are_read_as_upcoming(tmp_path):
    from icpkit.ingest import read_table

    p = tmp_path / "events.csv"
    p.write_text(
        "account_id,occurred_at,type\na1,2025-01-01,funding_round\na1,2099-03-01,renewal\n"
    )
    ev, _, warnings = read_table("events", p)
    assert ev["occurred_at"].dt.year.tolist() == [2025, 2099]
    assert not any("future" in w for w in warnings)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["deprioritize", "nurture", "high_touch"]),
            st.sampled_from(["1", "2", "3", "none", "excluded"]),
            st.integers(0, 100),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=30,
    ),
    st.lists(
        st.fixed_dictionaries(
            {
                "min_fit": st.integers(0, 100),
                "trigger_tier": st.integers(1, 3),
                "route": st.sampled_from(["nurture", "high_touch"]),
            }
        ),
        max_size=3,
    ),
)
def test_route_rules_only_raise_and_never_move_an_excluded_account(rows, rules):
    from icpkit.timing import ROUTES, route_by_triggers

    route, tier, fit, ttier = (np.array(c) for c in zip(*rows, strict=True))
    new, notes = route_by_triggers(rules, route, tier, fit, ttier)
    rank = {r: i for i, r in enumerate(ROUTES)}
    for i in range(len(rows)):
        assert rank[new[i]] >= rank[route[i]]
        if tier[i] == "excluded" or ttier[i] == 0:
            assert new[i] == route[i] and notes[i] == ""
        moved = new[i] != route[i]
        assert moved == (notes[i] != "")
        if moved:
            assert any(
                fit[i] >= r["min_fit"] and ttier[i] <= r["trigger_tier"] and r["route"] == new[i]
                for r in rules
            )
