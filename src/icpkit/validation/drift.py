"""Drift against the previous ICP: the quarterly refresh in one command.

Three views: the population stability index (PSI) of the two ICPs' score
distributions on the same accounts; what changed in the ICP as code
(criteria, disqualifiers, scorecard bins); and how the previous ICP scores
the held-out deals next to the newly learned one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..icpfile import ICP
from ..scoring.scorer import score_accounts
from .metrics import auc, in_vs_out, tier_share_of_wins

PSI_EDGES = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001])
PSI_STABLE = 0.10
PSI_MAJOR = 0.25
POINTS_CHANGE = 5


def psi(old: np.ndarray, new: np.ndarray, edges: np.ndarray = PSI_EDGES) -> float:
    """Population stability index of ``new`` against ``old`` over fixed score bands."""
    a = np.histogram(np.asarray(old, dtype=float), bins=edges)[0].astype(float)
    b = np.histogram(np.asarray(new, dtype=float), bins=edges)[0].astype(float)
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    a = np.clip(a / a.sum(), 1e-4, None)
    b = np.clip(b / b.sum(), 1e-4, None)
    return float(np.sum((b - a) * np.log(b / a)))


def psi_label(value: float) -> str:
    if value < PSI_STABLE:
        return "stable"
    if value < PSI_MAJOR:
        return "moderate shift"
    return "major shift"


def _criteria(icp: ICP) -> dict[str, dict[str, Any]]:
    out = {}
    for t in icp.tiers:
        for fam, cs in t.criteria.items():
            for c in cs:
                out[c.text()] = {"tier": t.tier, "attribute": c.attribute, "family": fam}
    return out


def diff_criteria(old: ICP, new: ICP) -> dict[str, list[dict[str, Any]]]:
    """Criteria added, removed, and changed (moved tier, or new edges on the same attribute)."""
    a, b = _criteria(old), _criteria(new)
    added = [{"criterion": k, **v} for k, v in b.items() if k not in a]
    removed = [{"criterion": k, **v} for k, v in a.items() if k not in b]
    changed = [
        {
            "criterion": k,
            "attribute": v["attribute"],
            "change": f"Tier {a[k]['tier']} -> Tier {v['tier']}",
        }
        for k, v in b.items()
        if k in a and a[k]["tier"] != v["tier"]
    ]
    # one removed and one added on the same attribute and tier: the same criterion, new edges
    for r in list(removed):
        same = [x for x in added if x["attribute"] == r["attribute"] and x["tier"] == r["tier"]]
        if len(same) == 1:
            changed.append(
                {
                    "criterion": same[0]["criterion"],
                    "attribute": r["attribute"],
                    "change": f"was {r['criterion']} (Tier {r['tier']})",
                }
            )
            added.remove(same[0])
            removed.remove(r)
    return {"added": added, "removed": removed, "changed": changed}


def diff_disqualifiers(old: ICP, new: ICP) -> dict[str, list[str]]:
    a = {d.text() for d in old.disqualifiers if d.enabled}
    b = {d.text() for d in new.disqualifiers if d.enabled}
    return {"added": sorted(b - a), "removed": sorted(a - b)}


def _features(icp: ICP) -> dict[str, dict[str, int]]:
    out = {}
    for f in icp.scorecard.features:
        key = (
            f.attribute if f.kind != "flag" else f"{f.attribute}:{f.bins[0].has or f.bins[0].lacks}"
        )
        out[key] = {b.text(): b.points for b in f.bins}
    return out


def diff_scorecard(old: ICP, new: ICP) -> dict[str, Any]:
    """Scorecard features added or removed, bins re-cut, and points moved by 5 or more."""
    a, b = _features(old), _features(new)
    bins_changed, points_changed = [], []
    for k in sorted(set(a) & set(b)):
        if set(a[k]) != set(b[k]):
            bins_changed.append(
                {
                    "feature": k,
                    "removed": sorted(set(a[k]) - set(b[k])),
                    "added": sorted(set(b[k]) - set(a[k])),
                }
            )
        for label in sorted(set(a[k]) & set(b[k])):
            if abs(a[k][label] - b[k][label]) >= POINTS_CHANGE:
                points_changed.append(
                    {"feature": k, "bin": label, "old": a[k][label], "new": b[k][label]}
                )
    return {
        "features_added": sorted(set(b) - set(a)),
        "features_removed": sorted(set(a) - set(b)),
        "bins_changed": bins_changed,
        "points_changed": points_changed,
        "base": {"old": old.scorecard.base, "new": new.scorecard.base},
    }


def _perf(won: np.ndarray, score: np.ndarray, tier: np.ndarray) -> dict[str, Any]:
    io = in_vs_out(won, tier)
    return {
        "roc_auc": auc(won, score),
        "in_out_ratio": io["ratio"],
        "in_icp_win_rate": io["in"]["win_rate"],
        "tier1_share_of_wins": tier_share_of_wins(won, tier)["1"],
    }


def compare(
    old: ICP,
    new: ICP,
    accounts: pd.DataFrame,
    *,
    heldout_rows: pd.DataFrame | None = None,
    heldout: pd.DataFrame | None = None,
    heldout_from: str | None = None,
) -> dict[str, Any]:
    """Drift of ``new`` against ``old``.

    Parameters
    ----------
    accounts : DataFrame
        The accounts both ICPs score for the PSI.
    heldout_rows, heldout : DataFrame, optional
        The held-out deals with their account attributes, and their scores
        from the newly learned ICP (``won``, ``score``, ``tier``).
    heldout_from : str, optional
        First date of the held-out period; when the previous ICP was trained
        on deals up to or after it, its held-out figures are flagged as optimistic.
    """
    s_old = score_accounts(old, accounts).frame["score"].to_numpy()
    s_new = score_accounts(new, accounts).frame["score"].to_numpy()
    value = psi(s_old, s_new)
    out: dict[str, Any] = {
        "previous_generated_at": old.generated_at,
        "previous_training": old.training.model_dump() if old.training else None,
        "psi": round(value, 4),
        "psi_label": psi_label(value),
        "accounts_scored": int(len(accounts)),
        "mean_score": {"old": round(float(s_old.mean()), 2), "new": round(float(s_new.mean()), 2)}
        if len(s_old)
        else None,
        "evidence": {"old": old.evidence.strength, "new": new.evidence.strength},
        "criteria": diff_criteria(old, new),
        "disqualifiers": diff_disqualifiers(old, new),
        "scorecard": diff_scorecard(old, new),
        "heldout": None,
        "notes": [],
    }
    if heldout_rows is not None and heldout is not None and len(heldout):
        r = score_accounts(old, heldout_rows).frame
        won = heldout["won"].to_numpy(dtype=bool)
        out["heldout"] = {
            "previous": _perf(won, r["score"].to_numpy(), r["tier"].astype(str).to_numpy()),
            "new": _perf(won, heldout["score"].to_numpy(), heldout["tier"].astype(str).to_numpy()),
            "deals": int(len(won)),
        }
        to = old.training.date_to if old.training else None
        if to is None or heldout_from is None or to >= heldout_from:
            out["notes"].append(
                "the previous ICP may have been trained on some of the held-out deals"
                + (f" (its training ran to {to})" if to else "")
                + ": its held-out figures are optimistic"
            )
    return out
