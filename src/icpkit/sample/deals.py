"""Deals and events: background company events, the planted trigger events, and deals
drawn in up to five rounds per account (new business, then expansions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draws import END_D, START_D, choice, pick
from .truth import PLANTED, Truth
from .words import (
    EVENT_TYPES,
    FIRST,
    LAST,
    PRICE,
    PRICE_REF,
    PRODUCTS,
    REASONS,
    SOURCE_EFF,
    SOURCE_P,
    SOURCES,
    TOOLS,
    VENTURE,
)


def event_details(rng: np.random.Generator, kinds: np.ndarray, stage: np.ndarray) -> list[str]:
    """One human-readable detail per event, e.g. ``Series B $34M`` or ``New CFO: Ana Silva``."""
    rounds = {
        "seed": ("Seed", 1, 5),
        "series_a": ("Series A", 8, 20),
        "series_b": ("Series B", 20, 60),
        "series_c+": ("Series C", 50, 200),
        "private_equity": ("Growth equity", 50, 300),
    }
    roles = [
        "VP Finance",
        "CFO",
        "VP Operations",
        "VP Engineering",
        "VP Sales",
        "COO",
        "CIO",
        "VP Data",
    ]
    u, first, last = (
        rng.random(len(kinds)),
        choice(rng, FIRST, len(kinds)),
        choice(rng, LAST, len(kinds)),
    )
    out = []
    for k, s, x, f, la in zip(kinds, stage, u, first, last, strict=True):
        if k == "funding_round":
            label, lo, hi = rounds.get(s, ("Series B", 20, 60))
            out.append(f"{label} ${int(lo + x * (hi - lo))}M")
        elif k == "executive_hire":
            out.append(f"New {roles[int(x * len(roles))]}: {f} {la}")
        elif k == "headcount_jump":
            out.append(f"Headcount +{int(10 + x * 40)}% in 6 months")
        elif k == "competitor_contract_end":
            out.append(
                f"Contract with {'Competitor A' if x < 0.5 else 'Competitor B'} ends in {int(30 + x * 150)} days"
            )
        elif k == "security_incident":
            out.append(
                [
                    "Phishing incident reported",
                    "Data breach disclosed",
                    "Ransomware hit billing systems",
                ][int(x * 3)]
            )
        elif k == "compliance_audit":
            out.append(["SOC 2 audit", "ISO 27001 audit", "GDPR audit", "SOX audit"][int(x * 4)])
        else:
            out.append(f"Adopted {TOOLS[int(x * len(TOOLS))]}")
    return out


def background_events(rng: np.random.Generator, truth: Truth, n: int) -> pd.DataFrame:
    """Events unrelated to deals (``acc``, ``day``, ``type``), about 1.6 per account."""
    cnt = rng.poisson(1.6, n)
    acc = np.repeat(np.arange(n), cnt)
    kind = EVENT_TYPES[rng.choice(7, len(acc), p=[0.10, 0.14, 0.16, 0.14, 0.12, 0.14, 0.20])]
    no_round = ~np.isin(truth["stage"][acc], VENTURE)
    kind[(kind == "funding_round") & no_round] = "headcount_jump"
    day = rng.integers(START_D - 200, END_D + 1, len(acc))
    return pd.DataFrame({"acc": acc, "day": day, "type": kind})


# ----------------------------------------------------------------------------- deals
def draw_deals(
    rng: np.random.Generator, n: int, t: Truth, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals (with the planted persona flags) and the planted trigger events."""
    icp, snow, gov, tiny, neg, emp = t["icp"], t["snow"], t["gov"], t["tiny"], t["neg"], t["emp"]
    active = rng.random(n) < np.where(icp, 0.95, 0.85)
    created = START_D + np.floor(rng.beta(1.0, 1.5, n) * (END_D - 5 - START_D)).astype(int)
    has_won = np.zeros(n, dtype=bool)
    batches, planted = [], []
    trig_events = events[events["type"].isin(PLANTED["trigger"]["types"])][["acc", "day"]]
    for k in range(5):
        idx = np.flatnonzero(active & (created <= END_D))
        m, c = len(idx), created[idx]
        expansion = has_won[idx]
        ops = rng.random(m) < np.where(icp[idx], 0.45, 0.32)
        fin = rng.random(m) < 0.4
        block = rng.random(m) < np.where(gov[idx], 0.4, np.where(tiny[idx], 0.3, 0.15))
        plant = rng.random(m) < 0.2
        venture = np.isin(t["stage"][idx], VENTURE)
        ptype = np.where(venture & (rng.random(m) < 0.6), "funding_round", "executive_hire")
        new = pd.DataFrame(
            {
                "acc": idx[plant],
                "day": c[plant] - rng.integers(3, 88, m)[plant],
                "type": ptype[plant],
            }
        )
        planted.append(new)
        trig_events = pd.concat([trig_events, new[["acc", "day"]]], ignore_index=True)
        pos = pd.DataFrame({"pos": np.arange(m), "acc": idx, "created": c}).merge(
            trig_events, on="acc"
        )
        hit = pos[(pos["day"] < pos["created"]) & (pos["day"] >= pos["created"] - 90)][
            "pos"
        ].to_numpy()
        trig = np.zeros(m, dtype=bool)
        trig[hit] = True
        src = rng.choice(5, m, p=SOURCE_P)
        comp = np.isin(t["solution"][idx], ["competitor_a", "competitor_b"])
        z = (
            -1.7
            + 1.25 * icp[idx]
            + 1.0 * (icp[idx] & snow[idx])
            + 0.2 * (snow[idx] & ~icp[idx])
            - 1.8 * gov[idx]
            - 1.6 * tiny[idx]
            + 0.9 * trig
            + 0.8 * ops
            + 0.6 * fin
            - 1.3 * block
            + 0.9 * expansion
            + SOURCE_EFF[src]
            - 0.25 * comp
        )
        won = rng.random(m) < 1 / (1 + np.exp(-z))
        e = emp[idx]
        if k == 0:
            prod = pick(
                rng,
                np.array([[0.75, 0.22, 0.03, 0], [0.25, 0.6, 0.15, 0], [0.05, 0.4, 0.55, 0]])[
                    np.digitize(e, [100, 1000])
                ],
            )
        else:
            prod = rng.choice(4, m, p=[0.05, 0.3, 0.2, 0.45])
        amount = PRICE[prod] * (e / PRICE_REF[prod]) ** 0.35 * np.exp(rng.normal(0, 0.35, m))
        amount = amount * np.where(expansion, 0.7, 1.0) * np.where(won, 1.0, 1.08)
        amount = np.maximum(np.round(amount, -2), 1200)
        med = (
            70
            * np.where(icp[idx], 0.6, 1.0)
            * np.where(gov[idx], 2.0, 1.0)
            * np.where(tiny[idx], 0.7, 1.0)
            * np.array([0.7, 1.0, 1.5, 0.8])[prod]
            * np.where(expansion, 0.7, 1.0)
            * np.where(won, 1.0, 1.15)
        )
        cycle = np.maximum(np.round(med * np.exp(rng.normal(0, 0.45, m))), 7).astype(int)
        closed = c + cycle
        is_open = closed > END_D
        outcome = np.where(is_open, "open", np.where(won, "won", "lost")).astype(object)
        w = np.tile([0.25, 0.25, 0.2, 0.15, 0.15], (m, 1))
        w[:, 0] *= np.where(tiny[idx], 3.0, 1.0) * np.where(block, 1.5, 1.0)
        w[:, 1] *= np.where(gov[idx], 3.0, 1.0) * np.where(block, 1.5, 1.0)
        w[:, 2] *= np.where(comp, 2.5, 1.0)
        w[:, 3] *= np.where(gov[idx], 1.5, 1.0)
        reason = REASONS[pick(rng, w)].astype(object)
        reason[outcome != "lost"] = None
        batches.append(
            pd.DataFrame(
                {
                    "acc": idx,
                    "created": c,
                    "closed": np.where(is_open, np.nan, closed),
                    "outcome": outcome,
                    "amount": amount,
                    "product": PRODUCTS[prod],
                    "source": SOURCES[src],
                    "lost_reason": reason,
                    "ops": ops,
                    "fin": fin,
                    "block": block,
                    "trigger": trig,
                    "k": k,
                    "cycle": cycle,
                }
            )
        )
        closed_won = won & ~is_open
        p_next = np.where(
            is_open,
            0.0,
            np.where(closed_won, np.where(icp[idx], 0.95, np.where(neg[idx], 0.4, 0.8)), 0.7),
        )
        nxt = rng.random(m) < p_next
        active[:] = False
        active[idx[nxt]] = True
        created[idx[nxt]] = (closed + rng.integers(10, 150, m))[nxt]
        has_won[idx[closed_won]] = True
    deals = pd.concat(batches, ignore_index=True).sort_values(
        ["created", "acc", "k"], kind="stable"
    )
    return deals.reset_index(drop=True), pd.concat(planted, ignore_index=True)


