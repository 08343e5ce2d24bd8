"""Honest hold-out: split the closed deals, learn on one part, score the other.

The split is decided first, from the deals' dates and outcomes only. Each
fold then hands **only its training deals** to the fitting function
(``fit_icp`` by default); the held-out deals are selected after the fit
returns and go only to the scorer. Bins, segments, shrinkage, points and
thresholds therefore never see a held-out deal. ``tests/test_validation.py``
checks this by wrapping the fitting function in a spy.

With dates (``closed_at``, else ``created_at``) the split is in time: the
deals closed before the cutoff train, the later ones are held out (default
cutoff: the date below which 75% of closed deals closed). Without dates it
is stratified k-fold cross-validation, grouped by account when accounts have
several deals, repeated with different seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from ..errors import IcpkitError, InputError, InsufficientData
from ..mining.segments import training_frame
from ..profile import BuildResult, fit_icp
from ..scoring.scorer import score_accounts
from . import peers as peer_models
from .metrics import probability_score, score_probability
from .tasks import CHAIN, LONGEST, PEER, Tasks

FitFn = Callable[..., BuildResult]
SplitMethod = Literal["time", "cv"]

MIN_DATED_SHARE = 0.8
MIN_CLASS_PER_SIDE = 5
HOLDOUT_SHARE = 0.25


@dataclass(frozen=True)
class Split:
    """Positions (into the closed deals) that train and that are held out."""

    name: str
    train: np.ndarray
    test: np.ndarray
    repeat: int = 0


@dataclass
class SplitPlan:
    method: SplitMethod
    splits: list[Split]
    info: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class Fold:
    split: Split
    build: BuildResult
    rows: pd.DataFrame  # held-out deals with their account attributes
    scored: (
        pd.DataFrame
    )  # deal_id, account_id, won, amount, score, tier, route, predicted, seen, p_*


@dataclass
class Backtest:
    plan: SplitPlan
    folds: list[Fold]
    notes: list[str] = field(default_factory=list)

    def repeat(self, r: int = 0) -> pd.DataFrame:
        """Held-out scores of one repeat (every held-out deal once)."""
        parts = [f.scored for f in self.folds if f.split.repeat == r]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def repeat_rows(self, r: int = 0) -> pd.DataFrame:
        parts = [f.rows for f in self.folds if f.split.repeat == r]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    @property
    def repeats(self) -> list[int]:
        return sorted({f.split.repeat for f in self.folds})


def closed_deals(deals: pd.DataFrame) -> pd.DataFrame:
    """Won and lost deals, in a fresh 0..n-1 index (the positions splits refer to)."""
    closed = deals[deals["outcome"].isin(["won", "lost"])].reset_index(drop=True)
    if "deal_id" not in closed.columns:
        closed = closed.assign(deal_id=[f"D{i + 1}" for i in range(len(closed))])
    return closed


def date_column(closed: pd.DataFrame) -> tuple[str | None, str]:
    """The column to split in time on, and why (or why none)."""
    for col in ("closed_at", "created_at"):
        if col in closed.columns:
            d = pd.to_datetime(closed[col], errors="coerce")
            share = float(d.notna().mean()) if len(d) else 0.0
            if share >= MIN_DATED_SHARE and d.nunique() >= 2:
                why = "close dates" if col == "closed_at" else "creation dates (no close dates)"
                return col, why
    return None, "the closed deals have no usable close or creation dates"


def _classes(won: np.ndarray) -> tuple[int, int]:
    return int(won.sum()), int((~won).sum())


def time_split(
    closed: pd.DataFrame, cutoff: str | pd.Timestamp | None = None
) -> tuple[Split | None, dict[str, Any], str]:
    """Train on deals closed before the cutoff, hold out the rest.

    Returns (split or None, info, reason). ``None`` with a reason when the
    data cannot support a time split; an explicit ``cutoff`` that leaves one
    side empty raises :class:`InputError` instead.
    """
    col, why = date_column(closed)
    if col is None:
        if cutoff is not None:
            raise InputError(
                f"--cutoff needs dated deals, but {why}",
                hint="Add closed_at dates to the deals, or drop --cutoff to cross-validate",
            )
        return None, {}, why
    d = pd.to_datetime(closed[col], errors="coerce")
    dated = d.notna().to_numpy()
    if cutoff is None:
        cut = pd.Timestamp(d[dated].quantile(1 - HOLDOUT_SHARE)).normalize()
        chosen = f"default: the date below which {1 - HOLDOUT_SHARE:.0%} of closed deals closed"
    else:
        try:
            cut = pd.Timestamp(cutoff)
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"--cutoff {cutoff!r} is not a date", hint="Use an ISO date such as 2024-06-30"
            ) from exc
        chosen = "given with --cutoff"
    dv = d.to_numpy()
    train = np.nonzero(dated & (dv < np.datetime64(cut)))[0]
    test = np.nonzero(dated & (dv >= np.datetime64(cut)))[0]
    won = closed["outcome"].eq("won").to_numpy()
    tw, tl = _classes(won[train])
    hw, hl = _classes(won[test])
    info = {
        "date_column": col,
        "dates": why,
        "cutoff": str(cut.date()),
        "cutoff_rule": chosen,
        "undated_deals": int((~dated).sum()),
        "train_deals": int(len(train)),
        "train_wins": tw,
        "test_deals": int(len(test)),
        "test_wins": hw,
        "train_from": str(d[train].min().date()) if len(train) else None,
        "train_to": str(d[train].max().date()) if len(train) else None,
        "test_from": str(d[test].min().date()) if len(test) else None,
        "test_to": str(d[test].max().date()) if len(test) else None,
    }
    problem = None
    if min(tw, tl) < MIN_CLASS_PER_SIDE or tw + tl < 10:
        problem = f"the deals before {info['cutoff']} have {tw} won and {tl} lost"
    elif min(hw, hl) < MIN_CLASS_PER_SIDE:
        problem = f"the deals from {info['cutoff']} on have {hw} won and {hl} lost"
    if problem:
        if cutoff is not None:
            raise InputError(
                f"--cutoff {info['cutoff']} leaves too few deals on one side: {problem}",
                hint=f"Each side needs at least {MIN_CLASS_PER_SIDE} won and {MIN_CLASS_PER_SIDE} lost deals; pick another date or use --split cv",
            )
        return None, info, f"a time split is too thin: {problem}"
    return Split("time", train, test), info, ""


def cv_splits(
    closed: pd.DataFrame, *, folds: int = 5, repeats: int = 2, seed: int = 0
) -> tuple[list[Split], dict[str, Any]]:
    """Stratified k-fold splits, grouped by account when accounts have several deals."""
    won = closed["outcome"].eq("won").to_numpy()
    w, lo = _classes(won)
    k = min(folds, w, lo)
    if k < 2:
        raise InsufficientData(
            f"cross-validation needs at least 2 won and 2 lost deals; got {w} won, {lo} lost"
        )
    groups = closed["account_id"].astype(str).to_numpy()
    n_groups = len(pd.unique(groups))
    grouped = n_groups < len(groups) and n_groups >= 2 * k
    splits = []
    X = np.zeros((len(won), 1))
    for r in range(repeats):
        s = seed + r
        if grouped:
            it = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=s).split(
                X, won, groups
            )
        else:
            it = StratifiedKFold(n_splits=k, shuffle=True, random_state=s).split(X, won)
        for i, (tr, te) in enumerate(it):
            splits.append(Split(f"repeat {r + 1} fold {i + 1}", np.asarray(tr), np.asarray(te), r))
    info = {
        "folds": k,
        "repeats": repeats,
        "seeds": [seed + r for r in range(repeats)],
        "grouped_by_account": bool(grouped),
        "train_deals": int(round(len(won) * (k - 1) / k)),
        "test_deals": int(len(won)),
        "test_wins": w,
    }
    return splits, info


def plan_splits(
    closed: pd.DataFrame,
    *,
    split: SplitMethod | None = None,
    cutoff: str | None = None,
    folds: int = 5,
    repeats: int = 2,
    seed: int = 0,
) -> SplitPlan:
    """Choose the split: in time when the deals are dated (or ``split='time'``), else CV."""
    notes: list[str] = []
    if split not in (None, "time", "cv"):
        raise InputError(f"--split must be time or cv; got {split!r}")
    if split == "cv" and cutoff is not None:
        raise InputError("--cutoff applies to a time split; drop it or use --split time")
    if split != "cv":
        one, info, why = time_split(closed, cutoff)
        if one is not None:
            return SplitPlan("time", [one], {"method": "time", **info})
        if split == "time":
            raise InputError(
                f"cannot split in time: {why}", hint="Use --split cv to cross-validate instead"
            )
        notes.append(f"time split: not possible ({why}); cross-validated instead")
    splits, info = cv_splits(closed, folds=folds, repeats=repeats, seed=seed)
    if split == "cv":
        notes.append("time split: not run (--split cv); cross-validation mixes periods")
    return SplitPlan("cv", splits, {"method": "cv", **info}, notes)


def score_heldout(build: BuildResult, rows: pd.DataFrame, won: np.ndarray) -> pd.DataFrame:
    """Score held-out deal rows with the fold's ICP; add the win probability each score stands for."""
    res = score_accounts(build.icp, rows)
    f = res.frame
    points = f[[c for c in f.columns if c.startswith("points_")]].to_numpy(dtype=float)
    unvetoed = np.clip(np.rint(build.icp.scorecard.base + points.sum(axis=1)), 0, 100)
    p0 = build.icp.evidence.base_win_rate
    amount = rows["amount_deal"] if "amount_deal" in rows.columns else rows.get("amount")
    return pd.DataFrame(
        {
            "deal_id": rows["deal_id"].astype(str).to_numpy(),
            "account_id": f["account_id"].to_numpy(),
            "won": won,
            "amount": pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
            if amount is not None
            else np.full(len(rows), np.nan),
            "score": f["score"].to_numpy(),
            "tier": f["tier"].astype(str).to_numpy(),
            "route": f["route"].to_numpy(),
            "score_unvetoed": unvetoed,
            "predicted": score_probability(
                f["score"].to_numpy(), p0, build.icp.scorecard.points_per_odds_tripling
            ),
        }
    )


