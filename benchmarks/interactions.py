"""Would points for 2-condition segments close the gap to the peers? An evaluation.

    python benchmarks/interactions.py            # Markdown table on stdout

The sample company's ICP is a conjunction (industry AND size), which an
additive scorecard only approximates. This script tries the candidate fix on
the datasets of ``benchmarks/quality.py``, at the default time split (the last
25% of closed deals held out) and at three other cutoffs (40%, 30%, 20% held
out):

1. the fold's ICP is learned as ``icp validate`` learns it (``fit_icp`` on the
   training deals only);
2. candidates are the segment search's significant 2-condition segments;
3. the training deals are ordered in time; a scorecard (same bins, same
   penalty) is fitted on the first 75% and each candidate is added as a 0/1
   column; a candidate is kept when it lowers the log-loss on the last 25%
   of the training period with a one-sided 95% bootstrap bound above zero
   (forward selection, at most 5);
4. the scorecard is refitted on every training deal with the kept segments,
   its points table made by the same code as ``icp build``
   (``ScorecardModel.scorecard``), each segment's points rounded like a bin's,
   and the held-out deals scored with the fold's vetoes.

As a second candidate learner for the points it fits an Explainable Boosting
Machine on the fold's own bins (each feature's bin index as a category:
additive, then with 5 pairwise terms), whose term scores would map onto the
same points table; its held-out AUC is of its probabilities, with vetoed
deals put last as the scorecard puts them (needs
``pip install interpret-core==0.7.8``, else n/a).

For the sample it also prints the yardstick for any account-fit score: the
held-out AUC of the planted truth's own account term (industry AND size,
Snowflake, government, tiny, competitor). A model of the account columns
that beats it does so by recognising accounts it saw in training.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASET_BUILDERS  # noqa: E402

HOLDOUTS = (0.40, 0.30, 0.25, 0.20)
INNER = 0.25
MAX_TERMS = 5
DRAWS = 400


def _indicator(assigned: np.ndarray, keys: tuple[tuple[int, int], ...]) -> np.ndarray:
    return np.all([assigned[:, j] == b for j, b in keys], axis=0).astype(float)


def _design(X: sparse.csr_matrix, assigned: np.ndarray, segs: list) -> sparse.csr_matrix:
    if not segs:
        return X
    E = np.column_stack([_indicator(assigned, s.keys) for s in segs])
    return sparse.hstack([X, sparse.csr_matrix(E)]).tocsr()


def select_segments(build, dates: np.ndarray | None) -> list:  # type: ignore[no-untyped-def]
    """Forward selection on the last slice of the training period (see the module docstring)."""
    space, A = build.space, build.training.assigned
    y = build.training.won.astype(int)
    C = build.model.C_
    X, _ = space.one_hot(A)
    n = len(y)
    order = (
        np.argsort(dates, kind="stable")
        if dates is not None
        else np.random.default_rng(0).permutation(n)
    )
    cut = int(n * (1 - INNER))
    itr, iva = order[:cut], order[cut:]
    boot = np.random.default_rng(0).integers(0, len(iva), (DRAWS, len(iva)))

    def losses(segs: list) -> np.ndarray:
        Z = _design(X, A, segs)
        m = LogisticRegression(C=C, max_iter=3000).fit(Z[itr], y[itr])
        p = np.clip(m.predict_proba(Z[iva])[:, 1], 1e-9, 1 - 1e-9)
        return -(y[iva] * np.log(p) + (1 - y[iva]) * np.log(1 - p))

    cands = [s for s in build.miner.segments_ if s.tier and len(s.keys) == 2]
    current, chosen = losses([]), []
    for _ in range(MAX_TERMS):
        best = None
        for s in cands:
            x = _indicator(A, s.keys)
            if s in chosen or x[itr].sum() < 5 or x[iva].sum() < 5:
                continue
            new = losses([*chosen, s])
            gain = current - new
            low = float(np.quantile(gain[boot].mean(axis=1), 0.05))
            if low > 0 and (best is None or gain.mean() > best[1]):
                best = (s, gain.mean(), new)
        if best is None:
            break
        chosen.append(best[0])
        current = best[2]
    return chosen


def score_with_segments(build, rows: pd.DataFrame, segs: list) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Held-out scores of the fold's scorecard refitted with the segments as extra points."""
    from icpkit.scoring.scorer import score_accounts

    model, space, A = build.model, build.space, build.training.assigned
    y = build.training.won.astype(int)
    X, _ = space.one_hot(A)
    lr = LogisticRegression(C=model.C_, max_iter=2000).fit(_design(X, A, segs), y)
    refit = copy.copy(model)
    refit.coef_ = lr.coef_[0][: X.shape[1]]
    refit.intercept_ = float(lr.intercept_[0])
    keep = {
        s.keys[0] for s in build.miner.univariate_ if s.conditions[0].op == "missing" and s.tier
    }
    icp = build.icp.model_copy(deep=True)
    icp.scorecard = refit.scorecard(keep_missing=keep)
    scored = score_accounts(icp, rows).frame
    points = scored[[c for c in scored.columns if c.startswith("points_")]].to_numpy(float)
    total = icp.scorecard.base + points.sum(axis=1)
    if segs:
        F = icp.scorecard.points_per_odds_tripling / math.log(3)
        seg_points = np.array([int(round(F * w)) for w in lr.coef_[0][X.shape[1] :]])
        held_in = np.column_stack([_indicator(space.assign(rows), s.keys) for s in segs])
        total = total + held_in @ seg_points
    score = np.clip(np.rint(total), 0, 100)
    return np.where(scored["tier"].to_numpy() == "excluded", icp.veto_score, score)


