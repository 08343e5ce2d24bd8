"""Figures computed on held-out deals: conversion inside vs outside the ICP,
capture, discrimination and calibration.

Every function takes plain arrays (one element per held-out deal) and
returns plain dicts of numbers, so the same figures land in
``validation.json``, on the command line and in the report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ..mining.stats import Z95, wilson
from ..scoring.fit import POINTS_PER_TRIPLING

CAPTURE_TOPS = (0.1, 0.2, 0.3, 0.5)
RELIABILITY_BANDS = ((0, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 101))
TARGET_RATIO = 3.0
IN_ICP = ("1", "2", "3")


def _r(x: float | None, nd: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def rate(won: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any]:
    """Deals, wins, win rate and its 95% Wilson interval for the deals in ``mask``."""
    w = np.asarray(won, dtype=bool)
    m = np.ones(len(w), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    n, k = int(m.sum()), int((w & m).sum())
    lo, hi = wilson(k, n)
    return {
        "n": n,
        "wins": k,
        "win_rate": _r(k / n) if n else None,
        "ci_low": _r(float(lo)) if n else None,
        "ci_high": _r(float(hi)) if n else None,
    }


def rate_ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    """Ratio of two win rates with a 95% interval (Katz log method, 0.5 added to empty cells)."""
    if not a["n"] or not b["n"]:
        return {"ratio": None, "ratio_ci_low": None, "ratio_ci_high": None}
    ka, na, kb, nb = a["wins"], a["n"], b["wins"], b["n"]
    if ka == 0 or kb == 0:
        ka, kb, na, nb = ka + 0.5, kb + 0.5, na + 0.5, nb + 0.5
    ratio = (ka / na) / (kb / nb)
    se = math.sqrt(max(0.0, 1 / ka - 1 / na + 1 / kb - 1 / nb))
    lo, hi = ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)
    raw = (a["wins"] / a["n"]) / (b["wins"] / b["n"]) if b["wins"] else None
    return {
        "ratio": _r(raw if raw is not None else ratio, 3),
        "ratio_ci_low": _r(lo, 3),
        "ratio_ci_high": _r(hi, 3),
    }


def tier_table(won: np.ndarray, tier: np.ndarray) -> list[dict[str, Any]]:
    """Win rate per tier, inside and outside the ICP, and each group's ratio to out-of-ICP.

    In the ICP means Tier 1, 2 or 3; out of it means no tier or excluded by a
    disqualifier.
    """
    t = np.asarray(tier).astype(str)
    out_mask = ~np.isin(t, IN_ICP)
    out = rate(won, out_mask)
    groups = [
        ("Tier 1", t == "1"),
        ("Tier 2", t == "2"),
        ("Tier 3", t == "3"),
        ("Tiers 1-2", np.isin(t, ("1", "2"))),
        ("In ICP (Tiers 1-3)", np.isin(t, IN_ICP)),
        ("No tier", t == "none"),
        ("Excluded (disqualified)", t == "excluded"),
        ("Out of ICP", out_mask),
    ]
    rows = []
    for name, mask in groups:
        r = {"group": name, **rate(won, mask)}
        r.update(
            rate_ratio(r, out)
            if name != "Out of ICP"
            else {"ratio": None, "ratio_ci_low": None, "ratio_ci_high": None}
        )
        rows.append(r)
    return rows


def in_vs_out(won: np.ndarray, tier: np.ndarray) -> dict[str, Any]:
    """The headline: in-ICP win rate over out-of-ICP win rate, against the 3x floor."""
    t = np.asarray(tier).astype(str)
    inside, outside = rate(won, np.isin(t, IN_ICP)), rate(won, ~np.isin(t, IN_ICP))
    rr = rate_ratio(inside, outside)
    ratio = rr["ratio"]
    return {
        "in": inside,
        "out": outside,
        **rr,
        "target": TARGET_RATIO,
        "meets_target": bool(ratio is not None and ratio >= TARGET_RATIO),
        "significant": bool(rr["ratio_ci_low"] is not None and rr["ratio_ci_low"] > 1.0),
    }


def top_share(score: np.ndarray, weight: np.ndarray, top: float) -> float | None:
    """Share of ``weight`` held by the top ``top`` fraction of deals by score.

    Deals tied at the boundary score count in proportion (the expectation
    under a random tie-break), so integer scores do not bias the figure.
    """
    s = np.asarray(score, dtype=float)
    w = np.nan_to_num(np.asarray(weight, dtype=float))
    total = w.sum()
    if len(s) == 0 or total <= 0:
        return None
    k = top * len(s)
    order = np.sort(s)[::-1]
    t = order[max(0, math.ceil(k) - 1)]
    above, at = s > t, s == t
    need = k - above.sum()
    frac = min(1.0, max(0.0, need / at.sum())) if at.any() else 0.0
    return float((w[above].sum() + frac * w[at].sum()) / total)


def capture(
    won: np.ndarray, score: np.ndarray, amount: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Share of won deals (and of won revenue) in the top 10/20/30/50% of scores."""
    w = np.asarray(won, dtype=bool)
    rev = None
    if amount is not None:
        a = np.asarray(amount, dtype=float)
        if np.isfinite(a[w]).any() and np.nansum(a[w]) > 0:
            rev = np.where(w, np.nan_to_num(a), 0.0)
    rows = []
    for q in CAPTURE_TOPS:
        ws = top_share(score, w.astype(float), q)
        rs = top_share(score, rev, q) if rev is not None else None
        rows.append(
            {
                "top": q,
                "won_share": _r(ws),
                "won_lift": _r(ws / q, 3) if ws is not None else None,
                "revenue_share": _r(rs),
            }
        )
    return rows


