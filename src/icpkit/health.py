"""The customer scoring matrix: every customer (an account with a won deal)
scored 0-100 by health, with the best and worst 20% named.

Each component is turned into a percentile rank among customers (1 = best),
and the health score is the weighted mean of the components the data has,
times 100. Weights are visible in the report and can be set in icp.yaml
(``health.weights``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# component -> (weight, higher_is_better, description)
COMPONENTS: dict[str, tuple[float, bool, str]] = {
    "revenue": (0.35, True, "total won deal amount"),
    "expansion": (0.25, True, "won deals after the first (repeat and expansion purchases)"),
    "sales_cycle": (0.20, False, "median days from deal creation to close (shorter is better)"),
    "win_efficiency": (
        0.20,
        True,
        "share of the account's closed deals that were won (fewer wasted cycles)",
    ),
}
BEST_SHARE = 0.2


@dataclass
class HealthResult:
    table: pd.DataFrame
    weights: dict[str, float]
    used: list[str]
    descriptions: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    def best(self) -> pd.DataFrame:
        return self.table[self.table["health_tier"] == "best"]

    def worst(self) -> pd.DataFrame:
        return self.table[self.table["health_tier"] == "worst"]


def default_weights() -> dict[str, float]:
    return {k: v[0] for k, v in COMPONENTS.items()}


def component_frame(deals: pd.DataFrame) -> pd.DataFrame:
    """Raw component values per customer from the deals table."""
    d = deals[deals["outcome"].isin(["won", "lost"])].copy()
    d["won"] = d["outcome"].eq("won")
    if "amount" in d.columns:
        d["won_amount"] = np.where(d["won"], pd.to_numeric(d["amount"], errors="coerce"), np.nan)
    else:
        d["won_amount"] = np.nan
    if "created_at" in d.columns and "closed_at" in d.columns:
        cyc = (pd.to_datetime(d["closed_at"]) - pd.to_datetime(d["created_at"])).dt.days
        d["cycle"] = np.where(d["won"] & (cyc >= 0), cyc, np.nan)
    else:
        d["cycle"] = np.nan
    g = d.groupby("account_id")
    out = pd.DataFrame(
        {
            "won_deals": g["won"].sum().astype(int),
            "closed_deals": g["won"].size().astype(int),
            "revenue": g["won_amount"].sum(min_count=1),
            "sales_cycle": g["cycle"].median(),
        }
    )
    out = out[out["won_deals"] > 0]
    out["expansion"] = out["won_deals"] - 1
    out["win_efficiency"] = out["won_deals"] / out["closed_deals"]
    return out.reset_index()


def compute_health(
    deals: pd.DataFrame | None,
    accounts: pd.DataFrame | None = None,
    *,
    weights: dict[str, float] | None = None,
    extra_components: pd.DataFrame | None = None,
    extra_meta: dict[str, tuple[float, bool, str]] | None = None,
) -> HealthResult:
    """Score every customer 0-100.

    ``extra_components`` (account_id plus one column per component) and
    ``extra_meta`` (component -> (weight, higher_is_better, description)) let
    richer inputs (revenue history, tickets, usage) add components.
    """
    meta = dict(COMPONENTS)
    meta.update(extra_meta or {})
    w = {k: v[0] for k, v in meta.items()}
    warnings: list[str] = []
    if weights:
        unknown = set(weights) - set(meta)
        if unknown:
            warnings.append(f"health weights for unknown components ignored: {sorted(unknown)}")
        w.update({k: float(v) for k, v in weights.items() if k in meta})
    if deals is not None and len(deals):
        comp = component_frame(deals)
        comp["account_id"] = comp["account_id"].astype(str)
    else:
        comp = pd.DataFrame({"account_id": pd.Series(dtype=str)})
    if extra_components is not None and len(extra_components):
        # customers are accounts with a won deal or with revenue history
        comp = comp.merge(extra_components, on="account_id", how="outer")
    used = []
    ranks = {}
    for c, (_, higher, _) in meta.items():
        if c not in comp.columns or w.get(c, 0) <= 0:
            continue
        vals = pd.to_numeric(comp[c], errors="coerce")
        if vals.notna().sum() < 2 or vals.nunique() < 2:
            if c in COMPONENTS:
                warnings.append(
                    f"health component '{c}' skipped: the data does not vary or is missing"
                )
            continue
        ranks[c] = vals.rank(pct=True, ascending=higher)
        used.append(c)
    if not used:
        comp["health"] = 50.0
        warnings.append("no health component could be computed; every customer scores 50")
    else:
        R = pd.DataFrame(ranks)
        W = np.array([w[c] for c in used])
        mask = R.notna().to_numpy()
        num = np.nansum(R.to_numpy() * W, axis=1)
        den = (mask * W).sum(axis=1)
        comp["health"] = np.where(den > 0, 100 * num / np.maximum(den, 1e-9), np.nan)
        for c in used:
            comp[f"rank_{c}"] = R[c].round(3)
    unknown = comp["health"].isna()
    if unknown.any():
        warnings.append(
            f"{int(unknown.sum())} customer(s) have no health data; scored 50 (neutral)"
        )
        comp["health"] = comp["health"].fillna(50.0)
    comp["health"] = comp["health"].round(1)
    comp["health_rank"] = comp["health"].rank(ascending=False, method="first").astype(int)
    n = len(comp)
    k = max(1, int(round(BEST_SHARE * n))) if n >= 5 else 0
    tier = np.full(n, "middle", dtype=object)
    if k:
        tier[comp["health_rank"].to_numpy() <= k] = "best"
        tier[comp["health_rank"].to_numpy() > n - k] = "worst"
    comp["health_tier"] = tier
    if accounts is not None and "name" in accounts.columns:
        names = accounts[["account_id", "name"]].assign(
            account_id=lambda d: d["account_id"].astype(str)
        )
        comp = comp.merge(names, on="account_id", how="left")
    comp = comp.sort_values("health_rank").reset_index(drop=True)
    total = sum(w[c] for c in used) or 1.0
    return HealthResult(
        table=comp,
        weights={c: round(w[c] / total, 4) for c in used},
        used=used,
        descriptions={c: meta[c][2] for c in meta},
        warnings=warnings,
    )