def ebm_on_bins(build, rows: pd.DataFrame, vetoed: np.ndarray) -> dict[int, np.ndarray] | None:  # type: ignore[no-untyped-def]
    """An EBM on the fold's bins (additive, and with 5 pairs); vetoed deals ranked last."""
    try:
        from interpret.glassbox import ExplainableBoostingClassifier
    except ImportError:
        return None
    A, At = build.training.assigned, build.space.assign(rows)
    names = [f"f{j}" for j in range(A.shape[1])]
    train = pd.DataFrame(A.astype(int), columns=names).astype(str)
    held = pd.DataFrame(At.astype(int), columns=names).astype(str)
    out = {}
    for pairs in (0, 5):
        m = ExplainableBoostingClassifier(
            feature_types=["nominal"] * len(names), interactions=pairs, n_jobs=1, random_state=0
        ).fit(train, build.training.won.astype(int))
        out[pairs] = np.where(vetoed, -1.0, m.predict_proba(held)[:, 1])
    return out


def oracle(files: dict[str, Path], held: pd.DataFrame) -> float | None:
    """AUC of the sample's planted account term on the held-out deals (None elsewhere)."""
    from icpkit.sample.accounts import draw_accounts
    from icpkit.validation.metrics import auc

    acc, t = draw_accounts(np.random.default_rng(7), 3000)
    comp = np.isin(t["solution"], ["competitor_a", "competitor_b"])
    z = (
        1.25 * t["icp"]
        + 1.0 * (t["icp"] & t["snow"])
        + 0.2 * (t["snow"] & ~t["icp"])
        - 1.8 * t["gov"]
        - 1.6 * t["tiny"]
        - 0.25 * comp
    )
    zmap = dict(zip(acc["account_id"].astype(str), z, strict=True))
    return auc(held["won"].to_numpy(bool), held["account_id"].astype(str).map(zmap).to_numpy(float))


def main() -> None:
    from icpkit.validation import load_inputs
    from icpkit.validation.backtest import closed_deals, date_column, plan_splits, run_fold
    from icpkit.validation.metrics import auc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    warnings.simplefilter("ignore")
    print(
        "| dataset | held out | deals held out | AUC icpkit | AUC with segment points | "
        "segments kept | AUC EBM on the bins, additive / pairs | AUC forest (raw) | "
        "AUC boosting (raw) | planted account term |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        for name, make in DATASET_BUILDERS.items():
            files = make(Path(tmp))
            if files is None:
                continue
            acc, dl, kinds, families, _ = load_inputs(files["accounts"], files["deals"])
            closed = closed_deals(dl)
            col, _ = date_column(closed)
            dates = pd.to_datetime(closed[col], errors="coerce")
            for share in HOLDOUTS:
                cutoff = str(pd.Timestamp(dates.quantile(1 - share)).normalize().date())
                split = plan_splits(closed, cutoff=None if share == 0.25 else cutoff).splits[0]
                fold = run_fold(acc, closed, split, kinds=kinds, families=families, peers=True)
                frame = fold.build.training.frame
                dcol, _ = date_column(frame)
                tdates = pd.to_datetime(frame[dcol], errors="coerce").to_numpy() if dcol else None
                segs = select_segments(fold.build, tdates)
                held = fold.scored
                won = held["won"].to_numpy(bool)
                base = score_with_segments(fold.build, fold.rows, [])
                # the refit reproduces the shipped scorecard exactly
                assert np.array_equal(base, held["score"].to_numpy(float)), name
                with_segs = score_with_segments(fold.build, fold.rows, segs) if segs else base
                ceiling = oracle(files, held) if name == "icpkit sample" else None
                kept = "; ".join(s.text for s in segs) or "none"
                ebm = ebm_on_bins(fold.build, fold.rows, held["tier"].to_numpy() == "excluded")
                ebm_txt = (
                    "n/a" if ebm is None else " / ".join(f"{auc(won, p):.3f}" for p in ebm.values())
                )
                print(
                    f"| {name} | {share:.0%} | {len(held):,} | {auc(won, base):.3f} | "
                    f"{auc(won, with_segs):.3f} | {kept} | {ebm_txt} | {auc(won, held['p_forest']):.3f} | "
                    f"{auc(won, held['p_boosting']):.3f} | "
                    + ("n/a" if ceiling is None else f"{ceiling:.3f}")
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
