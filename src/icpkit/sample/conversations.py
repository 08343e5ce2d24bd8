"""Conversations: calls, emails and notes during deals, ticket threads and customer
check-ins, each with 1-4 sentences drawn from the segment's mix of themes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draws import END_D, pick, to_dates
from .phrases import CUSTOMER_MIX, POOL_SIZE, POOL_START, SENTENCES, TICKET_MIX, US_MIX
from .revenue import Tenure
from .truth import Truth
from .words import PRODUCTS


def _texts(
    rng: np.random.Generator,
    n: int,
    us: np.ndarray,
    group: np.ndarray,
    tier: np.ndarray,
    ticket: np.ndarray,
) -> np.ndarray:
    """1-4 sentences per row; group 0 rest, 1 ICP, 2 negative ICP; tier 0-2 fills "{t}"."""
    nsent = rng.choice([1, 2, 3, 4], n, p=[0.3, 0.35, 0.25, 0.1])
    out = np.full(n, "", dtype=object)
    for s in range(4):
        p = np.where(us[:, None], US_MIX, CUSTOMER_MIX[group])
        if s == 0:
            p = np.where(ticket[:, None], TICKET_MIX, p)
        cat = pick(rng, p)
        j = (rng.random(n) * POOL_SIZE[cat]).astype(int)
        j = np.where(cat >= 4, (j // 3) * 3 + tier, j)  # tiered pools hold each sentence 3 times
        sent = SENTENCES[POOL_START[cat] + j]
        out = np.where(s < nsent, np.where(out == "", sent, out + " " + sent), out)
    return out


def draw_conversations(
    rng: np.random.Generator,
    n: int,
    t: Truth,
    ids: np.ndarray,
    deals: pd.DataFrame,
    c: pd.DataFrame,
    tickets: tuple[np.ndarray, np.ndarray],
    cust: np.ndarray,
    tenure: Tenure,
) -> pd.DataFrame:
    """Conversations during deals, on a third of tickets, and customer check-ins."""
    tacc, tday = tickets
    tenure_start, tenure_end, nm = tenure
    group = np.where(t["icp"], 1, np.where(t["neg"], 2, 0))
    cd = c["d"].to_numpy()
    nd = len(deals)
    cnt = np.bincount(cd, minlength=nd)
    coff = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    dstart = deals["created"].to_numpy()
    dend = np.where(deals["closed"].isna(), END_D, deals["closed"].fillna(0)).astype(int)
    nconv = 1 + rng.poisson(0.8, nd)
    vd = np.repeat(np.arange(nd), nconv)
    vcont = coff[vd] + (rng.random(len(vd)) * cnt[vd]).astype(int)
    is_block = c["slot"].to_numpy()[vcont] == 4
    # every late blocker speaks at least once, and only in the last sixth of the deal
    bdeal = np.flatnonzero(deals["block"].to_numpy())
    bcont = c.index[c["slot"] == 4].to_numpy()
    vd = np.concatenate([vd, bdeal])
    vcont = np.concatenate([vcont, bcont])
    is_block = np.concatenate([is_block, np.ones(len(bdeal), dtype=bool)])
    span = dend[vd] - dstart[vd]
    frac = np.where(is_block, 1 - rng.random(len(vd)) / 6, rng.random(len(vd)))
    vday = np.minimum(dstart[vd] + np.round(frac * span).astype(int), END_D)
    vacc = deals["acc"].to_numpy()[vd]
    vtier = np.array([0, 1, 2, 1])[pd.Categorical(deals["product"], categories=PRODUCTS).codes[vd]]
    vch = np.array(["call", "email", "note"], dtype=object)[
        rng.choice(3, len(vd), p=[0.35, 0.45, 0.2])
    ]
    vgroup = np.where(is_block, 2, group[vacc])
    # post-sale: a third of tickets become threads, plus check-ins every ~4 months of tenure
    pool = np.flatnonzero(c["slot"].to_numpy() != 4)  # late blockers never speak after the deal
    cacc = deals["acc"].to_numpy()[cd[pool]]
    by_acc = pool[np.argsort(cacc, kind="stable")]
    acnt = np.bincount(cacc, minlength=n)
    amin = np.concatenate([[0], np.cumsum(acnt)[:-1]])
    thread = rng.random(len(tacc)) < 0.35
    ci_n = rng.poisson(nm / 4)
    ciacc = np.repeat(cust, ci_n)
    cis, cie = np.repeat(tenure_start, ci_n), np.minimum(np.repeat(tenure_end, ci_n), END_D)
    ciday = cis + (rng.random(len(ciacc)) * (cie - cis + 1)).astype(int)
    pacc = np.concatenate([tacc[thread], ciacc])
    pday = np.concatenate([tday[thread], ciday])
    pcont = by_acc[(amin[pacc] + rng.random(len(pacc)) * acnt[pacc]).astype(int)]
    pch = np.concatenate(
        [
            np.full(thread.sum(), "ticket", dtype=object),
            np.array(["call", "note", "email"], dtype=object)[rng.integers(0, 3, len(ciacc))],
        ]
    )
    allacc = np.concatenate([vacc, pacc])
    allday = np.concatenate([vday, pday])
    allcont = np.concatenate([vcont, pcont])
    allch = np.concatenate([vch, pch])
    allgroup = np.concatenate([vgroup, group[pacc]])
    alltier = np.concatenate([vtier, rng.integers(0, 3, len(pacc))])
    nv = len(allacc)
    us = (rng.random(nv) < 0.4) | (allch == "note")
    us[allch == "ticket"] = False
    text = _texts(rng, nv, us, allgroup, alltier, allch == "ticket")
    order = np.lexsort((allcont, allday))
    return pd.DataFrame(
        {
            "id": [f"CONV-{i + 1:06d}" for i in range(nv)],
            "account_id": ids[allacc[order]],
            "contact_id": c["contact_id"].to_numpy()[allcont[order]],
            "occurred_at": to_dates(allday[order]),
            "channel": allch[order],
            "speaker": np.where(us[order], "us", "customer"),
            "text": text[order],
        }
    )
