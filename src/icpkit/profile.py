"""The tiered ICP, the negative ICP and the ICP statement.

``fit_icp`` is the one place an ICP is learned. It takes accounts and the
training deals only (validation passes a time-split subset), so nothing from
held-out deals can leak into bins, segments, shrinkage or thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import __version__, leakage
from .errors import InsufficientData
from .features import FeatureSpace, min_support_for
from .health import HealthResult, compute_health
from .icpfile import (
    ICP,
    Condition,
    Criterion,
    EvidenceSummary,
    ExcludedColumn,
    Routing,
    Scorecard,
    SegmentRef,
    Tier,
    TierOutcomes,
    Training,
    fmt_number,
    now_iso,
)
from .labels import trigger_words
from .mining.deal_context import deal_like_account_columns
from .mining.segments import DEAL_FIELDS, SegmentMiner, segment_evidence, training_frame
from .mining.segments import Training as TrainingData
from .negative import MAX_EXCLUDED_SHARE, condition_fields, earn_vetoes, negative_candidates
from .schema import FAMILIES, normalize_name
from .scoring.fit import ScorecardModel
from .scoring.scorer import Columns, ScoreResult, score_accounts
from .statement import make_statement
from .timing import clean_events, fit_timing

TIER_NAMES = {1: "Perfect fit", 2: "Good fit", 3: "Acceptable fit"}
TIER_MIN_SCORE = {1: 75, 2: 65, 3: 55}
TBC = "to be confirmed in interviews"
OBJECTIVES = ("auto", "value", "win")


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
    scored: ScoreResult | None = None  # the accounts scored with ``icp`` (tiers, reasons)


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
    _check_fit_params(objective, max_excluded_share)
    warnings: list[str] = []
    learn = _learning_data(
        accounts, deals, kinds, families, extra_health, objective, keep_columns, warnings
    )
    data, target, good = learn.data, learn.target, learn.target.won
    families = learn.families
    n = len(data.won)
    ms = min_support or min_support_for(n)
    if n < 200:
        warnings.append(
            f"only {n} closed deals: every figure is uncertain; treat the ICP as a hypothesis to test"
        )
    # bins, segments and points, all on the training deals only
    # the training rows' cells are read once for fitting the bins and assigning them
    cols = Columns(data.frame.reset_index(drop=True))
    space = FeatureSpace(min_support=ms).fit(
        data.frame, learn.kinds, families, target=good, columns=cols
    )
    for col, why in space.skipped.items():
        warnings.append(f"attribute '{col}' not used: {why}")
    data.assigned = space.assign(data.frame, columns=cols)
    del cols
    target.assigned = data.assigned
    miner = SegmentMiner(min_support=ms, max_depth=3 if search else 1).fit(space, target)
    model = ScorecardModel().fit(space, data.assigned, good)
    health = compute_health(
        deals,
        learn.accounts,
        weights=health_weights,
        extra_components=extra_health,
        extra_meta=extra_health_meta,
    )
    warnings.extend(health.warnings)
    value = learn.objective == "value"
    tiers = build_tiers(miner, value=value)
    # negative ICP: what predicts losing, and what marks the worst customers
    candidates = negative_candidates(
        miner, space, learn.accounts, health, target.base_rate, ms, value=value
    )
    disq, veto_notes = earn_vetoes(
        candidates, target, model, learn.accounts, min_support=ms, max_share=max_excluded_share
    )
    warnings.extend(veto_notes)
    evidence = evidence_strength(
        miner, model.cv_auc_, n=n, wins=int(data.won.sum()), p0=target.base_rate, ms=ms
    )
    if evidence.strength in ("weak", "none"):
        # do not present noise as a perfect fit: on weak evidence there is no Tier 1 at all,
        # so no account is labelled a perfect fit (a person may add it back in icp.yaml)
        tiers = [t for t in tiers if t.tier != 1]
    timing = _timing(deals, events, learn.accounts, ms, warnings)
    icp = ICP(
        generated_at=now_iso(),
        generator=f"icpkit {__version__}",
        evidence=evidence,
        statement=make_statement(tiers, disq, data, evidence.strength, timing, families),
        routing=routing or Routing(),
        tiers=tiers,
        disqualifiers=disq,
        scorecard=_scorecard(model, miner, space, data.assigned, good),
        health={
            "weights": health.weights,
            "components": {c: health.descriptions[c] for c in health.used},
        },
        training=_training_summary(data, learn.objective, int(good.sum())),
        attributes={
            c: families.get(c, "firmographic")
            for c in learn.kinds
            if c not in ("account_id", "name")
        },
        timing=timing,
        excluded_columns=learn.excluded,
        kept_columns=learn.kept,
    )
    # what each tier's accounts did in the training data, from the accounts scored once
    scored = score_accounts(icp, learn.accounts)
    for num, out in tier_outcomes(icp, scored.frame, data, extra_health).items():
        t_ = icp.tier(num)
        if t_ is not None:
            t_.outcomes = out
    small = small_deal_warning(icp, data)
    if small:
        warnings.append(small)
        icp.evidence.message += " " + small
    return BuildResult(
        icp=icp,
        segments=miner.table(),
        space=space,
        miner=miner,
        model=model,
        health=health,
        training=data,
        warnings=warnings,
        scored=scored,
    )


def _check_fit_params(objective: str, max_excluded_share: float) -> None:
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


@dataclass
class _Learning:
    """What the learners see: the columns left after the leak guard, and the deals with
    their target (a win, or under the value objective a win whose customer stayed)."""

    accounts: pd.DataFrame
    kinds: dict[str, str]
    families: dict[str, str]
    excluded: list[ExcludedColumn]
    kept: list[str]
    data: TrainingData  # the closed deals, ``won`` = won
    target: TrainingData  # the same deals, ``won`` = the success the ICP is learned on
    objective: str  # "win" or "value"


def _learning_data(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    kinds: dict[str, str],
    families: dict[str, str],
    extra_health: pd.DataFrame | None,
    objective: str,
    keep_columns: Sequence[str],
    warnings: list[str],
) -> _Learning:
    """Guard against leaks, then set the target; raise when there is nothing to learn."""
    # columns that carry the outcome in disguise are dropped before anything is learned
    full = training_frame(accounts, deals)
    columns = list(accounts.columns)
    accounts, kinds, families, excluded, kept = leakage.guard(
        accounts, deals, kinds, families, keep=keep_columns, warnings=warnings, training=full
    )
    kinds = exclude_deal_columns(accounts, kinds, keep_columns, excluded, warnings)
    dropped = [c for c in columns if c not in accounts.columns]
    if not set(dropped) & set(DEAL_FIELDS):
        # the same join without the dropped account columns
        if dropped:
            full.frame = full.frame.drop(columns=dropped)
        data = full
    else:  # a dropped column shared a deal field's name: the join names columns anew
        data = training_frame(accounts, deals)
    del full
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
    if goal is not None:
        kinds = exclude_churn_flags(kinds, excluded, warnings)
    # the deals as the learners see them: a success is a win, or a win that stayed
    target = TrainingData(
        frame=data.frame,
        won=good,
        amount=data.amount,
        cycle=data.cycle,
        account=data.account,
        assigned=data.assigned,
    )
    return _Learning(
        accounts, kinds, families, excluded, kept, data, target, "win" if goal is None else "value"
    )


def _scorecard(
    model: ScorecardModel,
    miner: SegmentMiner,
    space: FeatureSpace,
    assigned: np.ndarray,
    good: np.ndarray,
) -> Scorecard:
    """The points table, each bin with its deals and success rate."""
    n_by_bin = {}
    good = np.asarray(good, dtype=bool)
    for j, spec in enumerate(space.specs):
        code = assigned[:, j].astype(np.intp) + 1  # 0: no bin
        n = np.bincount(code, minlength=len(spec.bins) + 1)
        w = np.bincount(code[good], minlength=len(spec.bins) + 1)
        for b in range(len(spec.bins)):
            # the bin's deals and the share of them that succeeded
            n_by_bin[(j, b)] = (
                int(n[b + 1]),
                int(w[b + 1]) / int(n[b + 1]) if n[b + 1] else float("nan"),
            )
    # a blank earns points only when blankness itself is significant
    keep_missing = {
        s.keys[0] for s in miner.univariate_ if s.conditions[0].op == "missing" and s.tier
    }
    return model.scorecard(n_by_bin, keep_missing=keep_missing)


def _timing(
    deals: pd.DataFrame,
    events: pd.DataFrame | None,
    accounts: pd.DataFrame,
    min_support: int,
    warnings: list[str],
) -> dict | None:
    """The triggers that raised the win rate in a window before the deal, when there are events."""
    if events is None or not len(events):
        return None
    ev, w = clean_events(events, set(accounts["account_id"].astype(str)))
    warnings.extend(w)
    tm = fit_timing(deals, ev, min_support=min_support)
    warnings.extend(tm.warnings)
    timing = tm.to_icp()
    if not timing["triggers"]:
        warnings.append(
            "no event type raised the win rate significantly in any window (30/60/90/180 days before the deal)"
        )
    return timing


def _training_summary(data: TrainingData, objective: str, successes: int) -> Training:
    dates = pd.to_datetime(data.frame["closed_at"]) if "closed_at" in data.frame.columns else None
    known = dates is not None and dates.notna().any()
    return Training(
        deals=len(data.won),
        wins=int(data.won.sum()),
        accounts=int(pd.unique(data.account).size),
        date_from=str(dates.min().date()) if known else None,  # type: ignore[union-attr]
        date_to=str(dates.max().date()) if known else None,  # type: ignore[union-attr]
        objective=objective,  # type: ignore[arg-type]
        successes=successes,
    )


def exclude_deal_columns(
    accounts: pd.DataFrame,
    kinds: dict[str, str],
    keep_columns: Sequence[str],
    excluded: list[ExcludedColumn],
    warnings: list[str],
) -> dict[str, str]:
    """Leave out accounts columns that describe a deal (new business, renewal, a competitor)."""
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
    return kinds


def exclude_churn_flags(
    kinds: dict[str, str], excluded: list[ExcludedColumn], warnings: list[str]
) -> dict[str, str]:
    """Under the value objective a churn flag on the account is the outcome itself."""
    from .retention import _FLAG_COLUMNS

    for col in [c for c in kinds if c in _FLAG_COLUMNS]:
        kinds = {c: k for c, k in kinds.items() if c != col}
        warnings.append(
            f"column '{col}' is the churn outcome the value objective learns: excluded from learning"
        )
        excluded.append(
            ExcludedColumn(
                column=col,
                found_by="objective",
                reason="the churn outcome the value objective learns",
                evidence="a success is a won deal whose customer still pays",
            )
        )
    return kinds


def build_tiers(miner: SegmentMiner, *, value: bool = False) -> list[Tier]:
    """Tier 1-3 definitions: single conditions (criteria, by family) and segments that passed the bar."""
    tiers = []
    for t in (1, 2, 3):
        crit: dict[str, list[Criterion]] = {}
        for s in miner.univariate_:
            if s.tier == str(t) and s.conditions[0].op not in ("missing", "other"):
                c = s.conditions[0]
                crit.setdefault(s.families[0], []).append(
                    Criterion(
                        **condition_fields(c), family=s.families[0], evidence=segment_evidence(s)
                    )
                )
        for fam in crit:
            crit[fam].sort(
                key=lambda c: -(c.evidence.lift if c.evidence and c.evidence.lift else 0)
            )
        multi = sorted(
            (s for s in miner.segments_ if s.tier == str(t)), key=lambda s: (s.q_value, -s.lift)
        )
        segrefs = [
            SegmentRef(conditions=list(s.conditions), evidence=segment_evidence(s))
            for s in multi[:8]
        ]
        summary = (
            "; ".join(
                f"{s.text} (n={s.n}, {'success' if value else 'win'} rate {s.win_rate:.0%}, lift {s.lift:.1f}x)"
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

    return tiers


def evidence_strength(
    miner: SegmentMiner, auc: float, *, n: int, wins: int, p0: float, ms: int
) -> EvidenceSummary:
    """How strong the evidence for an ICP is: strong, moderate, weak or none, with the message."""
    sig = [s for s in [*miner.univariate_, *miner.segments_] if s.tier in ("1", "2", "3")]
    t1 = [s for s in sig if s.tier == "1"]
    t12 = [s for s in sig if s.tier in ("1", "2")]
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
    return evidence_summary


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


def tier_outcomes(
    icp: ICP, scores: pd.DataFrame, data: TrainingData, extra_health: pd.DataFrame | None
) -> dict[int, TierOutcomes]:
    """What each tier's accounts (``scores``: account_id, tier) did in the training data."""
    scored = scores[["account_id", "tier"]]
    # each account's tier (an id listed twice: its last row), looked up for every deal
    acc_ids = scored["account_id"].astype(str).to_numpy(dtype=object)
    last = ~pd.Series(acc_ids).duplicated(keep="last").to_numpy()
    acc_ids = acc_ids[last]
    acc_tiers = scored["tier"].astype(str).to_numpy(dtype=object)[last]
    at = pd.Index(acc_ids).get_indexer(data.account)
    deal_tier = np.where(at >= 0, acc_tiers[at], "none").astype(object)
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
            accounts=int((acc_tiers == key).sum()),
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