def tier_share_of_wins(won: np.ndarray, tier: np.ndarray) -> dict[str, float | None]:
    """Share of held-out won deals in Tier 1, Tiers 1-2 and Tiers 1-3."""
    w = np.asarray(won, dtype=bool)
    t = np.asarray(tier).astype(str)
    if not w.any():
        return {"1": None, "1-2": None, "1-3": None}
    k = w.sum()
    return {
        "1": _r((w & (t == "1")).sum() / k),
        "1-2": _r((w & np.isin(t, ("1", "2"))).sum() / k),
        "1-3": _r((w & np.isin(t, IN_ICP)).sum() / k),
    }


def very_good_vs_low(
    won: np.ndarray, score: np.ndarray, *, high: int = 75, low: int = 50, min_n: int = 10
) -> dict[str, Any]:
    """Win rate of very good deals (score >= ``high``) over low ones (score < ``low``).

    These are the routing bands (high-touch vs deprioritize). When either band
    holds fewer than ``min_n`` held-out deals, the top and bottom 20% of scores
    are compared instead, and ``definition`` says so.
    """
    s = np.asarray(score, dtype=float)
    good, bad = s >= high, s < low
    definition = f"score >= {high} vs score < {low}"
    if good.sum() < min_n or bad.sum() < min_n:
        if len(s) < 2 * min_n:
            return {
                "definition": definition,
                "very_good": rate(won, good),
                "low": rate(won, bad),
                "ratio": None,
                "ratio_ci_low": None,
                "ratio_ci_high": None,
                "note": "too few held-out deals to compare score bands",
            }
        hi_cut, lo_cut = np.quantile(s, 0.8), np.quantile(s, 0.2)
        good, bad = s >= hi_cut, s <= lo_cut
        if hi_cut <= lo_cut or good.mean() > 0.4 or bad.mean() > 0.4:
            return {
                "definition": definition,
                "very_good": rate(won, s >= high),
                "low": rate(won, s < low),
                "ratio": None,
                "ratio_ci_low": None,
                "ratio_ci_high": None,
                "note": "scores are too tied to compare score bands",
            }
        definition = (
            f"top 20% of scores (>= {hi_cut:.0f}) vs bottom 20% (<= {lo_cut:.0f}); "
            f"fewer than {min_n} held-out deals scored >= {high} or < {low}"
        )
    a, b = rate(won, good), rate(won, bad)
    return {"definition": definition, "very_good": a, "low": b, **rate_ratio(a, b)}


def score_probability(
    score: np.ndarray, base_rate: float, points_per_tripling: float = POINTS_PER_TRIPLING
) -> np.ndarray:
    """The win probability a score stands for: 50 is the base odds, +25 points triples them."""
    p0 = min(max(base_rate, 1e-6), 1 - 1e-6)
    z = math.log(p0 / (1 - p0)) + (np.asarray(score, dtype=float) - 50) * (
        math.log(3) / points_per_tripling
    )
    return np.asarray(1 / (1 + np.exp(-z)))


