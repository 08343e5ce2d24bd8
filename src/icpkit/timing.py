"""Triggering events and timing: which events, how soon before a deal, raise
the win rate or shorten the cycle — and so which accounts to call now.

Measurement: for every closed deal with a creation date, and every event type
and window (30/60/90/180 days), did the account have such an event within
the window before the deal was created? Win rates with and without are
compared with Fisher's exact test, Benjamini-Hochberg corrected over every
type x window tested, with the same minimum support as the core patterns.
Each event type keeps its best significant window.

Upcoming events: an event type is *upcoming* (``when: upcoming``) when it is
scheduled ahead — a renewal, a contract end, an audit date. Such a type is
recognised by its name (it contains ``renewal``) or because some of its events
are dated in the future (after today and after the latest deal date). For it the test asks the other way
round: was such an event due within the window *after* the deal was created
("renewal within 60 days")? At scoring time it is active while it lies
between today and ``window_days`` ahead.

Scoring: each qualifying trigger is worth ``points = F * ln(odds ratio)`` on
the scorecard's scale (F = 25 / ln 3: 25 points triple the odds), decayed by
age (or, for an upcoming event, by the days left) with a half-life. ``timing``
is the sum over an account's active triggers (0-100) and
``priority = clamp(fit + timing)``: the fit score with the trigger's effect on
the odds added.

Tiers and routes: a trigger's tier follows the odds thresholds of the ICP's
tiers (Tier 1 at 3x the odds, Tier 2 at 1.75x, Tier 3 below). The
``timing.route_rules`` of ``icp.yaml`` may raise an account's route: the
default rule sends an account with ``fit >= 65`` and an active Tier 1 trigger
to ``high_touch``. A rule never lowers a route and never moves an account a
disqualifier excludes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .mining.segments import TIER_ODDS
from .mining.stats import bh, odds_ratio, shrink, wilson

WINDOWS = (30, 60, 90, 180)
HALF_LIFE_DAYS = 45.0
F = 25 / math.log(3)
UPCOMING_WORDS = ("renewal",)
ROUTES = ("deprioritize", "nurture", "high_touch")
# the default route rule written into icp.yaml: a good fit with a strong trigger is worked now
DEFAULT_ROUTE_RULES = [{"min_fit": 65, "trigger_tier": 1, "route": "high_touch"}]


def trigger_tier(odds_ratio: float) -> int:
    """The tier of a trigger from its odds ratio, on the ICP tiers' thresholds (3x, 1.75x)."""
    if odds_ratio >= TIER_ODDS[1]:
        return 1
    return 2 if odds_ratio >= TIER_ODDS[2] else 3


def tier_of_points(points: float) -> int:
    """A trigger's tier from its points (``points = F * ln(odds ratio)``)."""
    return trigger_tier(math.exp(float(points) / F))


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
    when: str = "past"

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
                    "when": t.when,
                    "window_days": t.window_days,
                    "points": t.points,
                    "tier": trigger_tier(t.odds_ratio),
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
            "route_rules": [dict(r) for r in DEFAULT_ROUTE_RULES],
        }


