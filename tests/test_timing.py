from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpkit.timing import clean_events, fit_timing, score_timing


def planted(seed: int = 5, n: int = 2000):
    """Deals win 55% after a funding round within 60 days, 25% otherwise; hires are noise."""
    r = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D")
    funded = r.random(n) < 0.3
    lag = r.integers(1, 60, n)
    won = r.random(n) < np.where(funded, 0.55, 0.25)
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "created_at": created,
            "closed_at": created + pd.Timedelta(days=40),
            "outcome": np.where(won, "won", "lost"),
        }
    )
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
    assert len(ev) == 1
    text = " ".join(warnings)
    assert (
        "1 row(s) without a type or date" in text
        and "1 row(s) for unknown accounts" in text
        and "1 row(s) dated in the future" in text
    )
