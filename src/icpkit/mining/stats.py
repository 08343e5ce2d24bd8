"""Small statistics used everywhere: intervals, shrinkage, multiple testing."""

from __future__ import annotations

import numpy as np
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
    """Two-sided exact binomial test of each group's rate against ``p0``."""
    w = np.asarray(wins, dtype=int)
    m = np.asarray(n, dtype=int)
    out = np.ones(len(w))
    for i, (k, nn) in enumerate(zip(w, m, strict=True)):
        if nn > 0:
            out[i] = stats.binomtest(int(k), int(nn), p0).pvalue
    return out


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
