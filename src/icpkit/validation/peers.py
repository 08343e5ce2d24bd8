"""Peers in the same run: a black box and a plain logistic regression.

Both are fitted on exactly what the scorecard was fitted on — the fold's
fitted bins of its training deals — and scored on the same held-out deals,
so the AUCs are comparable. The explainable scorecard should stay within
``TOLERANCE`` (0.02) AUC of the best of them; where it does not, the
validation says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ..features import FeatureSpace
from .metrics import auc

TOLERANCE = 0.02
PEERS = {
    "logistic": "plain logistic regression on the same one-hot bins",
    "boosting": "gradient boosting (scikit-learn HistGradientBoosting) on the same bins",
}


def _constant(n: int, y: np.ndarray) -> np.ndarray:
    return np.full(n, float(np.mean(y)) if len(y) else 0.5)


def fit_predict(
    space: FeatureSpace,
    train_assigned: np.ndarray,
    train_won: np.ndarray,
    test_assigned: np.ndarray,
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Win probability of each held-out row from each peer, fitted on the training rows only."""
    y = np.asarray(train_won, dtype=int)
    n_test = test_assigned.shape[0]
    if len(space.specs) == 0 or y.min(initial=1) == y.max(initial=0):
        return {name: _constant(n_test, y) for name in PEERS}
    Xtr, _ = space.one_hot(train_assigned)
    Xte, _ = space.one_hot(test_assigned)
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(max_iter=2000)
        lr.fit(Xtr, y)
        out["logistic"] = lr.predict_proba(Xte)[:, 1]
        # bin indices as categories; "no bin" (-1) as missing
        A = np.where(train_assigned < 0, np.nan, train_assigned).astype(float)
        B = np.where(test_assigned < 0, np.nan, test_assigned).astype(float)
        hgb = HistGradientBoostingClassifier(
            categorical_features=np.ones(A.shape[1], dtype=bool),
            learning_rate=0.05,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=min(20, max(2, len(y) // 10)),
            l2_regularization=1.0,
            early_stopping=len(y) >= 2000,
            random_state=seed,
        )
        hgb.fit(A, y)
        out["boosting"] = hgb.predict_proba(B)[:, 1]
    return out


def gap_interval(
    won: np.ndarray, mine: np.ndarray, best: np.ndarray, *, draws: int = 200, seed: int = 0
) -> tuple[float, float] | None:
    """95% paired-bootstrap interval of AUC(best) - AUC(mine) on the same held-out deals."""
    w = np.asarray(won, dtype=bool)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(draws):
        i = rng.integers(0, len(w), len(w))
        if w[i].all() or not w[i].any():
            continue
        diffs.append(roc_auc_score(w[i], best[i]) - roc_auc_score(w[i], mine[i]))
    if len(diffs) < draws // 2:
        return None
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return round(float(lo), 4), round(float(hi), 4)


def compare(
    won: np.ndarray, scores: dict[str, np.ndarray], unvetoed: np.ndarray | None = None
) -> dict[str, Any]:
    """Held-out AUC of icpkit's score next to its peers', and whether it keeps up.

    ``scores`` maps ``icpkit`` and each peer name to one value per held-out deal.
    ``unvetoed`` is icpkit's score before disqualifiers veto it: a diagnostic
    that shows what the vetoes cost.
    """
    aucs = {name: auc(won, s) for name, s in scores.items()}
    no_veto = auc(won, unvetoed) if unvetoed is not None else None
    mine = aucs.get("icpkit")
    others = {k: v for k, v in aucs.items() if k != "icpkit" and v is not None}
    if mine is None or not others:
        return {
            "auc": aucs,
            "icpkit_unvetoed_auc": no_veto,
            "veto_cost": None,
            "vetoes_explain_gap": False,
            "best": None,
            "gap": None,
            "within_tolerance": None,
            "gap_ci": None,
            "gap_within_noise": None,
            "tolerance": TOLERANCE,
            "message": "peer comparison not possible: the held-out deals are all won or all lost",
            "models": PEERS,
        }
    best = max(others, key=lambda k: others[k])
    gap = round(others[best] - mine, 4)
    ok = gap <= TOLERANCE
    ci = gap_interval(won, np.asarray(scores["icpkit"], float), np.asarray(scores[best], float))
    noise = ci is not None and ci[0] <= 0
    ci_txt = f" (95% interval of the gap {ci[0]:+.3f} to {ci[1]:+.3f})" if ci else ""
    veto_cost = round(no_veto - mine, 4) if no_veto is not None else None
    vetoes_explain = (
        veto_cost is not None
        and veto_cost > TOLERANCE
        and no_veto is not None
        and others[best] - no_veto <= TOLERANCE
    )
    if gap <= 0:
        msg = (
            f"icpkit's explainable scorecard (AUC {mine:.3f}) matches or beats the best peer, "
            f"{best} (AUC {others[best]:.3f})."
        )
    elif ok:
        msg = (
            f"icpkit's explainable scorecard (AUC {mine:.3f}) is within {TOLERANCE} of the best peer, "
            f"{best} (AUC {others[best]:.3f})."
        )
    else:
        msg = (
            f"icpkit's scorecard (AUC {mine:.3f}) is {gap:.3f} AUC below the best peer, {best} "
            f"(AUC {others[best]:.3f}){ci_txt}: more than the {TOLERANCE} tolerance. "
        )
        if vetoes_explain:
            msg += (
                f"The disqualifier vetoes cause it: before them the scorecard reaches AUC {no_veto:.3f}, "
                f"within {TOLERANCE} of the best; the vetoes put every disqualified deal at the same "
                "score. Review the disqualifiers."
            )
        elif noise:
            msg += "The gap is within sampling noise on these held-out deals."
        else:
            msg += "The black box finds signal the scorecard does not express (interactions or finer bins)."
    if veto_cost is not None and veto_cost > TOLERANCE and not vetoes_explain:
        msg += f" The disqualifier vetoes cost {veto_cost:.3f} AUC (before them: {no_veto:.3f})."
    return {
        "auc": aucs,
        "icpkit_unvetoed_auc": no_veto,
        "veto_cost": veto_cost,
        "vetoes_explain_gap": vetoes_explain,
        "best": best,
        "gap": gap,
        "gap_ci": list(ci) if ci else None,
        "gap_within_noise": noise,
        "within_tolerance": ok,
        "tolerance": TOLERANCE,
        "message": msg,
        "models": PEERS,
    }