def small_deal_warning(icp: ICP, data: TrainingData) -> str:
    """A warning when the best tier wins mostly small deals: a fit that brings little revenue.

    Fires when the best tier's median won deal is under half the median won deal
    overall, or its share of won revenue is under half its share of won deals
    (each with at least 10 won deals behind it).
    """
    won_amt = data.amount[data.won]
    won_amt = won_amt[~np.isnan(won_amt)]
    best = next((t for t in icp.tiers if t.outcomes and t.outcomes.wins >= 10), None)
    if best is None or best.outcomes is None or len(won_amt) < 10:
        return ""
    o = best.outcomes
    overall = float(np.median(won_amt))
    wins_share = o.wins / max(1, int(data.won.sum()))
    small_median = o.median_deal is not None and overall > 0 and o.median_deal < 0.5 * overall
    small_share = o.won_revenue_share is not None and o.won_revenue_share < 0.5 * wins_share
    if not (small_median or small_share):
        return ""
    return (
        f"Tier {best.tier} points at small deals: its median won deal is "
        f"{fmt_number(o.median_deal or 0)} against {fmt_number(overall)} overall "
        f"({o.wins} won deals), and it holds {o.won_revenue_share or 0:.0%} of won revenue "
        f"with {wins_share:.0%} of the wins; weigh deal size before targeting it."
    )


def families_in(
    icp: ICP,
    condition: Callable[[Condition], str] | None = None,
    column: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """For each family, what the ICP says or why it says nothing.

    ``condition`` and ``column`` write a condition and a column name (default: the
    condition's text, the name as is; the report passes them in words).
    """
    cond = condition or (lambda c: c.text())
    col = column or (lambda a: a)
    out = {}
    for fam in FAMILIES:
        crit = [cond(c) for t in icp.tiers for c in t.criteria.get(fam, [])]
        crit += [
            cond(c)
            for t in icp.tiers[:1]
            for s in t.segments
            for c in s.conditions
            if (icp.attributes.get(c.attribute) or "firmographic") == fam
        ]
        feats = [col(f.attribute) for f in icp.scorecard.features if f.family == fam]
        present = sorted(col(a) for a, f in icp.attributes.items() if f == fam)
        if fam == "trigger" and icp.timing and icp.timing.get("triggers"):
            crit += [
                f"{trigger_words(t['type'], t['window_days'], t.get('when'))} (lift {t['evidence']['lift']:.1f}x, n={t['evidence']['n']})"
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