def probability_score(
    prob: np.ndarray, base_rate: float, points_per_tripling: float = POINTS_PER_TRIPLING
) -> np.ndarray:
    """The 0-100 score a win probability stands for: the inverse of :func:`score_probability`,
    rounded and clipped as scores are."""
    p0 = min(max(base_rate, 1e-6), 1 - 1e-6)
    p = np.clip(np.asarray(prob, dtype=float), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p)) - math.log(p0 / (1 - p0))
    return np.asarray(np.clip(np.rint(50 + z * points_per_tripling / math.log(3)), 0, 100))


def auc(won: np.ndarray, score: np.ndarray) -> float | None:
    w = np.asarray(won, dtype=bool)
    if w.all() or not w.any():
        return None
    return _r(roc_auc_score(w, np.asarray(score, dtype=float)))


def pr_auc(won: np.ndarray, score: np.ndarray) -> float | None:
    w = np.asarray(won, dtype=bool)
    if w.all() or not w.any():
        return None
    return _r(average_precision_score(w, np.asarray(score, dtype=float)))


def reliability(won: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> list[dict[str, Any]]:
    """Score band -> mean predicted vs observed win rate (with its interval)."""
    s = np.asarray(score, dtype=float)
    p = np.asarray(predicted, dtype=float)
    rows = []
    for lo, hi in RELIABILITY_BANDS:
        m = (s >= lo) & (s < hi)
        if not m.any():
            continue
        obs = rate(won, m)
        pred = float(p[m].mean())
        rows.append(
            {
                "band": f"{lo}-{min(hi, 100) - (1 if hi <= 100 else 0)}",
                "n": obs["n"],
                "predicted": _r(pred),
                "observed": obs["win_rate"],
                "ci_low": obs["ci_low"],
                "ci_high": obs["ci_high"],
                "within_interval": bool(obs["ci_low"] <= pred <= obs["ci_high"]),
            }
        )
    return rows


def brier(won: np.ndarray, predicted: np.ndarray, reference_rate: float) -> dict[str, float | None]:
    """Brier score, the Brier score of always predicting ``reference_rate``, and the skill."""
    y = np.asarray(won, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if len(y) == 0:
        return {"brier": None, "brier_reference": None, "brier_skill": None}
    b = float(np.mean((p - y) ** 2))
    ref = float(np.mean((reference_rate - y) ** 2))
    return {
        "brier": _r(b),
        "brier_reference": _r(ref),
        "brier_skill": _r(1 - b / ref) if ref > 0 else None,
    }


def heldout_figures(
    won: np.ndarray,
    score: np.ndarray,
    tier: np.ndarray,
    predicted: np.ndarray,
    *,
    amount: np.ndarray | None = None,
    train_rate: float,
    high: int = 75,
    low: int = 50,
) -> dict[str, Any]:
    """Every held-out figure for one set of scored deals."""
    w = np.asarray(won, dtype=bool)
    p = np.asarray(predicted, dtype=float)
    return {
        "n": int(len(w)),
        "wins": int(w.sum()),
        "win_rate": _r(w.mean()) if len(w) else None,
        "train_win_rate": _r(train_rate),
        "in_vs_out": in_vs_out(w, tier),
        "tiers": tier_table(w, tier),
        "tier_share_of_wins": tier_share_of_wins(w, tier),
        "capture": capture(w, score, amount),
        "very_good_vs_low": very_good_vs_low(w, score, high=high, low=low),
        "roc_auc": auc(w, score),
        "pr_auc": pr_auc(w, score),
        "pr_auc_baseline": _r(w.mean()) if len(w) else None,
        "mean_predicted": _r(p.mean()) if len(p) else None,
        **brier(w, p, train_rate),
        "reliability": reliability(w, score, p),
    }


def minimum_evidence(icp: Any, min_support: int | None = None) -> dict[str, Any]:
    """Every tier criterion and disqualifier with its training support, flagged under the minimum.

    A criterion resting on fewer than ``min_support`` closed deals (default:
    the ICP's own minimum, 30 or 5% of deals for small data) is not allowed
    into Tier 1 and is flagged in Tiers 2-3 and among disqualifiers.
    """
    ms = int(min_support or icp.evidence.min_support)
    items = []
    for t in icp.tiers:
        for fam, cs in t.criteria.items():
            for c in cs:
                n = c.evidence.n if c.evidence else None
                items.append(
                    {
                        "kind": "criterion",
                        "tier": t.tier,
                        "family": fam,
                        "condition": c.text(),
                        "n": n,
                        "source": c.source,
                        "ok": n is not None and n >= ms,
                    }
                )
    for d in icp.disqualifiers:
        n = d.evidence.n if d.evidence else None
        # a disqualifier from the best-vs-worst customer comparison rests on those customers
        hn = d.evidence.health_n if d.evidence else None
        items.append(
            {
                "kind": "disqualifier",
                "tier": None,
                "family": d.family,
                "condition": d.text(),
                "n": n,
                "health_n": hn,
                "source": d.source,
                "ok": n is not None and n >= ms and (hn is None or hn >= ms),
            }
        )
    under = [i for i in items if not i["ok"]]
    tier1 = [i for i in under if i["tier"] == 1]
    if not items:
        msg = "The ICP has no criteria or disqualifiers to check."
    elif not under:
        msg = f"Every criterion and disqualifier rests on at least {ms} training deals."
    else:
        msg = (
            f"{len(under)} of {len(items)} criteria/disqualifiers rest on fewer than {ms} training deals "
            "(or carry no evidence)"
            + (
                f"; {len(tier1)} of them in Tier 1, which the minimum does not allow"
                if tier1
                else ""
            )
            + "."
        )
    return {
        "min_support": ms,
        "rule": "at least min_support closed training deals behind each criterion (default 30, or 5% of deals for small data)",
        "checked": len(items),
        "under_minimum": len(under),
        "tier1_violations": len(tier1),
        "items": items,
        "message": msg,
    }


TIER_ORDER = (("Tier 1", ("1",)), ("Tier 2", ("2",)), ("Tier 3", ("3",)))


def monotonicity(won: np.ndarray, tier: np.ndarray, *, min_n: int = 10) -> dict[str, Any]:
    """Check Tier 1 >= Tier 2 >= Tier 3 > out of ICP on held-out win rates.

    Every pair of groups holding at least ``min_n`` deals is compared (a
    better tier's rate below a worse one's is a violation); a violation is
    ``significant`` when the two 95% Wilson intervals do not overlap. Thinner
    groups are named, not ordered.
    """
    t = np.asarray(tier).astype(str)
    groups = [(name, np.isin(t, ts)) for name, ts in TIER_ORDER]
    groups.append(("Out of ICP", ~np.isin(t, IN_ICP)))
    rows = [{"group": name, **rate(won, m)} for name, m in groups]
    thin = [r for r in rows if 0 < r["n"] < min_n]
    violations = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if a["n"] < min_n or b["n"] < min_n:
                continue
            worse = b["group"] == "Out of ICP"
            bad = a["win_rate"] <= b["win_rate"] if worse else a["win_rate"] < b["win_rate"]
            if bad:
                violations.append(
                    {
                        "better": a["group"],
                        "worse": b["group"],
                        "better_rate": a["win_rate"],
                        "worse_rate": b["win_rate"],
                        "better_n": a["n"],
                        "worse_n": b["n"],
                        "significant": bool(a["ci_high"] < b["ci_low"]),
                    }
                )
    sig = any(v["significant"] for v in violations)
    if not violations:
        msg = "Held out, the tiers are in order: Tier 1 >= Tier 2 >= Tier 3 > out of ICP."
    else:
        parts = [
            f"{v['better']} won {pct_txt(v['better_rate'])} (n={v['better_n']:,}) vs "
            f"{v['worse']} {pct_txt(v['worse_rate'])} (n={v['worse_n']:,})"
            + (" — significant (the intervals do not overlap)" if v["significant"] else "")
            for v in violations
        ]
        msg = "Held out, the tiers are out of order: " + "; ".join(parts) + "."
    if thin:
        msg += (
            " Not ordered (fewer than "
            f"{min_n} held-out deals): "
            + ", ".join(f"{r['group']} (n={r['n']})" for r in thin)
            + "."
        )
    return {
        "groups": rows,
        "violations": violations,
        "monotone": not violations,
        "significant_violation": sig,
        "min_n": min_n,
        "not_ordered": [r["group"] for r in thin],
        "message": msg,
    }


def pct_txt(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0%}" if v == 0 or abs(v) >= 0.1 else f"{v:.1%}"


def sharpness(
    won: np.ndarray, score: np.ndarray, tier: np.ndarray, *, min_n: int = 10
) -> dict[str, Any]:
    """Tier 1 (or the top 10% of scores) against the bottom 20% of scores: a ratio breadth cannot buy."""
    s = np.asarray(score, dtype=float)
    t = np.asarray(tier).astype(str)
    if len(s) < 2 * min_n:
        return {
            "top_definition": None,
            "bottom_definition": None,
            "top": None,
            "bottom": None,
            "ratio": None,
            "ratio_ci_low": None,
            "ratio_ci_high": None,
            "note": "too few held-out deals to compare the top with the bottom",
        }
    top = t == "1"
    top_def = "Tier 1"
    if top.sum() < min_n:
        cut = float(np.quantile(s, 0.9))
        top = s >= cut
        top_def = f"top 10% of scores (>= {cut:.0f}; Tier 1 holds fewer than {min_n} deals)"
    cut_lo = float(np.quantile(s, 0.2))
    bottom = (s <= cut_lo) & ~top
    a, b = rate(won, top), rate(won, bottom)
    return {
        "top_definition": top_def,
        "bottom_definition": f"bottom 20% of scores (<= {cut_lo:.0f})",
        "top": a,
        "bottom": b,
        **rate_ratio(a, b),
        "note": None,
    }


def value_capture(
    won: np.ndarray,
    tier: np.ndarray,
    account: np.ndarray,
    amount: np.ndarray | None = None,
    retained: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """Share of held-out won revenue (and retained revenue) per tier against its share of accounts.

    ``amount`` is each deal's amount; ``retained`` each deal's account's
    current recurring revenue (counted once per account). ``None`` when
    neither is known.
    """
    w = np.asarray(won, dtype=bool)
    t = np.asarray(tier).astype(str)
    acc = np.asarray(account).astype(str)
    amt = np.asarray(amount, dtype=float) if amount is not None else np.full(len(w), np.nan)
    has_amt = bool(np.isfinite(amt[w]).any() and np.nansum(amt[w]) > 0)
    ret = None
    if retained is not None:
        rv = np.asarray(retained, dtype=float)
        if np.isfinite(rv[w]).any() and np.nansum(rv[w]) > 0:
            ret = rv
    if not has_amt and ret is None:
        return None
    won_amt = np.where(w & np.isfinite(amt), amt, 0.0)
    total_rev = won_amt.sum()
    n_acc = len(np.unique(acc))
    # retained revenue once per won account
    ret_by_acc: dict[str, float] = {}
    if ret is not None:
        for a_, v in zip(acc[w], ret[w], strict=True):
            if np.isfinite(v):
                ret_by_acc[a_] = float(v)
    total_ret = sum(ret_by_acc.values())
    groups = [
        *[(name, np.isin(t, ts)) for name, ts in TIER_ORDER],
        ("In ICP (Tiers 1-3)", np.isin(t, IN_ICP)),
        ("Out of ICP", ~np.isin(t, IN_ICP)),
    ]
    rows: list[dict[str, Any]] = []
    for name, m in groups:
        accs = np.unique(acc[m])
        sizes = amt[m & w & np.isfinite(amt) & (amt > 0)]
        acc_share = len(accs) / n_acc if n_acc else None
        rev_share = won_amt[m].sum() / total_rev if has_amt and total_rev > 0 else None
        ret_share = (
            sum(ret_by_acc.get(a_, 0.0) for a_ in np.unique(acc[m & w])) / total_ret
            if ret is not None and total_ret > 0
            else None
        )
        rows.append(
            {
                "group": name,
                "deals": int(m.sum()),
                "accounts": int(len(accs)),
                "account_share": _r(acc_share),
                "won_deals": int((m & w).sum()),
                "won_revenue_share": _r(rev_share),
                "retained_revenue_share": _r(ret_share),
                "median_won_deal": _r(float(np.median(sizes)), 2) if len(sizes) else None,
                "won_deals_with_amount": int(len(sizes)),
                "value_lift": _r(rev_share / acc_share, 3)
                if rev_share is not None and acc_share
                else None,
            }
        )
    icp = rows[3]
    msg = (
        f"Held out, the ICP (Tiers 1-3) holds {pct_txt(icp['won_revenue_share'])} of won revenue "
        f"({icp['won_deals']:,} of {int(w.sum()):,} won deals) with {pct_txt(icp['account_share'])} "
        f"of the {n_acc:,} accounts"
        if has_amt
        else f"Held out, the ICP (Tiers 1-3) holds {pct_txt(icp['account_share'])} of the {n_acc:,} accounts"
    )
    if ret is not None:
        msg += f"; {pct_txt(icp['retained_revenue_share'])} of the won accounts' retained revenue"
    msg += "."
    return {
        "groups": rows,
        "won_revenue": _r(total_rev, 2) if has_amt else None,
        "retained_revenue": _r(total_ret, 2) if ret is not None else None,
        "accounts": n_acc,
        "message": msg,
    }
