"""Triggering events and timing: which events, how soon before a deal, raise
the win rate or shorten the cycle — and so which accounts to call now.

Measurement: for every closed deal with a creation date, and every event type
and window (30/60/90/180 days), did the account have such an event within
the window before the deal was created? Win rates with and without are
compared with Fisher's exact test, Benjamini-Hochberg corrected over every
type x window tested, with the same minimum support as the core patterns.
Each event type keeps its best significant window.

Scoring: each qualifying trigger is worth ``points = F * ln(odds ratio)`` on
the scorecard's scale (F = 25 / ln 3: 25 points triple the odds), decayed by
age with a half-life. ``timing`` is the sum over an account's recent
triggers (0-100) and ``priority = clamp(fit + timing)``: the fit score with
the trigger's effect on the odds added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .mining.stats import bh, shrink, wilson

WINDOWS = (30, 60, 90, 180)
HALF_LIFE_DAYS = 45.0
F = 25 / math.log(3)


@dataclass
class TriggerStat:
    type: str
    window_days: int
    n: int
    wins: int
    win_rate: float
    ci_low: float
    ci_high: float
    rate_without: float
    lift: float
    odds_ratio: float
    p_value: float
    q_value: float = 1.0
    median_cycle_with: float | None = None
    median_cycle_without: float | None = None
    points: int = 0
    qualifies: bool = False
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class TimingModel:
    triggers: list[TriggerStat]
    table: pd.DataFrame
    half_life_days: float = HALF_LIFE_DAYS
    warnings: list[str] = field(default_factory=list)

    def to_icp(self) -> dict[str, Any]:
        """The ``timing`` section of icp.yaml."""
        return {
            "half_life_days": self.half_life_days,
            "windows": list(WINDOWS),
            "triggers": [
                {
                    "type": t.type,
                    "window_days": t.window_days,
                    "points": t.points,
                    "evidence": {
                        "n": t.n,
                        "wins": t.wins,
                        "win_rate": round(t.win_rate, 4),
                        "rate_without": round(t.rate_without, 4),
                        "lift": round(t.lift, 3),
                        "q_value": float(f"{t.q_value:.3g}"),
                    },
                    **(
                        {
                            "median_cycle_with": t.median_cycle_with,
                            "median_cycle_without": t.median_cycle_without,
                        }
                        if t.median_cycle_with is not None
                        else {}
                    ),
                }
                for t in self.triggers
                if t.qualifies
            ],
        }


def clean_events(
    events: pd.DataFrame,
    known_accounts: set[str] | None = None,
    *,
    today: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Drop events that cannot be used, with counts and examples."""
    warnings: list[str] = []
    ev = events.copy()
    ev["account_id"] = ev["account_id"].astype(str)
    ev["type"] = ev["type"].map(
        lambda v: (
            None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip().lower()
        )
    )
    bad = ev["type"].isna() | ev["occurred_at"].isna()
    if bad.any():
        warnings.append(f"events: {int(bad.sum())} row(s) without a type or date skipped")
        ev = ev[~bad]
    if known_accounts is not None:
        unknown = ~ev["account_id"].isin(known_accounts)
        if unknown.any():
            warnings.append(
                f"events: {int(unknown.sum())} row(s) for unknown accounts skipped (e.g. {ev.loc[unknown, 'account_id'].drop_duplicates().head(3).tolist()})"
            )
            ev = ev[~unknown]
    limit = (today or pd.Timestamp.now()) + pd.Timedelta(days=1)
    fut = pd.to_datetime(ev["occurred_at"]) > limit
    if fut.any():
        warnings.append(
            f"events: {int(fut.sum())} row(s) dated in the future skipped (e.g. {ev.loc[fut, 'occurred_at'].astype(str).head(3).tolist()})"
        )
        ev = ev[~fut]
    return ev.reset_index(drop=True), warnings


def _had_event(deals: pd.DataFrame, ev: pd.DataFrame, etype: str, window: int) -> np.ndarray:
    e = ev[ev["type"] == etype][["account_id", "occurred_at"]]
    m = deals[["deal_id", "account_id", "created_at"]].merge(e, on="account_id")
    lag = (m["created_at"] - m["occurred_at"]).dt.days
    hit = set(m.loc[(lag >= 0) & (lag <= window), "deal_id"])
    return deals["deal_id"].isin(hit).to_numpy()