def clean_events(
    events: pd.DataFrame,
    known_accounts: set[str] | None = None,
    *,
    today: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Drop events that cannot be used, with counts and examples.

    Events dated after ``today`` are kept: they are upcoming (scheduled) events.
    """
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
    # events dated ahead (a renewal, a contract end) are kept: they are upcoming triggers
    return ev.reset_index(drop=True), warnings


def _had_event(
    deals: pd.DataFrame, ev: pd.DataFrame, etype: str, window: int, upcoming: bool = False
) -> np.ndarray:
    """Per deal: an event of ``etype`` within ``window`` days before its creation
    (``upcoming``: due within ``window`` days after it)."""
    e = ev[ev["type"] == etype][["account_id", "occurred_at"]]
    m = deals[["deal_id", "account_id", "created_at"]].merge(e, on="account_id")
    lag = (m["created_at"] - m["occurred_at"]).dt.days
    if upcoming:
        lag = -lag
    hit = set(m.loc[(lag >= 0) & (lag <= window), "deal_id"])
    return deals["deal_id"].isin(hit).to_numpy()


def upcoming_types(
    deals: pd.DataFrame, events: pd.DataFrame, *, today: pd.Timestamp | None = None
) -> set[str]:
    """Event types scheduled ahead: named like a renewal, or with events dated after both
    the latest deal date and ``today`` (an event export taken after the deals export
    holds later dates too, but nothing that has merely happened lies in the future)."""
    types = set(events["type"].dropna().astype(str))
    out = {t for t in types if any(w in t for w in UPCOMING_WORDS)}
    dates = [
        pd.to_datetime(deals[c]).max() for c in ("created_at", "closed_at") if c in deals.columns
    ]
    dates = [d for d in dates if pd.notna(d)] + [today or pd.Timestamp.now().normalize()]
    late = events[pd.to_datetime(events["occurred_at"]) > max(dates)]
    return out | set(late["type"].dropna().astype(str))


def fit_timing(
    deals: pd.DataFrame,
    events: pd.DataFrame,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    half_life_days: float = HALF_LIFE_DAYS,
    max_types: int = 30,
    upcoming: set[str] | None = None,
) -> TimingModel:
    """Measure each event type x window on closed deals with a creation date.

    ``upcoming``: the event types scheduled ahead (default: :func:`upcoming_types`),
    tested as "due within the window after the deal was created".
    """
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
    ahead = upcoming_types(deals, events) if upcoming is None else set(upcoming)
    stats_: list[TriggerStat] = []
    for t in types:
        for w in WINDOWS:
            hit = _had_event(d, events, t, w, upcoming=t in ahead)
            n = int(hit.sum())
            if n < 5 or n == len(d):
                continue
            k = int(won[hit].sum())
            n0, k0 = int((~hit).sum()), int(won[~hit].sum())
            p = stats.fisher_exact([[k, n - k], [k0, n0 - k0]]).pvalue
            lo, hi = wilson(k, n)
            rate_wo = k0 / n0 if n0 else p0
            shr = float(shrink(np.array([k]), np.array([n]), rate_wo, 20.0)[0])
            odds = float(odds_ratio(shr, rate_wo))
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
                    odds_ratio=odds,
                    p_value=float(p),
                    median_cycle_with=float(np.median(cw)) if len(cw) else None,
                    median_cycle_without=float(np.median(cwo)) if len(cwo) else None,
                    when="upcoming" if t in ahead else "past",
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
    """``fit``, ``timing``, ``priority``, a ``why_now`` sentence and ``trigger_tier``
    (the best tier among the account's active triggers, 0 for none) per account
    (input order)."""
    n = len(accounts)
    out = pd.DataFrame(
        {"fit": np.asarray(fit, dtype=int), "timing": np.zeros(n, dtype=int), "why_now": [""] * n}
    )
    out["trigger_tier"] = np.zeros(n, dtype=int)
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
    best = np.zeros(n, dtype=int)
    why: list[list[tuple[float, str]]] = [[] for _ in range(n)]
    for trig in triggers:
        ahead = str(trig.get("when") or "past") == "upcoming"
        tier = trig.get("tier") or tier_of_points(float(trig["points"]))
        e = ev[ev["type"] == str(trig["type"]).lower()]
        age = (now - pd.to_datetime(e["occurred_at"])).dt.days
        if ahead:
            age = -age
        keep = (age >= 0) & (age <= int(trig["window_days"]))
        e, age = e[keep], age[keep]
        name = str(trig["type"]).replace("_", " ")
        for a, g, detail in zip(
            e["account_id"],
            age,
            e["detail"] if "detail" in e.columns else [None] * len(e),
            strict=True,
        ):
            i = pos[a]
            pts = float(trig["points"]) * 0.5 ** (float(g) / half)
            total[i] += pts
            if pts > 0:
                best[i] = int(tier) if best[i] == 0 else min(best[i], int(tier))
            text = (f"{name} in {int(g)} days" if ahead else f"{name} {int(g)} days ago") + (
                f" ({detail})" if isinstance(detail, str) and detail.strip() else ""
            )
            why[i].append((pts, text))
    out["timing"] = np.clip(np.rint(total), 0, 100).astype(int)
    out["priority"] = np.clip(out["fit"] + out["timing"], 0, 100).astype(int)
    out["why_now"] = ["; ".join(t for _, t in sorted(w, key=lambda x: -x[0])[:3]) for w in why]
    out["trigger_tier"] = best
    return out


def route_by_triggers(
    rules: list[dict[str, Any]] | None,
    route: np.ndarray,
    tier: np.ndarray,
    fit: np.ndarray,
    trigger_tier: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """The route after ``timing.route_rules``, and a note per account whose route a rule raised.

    A rule ``{min_fit, trigger_tier, route}`` applies when the fit score reaches
    ``min_fit`` and the account has an active trigger of ``trigger_tier`` or
    better. It only raises a route; an account a disqualifier excludes keeps
    ``deprioritize``.
    """
    new = np.asarray(route, dtype=object).copy()
    notes = [""] * len(new)
    rank = {r: i for i, r in enumerate(ROUTES)}
    for rule in rules or []:
        target = str(rule["route"])
        ok = (
            (np.asarray(fit) >= int(rule["min_fit"]))
            & (np.asarray(trigger_tier) >= 1)
            & (np.asarray(trigger_tier) <= int(rule["trigger_tier"]))
            & (np.asarray(tier).astype(str) != "excluded")
        )
        for i in np.flatnonzero(ok):
            if rank.get(str(new[i]), 0) < rank[target]:
                notes[i] = (
                    f"{new[i]} -> {target}: fit {int(fit[i])} >= {int(rule['min_fit'])}"
                    f" with an active tier {int(trigger_tier[i])} trigger"
                )
                new[i] = target
    return new, notes
