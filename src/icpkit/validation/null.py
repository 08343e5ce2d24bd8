"""Null control: how many segments does the pattern search call significant on noise?

The outcomes of the training deals are shuffled (breaking any link between
attributes and winning while keeping the base rate, the bins and the data
size), and the same segment search is rerun with the same minimum support.
Every segment it then calls Tier 1, 2 or 3 is a false discovery. Comparing
the real count with the shuffled counts says whether the ICP's patterns are
more than what the search finds in noise.

The shuffles stop early once more of them cannot change the answer
(``sequential``): when a shuffle already found as many significant segments
as the real outcomes (the patterns cannot beat noise any more), or when the
false discoveries seen so far bound the chance that any remaining shuffle
reaches the real count below ``SETTLED`` (a 95% Poisson upper bound on the
false discoveries per shuffle, then Markov's inequality). At least
``MIN_SHUFFLES`` always run. On a large table the search runs on a random
``MAX_ROWS`` of the training deals, real and shuffled alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import chi2

from ..features import FeatureSpace
from ..mining.segments import SegmentMiner, Training

POSITIVE = ("1", "2", "3")
MAX_ROWS = 20_000  # training deals above which the search runs on a sample of this many
MIN_SHUFFLES = 5
SETTLED = 0.05  # the chance the remaining shuffles could still change the answer, at most


def _counts(miner: SegmentMiner) -> dict[str, int]:
    segs = [*miner.univariate_, *miner.segments_]
    return {
        "significant": sum(s.tier in POSITIVE for s in segs),
        "tier1": sum(s.tier == "1" for s in segs),
        "negative": sum(s.tier == "negative" for s in segs),
    }


def _subset(data: Training, idx: np.ndarray) -> Training:
    return Training(
        frame=data.frame.iloc[idx].reset_index(drop=True),
        won=data.won[idx],
        amount=data.amount[idx],
        cycle=data.cycle[idx],
        account=data.account[idx],
        assigned=data.assigned[idx],
    )


def rate_bound(false_discoveries: int, shuffles: int) -> float:
    """95% upper bound on the mean false discoveries per shuffle (exact Poisson bound)."""
    return float(chi2.ppf(0.95, 2 * false_discoveries + 2) / 2 / shuffles)


def settled(real: int, counts: list[int], permutations: int) -> str | None:
    """Why more shuffles cannot change the answer, or None while they still might."""
    k = len(counts)
    if k < MIN_SHUFFLES or k >= permutations:
        return None
    if max(counts) >= real:
        if real == 0:
            return (
                "the real outcomes give no significant segment, so the patterns cannot beat noise"
            )
        return (
            f"a shuffle already found {max(counts)} significant segment(s), as many as the real "
            f"outcomes ({real}), so the patterns cannot beat noise"
        )
    total = int(sum(counts))
    bound = rate_bound(total, k)
    left = permutations - k
    if left * bound / real <= SETTLED:
        return (
            f"{total} false discoveries in {k} shuffles (at most {bound:.2g} per shuffle, 95% bound): "
            f"the other {left} shuffles reach the real {real} with probability under {SETTLED:.0%}"
        )
    return None


def null_control(
    space: FeatureSpace,
    data: Training,
    *,
    min_support: int,
    permutations: int = 20,
    seed: int = 0,
    max_depth: int = 3,
    real: SegmentMiner | None = None,
    max_rows: int | None = None,
    sequential: bool = True,
) -> dict[str, Any]:
    """Rerun the segment search on up to ``permutations`` shuffles of the training outcomes.

    Parameters
    ----------
    space : FeatureSpace
        The fitted bins (learned without outcomes, so shuffling leaves them valid).
    data : Training
        The training deals with their bin assignments.
    real : SegmentMiner, optional
        The search already run on the real outcomes; rerun here when absent
        or when the data is subsampled to ``max_rows`` deals (default ``MAX_ROWS``).
    sequential : bool
        Stop once more shuffles cannot change the answer (see ``settled``);
        ``stopped_early`` says why, ``permutations`` how many ran.
    """
    max_rows = MAX_ROWS if max_rows is None else max_rows
    rng = np.random.default_rng(seed)
    sub = data
    note = None
    if len(data.won) > max_rows:
        idx = np.sort(rng.choice(len(data.won), size=max_rows, replace=False))
        sub = _subset(data, idx)
        real = None
        note = f"run on a random {max_rows:,} of the {len(data.won):,} training deals"
    if real is None:
        real = SegmentMiner(min_support=min_support, max_depth=max_depth, detail=False).fit(
            space, sub
        )
    real_counts = _counts(real)
    runs: list[dict[str, int]] = []
    stopped = None
    for _ in range(permutations):
        shuffled = Training(
            frame=sub.frame,
            won=rng.permutation(sub.won),
            amount=sub.amount,
            cycle=sub.cycle,
            account=sub.account,
            assigned=sub.assigned,
        )
        runs.append(
            _counts(
                SegmentMiner(min_support=min_support, max_depth=max_depth, detail=False).fit(
                    space, shuffled
                )
            )
        )
        if sequential:
            stopped = settled(
                real_counts["significant"], [r["significant"] for r in runs], permutations
            )
            if stopped:
                break
    ran = len(runs)
    sig = np.array([r["significant"] for r in runs], dtype=float)
    t1 = np.array([r["tier1"] for r in runs], dtype=float)
    p = (1 + int((sig >= real_counts["significant"]).sum())) / (1 + ran) if runs else None
    beats = bool(runs and real_counts["significant"] > 0 and real_counts["significant"] > sig.max())
    mean = float(sig.mean()) if runs else 0.0
    if real_counts["significant"] == 0:
        verdict = (
            "Evidence is weak: the pattern search calls no segment significant on the real "
            f"outcomes (and {mean:.2g} on average on shuffled ones)."
        )
    elif not beats:
        verdict = (
            f"Evidence is weak: shuffled outcomes produce as many significant segments "
            f"(mean {mean:.1f}, max {int(sig.max())}) as the real ones ({real_counts['significant']}); "
            "the patterns are not clearly more than noise."
        )
    else:
        verdict = (
            f"The patterns are more than noise: {real_counts['significant']} significant segment(s) on the "
            f"real outcomes vs {mean:.2g} on average (max {int(sig.max())}) on {ran} shuffles."
        )
    return {
        "permutations": ran,
        "permutations_planned": permutations,
        "stopped_early": stopped,
        "seed": seed,
        "training_deals": int(len(sub.won)),
        "training_deals_all": int(len(data.won)),
        "min_support": int(min_support),
        "real": real_counts,
        "null_significant": [int(x) for x in sig],
        "null_tier1": [int(x) for x in t1],
        "false_discoveries_mean": round(mean, 3),
        "false_discoveries_max": int(sig.max()) if runs else 0,
        "tier1_false_discoveries_mean": round(float(t1.mean()), 3) if runs else 0.0,
        "permutations_with_false_tier1": int((t1 > 0).sum()),
        "p_value": round(p, 4) if p is not None else None,
        "beats_noise": beats,
        "verdict": verdict,
        "note": note,
    }
