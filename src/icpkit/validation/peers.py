"""Peers in the same run: plain logistic regression, gradient boosting and a random forest.

The peers are fitted on the **raw account columns** of the fold's training
deals — not on icpkit's bins — and scored on the same held-out deals, so the
AUC gap to icpkit's scorecard shows everything the scorecard loses, binning
and dropped columns included. Encoding (learned from the training rows only,
one design matrix per fold shared by the peers):

- numbers: median imputation, a missing indicator, standardised;
- text and yes/no: one-hot of the frequent levels, blanks a level of their
  own, rare levels pooled (gradient boosting uses them natively as
  categories);
- lists (a tech stack): one flag per frequent item, and a missing indicator.

A logistic regression on icpkit's own one-hot bins is kept as a cheap
diagnostic (``logistic_bins``): the distance between it and the raw logistic
regression is what binning and dropping columns cost. The explainable
scorecard should stay within ``TOLERANCE`` (0.02) AUC of the best peer;
where it does not, the validation says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from ..features import SKIP_COLUMNS, FeatureSpace
from ..scoring.scorer import Columns
from .metrics import auc

TOLERANCE = 0.02
MAX_LEVELS = 30
MAX_ITEMS = 30
MIN_LEVEL_ROWS = 5
PEER_MAX_ROWS = 100_000  # training deals above which the raw peers learn from a sample
FOREST_TREE_ROWS = 15_000  # deals each forest tree draws, at most
BLANK = "(blank)"
OTHER = "(other)"
PEERS = {
    "logistic": "logistic regression on the raw account columns (one-hot text, standardised numbers)",
    "boosting": "gradient boosting (HistGradientBoosting, native categories) on the raw account columns",
    "forest": "random forest on the raw account columns (80 trees, each on half the training deals, at most 15,000)",
    "logistic_bins": "logistic regression on icpkit's own bins (diagnostic: what binning keeps)",
}
RAW_PEERS = ("logistic", "boosting", "forest")


@dataclass
class RawEncoder:
    """Raw account columns -> design matrices, learned from training rows only.

    ``dense`` (one-hot, standardised numbers, indicators) feeds the logistic
    regression and the forest; ``native`` (numbers with NaN, category codes)
    feeds gradient boosting with ``categorical`` marking its category columns.
    """

    numeric: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def fit(self, rows: pd.DataFrame, kinds: dict[str, str]) -> RawEncoder:
        cols = Columns(rows.reset_index(drop=True))
        for col in rows.columns:
            kind = kinds.get(col)
            if col in SKIP_COLUMNS or col.startswith("_") or kind is None:
                continue
            miss = cols.missing(col)
            if miss.all():
                continue
            if kind in ("num", "int"):
                x = cols.numbers(col)
                ok = np.isfinite(x)
                if ok.sum() < 2 or np.nanstd(x[ok]) == 0:
                    continue
                med = float(np.median(x[ok]))
                sd = float(np.std(x[ok])) or 1.0
                self.numeric[col] = (med, sd, float(np.mean(~ok)))
            elif kind in ("str", "bool"):
                t = cols.text(col).fillna(BLANK)
                counts = t.value_counts()
                levels = [str(v) for v, c in counts.items() if c >= MIN_LEVEL_ROWS][:MAX_LEVELS]
                if len(levels) >= 1 and len(counts) >= 2:
                    self.categorical[col] = levels
            elif kind == "list":
                items = cols.items(col)
                counts = items.drop_duplicates()["item"].value_counts()
                keep = [str(v) for v, c in counts.items() if c >= MIN_LEVEL_ROWS][:MAX_ITEMS]
                if keep:
                    self.lists[col] = keep
        return self

    @property
    def empty(self) -> bool:
        return not (self.numeric or self.categorical or self.lists)

    def encode(self, rows: pd.DataFrame) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        """Both design matrices in one pass over the columns (each column read once).

        Returns (``dense`` as a sparse CSR matrix, ``native``, ``categorical``).
        """
        cols = Columns(rows.reset_index(drop=True))
        n = len(rows)
        at = np.arange(n)
        blocks: list[sparse.csr_matrix] = []
        names: list[str] = []
        native: list[np.ndarray] = []
        cat: list[bool] = []

        def column(x: np.ndarray) -> sparse.csr_matrix:
            return sparse.csr_matrix(np.asarray(x, dtype=float).reshape(-1, 1))

        for col, (med, sd, miss_share) in self.numeric.items():
            x = cols.numbers(col)
            ok = np.isfinite(x)
            blocks.append(column((np.where(ok, x, med) - med) / sd))
            names.append(col)
            if miss_share > 0:
                blocks.append(column(~ok))
                names.append(f"{col} missing")
            native.append(x)
            cat.append(False)
        for col, levels in self.categorical.items():
            t = cols.text(col).fillna(BLANK).to_numpy(dtype=object)
            code = pd.Index(levels, dtype=object).get_indexer(t).astype(np.int64)
            code[code < 0] = len(levels)  # the pooled rare levels
            blocks.append(sparse.csr_matrix((np.ones(n), (at, code)), shape=(n, len(levels) + 1)))
            names += [f"{col}={lv}" for lv in levels] + [f"{col}={OTHER}"]
            native.append(code.astype(float))
            cat.append(True)
        for col, items in self.lists.items():
            for it in items:
                flag = cols.has(col, it)
                blocks.append(column(flag))
                names.append(f"{col} has {it}")
                native.append(flag.astype(float))
                cat.append(False)
            blocks.append(column(cols.missing(col)))
            names.append(f"{col} missing")
        self.names = names
        D = sparse.hstack(blocks, format="csr") if blocks else sparse.csr_matrix((n, 0))
        X = np.column_stack(native) if native else np.zeros((n, 0))
        return D, X, np.array(cat, dtype=bool)

    def dense(self, rows: pd.DataFrame) -> np.ndarray:
        """One-hot text, standardised numbers and indicators (the logistic regression's and forest's)."""
        return self.encode(rows)[0].toarray()

    def native(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Numbers with NaN and category codes, and which columns are categories (boosting's)."""
        _d, X, cat = self.encode(rows)
        return X, cat


