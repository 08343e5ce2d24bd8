"""Revenue and tickets: monthly MRR from the first win until churn, and support tickets
during each customer's tenure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draws import END_D, month_of, month_start, pick, to_dates
from .truth import Truth

# (first day, last day, months) of each customer's tenure, one entry per customer
Tenure = tuple[np.ndarray, np.ndarray, np.ndarray]


def draw_revenue(
    rng: np.random.Generator, deals: pd.DataFrame, t: Truth, ids: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, Tenure]:
    """Monthly MRR from the first win until churn or the end date; annual deals / 12."""
    won = deals[deals["outcome"] == "won"]
    wacc, wmon = won["acc"].to_numpy(), month_of(won["closed"].to_numpy())
    first = pd.Series(wmon).groupby(wacc).min()
    lastw = pd.Series(wmon).groupby(wacc).max()
    cust = first.index.to_numpy()
    hazard = np.where(t["neg"][cust], 0.06, np.where(t["icp"][cust], 0.008, 0.02))
    churn = lastw.to_numpy() + rng.geometric(hazard)
    end_m = month_of(np.array([END_D]))[0]
    stop = np.minimum(churn, end_m)
    nm = stop - first.to_numpy() + 1
    racc = np.repeat(cust, nm)
    rmon = np.repeat(first.to_numpy(), nm) + (
        np.arange(nm.sum()) - np.repeat(np.cumsum(nm) - nm, nm)
    )
    grid = pd.DataFrame({"acc": racc, "mon": rmon})
    inc = (
        pd.DataFrame({"acc": wacc, "mon": wmon, "add": won["amount"].to_numpy() / 12})
        .groupby(["acc", "mon"], as_index=False)["add"]
        .sum()
    )
    grid = grid.merge(inc, on=["acc", "mon"], how="left").fillna({"add": 0.0})
    base = grid.groupby("acc")["add"].cumsum().to_numpy()
    since = rmon - np.repeat(first.to_numpy(), nm)
    growth = np.where(t["icp"][racc], 0.012, np.where(t["neg"][racc], -0.004, 0.003))
    mrr = np.round(base * (1 + growth) ** since, 2)
    churned = (rmon == np.repeat(churn, nm)) & (rmon <= end_m)
    revenue = pd.DataFrame(
        {
            "account_id": ids[racc],
            "period": to_dates(month_start(rmon)),
            "mrr": mrr,
            "churned": churned,
        }
    )
    tenure = (month_start(first.to_numpy()), month_start(stop + 1) - 1, nm)
    return revenue, cust, tenure


def draw_tickets(
    rng: np.random.Generator, t: Truth, ids: np.ndarray, cust: np.ndarray, tenure: Tenure
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """Tickets during tenure, and their (account, day) arrays in table order."""
    tenure_start, tenure_end, nm = tenure
    lam = np.where(t["neg"][cust], 0.8, np.where(t["icp"][cust], 0.25, 0.35)) * nm
    nt = rng.poisson(lam)
    tacc = np.repeat(cust, nt)
    ts, te = np.repeat(tenure_start, nt), np.minimum(np.repeat(tenure_end, nt), END_D)
    tday = ts + (rng.random(len(tacc)) * (te - ts + 1)).astype(int)
    tneg = t["neg"][tacc]
    prio = np.array(["low", "normal", "high", "urgent"], dtype=object)[
        pick(rng, np.where(tneg[:, None], [0.2, 0.4, 0.26, 0.14], [0.3, 0.47, 0.17, 0.06]))
    ]
    esc = rng.random(len(tacc)) < np.where(
        tneg, 0.25, np.where(t["icp"][tacc], 0.05, 0.08)
    ) + 0.2 * (prio == "urgent")
    order = np.lexsort((tacc, tday))
    tacc, tday, prio, esc = tacc[order], tday[order], prio[order], esc[order]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"TCK-{i + 1:06d}" for i in range(len(tacc))],
            "account_id": ids[tacc],
            "occurred_at": to_dates(tday),
            "priority": prio,
            "escalated": esc,
        }
    )
    return tickets, (tacc, tday)
