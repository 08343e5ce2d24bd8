"""Statistics per role: closed deals by tier, who is on which deal, and a persona's lift test."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from icpkit.mining.stats import shrink, wilson
from icpkit.personas.dmu import _outcome
from icpkit.personas.model import RoleStat

SHRINK_KAPPA = 20.0  # prior strength toward the rate without the role, as for triggers
LATE_FRACTION = 0.75  # first speaks in the last quarter of the deal
MIN_TEST_N = 5


def closed_deals(deals: pd.DataFrame, scores: pd.DataFrame | None) -> pd.DataFrame:
    d = deals.assign(_outcome=deals["outcome"].map(_outcome))
    d = d[d["_outcome"].isin(["won", "lost"])].reset_index(drop=True)
    d["deal_id"] = d["deal_id"].astype(str)
    d["account_id"] = d["account_id"].astype(str)
    d["won"] = d["_outcome"].eq("won").to_numpy()
    d["tier"] = "none"
    if scores is not None and len(scores) and "tier" in scores.columns:
        tiers = dict(zip(scores["account_id"].astype(str), scores["tier"].astype(str), strict=True))
        d["tier"] = d["account_id"].map(tiers).fillna("none")
    return d


def contact_links(roles: pd.DataFrame, closed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(contact row, closed deal position ``_d``) pairs: by deal_id, else by account."""
    pos = pd.DataFrame(
        {"deal_id": closed["deal_id"], "account_id": closed["account_id"], "_d": closed.index}
    )
    if "deal_id" in roles.columns and roles["deal_id"].notna().any():
        c = roles[roles["deal_id"].notna()]
        c = c.assign(deal_id=c["deal_id"].astype(str))
        return c.merge(pos[["deal_id", "_d"]], on="deal_id", how="inner"), "deal"
    c = roles.assign(account_id=roles["account_id"].astype(str))
    return c.merge(pos[["account_id", "_d"]], on="account_id", how="inner"), "account"


def role_stat(
    group: str, role: str, function: str | None, hit: np.ndarray, won: np.ndarray
) -> RoleStat | None:
    n = int(hit.sum())
    if n < MIN_TEST_N or n == len(won):
        return None
    k = int(won[hit].sum())
    n0, k0 = int((~hit).sum()), int(won[~hit].sum())
    total_won = int(won.sum())
    lo, hi = wilson(k, n)
    rate_wo = k0 / n0
    shr = float(shrink(np.array([k]), np.array([n]), rate_wo, SHRINK_KAPPA)[0])
    return RoleStat(
        group=group,
        role=role,
        function=function,
        n=n,
        wins=k,
        win_rate=k / n,
        ci_low=float(lo),
        ci_high=float(hi),
        n_without=n0,
        rate_without=rate_wo,
        lift=(shr / rate_wo) if rate_wo > 0 else None,
        p_value=float(stats.fisher_exact([[k, n - k], [k0, n0 - k0]]).pvalue),
        share_of_won=k / total_won if total_won else 0.0,
    )


def commonest(values: pd.Series) -> tuple[str, float]:
    """The commonest known value and its share of all values."""
    vals = values[values.notna() & (values != "unknown")]
    if not len(vals):
        return "unknown", 0.0
    counts = vals.value_counts()
    return str(counts.index[0]), float(counts.iloc[0] / len(values))


def top_titles(people: pd.DataFrame, k: int) -> list[tuple[str, int]]:
    titles = Counter(t for t in people["title_normalized"].tolist() if isinstance(t, str) and t)
    return titles.most_common(k)


def entry_fraction(
    conversations: pd.DataFrame, roles: pd.DataFrame, deals: pd.DataFrame
) -> pd.Series:
    """Per contact on a deal: how far into the deal (0 created, 1 closed) they first speak."""
    if (
        not {"contact_id", "occurred_at"} <= set(conversations.columns)
        or not {"contact_id", "deal_id"} <= set(roles.columns)
        or not {"created_at", "closed_at"} <= set(deals.columns)
    ):
        return pd.Series(dtype=float)
    conv = conversations[["contact_id", "occurred_at"]].dropna()
    first = conv.groupby(conv["contact_id"].astype(str))["occurred_at"].min()
    d = deals[["deal_id", "created_at", "closed_at"]].dropna()
    m = roles[["contact_id", "deal_id"]].dropna().astype(str)
    m = m.merge(d.assign(deal_id=d["deal_id"].astype(str)), on="deal_id")
    start = pd.to_datetime(m["created_at"])
    span = (pd.to_datetime(m["closed_at"]) - start).dt.days
    frac = (pd.to_datetime(m["contact_id"].map(first)) - start).dt.days / span.where(span > 0)
    ok = frac.between(0, 1)
    return pd.Series(frac[ok].to_numpy(), index=m.loc[ok, "contact_id"].to_numpy())


@dataclass
class ClosedDeals:
    """Closed deals, the contacts tied to them and who is on which deal."""

    closed: pd.DataFrame
    won: np.ndarray
    pairs: pd.DataFrame  # contact row (``_row``) x closed deal position (``_d``)
    hits: dict[tuple[str, str | None], np.ndarray]  # persona -> on which closed deals

    def mask(self, tier: str | None) -> np.ndarray:
        if tier is None:
            return np.ones(len(self.closed), dtype=bool)
        return self.closed["tier"].eq(tier).to_numpy()

    def people(self, mask: np.ndarray, role: str, won_only: bool = True) -> pd.DataFrame:
        d = self.pairs["_d"].to_numpy()
        keep = mask[d] & (self.pairs["_role"] == role).to_numpy()
        if won_only:
            keep &= self.won[d]
        return self.pairs[keep]