def training_scores(build: BuildResult) -> pd.DataFrame:
    """A fold's training deals scored out of fold: what a threshold is chosen on.

    The scorecard's cross-validated probabilities (each deal predicted by a
    model that did not see it) put on the score scale, clipped to 0-100; a
    vetoed account scores 0 as it would in the ICP. Rows the cross-validation
    sampled out are left out.
    """
    model = build.model
    data = build.training
    rows = np.asarray(getattr(model, "cv_rows_", np.arange(0)), dtype=int)
    prob = np.asarray(getattr(model, "cv_prob_", np.zeros(0)), dtype=float)
    frame = data.frame.reset_index(drop=True).iloc[rows]
    scored = score_accounts(build.icp, frame).frame
    score = probability_score(prob, float(model.p0_), build.icp.scorecard.points_per_odds_tripling)
    tier = scored["tier"].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "account_id": scored["account_id"].to_numpy(),
            "won": np.asarray(data.won, dtype=bool)[rows],
            "score": np.where(tier == "excluded", 0.0, score),
            "tier": tier,
        }
    )


def _fit_fold(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    split: Split,
    *,
    fit: FitFn,
    kinds: dict[str, str],
    families: dict[str, str],
    min_support: int | None,
) -> BuildResult:
    return fit(
        accounts,
        closed.iloc[split.train].reset_index(drop=True),
        kinds=kinds,
        families=families,
        min_support=min_support,
    )


