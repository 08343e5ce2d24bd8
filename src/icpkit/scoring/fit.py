"""Fitting the scorecard: points per attribute bin from won/lost deals.

An L2-regularised logistic regression on one-hot bins (the regularisation
strength chosen by cross-validation, so noise is shrunk to zero points), then
scaled so that 50 is the average account and every 25 points triples the
odds of winning::

    score = 50 + F * (logit(p) - logit(base rate)),   F = 25 / ln 3

which splits exactly into a base plus one point value per bin.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from threadpoolctl import threadpool_limits

from ..errors import InsufficientData, NotFittedError
from ..features import FeatureSpace
from ..icpfile import Bin, Feature, Scorecard

POINTS_PER_TRIPLING = 25.0


def neg_log_loss(estimator: LogisticRegression, X: np.ndarray, y: np.ndarray) -> float:
    """What ``scoring="neg_log_loss"`` gives a binary classifier, without its per-call checks.

    The same operations as scikit-learn's scorer and ``log_loss`` (the
    positive class's probability and its complement, clipped to [eps, 1 - eps],
    ``x * log(p)`` summed per row, the mean), so the same value to the last
    bit; the checks and the label binarizer it runs on every call cost more
    than the score on small folds.
    """
    p = estimator.predict_proba(X)[:, 1:]
    prob = np.concatenate([1 - p, p], axis=1)
    eps = np.finfo(prob.dtype).eps
    prob = np.clip(prob, eps, 1 - eps)
    t = (np.asarray(y) == estimator.classes_[-1]).astype(prob.dtype)[:, None]
    labels = np.concatenate([1 - t, t], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = labels * np.log(prob)
    terms = np.where(labels == 0.0, 0.0, terms)
    return -1 * float(np.average(-np.sum(terms, axis=1)))


class ScorecardModel:
    """Learn bin points with the scikit-learn contract (``fit`` returns self).

    Parameters
    ----------
    points_per_tripling : float, default 25
    cv : int, default 5
        Folds for choosing the regularisation strength and for the honest AUC.
    random_state : int, default 0
    """

    def __init__(
        self,
        *,
        points_per_tripling: float = POINTS_PER_TRIPLING,
        cv: int = 5,
        random_state: int = 0,
        max_cv_rows: int = 40_000,
    ) -> None:
        self.points_per_tripling = points_per_tripling
        self.cv = cv
        self.random_state = random_state
        self.max_cv_rows = max_cv_rows

    def fit(self, space: FeatureSpace, assigned: np.ndarray, won: np.ndarray) -> ScorecardModel:
        y = np.asarray(won, dtype=int)
        pos = int(y.sum())
        neg = int(len(y) - pos)
        if pos < 2 or neg < 2:
            raise InsufficientData(
                f"need at least 2 won and 2 lost deals to fit a scorecard; got {pos} won, {neg} lost"
            )
        X, cols = space.one_hot(assigned)
        self.columns_ = cols
        folds = max(2, min(self.cv, pos, neg))
        self.p0_ = pos / len(y)
        if X.shape[1] == 0:
            self.coef_ = np.zeros(0)
            self.intercept_ = math.log(self.p0_ / (1 - self.p0_))
            self.cv_auc_ = 0.5
            self.C_ = 0.0
            self.cv_rows_ = np.arange(len(y))
            self.cv_prob_ = np.full(len(y), self.p0_)
        else:
            skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            # choose the penalty and measure the honest AUC on a stratified sample of
            # at most max_cv_rows deals; the final fit uses every deal
            if len(y) > self.max_cv_rows:
                idx, _ = train_test_split(
                    np.arange(len(y)),
                    train_size=self.max_cv_rows,
                    stratify=y,
                    random_state=self.random_state,
                )
                Xs, ys = X[idx], y[idx]
            else:
                idx = np.arange(len(y))
                Xs, ys = X, y
            # one BLAS thread: these small problems run slower, not faster, with more
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore")
                search = LogisticRegressionCV(
                    Cs=np.logspace(-3, 1, 9),
                    cv=skf,
                    scoring=neg_log_loss,
                    max_iter=2000,
                )
                search.fit(Xs, ys)
                self.C_ = float(search.C_[0])
                prob = cross_val_predict(
                    LogisticRegression(C=self.C_, max_iter=2000),
                    Xs,
                    ys,
                    cv=skf,
                    method="predict_proba",
                )[:, 1]
                model = LogisticRegression(C=self.C_, max_iter=2000)
                model.fit(X, y)
            self.coef_ = model.coef_[0]
            self.intercept_ = float(model.intercept_[0])
            self.cv_auc_ = float(roc_auc_score(ys, prob)) if 0 < ys.sum() < len(ys) else 0.5
            # out-of-fold probabilities and the rows they belong to: what a veto or a
            # threshold is checked against without refitting
            self.cv_rows_ = np.asarray(idx)
            self.cv_prob_ = np.asarray(prob)
        self.space_ = space
        # rows per bin (-1, no bin, counted first and left out)
        self._assigned_freq = [
            np.bincount(assigned[:, j].astype(np.intp) + 1, minlength=len(spec.bins) + 1)[1:]
            / max(1, len(assigned))
            for j, spec in enumerate(space.specs)
        ]
        return self

    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError()

    def scorecard(
        self,
        n_by_bin: dict[tuple[int, int], tuple[int, float]] | None = None,
        *,
        min_spread: int = 1,
        keep_missing: set[tuple[int, int]] | None = None,
    ) -> Scorecard:
        """The points table. Features whose points all round to the same value are left out.

        A blank value is neutral: a ``missing`` bin scores 0 points (the known bins
        are centred on the average known account) unless its (feature, bin) key
        is in ``keep_missing`` — blankness that is itself significant.
        """
        self._check()
        F = self.points_per_tripling / math.log(3)
        weights: dict[int, np.ndarray] = {}
        for k, (j, b) in enumerate(self.columns_):
            weights.setdefault(j, np.zeros(len(self.space_.specs[j].bins)))[b] = self.coef_[k]
        logit0 = math.log(self.p0_ / (1 - self.p0_))
        base = 50 + F * (self.intercept_ - logit0)
        features = []
        for j, spec in enumerate(self.space_.specs):
            w = weights.get(j, np.zeros(len(spec.bins)))
            freq = self._assigned_freq[j].astype(float).copy()
            neutral = [
                b
                for b, cond in enumerate(spec.bins)
                if cond.op == "missing" and (j, b) not in (keep_missing or set())
            ]
            freq[neutral] = 0.0
            avg = float(np.sum(freq * w) / max(freq.sum(), 1e-9))
            base += F * avg
            pts = [0 if b in neutral else int(round(F * (wb - avg))) for b, wb in enumerate(w)]
            if max(pts) - min(pts) < min_spread:
                continue
            bins = []
            for b, cond in enumerate(spec.bins):
                n, rate = (n_by_bin or {}).get((j, b), (None, None))
                bins.append(
                    Bin(
                        **cond.model_dump(by_alias=True, exclude_none=True),
                        points=pts[b],
                        n=n,
                        win_rate=None if rate is None else round(rate, 4),
                    )
                )
            kind: Literal["numeric", "categorical", "flag"] = spec.kind  # type: ignore[assignment]
            features.append(
                Feature(attribute=spec.attribute, family=spec.family, kind=kind, bins=bins)
            )  # type: ignore[arg-type]
        return Scorecard(
            model="l2-logistic-on-bins",
            base=int(round(base)),
            points_per_odds_tripling=self.points_per_tripling,
            features=features,
        )