# ----------------------------------------------------------------------------- renewals
def renewal_events(seed: int, deals: pd.DataFrame, n: int, ids: np.ndarray) -> pd.DataFrame:
    """The planted upcoming trigger: contract renewals (``account_id``, ``occurred_at``,
    ``type``, ``detail``), drawn from their own generator so every other table stays as it was.

    A closed deal is followed by a renewal within 60 days of its creation for
    25% of won deals and 6% of lost ones, so "renewal due within 60 days"
    raises the win rate; 22% of open deals have one due in the 60 days after
    the sample ends (dated after ``END_DATE``: upcoming); and about 8% of
    accounts have an unrelated renewal at a random date (noise).
    """
    from .draws import to_dates

    r = np.random.default_rng([seed, 60])
    won = deals["outcome"].eq("won").to_numpy()
    lost = deals["outcome"].eq("lost").to_numpy()
    is_open = deals["outcome"].eq("open").to_numpy()
    u = r.random(len(deals))
    after = deals["created"].to_numpy() + r.integers(1, 60, len(deals))
    planted = (won & (u < 0.25)) | (lost & (u < 0.06))
    ahead = is_open & (u < 0.22)
    soon = END_D + r.integers(1, 60, len(deals))
    acc = np.concatenate([deals["acc"].to_numpy()[planted], deals["acc"].to_numpy()[ahead]]).astype(
        int
    )
    day = np.concatenate([after[planted], np.maximum(after[ahead], soon[ahead])])
    noise = np.flatnonzero(r.random(n) < 0.08)
    acc = np.concatenate([acc, noise])
    day = np.concatenate([day, r.integers(START_D - 200, END_D + 1, len(noise))])
    vendor = np.where(r.random(len(acc)) < 0.5, "Competitor A", "Competitor B")
    return pd.DataFrame(
        {
            "account_id": ids[acc],
            "occurred_at": to_dates(day),
            "type": "renewal",
            "detail": [f"Contract with {v} up for renewal" for v in vendor],
        }
    )