def _allowed(kinds: dict[str, str], left_out: Collection[str]) -> dict[str, str]:
    """The columns the raw peers learn from: those the ICP may learn from, not those it
    excluded as the outcome in disguise or as deal descriptions."""
    return {c: k for c, k in kinds.items() if c not in left_out}


def _excluded(build: BuildResult) -> set[str]:
    return {e.column for e in build.icp.excluded_columns}


def _peer_training(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    split: Split,
    allowed: dict[str, str],
    seed: int,
) -> peer_models.RawTraining:
    # the raw peers see the training deals' raw account columns, not icpkit's bins
    train = training_frame(accounts, closed.iloc[split.train].reset_index(drop=True))
    return peer_models.raw_training(train.frame, train.won, allowed, seed=seed)


def _bins_peer(build: BuildResult, rows: pd.DataFrame) -> np.ndarray:
    return peer_models.fit_predict_bins(
        build.space, build.training.assigned, build.training.won, build.space.assign(rows)
    )["logistic_bins"]


def _finish(
    closed: pd.DataFrame, split: Split, build: BuildResult, rows: pd.DataFrame, scored: pd.DataFrame
) -> Fold:
    # an account with training deals is one a peer may recognise from its columns
    trained = set(closed.iloc[split.train]["account_id"].astype(str))
    scored["seen"] = scored["account_id"].astype(str).isin(trained).to_numpy()
    scored["fold"] = split.name
    return Fold(split, build, rows, scored)


