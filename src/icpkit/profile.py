"""The tiered ICP, the negative ICP and the ICP statement.

``fit_icp`` is the one place an ICP is learned. It takes accounts and the
training deals only (validation passes a time-split subset), so nothing from
held-out deals can leak into bins, segments, shrinkage or thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__, leakage
from .errors import InsufficientData
from .features import FeatureSpace, min_support_for
from .health import HealthResult, compute_health
from .icpfile import (
    ICP,
    Condition,
    Criterion,
    Disqualifier,
    Evidence,
    EvidenceSummary,
    ExcludedColumn,
    Routing,
    SegmentRef,
    Tier,
    TierOutcomes,
    Training,
    now_iso,
)
from .mining.deal_context import deal_like_account_columns
from .mining.segments import Segment, SegmentMiner
from .mining.segments import Training as TrainingData
from .mining.stats import bh
from .schema import FAMILIES, normalize_name
from .scoring.fit import ScorecardModel
from .statement import make_statement
from .timing import clean_events, fit_timing

TIER_NAMES = {1: "Perfect fit", 2: "Good fit", 3: "Acceptable fit"}
TIER_MIN_SCORE = {1: 75, 2: 65, 3: 55}
TBC = "to be confirmed in interviews"
MAX_EXCLUDED_SHARE = 0.2  # vetoes together exclude at most this share of accounts
OBJECTIVES = ("auto", "value", "win")
VETO_ODDS = 1 / 3  # disqualifiers: the mirror image of Tier 1's 3x odds


@dataclass
class BuildResult:
    icp: ICP
    segments: pd.DataFrame
    space: FeatureSpace
    miner: SegmentMiner
    model: ScorecardModel
    health: HealthResult
    training: TrainingData
    warnings: list[str] = field(default_factory=list)


def training_frame(accounts: pd.DataFrame, deals: pd.DataFrame) -> TrainingData:
    """Closed deals joined to their account's attributes."""
    closed = deals[deals["outcome"].isin(["won", "lost"])].copy()
    keep = [
        c
        for c in ("deal_id", "account_id", "outcome", "amount", "created_at", "closed_at")
        if c in closed.columns
    ]
    closed = closed[keep]
    # an accounts column named like a deal field (outcome, created_at …) must not replace it
    clash = [c for c in keep if c not in ("account_id", "amount") and c in accounts.columns]
    frame = closed.merge(
        accounts.drop(columns=clash), on="account_id", how="inner", suffixes=("_deal", "")
    )
    won = frame["outcome"].eq("won").to_numpy()
    amount = pd.to_numeric(
        frame["amount_deal"]
        if "amount_deal" in frame.columns
        else frame.get("amount", pd.Series(np.nan, index=frame.index)),
        errors="coerce",
    ).to_numpy(dtype=float)
    if "created_at" in frame.columns and "closed_at" in frame.columns:
        cyc = (
            pd.to_datetime(frame["closed_at"]) - pd.to_datetime(frame["created_at"])
        ).dt.days.to_numpy(dtype=float, copy=True)
        cyc[cyc < 0] = np.nan
    else:
        cyc = np.full(len(frame), np.nan)
    return TrainingData(
        frame=frame,
        won=won,
        amount=amount,
        cycle=cyc,
        account=frame["account_id"].astype(str).to_numpy(),
        assigned=np.zeros((len(frame), 0), dtype=np.int16),
    )


def _evidence(s: Segment, health_n: int | None = None) -> Evidence:
    return Evidence(
        n=s.n,
        wins=s.wins,
        win_rate=round(s.win_rate, 4),
        ci_low=round(s.ci_low, 4),
        ci_high=round(s.ci_high, 4),
        lift=round(s.lift, 3),
        q_value=float(f"{s.q_value:.3g}"),
        revenue_share=None if s.revenue_share is None else round(s.revenue_share, 4),
        health_n=health_n,
    )


