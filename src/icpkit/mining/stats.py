"""Small statistics used everywhere: intervals, shrinkage, multiple testing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

Z95 = 1.959963984540054


def wilson(
    wins: np.ndarray | int, n: np.ndarray | int, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (vectorised). n=0 gives (0, 1)."""
    w = np.asarray(wins, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(m > 0, w / np.maximum(m, 1), 0.0)
        denom = 1 + z**2 / np.maximum(m, 1)
        centre = (p + z**2 / (2 * np.maximum(m, 1))) / denom
        half = (
            z * np.sqrt(p * (1 - p) / np.maximum(m, 1) + z**2 / (4 * np.maximum(m, 1) ** 2)) / denom
        )
    lo = np.where(m > 0, np.clip(centre - half, 0, 1), 0.0)
    hi = np.where(m > 0, np.clip(centre + half, 0, 1), 1.0)
    return lo, hi


def binom_pvalues(wins: np.ndarray, n: np.ndarray, p0: float) -> np.ndarray:
    """Two-sided exact binomial test of each group's rate against ``p0``.

    The p-values of :func:`scipy.stats.binomtest` (the same steps, with the
    same floating-point operations), computed for all groups at once instead
    of one call per group. Groups with ``n == 0`` get 1.
    """
    w = np.asarray(wins, dtype=np.int64)
    m = np.asarray(n, dtype=np.int64)
    out = np.ones(len(w))
    ok = np.flatnonzero(m > 0)
    if len(ok) == 0:
        return out
    if not 0 <= p0 <= 1:
        raise ValueError(f"p0 ({p0}) must be in range [0,1]")
    k = w[ok].astype(float)
    nn = m[ok].astype(float)
    binom = stats.binom
    d = binom.pmf(k, nn, p0)
    rerr = 1 + 1e-7
    pv = np.ones(len(ok))
    low = np.flatnonzero(k < p0 * nn)
    if len(low):  # the other tail lies above the mode
        kl, nl, dl = k[low], nn[low], d[low]
        ix = _search_pmf(lambda x, i: -binom.pmf(x, nl[i], p0), -dl * rerr, np.ceil(p0 * nl), nl)
        y = nl - ix + (dl * rerr == binom.pmf(ix, nl, p0))
        pv[low] = binom.cdf(kl, nl, p0) + binom.sf(nl - y, nl, p0)
    high = np.flatnonzero(k > p0 * nn)
    if len(high):  # the other tail lies below the mode
        kh, nh, dh = k[high], nn[high], d[high]
        ix = _search_pmf(
            lambda x, i: binom.pmf(x, nh[i], p0), dh * rerr, np.zeros(len(high)), np.floor(p0 * nh)
        )
        y = ix + 1
        pv[high] = binom.cdf(y - 1, nh, p0) + binom.sf(kh - 1, nh, p0)
    out[ok] = np.minimum(1.0, pv)
    return out


def _search_pmf(
    a: Callable[[np.ndarray, np.ndarray], np.ndarray],
    d: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """scipy's binary search for the two-sided binomial test, for many groups at once.

    For each group ``g`` the index ``i`` in ``lo[g]..hi[g]`` with
    ``a(i) <= d[g] < a(i + 1)``; ``a(x, idx)`` evaluates the groups ``idx``.
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    res = np.zeros(len(lo))
    done = np.zeros(len(lo), dtype=bool)
    while True:
        idx = np.flatnonzero(~done & (lo < hi))
        if len(idx) == 0:
            break
        mid = lo[idx] + (hi[idx] - lo[idx]) // 2
        val = a(mid, idx)
        less, more = val < d[idx], val > d[idx]
        lo[idx[less]] = mid[less] + 1
        hi[idx[more]] = mid[more] - 1
        hit = ~less & ~more
        res[idx[hit]] = mid[hit]
        done[idx[hit]] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        res[rest] = np.where(a(lo[rest], rest) <= d[rest], lo[rest], lo[rest] - 1)
    return res


def bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values)."""
    p = np.asarray(pvalues, dtype=float)
    if len(p) == 0:
        return p
    return np.asarray(stats.false_discovery_control(np.clip(p, 0, 1), method="bh"))


def prior_strength(
    wins: np.ndarray, n: np.ndarray, p0: float, floor: float = 10.0, ceiling: float = 2000.0
) -> float:
    """Beta-binomial prior concentration by the method of moments.

    Groups whose rates vary little beyond binomial noise get a strong prior
    (heavy shrinkage toward ``p0``); real spread gives a weaker one.
    """
    w = np.asarray(wins, dtype=float)
    m = np.asarray(n, dtype=float)
    ok = m > 0
    if ok.sum() < 3 or p0 <= 0 or p0 >= 1:
        return floor
    rates = w[ok] / m[ok]
    weights = m[ok] / m[ok].sum()
    observed = float(np.sum(weights * (rates - p0) ** 2))
    noise = float(np.sum(weights * p0 * (1 - p0) / m[ok]))
    between = observed - noise
    if between <= 1e-9:
        return ceiling
    kappa = p0 * (1 - p0) / between - 1
    return float(np.clip(kappa, floor, ceiling))


def shrink(wins: np.ndarray, n: np.ndarray, p0: float, kappa: float) -> np.ndarray:
    """Empirical-Bayes win rate: ``(wins + kappa*p0) / (n + kappa)``."""
    return (np.asarray(wins, dtype=float) + kappa * p0) / (np.asarray(n, dtype=float) + kappa)


def odds_ratio(p: np.ndarray | float, p0: float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    q = min(max(p0, 1e-6), 1 - 1e-6)
    return np.asarray((p / (1 - p)) / (q / (1 - q)))


def distinct_per_group(groups: np.ndarray, k: int, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Distinct ``codes`` (0..n_codes-1) among the rows of each of ``k`` groups (0..k-1):
    e.g. the distinct accounts among the deals of each bin or level."""
    size = max(1, n_codes)
    pairs = groups.astype(np.int64) * size + codes
    if k * size <= max(1 << 24, 8 * len(groups)):  # a flag per (group, code) pair
        seen = np.zeros(k * size, dtype=bool)
        seen[pairs] = True
        return np.count_nonzero(seen.reshape(k, size), axis=1)
    return np.bincount(pd.unique(pairs) // size, minlength=k)