def run_fold(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    split: Split,
    *,
    fit: FitFn = fit_icp,
    kinds: dict[str, str],
    families: dict[str, str],
    min_support: int | None = None,
    peers: bool = False,
    seed: int = 0,
) -> Fold:
    """Fit on the split's training deals only, then score its held-out deals."""
    build = _fit_fold(
        accounts, closed, split, fit=fit, kinds=kinds, families=families, min_support=min_support
    )
    # the fit has returned: only now are the held-out deals selected
    held = training_frame(accounts, closed.iloc[split.test].reset_index(drop=True))
    rows = held.frame.reset_index(drop=True)
    scored = score_heldout(build, rows, held.won)
    if peers:
        training = _peer_training(accounts, closed, split, _allowed(kinds, _excluded(build)), seed)
        test = peer_models.raw_test(training, rows)
        probs = {
            name: peer_models.fit_predict_peer(name, training, test, len(rows))
            for name in peer_models.RAW_PEERS
        }
        probs["logistic_bins"] = _bins_peer(build, rows)
        for name, p in probs.items():
            scored[f"p_{name}"] = p
    return _finish(closed, split, build, rows, scored)


def run_backtest(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    plan: SplitPlan,
    *,
    fit: FitFn = fit_icp,
    kinds: dict[str, str],
    families: dict[str, str],
    min_support: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    tasks: Tasks | None = None,
    first_fit: Callable[[BuildResult], None] | None = None,
    excluded_hint: Collection[str] | None = None,
) -> Backtest:
    """Run every fold of the plan. Peers are fitted on the first repeat's folds.

    With parallel ``tasks`` (see :mod:`.tasks`) the folds' work overlaps: one
    fit at a time (fits hold the interpreter lock), each fold's held-out
    scoring and peers beside the next fit; the folds, their figures and their
    notes are the same as one after the other. ``first_fit`` is called (in the
    caller's thread) with the first fold's model as soon as it is fitted, so
    the caller can start work that needs only that model. ``excluded_hint``
    is the columns the folds' fits are expected to exclude (the ICP's own):
    with parallel tasks the raw peers then start learning from the other
    columns beside the fit, and what they learned is used only when the fold
    excluded exactly those columns (else they learn again after the fit).
    """
    with threadpool_limits(limits=1):  # many small fits: no thread oversubscription
        if tasks is not None and tasks.parallel:
            return _run_parallel(
                accounts,
                closed,
                plan,
                fit=fit,
                kinds=kinds,
                families=families,
                min_support=min_support,
                seed=seed,
                progress=progress,
                tasks=tasks,
                first_fit=first_fit,
                excluded_hint=excluded_hint,
            )
        return _run(
            accounts,
            closed,
            plan,
            fit=fit,
            kinds=kinds,
            families=families,
            min_support=min_support,
            seed=seed,
            progress=progress,
        )


def _run(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    plan: SplitPlan,
    *,
    fit: FitFn,
    kinds: dict[str, str],
    families: dict[str, str],
    min_support: int | None,
    seed: int,
    progress: Callable[[str], None] | None,
) -> Backtest:
    folds: list[Fold] = []
    notes: list[str] = []
    for i, split in enumerate(plan.splits):
        if progress:
            progress(f"backtest {split.name} ({i + 1}/{len(plan.splits)})")
        try:
            folds.append(
                run_fold(
                    accounts,
                    closed,
                    split,
                    fit=fit,
                    kinds=kinds,
                    families=families,
                    min_support=min_support,
                    peers=split.repeat == 0,
                    seed=seed,
                )
            )
        except (InsufficientData, IcpkitError) as exc:
            notes.append(_skipped(split, exc))
    return _backtest(plan, folds, notes)


def _skipped(split: Split, exc: Exception) -> str:
    return f"{split.name}: skipped ({exc}); its {len(split.test)} deals are unscored"


def _backtest(plan: SplitPlan, folds: list[Fold], notes: list[str]) -> Backtest:
    if not any(f.split.repeat == 0 for f in folds):
        raise InsufficientData(
            "no training split could be learned from: " + "; ".join(notes)
            if notes
            else "no closed deals to split"
        )
    return Backtest(plan, folds, notes)


Started = tuple[peer_models.RawTraining, dict[str, "Future[Any]"]]


def _start_peers(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    split: Split,
    allowed: dict[str, str],
    seed: int,
    tasks: Tasks,
) -> Started:
    """The raw peers' training side, as a task; each peer's fit a task of its own."""
    training = _peer_training(accounts, closed, split, allowed, seed)
    return training, {
        name: tasks.submit(
            LONGEST if name == "forest" else PEER, peer_models.fit_peer, name, training
        )
        for name in peer_models.RAW_PEERS
    }