def _cond_fields(c: Condition) -> dict:
    return c.model_dump(by_alias=True, exclude_none=True)


def health_disqualifiers(
    space: FeatureSpace, accounts: pd.DataFrame, health: HealthResult, min_support: int
) -> list[tuple[Condition, str, int, int, int, int, float]]:
    """Bins over-represented among the worst 20% of customers against the best 20%.

    Returns (condition, family, worst_hits, worst_n, best_hits, best_n, q_value).
    """
    t = health.table
    worst_ids = set(t.loc[t["health_tier"] == "worst", "account_id"].astype(str))
    best_ids = set(t.loc[t["health_tier"] == "best", "account_id"].astype(str))
    if len(worst_ids) < 5 or len(best_ids) < 5:
        return []
    acc = accounts[accounts["account_id"].astype(str).isin(worst_ids | best_ids)].reset_index(
        drop=True
    )
    assigned = space.assign(acc)
    is_worst = acc["account_id"].astype(str).isin(worst_ids).to_numpy()
    rows = []
    pv = []
    for j, spec in enumerate(space.specs):
        for b, cond in enumerate(spec.bins):
            if cond.op in ("missing", "other"):
                continue
            hit = assigned[:, j] == b
            a, c = int((hit & is_worst).sum()), int((hit & ~is_worst).sum())
            nw, nb = int(is_worst.sum()), int((~is_worst).sum())
            if a < 5:
                continue
            p = stats.fisher_exact([[a, nw - a], [c, nb - c]], alternative="greater").pvalue
            rows.append((cond, spec.family, a, nw, c, nb))
            pv.append(p)
    if not rows:
        return []
    q = bh(np.array(pv))
    out = []
    for (cond, fam, a, nw, c, nb), qv in zip(rows, q, strict=True):
        ratio = ((a + 0.5) / (nw - a + 0.5)) / ((c + 0.5) / (nb - c + 0.5))
        if qv < 0.01 and ratio >= 3.0:
            out.append((cond, fam, a, nw, c, nb, float(qv)))
    return out


