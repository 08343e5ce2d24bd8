"""Size of the ICP: how many named accounts in a market list it selects.

A sales team can work roughly 1,000-5,000 named accounts. An ICP that
selects more than 40% of the market, or more than 5,000 accounts, does not
discriminate (too broad); one that selects fewer than about 100 leaves a
team too little to work (too narrow).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..icpfile import ICP, fmt_number
from ..ingest import read_table
from ..schema import ColumnMapping
from ..scoring.scorer import score_accounts

TOO_BROAD_SHARE = 0.40
TOO_BROAD_COUNT = 5000
TOO_NARROW_COUNT = 100
TARGET_BAND = (1000, 5000)
LEVELS = {"Tier 1": ("1",), "Tiers 1-2": ("1", "2"), "Tiers 1-3": ("1", "2", "3")}
NAME_ALIASES = ("name", "company_name", "account_name", "company")
UNIT_RATIO = 100.0


def read_market(
    path: str | Path, mapping: ColumnMapping | None = None, *, encoding: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read a market list as the canonical ``market`` table.

    A market list often has no account id (e.g. a published company ranking):
    ingest then uses the company name as the id, and a warning says so.
    """
    df, _kinds, warnings = read_table("market", path, mapping, encoding=encoding)
    return df, warnings


def verdict(count: int, total: int) -> tuple[str, str]:
    """(code, sentence) for an ICP that selects ``count`` of ``total`` market accounts."""
    share = count / total if total else 0.0
    lo, hi = TARGET_BAND
    where = f"{count:,} of {total:,} market accounts ({share:.0%})"
    if count > TOO_BROAD_COUNT or share > TOO_BROAD_SHARE:
        why = (
            f"more than {TOO_BROAD_SHARE:.0%} of the market"
            if share > TOO_BROAD_SHARE
            else f"more than {TOO_BROAD_COUNT:,} accounts"
        )
        return "too_broad", f"Too broad: {where}, {why}. Tighten the tier or the criteria."
    if count < TOO_NARROW_COUNT:
        return "too_narrow", (
            f"Too narrow: {where}, fewer than ~{TOO_NARROW_COUNT} accounts for a sales team to work. "
            "Widen the tier, or size it on a larger market list."
        )
    if lo <= count <= hi:
        return "in_range", f"In range: {where}, inside the {lo:,}-{hi:,} target band."
    return "below_band", (
        f"Workable but below the {lo:,}-{hi:,} target band: {where}. Enough for a focused team; "
        "a larger market list or a wider tier would fill the band."
    )


def unit_warnings(icp: ICP, market: pd.DataFrame, accounts: pd.DataFrame | None) -> list[str]:
    """Numeric attributes whose typical market value is far from the training accounts' (units?)."""
    if accounts is None:
        return []
    out = []
    for feat in icp.scorecard.features:
        a = feat.attribute
        if feat.kind != "numeric" or a not in market.columns or a not in accounts.columns:
            continue
        m = pd.to_numeric(market[a], errors="coerce").dropna()
        t = pd.to_numeric(accounts[a], errors="coerce").dropna()
        if len(m) == 0 or len(t) == 0:
            continue
        mm, tm = float(np.median(m)), float(np.median(t))
        if mm > 0 and tm > 0 and max(mm / tm, tm / mm) >= UNIT_RATIO:
            out.append(
                f"'{a}': the market's median is {fmt_number(mm)} but the accounts' is {fmt_number(tm)} "
                "— a different unit (e.g. millions vs units)? Convert before trusting the counts"
            )
    return out


def size_icp(
    icp: ICP,
    market: pd.DataFrame,
    *,
    accounts: pd.DataFrame | None = None,
    min_scores: Sequence[int] = (),
) -> dict[str, Any]:
    """Count the market accounts in Tier 1, Tiers 1-2 and Tiers 1-3, with a verdict for each.

    The headline verdict is on Tiers 1-3 (the ICP as a whole). ``min_scores``
    adds the count at each score threshold (not excluded by a disqualifier),
    e.g. a recommended narrower or wider ICP, in ``at_scores``.
    """
    res = score_accounts(icp, market)
    tier = res.frame["tier"].astype(str).to_numpy()
    score = res.frame["score"].to_numpy(dtype=float)
    total = int(len(tier))
    at_scores = []
    for m in min_scores:
        count = int(((score >= m) & (tier != "excluded")).sum())
        code, text = verdict(count, total)
        at_scores.append(
            {
                "min_score": int(m),
                "accounts": count,
                "share": round(count / total, 4) if total else None,
                "verdict": code,
                "message": text,
            }
        )
    levels = []
    for name, tiers in LEVELS.items():
        count = int(np.isin(tier, tiers).sum())
        code, text = verdict(count, total)
        levels.append(
            {
                "level": name,
                "accounts": count,
                "share": round(count / total, 4) if total else None,
                "verdict": code,
                "message": text,
            }
        )
    head = levels[-1]
    warnings = list(res.warnings) + unit_warnings(icp, market, accounts)
    top = res.frame.sort_values("score", ascending=False).head(10)
    return {
        "market_accounts": total,
        "levels": levels,
        "at_scores": at_scores,
        "excluded": int((tier == "excluded").sum()),
        "verdict": head["verdict"],
        "message": head["message"],
        "target_band": list(TARGET_BAND),
        "too_broad": {"share": TOO_BROAD_SHARE, "accounts": TOO_BROAD_COUNT},
        "too_narrow": TOO_NARROW_COUNT,
        "unknown_attributes": res.unknown_attributes,
        "top_accounts": [
            {"account_id": str(r.account_id), "score": int(r.score), "tier": str(r.tier)}
            for r in top.itertuples()
        ],
        "warnings": warnings,
    }