def fit_timing(
    deals: pd.DataFrame,
    events: pd.DataFrame,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    half_life_days: float = HALF_LIFE_DAYS,
    max_types: int = 30,
) -> TimingModel:
    """Measure each event type x window on closed deals with a creation date."""
    warnings: list[str] = []
    d = deals[deals["outcome"].isin(["won", "lost"])].copy()
    if "created_at" not in d.columns or d["created_at"].isna().all():
        return TimingModel(
            [], pd.DataFrame(), half_life_days, ["timing skipped: deals have no creation date"]
        )
    d = d[d["created_at"].notna()].reset_index(drop=True)
    d["account_id"] = d["account_id"].astype(str)
    won = d["outcome"].eq("won").to_numpy()
    cycle = (
        (pd.to_datetime(d["closed_at"]) - pd.to_datetime(d["created_at"])).dt.days.to_numpy(
            dtype=float, copy=True
        )
        if "closed_at" in d.columns
        else np.full(len(d), np.nan)
    )
    cycle[cycle < 0] = np.nan
    p0 = float(won.mean()) if len(won) else 0.0
    types = events["type"].value_counts().head(max_types).index.tolist()
    stats_: list[TriggerStat] = []
    for t in types:
        for w in WINDOWS:
            hit = _had_event(d, events, t, w)
            n = int(hit.sum())
            if n < 5 or n == len(d):
                continue
            k = int(won[hit].sum())
            n0, k0 = int((~hit).sum()), int(won[~hit].sum())
            p = stats.fisher_exact([[k, n - k], [k0, n0 - k0]]).pvalue
            lo, hi = wilson(k, n)
            rate_wo = k0 / n0 if n0 else p0
            shr = float(shrink(np.array([k]), np.array([n]), rate_wo, 20.0)[0])
            odds = (max(shr, 1e-6) / max(1 - shr, 1e-6)) / (
                max(rate_wo, 1e-6) / max(1 - rate_wo, 1e-6)
            )
            cw, cwo = cycle[hit & won], cycle[~hit & won]
            cw, cwo = cw[~np.isnan(cw)], cwo[~np.isnan(cwo)]
            stats_.append(
                TriggerStat(
                    type=t,
                    window_days=w,
                    n=n,
                    wins=k,
                    win_rate=k / n,
                    ci_low=float(lo),
                    ci_high=float(hi),
                    rate_without=rate_wo,
                    lift=(shr / rate_wo) if rate_wo else 0.0,
                    odds_ratio=float(odds),
                    p_value=float(p),
                    median_cycle_with=float(np.median(cw)) if len(cw) else None,
                    median_cycle_without=float(np.median(cwo)) if len(cwo) else None,
                )
            )
    if stats_:
        q = bh(np.array([s.p_value for s in stats_]))
        for s, qv in zip(stats_, q, strict=True):
            s.q_value = float(qv)
            s.points = int(round(F * math.log(max(s.odds_ratio, 1e-6))))
            if s.n < min_support:
                s.note = f"small sample (n={s.n} < {min_support})"
    best: dict[str, TriggerStat] = {}
    for s in stats_:
        ok = s.q_value < alpha and s.n >= min_support and s.odds_ratio > 1 and s.points > 0
        if ok and (
            s.type not in best
            or (s.q_value, s.window_days) < (best[s.type].q_value, best[s.type].window_days)
        ):
            best[s.type] = s
    for s in best.values():
        s.qualifies = True
    table = pd.DataFrame([s.as_dict() for s in stats_])
    if len(table):
        table = table.sort_values(["qualifies", "q_value"], ascending=[False, True]).reset_index(
            drop=True
        )
    return TimingModel(stats_, table, half_life_days, warnings)


def score_timing(
    timing: dict[str, Any] | None,
    accounts: pd.DataFrame,
    events: pd.DataFrame | None,
    fit: np.ndarray,
    *,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """``fit``, ``timing``, ``priority`` and a ``why_now`` sentence per account (input order)."""
    n = len(accounts)
    out = pd.DataFrame(
        {"fit": np.asarray(fit, dtype=int), "timing": np.zeros(n, dtype=int), "why_now": [""] * n}
    )
    triggers = (timing or {}).get("triggers") or []
    if events is None or not len(events) or not triggers:
        out["priority"] = out["fit"]
        return out
    half = float((timing or {}).get("half_life_days", HALF_LIFE_DAYS))
    now = as_of if as_of is not None else pd.Timestamp.now().normalize()
    ids = accounts["account_id"].astype(str).to_numpy()
    pos = {a: i for i, a in enumerate(ids)}
    ev = events.copy()
    ev["account_id"] = ev["account_id"].astype(str)
    ev["type"] = ev["type"].astype(str).str.strip().str.lower()
    ev = ev[ev["account_id"].isin(pos)]
    total = np.zeros(n)
    why: list[list[tuple[float, str]]] = [[] for _ in range(n)]
    for trig in triggers:
        e = ev[ev["type"] == str(trig["type"]).lower()]
        age = (now - pd.to_datetime(e["occurred_at"])).dt.days
        keep = (age >= 0) & (age <= int(trig["window_days"]))
        e, age = e[keep], age[keep]
        for a, g, detail in zip(
            e["account_id"],
            age,
            e["detail"] if "detail" in e.columns else [None] * len(e),
            strict=True,
        ):
            i = pos[a]
            pts = float(trig["points"]) * 0.5 ** (float(g) / half)
            total[i] += pts
            text = f"{trig['type'].replace('_', ' ')} {int(g)} days ago" + (
                f" ({detail})" if isinstance(detail, str) and detail.strip() else ""
            )
            why[i].append((pts, text))
    out["timing"] = np.clip(np.rint(total), 0, 100).astype(int)
    out["priority"] = np.clip(out["fit"] + out["timing"], 0, 100).astype(int)
    out["why_now"] = ["; ".join(t for _, t in sorted(w, key=lambda x: -x[0])[:3]) for w in why]
    return out