def fit_icp(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    kinds: dict[str, str],
    families: dict[str, str],
    health_weights: dict[str, float] | None = None,
    min_support: int | None = None,
    extra_health: pd.DataFrame | None = None,
    extra_health_meta: dict | None = None,
    routing: Routing | None = None,
    search: bool = True,
    events: pd.DataFrame | None = None,
    objective: str = "auto",
    max_excluded_share: float = MAX_EXCLUDED_SHARE,
    keep_columns: Sequence[str] = (),
) -> BuildResult:
    """Learn the tiered ICP, negative ICP, scorecard and statement.

    Parameters
    ----------
    accounts : DataFrame
        Canonical accounts (attributes as columns).
    deals : DataFrame
        Canonical deals; only closed (won/lost) deals are learned from.
    kinds, families : dict
        Attribute kind (num/str/list/bool) and family per account column.
    min_support : int, optional
        Minimum closed deals behind a criterion; default 30, or 5% of deals for small data.
    search : bool, default True
        Run the multi-condition segment search (validation's null control may switch it off).
    objective : {"auto", "value", "win"}, default "auto"
        What a good deal is. ``win``: won. ``value``: won *and* the customer is
        still paying (from the revenue, churn or subscription data in
        ``extra_health``'s ``retention``); ``auto`` is ``value`` when that data
        covers the won accounts, else ``win``.
    max_excluded_share : float, default 0.2
        Most of the book the disqualifiers may veto together; weaker
        disqualifiers stay as warning signs.
    keep_columns : sequence of str
        Columns to learn from even when they look like the outcome (known before the deal).
    """
    if objective not in OBJECTIVES:
        raise ValueError(
            f"The 'objective' parameter of fit_icp must be one of {', '.join(OBJECTIVES)}. "
            f"Got {objective!r} instead."
        )
    if not 0 <= max_excluded_share <= 1:
        raise ValueError(
            "The 'max_excluded_share' parameter of fit_icp must be a float in [0, 1]. "
            f"Got {max_excluded_share!r} instead."
        )
    warnings: list[str] = []
    # columns that carry the outcome in disguise are dropped before anything is learned
    accounts, kinds, families, excluded, kept = leakage.guard(
        accounts, deals, kinds, families, keep=keep_columns, warnings=warnings
    )
    # a deal's situation (new business, renewal, a competitor) is not a company trait
    keep_norm = {normalize_name(c) for c in keep_columns}
    for col, why in deal_like_account_columns(accounts, kinds).items():
        if normalize_name(col) in keep_norm:
            continue
        kinds = {c: k for c, k in kinds.items() if c != col}
        excluded.append(
            ExcludedColumn(
                column=col,
                found_by="deal",
                reason=f"describes a deal, not the company: {why}",
                evidence="analysed with the deal columns (deal qualification), not as an account trait",
            )
        )
        warnings.append(
            f"column '{col}' describes a deal, not the company ({why}): not learned as an "
            f"account trait; keep it with --keep-column {col} if it is a company attribute"
        )
    data = training_frame(accounts, deals)
    n = len(data.won)
    wins = int(data.won.sum())
    goal, goal_note = success_target(data, extra_health, objective)
    if goal_note:
        warnings.append(goal_note)
    good = goal if goal is not None else data.won
    n_good = int(good.sum())
    if n < 10 or n_good == 0 or n_good == n:
        raise InsufficientData(
            f"only {n} closed deals ({wins} won): an ICP needs both won and lost deals — at least 10 closed, ideally hundreds"
            + (
                "; with every deal won, the value objective can learn who stays, given revenue or "
                "churn data in which some customers churned (--revenue, --churn, health.churn_source)"
                if n and wins == n
                else ""
            )
            if goal is None
            else f"{n} closed deals, {n_good} won and retained: learning needs both good and bad outcomes"
        )
    used_objective = "win" if goal is None else "value"
    if goal is not None:
        # a churn flag on the account is the value objective's outcome itself
        from .retention import _FLAG_COLUMNS

        leaked = [c for c in kinds if c in _FLAG_COLUMNS]
        kinds = {c: k for c, k in kinds.items() if c not in leaked}
        for flag_col in leaked:
            warnings.append(
                f"column '{flag_col}' is the churn outcome the value objective learns: "
                "excluded from learning"
            )
            excluded.append(
                ExcludedColumn(
                    column=flag_col,
                    found_by="objective",
                    reason="the churn outcome the value objective learns",
                    evidence="a success is a won deal whose customer still pays",
                )
            )
    # the deals as the learners see them: a success is a win, or a win that stayed
    target = TrainingData(
        frame=data.frame,
        won=good,
        amount=data.amount,
        cycle=data.cycle,
        account=data.account,
        assigned=data.assigned,
    )
    ms = min_support or min_support_for(n)
    if n < 200:
        warnings.append(
            f"only {n} closed deals: every figure is uncertain; treat the ICP as a hypothesis to test"
        )
    space = FeatureSpace(min_support=ms).fit(data.frame, kinds, families, target=good)
    for col, why in space.skipped.items():
        warnings.append(f"attribute '{col}' not used: {why}")
    data.assigned = space.assign(data.frame)
    target.assigned = data.assigned
    miner = SegmentMiner(min_support=ms, max_depth=3 if search else 1).fit(space, target)
    model = ScorecardModel().fit(space, data.assigned, good)
    n_by_bin = {}
    for j, spec in enumerate(space.specs):
        for b in range(len(spec.bins)):
            m = data.assigned[:, j] == b
            n_by_bin[(j, b)] = (
                int(m.sum()),
                float(good[m].mean()) if m.any() else float("nan"),
            )
    # a blank earns points only when blankness itself is significant
    keep_missing = {
        s.keys[0] for s in miner.univariate_ if s.conditions[0].op == "missing" and s.tier
    }
    scorecard = model.scorecard(n_by_bin, keep_missing=keep_missing)
    health = compute_health(
        deals,
        accounts,
        weights=health_weights,
        extra_components=extra_health,
        extra_meta=extra_health_meta,
    )
    warnings.extend(health.warnings)
    p0 = target.base_rate

    # tiers from single-condition patterns
    tiers = []
    for t in (1, 2, 3):
        crit: dict[str, list[Criterion]] = {}
        for s in miner.univariate_:
            if s.tier == str(t) and s.conditions[0].op not in ("missing", "other"):
                c = s.conditions[0]
                crit.setdefault(s.families[0], []).append(
                    Criterion(**_cond_fields(c), family=s.families[0], evidence=_evidence(s))
                )
        for fam in crit:
            crit[fam].sort(
                key=lambda c: -(c.evidence.lift if c.evidence and c.evidence.lift else 0)
            )
        multi = sorted(
            (s for s in miner.segments_ if s.tier == str(t)), key=lambda s: (s.q_value, -s.lift)
        )
        segrefs = [
            SegmentRef(conditions=list(s.conditions), evidence=_evidence(s)) for s in multi[:8]
        ]
        summary = (
            "; ".join(
                f"{s.text} (n={s.n}, {'success' if goal is not None else 'win'} rate {s.win_rate:.0%}, lift {s.lift:.1f}x)"
                for s in multi[:3]
            )
            or None
        )
        tiers.append(
            Tier(
                tier=t,
                name=TIER_NAMES[t],
                min_score=TIER_MIN_SCORE[t],
                criteria=crit,
                segments=segrefs,
                summary=summary,
            )
        )  # type: ignore[arg-type]

    # negative ICP: what predicts losing, and what marks the worst customers
    candidates: list[Disqualifier] = []
    seen: set[str] = set()
    for s in miner.univariate_:
        # a veto needs a real trait (not 'unknown' or 'other') that cuts the odds to a third or less
        if (
            s.tier == "negative"
            and s.odds_ratio <= VETO_ODDS
            and s.conditions[0].op not in ("missing", "other")
        ):
            c = s.conditions[0]
            candidates.append(
                Disqualifier(
                    **_cond_fields(c),
                    family=s.families[0],
                    evidence=_evidence(s),
                    reason=f"won {s.wins} of {s.n} deals ({s.win_rate:.0%} vs {p0:.0%} overall)"
                    if goal is None
                    else f"{s.wins} of {s.n} deals won and retained ({s.win_rate:.0%} vs {p0:.0%} overall)",
                )
            )
            seen.add(c.text())
    positive = {s.conditions[0].text() for s in miner.univariate_ if s.tier in ("1", "2", "3")}
    for cond, fam, a, nw, cb, nb, qv in health_disqualifiers(space, accounts, health, ms):
        if cond.text() in seen or cond.text() in positive:
            continue
        uni = next((s for s in miner.univariate_ if s.conditions[0].text() == cond.text()), None)
        if uni is not None and uni.lift > 1.0:
            continue
        ev = _evidence(uni, health_n=nw + nb) if uni else Evidence(n=a + cb, health_n=nw + nb)
        ev.note = f"{a} of the {nw} worst-health customers vs {cb} of the {nb} best (q={qv:.2g})"
        # a veto candidate when these accounts also lose deals; otherwise a warning sign
        loses = uni is not None and uni.lift <= 0.75 and uni.q_value < 0.05 and uni.n >= ms
        reason = (
            f"over-represented among the worst 20% of customers ({a}/{nw} vs {cb}/{nb} of the best)"
        )
        if loses and uni is not None:
            reason += f" and won {uni.wins} of {uni.n} deals ({uni.win_rate:.0%} vs {p0:.0%})"
        else:
            reason = (
                "warning sign, not a veto: "
                + reason
                + "; their deals do not lose significantly more often"
            )
        candidates.append(
            Disqualifier(
                **_cond_fields(cond), family=fam, evidence=ev, reason=reason, enabled=loses
            )
        )
        seen.add(cond.text())
    disq, veto_notes = earn_vetoes(
        candidates, target, model, accounts, min_support=ms, max_share=max_excluded_share
    )
    warnings.extend(veto_notes)

    # evidence strength
    sig = [s for s in [*miner.univariate_, *miner.segments_] if s.tier in ("1", "2", "3")]
    t1 = [s for s in sig if s.tier == "1"]
    t12 = [s for s in sig if s.tier in ("1", "2")]
    auc = model.cv_auc_
    if t1 and auc >= 0.70:
        strength = "strong"
    elif t12 and auc >= 0.60:
        strength = "moderate"
    elif sig or auc >= 0.55:
        strength = "weak"
    else:
        strength = "none"
    messages = {
        "strong": f"Strong evidence: {len(t1)} segment(s) convert at 3x the odds of the average deal or better, and the scorecard separates won from lost deals well (cross-validated AUC {auc:.2f}).",
        "moderate": f"Moderate evidence: {len(t12)} segment(s) convert clearly better than average, but the scorecard separates won from lost deals only moderately (cross-validated AUC {auc:.2f}); confirm Tier 1 in interviews before acting on it alone.",
        "weak": f"Weak evidence: win rates barely differ across the attributes in the data (cross-validated AUC {auc:.2f}; {len(sig)} segment(s) pass the significance bar, none with a large effect). Treat this ICP as a hypothesis and gather richer attributes (technographics, triggers, buying committee) before acting on it.",
        "none": f"No evidence for an ICP in these attributes: no segment converts significantly better than the {p0:.0%} base rate (cross-validated AUC {auc:.2f}). The data does not support an ideal customer profile yet; do not target on these attributes.",
    }
    evidence_summary = EvidenceSummary(
        strength=strength,  # type: ignore[arg-type]
        message=messages[strength],
        closed_deals=n,
        wins=wins,
        base_win_rate=round(p0, 4),
        significant_segments=len(sig),
        min_support=ms,
    )
    if strength in ("weak", "none"):
        # do not present noise as a perfect fit: on weak evidence there is no Tier 1 at all,
        # so no account is labelled a perfect fit (a person may add it back in icp.yaml)
        tiers = [t for t in tiers if t.tier != 1]

    timing = None
    if events is not None and len(events):
        ev, w = clean_events(events, set(accounts["account_id"].astype(str)))
        warnings.extend(w)
        tm = fit_timing(deals, ev, min_support=ms)
        warnings.extend(tm.warnings)
        timing = tm.to_icp()
        if not timing["triggers"]:
            warnings.append(
                "no event type raised the win rate significantly in any window (30/60/90/180 days before the deal)"
            )
    statement = make_statement(tiers, disq, data, strength, timing, families)
    dates = pd.to_datetime(data.frame["closed_at"]) if "closed_at" in data.frame.columns else None
    training = Training(
        deals=n,
        wins=wins,
        accounts=int(pd.unique(data.account).size),
        date_from=str(dates.min().date()) if dates is not None and dates.notna().any() else None,
        date_to=str(dates.max().date()) if dates is not None and dates.notna().any() else None,
        objective=used_objective,  # type: ignore[arg-type]
        successes=n_good,
    )
    icp = ICP(
        generated_at=now_iso(),
        generator=f"icpkit {__version__}",
        evidence=evidence_summary,
        statement=statement,
        routing=routing or Routing(),
        tiers=tiers,
        disqualifiers=disq,
        scorecard=scorecard,
        health={
            "weights": health.weights,
            "components": {c: health.descriptions[c] for c in health.used},
        },
        training=training,
        attributes={
            c: families.get(c, "firmographic") for c in kinds if c not in ("account_id", "name")
        },
        timing=timing,
        excluded_columns=excluded,
        kept_columns=kept,
    )
    for num, out in tier_outcomes(icp, accounts, data, extra_health).items():
        t_ = icp.tier(num)
        if t_ is not None:
            t_.outcomes = out
    return BuildResult(
        icp=icp,
        segments=miner.table(),
        space=space,
        miner=miner,
        model=model,
        health=health,
        training=data,
        warnings=warnings,
    )


