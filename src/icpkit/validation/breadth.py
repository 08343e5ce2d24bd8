"""The 3x rule, acted on: conversion inside vs outside the ICP as a function of its breadth.

Practitioners hold an ICP to converting at least 3x the rest. Whether a
score reaches that depends on how many accounts are counted "in": held out,
the held-out deals are ranked by score and, for each breadth (the share of
deals counted in the ICP), the in-rate, out-rate and their ratio are
measured. When the current ICP (Tiers 1-3) falls below 3x, the score
threshold that reaches it with enough support is recommended.

Mind the base rate: where most deals are lost, the ratio rises as the ICP
*narrows* (the in-group becomes the best few). Where most deals win
(qualified opportunities), the in-rate cannot exceed 100%, so 3x is only
reachable by *widening* the ICP until the out-group is a small carved-out
worst set. The recommendation says which, or that neither reaches 3x.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .metrics import IN_ICP, TARGET_RATIO, _r, rate, rate_ratio

BREADTHS = (0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80)
MIN_DEALS = 30
MIN_ACCOUNTS = 3
MAX_CANDIDATES = 200


def _codes(account: np.ndarray | None) -> np.ndarray | None:
    return None if account is None else pd.factorize(np.asarray(account).astype(str))[0]


def _side(won: np.ndarray, mask: np.ndarray, codes: np.ndarray | None) -> dict[str, Any]:
    r = rate(won, mask)
    r["accounts"] = (
        int(np.count_nonzero(np.bincount(codes[mask])))
        if codes is not None and mask.any()
        else r["n"]
    )
    return r


def split_at(
    won: np.ndarray, score: np.ndarray, threshold: float, account: np.ndarray | None = None
) -> dict[str, Any]:
    """In = score >= ``threshold``; in-rate, out-rate, ratio with its interval, n on both sides."""
    return _split(
        np.asarray(won, dtype=bool), np.asarray(score, dtype=float), threshold, _codes(account)
    )


def _split(
    w: np.ndarray, s: np.ndarray, threshold: float, codes: np.ndarray | None
) -> dict[str, Any]:
    inside = s >= threshold
    a, b = _side(w, inside, codes), _side(w, ~inside, codes)
    return {
        "threshold": threshold,
        "breadth": _r(inside.mean()) if len(s) else None,
        "in": a,
        "out": b,
        **rate_ratio(a, b),
    }


def curve(
    won: np.ndarray,
    score: np.ndarray,
    *,
    account: np.ndarray | None = None,
    breadths: tuple[float, ...] = BREADTHS,
) -> list[dict[str, Any]]:
    """In/out conversion when the top ``breadth`` of held-out deals by score is the ICP.

    Scores tie (icpkit's are integers), so each breadth becomes the score
    threshold whose share of deals at or above it is nearest the target;
    ``breadth`` is the share actually reached. Thresholds reached twice are
    reported once.
    """
    s = np.asarray(score, dtype=float)
    w = np.asarray(won, dtype=bool)
    codes = _codes(account)
    n = len(s)
    if n == 0:
        return []
    srt = np.sort(s)
    uniq = np.unique(s)[1:]  # the lowest score as threshold would put every deal in
    shares = (n - np.searchsorted(srt, uniq, side="left")) / n
    rows: list[dict[str, Any]] = []
    seen: set[float] = set()
    for b in breadths:
        if not len(uniq):
            break
        t = float(uniq[int(np.argmin(np.abs(shares - b)))])
        if t in seen:
            continue
        seen.add(t)
        rows.append({"target": b, **_split(w, s, t, codes)})
    return rows


def supported(
    row: dict[str, Any], min_deals: int = MIN_DEALS, min_accounts: int = MIN_ACCOUNTS
) -> bool:
    """Enough deals and accounts on both sides of the threshold to trust the ratio."""
    return all(
        row[side]["n"] >= min_deals and row[side]["accounts"] >= min_accounts
        for side in ("in", "out")
    )


def _tier_label(threshold: float, tier_min: dict[int, int] | None) -> str:
    """Where a score threshold sits among the ICP's tier floors."""
    if not tier_min:
        return ""
    for t in sorted(tier_min):
        m = tier_min[t]
        if threshold >= m:
            tiers = "Tier 1" if t == 1 else f"Tiers 1-{t}"
            return f"{tiers} by score" if threshold == m else f"above the Tier {t} floor of {m}"
    lowest = max(tier_min)
    return f"below the Tier {lowest} floor of {tier_min[lowest]}"


def action_message(rec: dict[str, Any]) -> str:
    """The narrow/widen sentence, with the market-list count once sizing has it."""
    pick, cur = rec["candidate"], rec["current"]
    cur_txt = (
        f"{cur['ratio']:.2f}x on {cur['in']['n']:,} deals in Tiers 1-3"
        if cur["ratio"] is not None
        else "no held-out deal in Tiers 1-3"
    )
    market = (
        f"; {rec['market_accounts']:,} of the {rec['market_total']:,} accounts of the market list"
        if rec.get("market_accounts") is not None
        else ""
    )
    head = f"{rec['action'].capitalize()} the ICP to score >= {rec['min_score']}" + (
        f" ({rec['tier_label']})" if rec["tier_label"] else ""
    )
    if pick["ratio"] is None:
        held = f"held out there is no ratio ({pick['out']['wins']} wins outside)"
    else:
        held = (
            f"held-out in/out {pick['ratio']:.2f}x "
            f"({pick['ratio_ci_low']:.2f}-{pick['ratio_ci_high']:.2f}) on {pick['in']['n']:,} deals in "
            f"({pick['in']['accounts']:,} accounts) vs {pick['out']['n']:,} out, "
            f"{pick['breadth']:.0%} of held-out deals"
        )
    chosen = rec.get("chosen")
    if rec.get("chosen_on_heldout", True) or chosen is None:
        return (
            f"{head}: {held}{market}; the current ICP gives {cur_txt}.{rec['why']}"
            " The threshold is chosen on the held-out deals, so its ratio is optimistic: "
            "confirm it on the next period's deals."
        )
    check = (
        "it holds on the held-out deals"
        if rec.get("confirmed")
        else f"held out it falls short of {rec['target']:g}x: confirm it on the next period's deals "
        "before acting on it"
    )
    return (
        f"{head}: chosen on the training deals' cross-validated scores "
        f"({chosen['ratio']:.2f}x on {chosen['in']['n']:,} deals in), then checked: {held}{market}; "
        f"the current ICP gives {cur_txt}; {check}.{rec['why']}"
    )


def with_market(rec: dict[str, Any], accounts: int, total: int) -> dict[str, Any]:
    """The recommendation with the number of market-list accounts at its threshold."""
    out = {
        **rec,
        "market_accounts": int(accounts),
        "market_total": int(total),
        "market_share": round(accounts / total, 4) if total else None,
    }
    if out.get("candidate") is not None:
        out["message"] = action_message(out)
    return out


def _candidates(
    w: np.ndarray, s: np.ndarray, codes: np.ndarray | None, min_deals: int, min_accounts: int
) -> list[dict[str, Any]]:
    """Every supported threshold's split (a quantile grid when the score is continuous)."""
    values = np.unique(s)[1:]
    if len(values) > MAX_CANDIDATES:
        values = np.unique(np.quantile(s, np.linspace(0, 1, MAX_CANDIDATES + 1)[1:-1]))
        values = values[values > s.min()]
    cands = [_split(w, s, float(v), codes) for v in values]
    return [c for c in cands if supported(c, min_deals, min_accounts)]


def recommend(
    won: np.ndarray,
    score: np.ndarray,
    tier: np.ndarray,
    *,
    account: np.ndarray | None = None,
    target: float = TARGET_RATIO,
    min_deals: int = MIN_DEALS,
    min_accounts: int = MIN_ACCOUNTS,
    tier_min: dict[int, int] | None = None,
    train: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """What to do about the 3x rule: keep, narrow or widen the ICP to a score threshold, or none.

    Every score is a candidate threshold (in = score >= it). A candidate
    counts when its in/out ratio is at least ``target``, its interval excludes
    1 and both sides hold ``min_deals`` deals and ``min_accounts`` accounts.
    Of those, the one nearest the current ICP's breadth is recommended: the
    smallest change that meets the rule.

    With ``train`` (the training deals scored out of fold: ``won``, ``score``,
    ``tier``, ``account_id``), the threshold is chosen there and only checked
    on the held-out deals, so the held-out ratio reported for it is honest;
    ``confirmed`` says whether it holds there. Without it, the threshold is
    chosen on the held-out deals themselves (optimistic, and said so).
    """
    w = np.asarray(won, dtype=bool)
    s = np.asarray(score, dtype=float)
    t = np.asarray(tier).astype(str)
    codes = _codes(account)
    cur_mask = np.isin(t, IN_ICP)
    cur_in, cur_out = _side(w, cur_mask, codes), _side(w, ~cur_mask, codes)
    cur: dict[str, Any] = {
        "breadth": _r(cur_mask.mean()) if len(t) else None,
        "in": cur_in,
        "out": cur_out,
    }
    cur.update(rate_ratio(cur_in, cur_out))
    base = {
        "target": target,
        "min_deals": min_deals,
        "min_accounts": min_accounts,
        "base_rate": _r(w.mean()) if len(w) else None,
        "current": cur,
        "chosen_on_heldout": train is None,
        "chosen_on": "held-out deals" if train is None else "training deals, cross-validated",
    }
    if len(w) == 0 or w.all() or not w.any():
        return {
            **base,
            "action": "none",
            "min_score": None,
            "in_out": None,
            "n_in": None,
            "candidate": None,
            "best_supported": None,
            "message": "No recommendation: the held-out deals are all won or all lost.",
        }
    ok = _candidates(w, s, codes, min_deals, min_accounts)
    best = max(ok, key=lambda c: c["ratio"] or 0.0) if ok else None
    here = float(cur["breadth"] or 0.0)
    if train is not None and len(train):
        # choose on the training deals' out-of-fold scores; the held-out deals only check
        tw = train["won"].to_numpy(dtype=bool)
        tm = np.isin(train["tier"].astype(str).to_numpy(), IN_ICP)
        here = float(tm.mean())
        pool = _candidates(
            tw,
            train["score"].to_numpy(dtype=float),
            _codes(train["account_id"].astype(str).to_numpy()),
            min_deals,
            min_accounts,
        )
    else:
        pool = ok
    meets = [
        c
        for c in pool
        if c["ratio"] is not None
        and c["ratio"] >= target
        and c["ratio_ci_low"] is not None
        and c["ratio_ci_low"] > 1
    ]
    cur_ratio: float | None = cur["ratio"]
    cur_ok = (
        cur_ratio is not None
        and cur_ratio >= target
        and cur_in["n"] >= min_deals
        and cur_out["n"] >= min_deals
    )
    out: dict[str, Any] = {**base, "best_supported": best}
    if cur_ok:
        return {
            **out,
            "action": "keep",
            "min_score": None,
            "in_out": cur_ratio,
            "n_in": cur_in["n"],
            "candidate": None,
            "message": (
                f"Keep the ICP: held out, Tiers 1-3 convert {cur_ratio:.2f}x the rest "
                f"({cur_in['n']:,} deals in, {cur_out['n']:,} out), above the {target:g}x floor."
            ),
        }
    if meets:
        chosen = min(meets, key=lambda c: (abs((c["breadth"] or 0.0) - here), -(c["ratio"] or 0.0)))
        action = "narrow" if (chosen["breadth"] or 0.0) < here else "widen"
        # the held-out figures at the chosen threshold (the same row when chosen there)
        pick = chosen if train is None else _split(w, s, float(chosen["threshold"]), codes)
        thr = int(round(pick["threshold"]))
        label = _tier_label(pick["threshold"], tier_min)
        if action == "narrow":
            why = ""
        elif w.mean() >= 0.5:
            why = (
                f" Most held-out deals win ({w.mean():.0%}), so the ratio rises as the ICP widens: "
                "the out-group becomes the worst-scored few."
            )
        else:
            why = (
                " Widening reaches 3x here because the deals just below the ICP still convert "
                "well above the rest: what is left out becomes the low-scored deals."
            )
        rec = {
            **out,
            "action": action,
            "min_score": thr,
            "in_out": pick["ratio"],
            "n_in": pick["in"]["n"],
            "candidate": pick,
            "chosen": chosen,
            "confirmed": bool(
                pick["ratio"] is not None
                and pick["ratio"] >= target
                and pick["ratio_ci_low"] is not None
                and pick["ratio_ci_low"] > 1
            ),
            "tier_label": label,
            "why": why,
        }
        rec["message"] = action_message(rec)
        return rec
    if best is None:
        why = f"no threshold leaves {min_deals} deals and {min_accounts} accounts on both sides"
    else:
        why = (
            f"the best supported threshold, score >= {int(round(best['threshold']))} "
            f"({best['breadth']:.0%} of held-out deals), reaches {best['ratio']:.2f}x "
            f"({best['in']['n']:,} deals in, {best['out']['n']:,} out)"
        )
        if w.mean() >= 0.5:
            why += (
                f"; with {w.mean():.0%} of held-out deals won, the in-rate cannot be 3x the out-rate "
                "unless the worst-scored few lose almost always"
            )
        else:
            why += "; the score does not separate winners from losers sharply enough"
    return {
        **out,
        "action": "none",
        "min_score": None,
        "in_out": cur_ratio,
        "n_in": cur_in["n"],
        "candidate": None,
        "message": (
            f"Neither narrowing nor widening the ICP reaches {target:g}x on held-out deals: {why}. "
            "Treat the tiers as a ranking, not a 3x targeting rule."
        ),
    }