def _constant(n: int, y: np.ndarray) -> np.ndarray:
    return np.full(n, float(np.mean(y)) if len(y) else 0.5)


def _boosting(
    n_train: int, categorical: np.ndarray | None, seed: int
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        categorical_features=categorical if categorical is not None and categorical.any() else None,
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=min(20, max(2, n_train // 10)),
        l2_regularization=1.0,
        early_stopping=n_train >= 2000,
        random_state=seed,
    )


def training_sample(n: int, seed: int = 0, max_rows: int | None = None) -> np.ndarray:
    """Positions of the training rows the raw peers learn from: all, or a seeded sample
    above ``max_rows`` (default ``PEER_MAX_ROWS``)."""
    max_rows = PEER_MAX_ROWS if max_rows is None else max_rows
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


def sampling(n_train: int, max_rows: int | None = None) -> dict[str, Any]:
    """What the raw peers were trained on, for the report: the deals, and each forest tree's draw."""
    max_rows = PEER_MAX_ROWS if max_rows is None else max_rows
    used = min(n_train, max_rows)
    tree = _tree_rows(used)
    capped = used >= 200 and tree < int(used * 0.5)
    note = None
    if used < n_train:
        note = f"the raw peers were trained on a random {used:,} of the {n_train:,} training deals"
    return {
        "training_deals": int(n_train),
        "peer_training_deals": int(used),
        "forest_tree_deals": int(tree),
        "forest_capped": capped,
        "note": note,
    }


def _tree_rows(n: int) -> int:
    """Deals each forest tree draws: half the training deals (rounded down, as scikit-learn
    counts a fraction), at most ``FOREST_TREE_ROWS``; every deal when there are few."""
    return n if n < 200 else min(int(n * 0.5), FOREST_TREE_ROWS)


def _max_samples(n: int) -> int | None:
    """The forest's ``max_samples``: every deal when few (a bootstrap of all), else the
    :func:`_tree_rows` count (what scikit-learn takes from the fraction one half)."""
    return None if n < 200 else _tree_rows(n)


Design = tuple[sparse.csr_matrix, np.ndarray, np.ndarray]  # one-hot (sparse), native, categorical


@dataclass
class RawTraining:
    """The raw peers' training side: the outcomes, the encoder learned from the training
    rows and their design matrices (``encoder`` None when there is nothing to learn:
    every peer then predicts the base rate)."""

    y: np.ndarray
    seed: int
    encoder: RawEncoder | None = None
    design: Design | None = None


def raw_training(
    train_rows: pd.DataFrame,
    train_won: np.ndarray,
    kinds: dict[str, str],
    *,
    seed: int = 0,
    max_rows: int | None = None,
) -> RawTraining:
    """Learn the encoding from the training rows and encode them, once for all three peers.

    Above ``max_rows`` training rows the peers learn from a seeded sample of
    that many (``sampling`` says so in the report).
    """
    keep = training_sample(len(train_rows), seed, max_rows)
    if len(keep) < len(train_rows):
        train_rows = train_rows.iloc[keep]
        train_won = np.asarray(train_won)[keep]
    y = np.asarray(train_won, dtype=int)
    enc = RawEncoder().fit(train_rows, kinds)
    if enc.empty or y.min(initial=1) == y.max(initial=0):
        return RawTraining(y, seed)
    return RawTraining(y, seed, enc, enc.encode(train_rows))


def raw_test(training: RawTraining, test_rows: pd.DataFrame) -> Design | None:
    """The held-out rows in the training rows' encoding."""
    return training.encoder.encode(test_rows) if training.encoder is not None else None


def fit_peer(name: str, training: RawTraining) -> Any:
    """One raw-column peer (``RAW_PEERS``) fitted on the training rows; None when there is
    nothing to learn."""
    if training.design is None:
        return None
    D, N, cat = training.design
    y = training.y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "logistic":
            # sparse: the same fit as on the dense matrix, several times faster
            return LogisticRegression(max_iter=2000, C=1.0).fit(D, y)
        if name == "boosting":
            return _boosting(len(y), cat, training.seed).fit(N, y)
        if name == "forest":
            rf = RandomForestClassifier(
                n_estimators=80,
                max_samples=_max_samples(len(y)),
                min_samples_leaf=max(2, min(10, len(y) // 200)),
                max_features="sqrt",
                n_jobs=1,
                random_state=training.seed,
            )
            # trees split on float32 whatever they are given: convert once, not per call
            return rf.fit(D.toarray().astype(np.float32), y)
    raise ValueError(f"unknown raw peer {name!r}; expected one of {RAW_PEERS}")


def predict_peer(
    name: str, model: Any, training: RawTraining, test: Design | None, n_test: int
) -> np.ndarray:
    """Win probability of each held-out row from a peer :func:`fit_peer` fitted."""
    if model is None or test is None or len(model.classes_) != 2:
        return _constant(n_test, training.y)
    D, N, _cat = test
    X = N if name == "boosting" else D.toarray().astype(np.float32) if name == "forest" else D
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.predict_proba(X)[:, 1])


def fit_predict_peer(
    name: str, training: RawTraining, test: Design | None, n_test: int
) -> np.ndarray:
    """:func:`fit_peer` then :func:`predict_peer`."""
    return predict_peer(name, fit_peer(name, training), training, test, n_test)


def fit_predict_raw(
    train_rows: pd.DataFrame,
    train_won: np.ndarray,
    test_rows: pd.DataFrame,
    kinds: dict[str, str],
    *,
    seed: int = 0,
    max_rows: int | None = None,
) -> dict[str, np.ndarray]:
    """Win probability of each held-out row from each raw-column peer, fitted on training rows only.

    Above ``max_rows`` training rows the peers learn from a seeded sample of
    that many (``sampling`` says so in the report).
    """
    training = raw_training(train_rows, train_won, kinds, seed=seed, max_rows=max_rows)
    test = raw_test(training, test_rows)
    return {name: fit_predict_peer(name, training, test, len(test_rows)) for name in RAW_PEERS}


def fit_predict_bins(
    space: FeatureSpace,
    train_assigned: np.ndarray,
    train_won: np.ndarray,
    test_assigned: np.ndarray,
) -> dict[str, np.ndarray]:
    """The diagnostic peer: a logistic regression on icpkit's own one-hot bins."""
    y = np.asarray(train_won, dtype=int)
    n_test = test_assigned.shape[0]
    if len(space.specs) == 0 or y.min(initial=1) == y.max(initial=0):
        return {"logistic_bins": _constant(n_test, y)}
    Xtr, _ = space.one_hot(train_assigned)
    Xte, _ = space.one_hot(test_assigned)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(max_iter=2000)
        lr.fit(Xtr, y)
    return {"logistic_bins": lr.predict_proba(Xte)[:, 1]}


def _weighted_auc(counts: np.ndarray, won: np.ndarray, groups: np.ndarray, k: int) -> float:
    """AUC with each deal counted ``counts`` times (``groups``: tie group ranks of the score)."""
    pos = np.bincount(groups, weights=counts * won, minlength=k)
    neg = np.bincount(groups, weights=counts * ~won, minlength=k)
    den = pos.sum() * neg.sum()
    if den <= 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / den)


def gap_intervals(
    won: np.ndarray,
    mine: np.ndarray,
    others: dict[str, np.ndarray],
    *,
    draws: int = 200,
    seed: int = 0,
) -> dict[str, tuple[float, float] | None]:
    """95% paired-bootstrap interval of AUC(peer) - AUC(mine) per peer, on the same resamples.

    Scores are ranked once; each resample is a vector of counts, so a draw
    costs a few passes over the deals rather than a sort per model.
    """
    w = np.asarray(won, dtype=bool)
    n = len(w)
    if n == 0 or w.all() or not w.any():
        return {k: None for k in others}
    rng = np.random.default_rng(seed)

    def ranks(score: np.ndarray) -> tuple[np.ndarray, int]:
        _u, g = np.unique(np.asarray(score, dtype=float), return_inverse=True)
        return g, int(g.max()) + 1

    base = ranks(mine)
    peer = {k: ranks(s) for k, s in others.items()}
    diffs: dict[str, list[float]] = {k: [] for k in others}
    for _ in range(draws):
        c = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        a0 = _weighted_auc(c, w, *base)
        if not np.isfinite(a0):
            continue
        for k, (g, m) in peer.items():
            diffs[k].append(_weighted_auc(c, w, g, m) - a0)
    out: dict[str, tuple[float, float] | None] = {}
    for k, d in diffs.items():
        if len(d) < draws // 2:
            out[k] = None
            continue
        lo, hi = np.quantile(d, [0.025, 0.975])
        out[k] = (round(float(lo), 4), round(float(hi), 4))
    return out


def gap_interval(
    won: np.ndarray, mine: np.ndarray, best: np.ndarray, *, draws: int = 200, seed: int = 0
) -> tuple[float, float] | None:
    """95% paired-bootstrap interval of AUC(best) - AUC(mine) on the same held-out deals."""
    return gap_intervals(won, mine, {"best": best}, draws=draws, seed=seed)["best"]


def by_history(
    won: np.ndarray, mine: np.ndarray, best: np.ndarray, seen: np.ndarray
) -> dict[str, dict[str, Any]]:
    """The gap to the best peer on held-out deals of accounts new to the training deals and of
    accounts seen there, each with its n (AUCs only where both outcomes occur 10+ times)."""
    out: dict[str, dict[str, Any]] = {}
    for label, mask in (("new", ~seen), ("seen", seen)):
        w = won[mask]
        fig: dict[str, Any] = {"n": int(mask.sum()), "wins": int(w.sum())}
        a_mine, a_best = (
            (auc(w, mine[mask]), auc(w, best[mask]))
            if w.sum() >= 10 and (~w).sum() >= 10
            else (None, None)
        )
        fig.update(
            auc=a_mine,
            best_auc=a_best,
            gap=round(a_best - a_mine, 4) if a_mine is not None and a_best is not None else None,
        )
        out[label] = fig
    return out


def compare(
    won: np.ndarray,
    scores: dict[str, np.ndarray],
    unvetoed: np.ndarray | None = None,
    seen: np.ndarray | None = None,
) -> dict[str, Any]:
    """Held-out AUC of icpkit's score next to its peers', and whether it keeps up.

    ``scores`` maps ``icpkit`` and each peer name to one value per held-out deal.
    The gap is to the best peer on raw columns (``RAW_PEERS``) when there is
    one; ``logistic_bins`` is a diagnostic. ``unvetoed`` is icpkit's score
    before disqualifiers veto it: a diagnostic that shows what the vetoes cost.
    ``seen`` marks the held-out deals whose account also has training deals: the
    gap is split by it (``by_history``), since a peer can recall such an account's
    earlier outcomes from its columns, which an account-fit score does not use.
    """
    w = np.asarray(won, dtype=bool)
    aucs = {name: auc(w, s) for name, s in scores.items()}
    no_veto = auc(w, unvetoed) if unvetoed is not None else None
    mine = aucs.get("icpkit")
    others = {k: v for k, v in aucs.items() if k != "icpkit" and v is not None}
    raw = {k: v for k, v in others.items() if k in RAW_PEERS}
    pool = raw or others
    models = {k: PEERS.get(k, k) for k in scores if k != "icpkit"}
    if mine is None or not pool:
        return {
            "auc": aucs,
            "n": int(len(w)),
            "wins": int(w.sum()),
            "icpkit_unvetoed_auc": no_veto,
            "veto_cost": None,
            "vetoes_explain_gap": False,
            "best": None,
            "gap": None,
            "gaps": {},
            "within_tolerance": None,
            "gap_ci": None,
            "gap_within_noise": None,
            "binning_cost": None,
            "tolerance": TOLERANCE,
            "message": "peer comparison not possible: the held-out deals are all won or all lost",
            "models": models,
            "by_history": None,
        }
    best = max(pool, key=lambda k: pool[k])
    gap = round(pool[best] - mine, 4)
    ok = gap <= TOLERANCE
    cis = gap_intervals(
        w,
        np.asarray(scores["icpkit"], float),
        {k: np.asarray(scores[k], float) for k in others},
    )
    gaps = {
        k: {"gap": round(others[k] - mine, 4), "ci": list(c) if (c := cis.get(k)) else None}
        for k in others
    }
    ci = cis.get(best)
    noise = ci is not None and ci[0] <= 0
    ci_txt = f" (95% interval of the gap {ci[0]:+.3f} to {ci[1]:+.3f})" if ci else ""
    veto_cost = round(no_veto - mine, 4) if no_veto is not None else None
    vetoes_explain = (
        veto_cost is not None
        and veto_cost > TOLERANCE
        and no_veto is not None
        and pool[best] - no_veto <= TOLERANCE
    )
    binning_cost = (
        round(others["logistic"] - others["logistic_bins"], 4)
        if "logistic" in others and "logistic_bins" in others
        else None
    )
    where = "on the raw account columns" if best in RAW_PEERS else "on icpkit's bins"
    n_txt = f"{len(w):,} held-out deals"
    if gap <= 0:
        msg = (
            f"icpkit's explainable scorecard (AUC {mine:.3f}) matches or beats the best peer, "
            f"{best} {where} (AUC {pool[best]:.3f}), on {n_txt}."
        )
    elif ok:
        msg = (
            f"icpkit's explainable scorecard (AUC {mine:.3f}) is within {TOLERANCE} of the best peer, "
            f"{best} {where} (AUC {pool[best]:.3f}), on {n_txt}{ci_txt}."
        )
    else:
        msg = (
            f"icpkit's scorecard (AUC {mine:.3f}) is {gap:.3f} AUC below the best peer, {best} {where} "
            f"(AUC {pool[best]:.3f}), on {n_txt}{ci_txt}: more than the {TOLERANCE} tolerance. "
        )
        if vetoes_explain:
            msg += (
                f"The disqualifier vetoes cause it: before them the scorecard reaches AUC {no_veto:.3f}, "
                f"within {TOLERANCE} of the best; the vetoes put every disqualified deal at the same "
                "score. Review the disqualifiers."
            )
        elif noise:
            msg += "The gap is within sampling noise on these held-out deals."
        elif binning_cost is not None and binning_cost > TOLERANCE:
            msg += (
                f"Binning and dropped columns cost {binning_cost:.3f} of it: a logistic regression "
                f"on icpkit's bins reaches {others['logistic_bins']:.3f}, the same model on the raw "
                f"columns {others['logistic']:.3f}."
            )
        else:
            msg += (
                "The peers find signal the scorecard does not express (interactions or finer bins)."
            )
    if veto_cost is not None and veto_cost > TOLERANCE and not vetoes_explain:
        msg += f" The disqualifier vetoes cost {veto_cost:.3f} AUC (before them: {no_veto:.3f})."
    history = (
        by_history(
            w,
            np.asarray(scores["icpkit"], float),
            np.asarray(scores[best], float),
            np.asarray(seen, bool),
        )
        if seen is not None
        else None
    )
    if history is not None and gap > TOLERANCE:
        new_, old_ = history["new"], history["seen"]
        if new_["gap"] is not None and old_["gap"] is not None:
            msg += (
                f" By account history: {new_['gap']:+.3f} on the {new_['n']:,} held-out deals of "
                f"accounts new to the training deals, {old_['gap']:+.3f} on the {old_['n']:,} of "
                "accounts that also have training deals"
            )
            msg += (
                " (a peer can recognise those accounts and recall their earlier outcomes, which "
                "an account-fit score does not use)."
                if old_["gap"] > TOLERANCE >= new_["gap"]
                else "."
            )
    return {
        "auc": aucs,
        "n": int(len(w)),
        "wins": int(w.sum()),
        "icpkit_unvetoed_auc": no_veto,
        "veto_cost": veto_cost,
        "vetoes_explain_gap": vetoes_explain,
        "best": best,
        "gap": gap,
        "gaps": gaps,
        "gap_ci": list(ci) if ci else None,
        "gap_within_noise": noise,
        "within_tolerance": ok,
        "binning_cost": binning_cost,
        "tolerance": TOLERANCE,
        "message": msg,
        "models": models,
        "by_history": history,
    }