def success_target(
    data: TrainingData, extra_health: pd.DataFrame | None, objective: str
) -> tuple[np.ndarray | None, str]:
    """The value objective's outcome per closed deal: won *and* the customer still pays.

    Returns ``(target, note)``; ``target`` is None for the win objective (the
    caller uses ``won``). Retention comes from the ``retention`` health
    component (1 = still paying at the as-of date, 0 = churned), which revenue,
    subscription or churn data provide. ``auto`` uses value when retention is
    known for at least half of the won accounts and some of them churned.
    """
    if objective == "win":
        return None, ""
    ret = None
    if extra_health is not None and "retention" in extra_health.columns:
        ret = (
            extra_health.assign(account_id=extra_health["account_id"].astype(str))
            .drop_duplicates("account_id")
            .set_index("account_id")["retention"]
        )
    won_acc = pd.unique(data.account[data.won])
    known = ret.reindex(won_acc).notna() if ret is not None else pd.Series(dtype=bool)
    usable = (
        ret is not None
        and len(won_acc) > 0
        and float(known.mean()) >= 0.5
        and bool((ret.reindex(won_acc) == 0).any())
    )
    if not usable:
        if objective == "value":
            return None, (
                "objective 'value' needs revenue, subscription or churn data covering the won "
                "accounts (--revenue or --churn); learned on wins instead"
            )
        return None, ""
    assert ret is not None
    still = ret.reindex(data.account).to_numpy(dtype=float)
    # a won deal on an account whose retention is unknown counts as a win
    target = data.won & ~(still == 0)
    churned = int((data.won & (still == 0)).sum())
    return target, (
        f"objective: value — a deal counts as a success when won and the customer still pays "
        f"({int(target.sum())} of {int(data.won.sum())} won deals; {churned} on customers who churned)"
    )