def _predict(started: Started, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    training, models = started
    test = peer_models.raw_test(training, rows)
    return {
        name: peer_models.predict_peer(name, models[name].result(), training, test, len(rows))
        for name in peer_models.RAW_PEERS
    }


def _drop(started: Future[Started]) -> None:
    """The peers started on other columns than the fold's: what has not begun is dropped."""

    def cancel(done: Future[Started]) -> None:
        if not done.cancelled() and done.exception() is None:
            for model in done.result()[1].values():
                model.cancel()

    if not started.cancel():
        started.add_done_callback(cancel)


Heldout = tuple[pd.DataFrame, pd.DataFrame, dict[str, "Future[Any]"]]


def _heldout(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    split: Split,
    build: BuildResult,
    *,
    kinds: dict[str, str],
    raw: bool,
    bins: bool,
    seed: int,
    tasks: Tasks,
) -> Heldout:
    """A fold's work after its fit, as a task: held-out rows and scores; each peer a task of
    its own (``raw``: the raw peers here, when they did not start beside the fit)."""
    held = training_frame(accounts, closed.iloc[split.test].reset_index(drop=True))
    rows = held.frame.reset_index(drop=True)
    scored = score_heldout(build, rows, held.won)
    probs: dict[str, Future[Any]] = {}
    if raw:
        training = _peer_training(accounts, closed, split, _allowed(kinds, _excluded(build)), seed)
        test = peer_models.raw_test(training, rows)
        probs = {
            name: tasks.submit(
                LONGEST if name == "forest" else PEER,
                peer_models.fit_predict_peer,
                name,
                training,
                test,
                len(rows),
            )
            for name in peer_models.RAW_PEERS
        }
    if bins:
        probs["logistic_bins"] = tasks.submit(PEER, _bins_peer, build, rows)
    return rows, scored, probs


def _run_parallel(
    accounts: pd.DataFrame,
    closed: pd.DataFrame,
    plan: SplitPlan,
    *,
    fit: FitFn,
    kinds: dict[str, str],
    families: dict[str, str],
    min_support: int | None,
    seed: int,
    progress: Callable[[str], None] | None,
    tasks: Tasks,
    first_fit: Callable[[BuildResult], None] | None,
    excluded_hint: Collection[str] | None,
) -> Backtest:
    n = len(plan.splits)
    hinted = _allowed(kinds, excluded_hint) if excluded_hint is not None else None

    def start(i: int) -> tuple[Future[BuildResult], Future[Started] | None]:
        split = plan.splits[i]
        if progress:
            progress(f"backtest {split.name} ({i + 1}/{n})")
        fitting = tasks.submit(
            CHAIN,
            _fit_fold,
            accounts,
            closed,
            split,
            fit=fit,
            kinds=kinds,
            families=families,
            min_support=min_support,
        )
        # the raw peers learn from the training deals only: with the columns the fold is
        # expected to keep, they need not wait for its fit (the held-out deals wait)
        if hinted is None or split.repeat != 0:
            return fitting, None
        return fitting, tasks.submit(
            CHAIN, _start_peers, accounts, closed, split, hinted, seed, tasks
        )

    after: list[tuple[BuildResult, Future[Heldout], Future[Started] | None] | Exception] = []
    pending = start(0) if n else None
    for i, split in enumerate(plan.splits):
        assert pending is not None
        fitting, started = pending
        try:
            build = fitting.result()
        except (InsufficientData, IcpkitError) as exc:
            build, failed = None, exc
        # the next fit starts as soon as this one is back: one at a time, as two fits
        # side by side hold the interpreter lock in turns and finish no sooner
        pending = start(i + 1) if i + 1 < n else None
        if started is not None and (build is None or _allowed(kinds, _excluded(build)) != hinted):
            _drop(started)
            started = None
        if build is None:
            after.append(failed)
            continue
        # the fit has returned: only now are the held-out deals selected
        peers = split.repeat == 0
        work = tasks.submit(
            CHAIN,
            _heldout,
            accounts,
            closed,
            split,
            build,
            kinds=kinds,
            raw=peers and started is None,
            bins=peers,
            seed=seed,
            tasks=tasks,
        )
        after.append((build, work, started))
        if first_fit is not None:
            first_fit(build)
            first_fit = None
    folds: list[Fold] = []
    notes: list[str] = []
    for split, done in zip(plan.splits, after, strict=True):
        try:
            if isinstance(done, Exception):
                raise done
            build, work, started = done
            rows, scored, waiting = work.result()
            probs = _predict(started.result(), rows) if started is not None else {}
            probs.update((name, p.result()) for name, p in waiting.items())
            for name, p in probs.items():
                scored[f"p_{name}"] = p
            folds.append(_finish(closed, split, build, rows, scored))
        except (InsufficientData, IcpkitError) as exc:
            notes.append(_skipped(split, exc))
    return _backtest(plan, folds, notes)