def earn_vetoes(
    candidates: list[Disqualifier],
    data: TrainingData,
    model: ScorecardModel,
    accounts: pd.DataFrame,
    *,
    min_support: int,
    max_share: float = MAX_EXCLUDED_SHARE,
    folds: int = 5,
) -> tuple[list[Disqualifier], list[str]]:
    """Keep a disqualifier as a veto only when it earns its place.

    A candidate vetoes when (1) it holds on held-out deals: in a cross-fit by
    account, the folds that would pick it again (odds at most half the base
    rate's in their training part) see its held-out deals win significantly less
    often than the held-out base rate; (2) vetoing it does not lower the
    scorecard's cross-validated AUC; and (3) all vetoes together exclude at most
    ``max_share`` of the accounts. Candidates are taken strongest first; the rest
    stay in the file switched off, as warning signs with the reason.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    from .mining.stats import wilson
    from .scoring.scorer import Columns, evaluate

    notes: list[str] = []
    if not candidates:
        return [], notes
    y = np.asarray(data.won, dtype=bool)
    cols = Columns(data.frame.reset_index(drop=True))
    acc_cols = Columns(accounts.reset_index(drop=True))
    n_acc = max(1, len(accounts))
    groups = pd.factorize(data.account)[0]
    k = max(2, min(folds, len(np.unique(groups))))
    splits = list(GroupKFold(n_splits=k).split(np.zeros(len(y)), y, groups))
    rows, prob = model.cv_rows_, model.cv_prob_
    yr = y[rows]
    can_auc = 0 < yr.sum() < len(yr)

    def auc(p: np.ndarray) -> float:
        return float(roc_auc_score(yr, p)) if can_auc else 0.5

    scored: list[tuple[float, Disqualifier, np.ndarray, np.ndarray, str]] = []
    for d in candidates:
        hit = evaluate(d, cols)
        held_n = held_w = 0
        base_n = base_w = 0
        for tr, te in splits:
            m_tr = hit[tr]
            n_tr, w_tr = int(m_tr.sum()), int((m_tr & y[tr]).sum())
            p_tr = float(y[tr].mean())
            base_n += len(te)
            base_w += int(y[te].sum())
            if n_tr < max(5, min_support // 2) or p_tr <= 0:
                continue
            r_tr = (w_tr + 0.5) / (n_tr + 1.0)
            if odds(r_tr) > 0.5 * odds(p_tr):
                continue
            m_te = hit[te]
            held_n += int(m_te.sum())
            held_w += int((m_te & y[te]).sum())
        p_held = base_w / max(1, base_n)
        if held_n >= 5:
            lo, hi = wilson(held_w, held_n)
            rate = held_w / held_n
            holds = float(hi) < p_held and odds((held_w + 0.5) / (held_n + 1)) <= 0.5 * odds(p_held)
        else:
            rate, holds = float("nan"), False
        why = (
            f"held out, its deals won {held_w} of {held_n} ({rate:.0%}) vs {p_held:.0%}"
            if held_n
            else "no held-out fold picked it again"
        )
        strength = rate / p_held if held_n and p_held > 0 else 1.0
        scored.append((strength if holds else 9.0 + strength, d, hit, evaluate(d, acc_cols), why))
    scored.sort(key=lambda t: t[0])
    kept: list[Disqualifier] = []
    out: list[Disqualifier] = []
    excluded = np.zeros(len(accounts), dtype=bool)
    veto_rows = np.zeros(len(rows), dtype=bool)
    current = auc(prob)
    for rank, d, hit, acc_hit, why in scored:
        if not d.enabled:
            out.append(d)
            continue
        problem = ""
        if rank >= 9.0:
            problem = f"does not hold on held-out deals ({why})"
        else:
            new_rows = veto_rows | hit[rows]
            trial = auc(np.where(new_rows, -1.0, prob))
            share = float((excluded | acc_hit).mean()) if len(accounts) else 0.0
            if trial < current - 1e-4:
                problem = (
                    f"vetoing it lowers the cross-validated AUC ({current:.3f} -> {trial:.3f})"
                )
            elif share > max_share:
                problem = (
                    f"together with the stronger vetoes it would exclude {share:.0%} of "
                    f"{n_acc} accounts (limit {max_share:.0%})"
                )
            else:
                veto_rows, current = new_rows, trial
                excluded |= acc_hit
        if problem:
            d = d.model_copy(
                update={
                    "enabled": False,
                    "reason": f"warning sign, not a veto: {d.reason}; {problem}",
                }
            )
            notes.append(f"disqualifier '{d.text()}' kept as a warning sign: {problem}")
        else:
            d = d.model_copy(update={"reason": f"{d.reason}; {why}"})
            kept.append(d)
        out.append(d)
    if kept:
        notes.append(
            f"{len(kept)} disqualifier(s) veto {int(excluded.sum())} of {n_acc} accounts "
            f"({excluded.mean():.0%})"
        )
    order = {id(d): i for i, d in enumerate(out)}
    return sorted(out, key=lambda d: (not d.enabled, order[id(d)])), notes


def odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return p / (1 - p)


def tier_outcomes(
    icp: ICP, accounts: pd.DataFrame, data: TrainingData, extra_health: pd.DataFrame | None
) -> dict[int, TierOutcomes]:
    """What each tier's accounts did in the training data: deals, wins, deal size, retention."""
    from .scoring.scorer import score_accounts

    scored = score_accounts(icp, accounts).frame[["account_id", "tier"]]
    tier_of = dict(zip(scored["account_id"].astype(str), scored["tier"].astype(str), strict=True))
    deal_tier = np.array([tier_of.get(a, "none") for a in data.account], dtype=object)
    won_total = float(np.nansum(data.amount[data.won]))
    ret = None
    if extra_health is not None and "account_id" in extra_health.columns:
        ret = extra_health.assign(account_id=extra_health["account_id"].astype(str)).set_index(
            "account_id"
        )
    out: dict[int, TierOutcomes] = {}
    for t in icp.tiers:
        key = str(t.tier)
        m = deal_tier == key
        ids = [a for a, tt in tier_of.items() if tt == key]
        won_amt = data.amount[m & data.won]
        won_amt = won_amt[~np.isnan(won_amt)]
        cyc = data.cycle[m & data.won]
        cyc = cyc[~np.isnan(cyc)]
        customers = pd.unique(data.account[m & data.won])
        retention = nrr = None
        n_cust = 0
        if ret is not None and len(customers):
            sub = ret.reindex(customers)
            if "retention" in sub.columns and sub["retention"].notna().any():
                n_cust = int(sub["retention"].notna().sum())
                retention = round(float(sub["retention"].mean()), 4)
            if "nrr" in sub.columns and sub["nrr"].notna().any():
                nrr = round(float(sub["nrr"].median()), 4)
        out[t.tier] = TierOutcomes(
            accounts=len(ids),
            deals=int(m.sum()),
            wins=int((m & data.won).sum()),
            win_rate=round(float(data.won[m].mean()), 4) if m.any() else None,
            median_deal=round(float(np.median(won_amt)), 2) if len(won_amt) else None,
            won_revenue_share=round(float(won_amt.sum() / won_total), 4)
            if won_total > 0 and len(won_amt)
            else None,
            customers=n_cust,
            retention=retention,
            nrr=nrr,
            median_cycle_days=round(float(np.median(cyc)), 1) if len(cyc) else None,
        )
    return out


def families_in(icp: ICP) -> dict[str, str]:
    """For each family, what the ICP says or why it says nothing."""
    out = {}
    for fam in FAMILIES:
        crit = [c.text() for t in icp.tiers for c in t.criteria.get(fam, [])]
        crit += [
            c.text()
            for t in icp.tiers[:1]
            for s in t.segments
            for c in s.conditions
            if (icp.attributes.get(c.attribute) or "firmographic") == fam
        ]
        feats = [f.attribute for f in icp.scorecard.features if f.family == fam]
        present = sorted(a for a, f in icp.attributes.items() if f == fam)
        if fam == "trigger" and icp.timing and icp.timing.get("triggers"):
            crit += [
                f"{t['type']} within {t['window_days']} days (lift {t['evidence']['lift']:.1f}x, n={t['evidence']['n']})"
                for t in icp.timing["triggers"]
            ]
        if fam == "dmu" and icp.personas and isinstance(icp.personas.get("primary"), dict):
            p = icp.personas["primary"]
            ev = p.get("evidence") or {}
            crit.append(
                f"primary persona: {p.get('role')} ({', '.join(p.get('functions') or [])})"
                + (f", lift {ev['lift']:.2f}x, n={ev['n']}" if ev.get("lift") else "")
                + " — see the Personas section"
            )
        if crit:
            out[fam] = "; ".join(dict.fromkeys(crit))
        elif feats:
            out[fam] = (
                f"scored ({', '.join(sorted(set(feats)))}) but no criterion passed the evidence bar"
            )
        elif present:
            out[fam] = (
                f"in the data ({', '.join(present)}) but without a pattern that passed the evidence bar"
            )
        else:
            out[fam] = "no attribute of this family in the data"
    return out
