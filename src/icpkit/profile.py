"""The tiered ICP, the negative ICP and the ICP statement.

``fit_icp`` is the one place an ICP is learned. It takes accounts and the
training deals only (validation passes a time-split subset), so nothing from
held-out deals can leak into bins, segments, shrinkage or thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__
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
    Routing,
    SegmentRef,
    Tier,
    Training,
    now_iso,
)
from .mining.segments import Segment, SegmentMiner
from .mining.segments import Training as TrainingData
from .mining.stats import bh
from .schema import FAMILIES
from .scoring.fit import ScorecardModel
from .statement import make_statement
from .timing import clean_events, fit_timing

TIER_NAMES = {1: "Perfect fit", 2: "Good fit", 3: "Acceptable fit"}
TIER_MIN_SCORE = {1: 75, 2: 65, 3: 55}
TBC = "to be confirmed in interviews"
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
    frame = closed.merge(accounts, on="account_id", how="inner", suffixes=("_deal", ""))
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
    """
    warnings: list[str] = []
    data = training_frame(accounts, deals)
    n = len(data.won)
    wins = int(data.won.sum())
    if n < 10 or wins == 0 or wins == n:
        raise InsufficientData(
            f"only {n} closed deals ({wins} won): an ICP needs both won and lost deals — at least 10 closed, ideally hundreds"
        )
    ms = min_support or min_support_for(n)
    if n < 200:
        warnings.append(
            f"only {n} closed deals: every figure is uncertain; treat the ICP as a hypothesis to test"
        )
    space = FeatureSpace(min_support=ms).fit(data.frame, kinds, families)
    for col, why in space.skipped.items():
        warnings.append(f"attribute '{col}' not used: {why}")
    data.assigned = space.assign(data.frame)
    miner = SegmentMiner(min_support=ms, max_depth=3 if search else 1).fit(space, data)
    model = ScorecardModel().fit(space, data.assigned, data.won)
    n_by_bin = {}
    for j, spec in enumerate(space.specs):
        for b in range(len(spec.bins)):
            m = data.assigned[:, j] == b
            n_by_bin[(j, b)] = (
                int(m.sum()),
                float(data.won[m].mean()) if m.any() else float("nan"),
            )
    scorecard = model.scorecard(n_by_bin)
    health = compute_health(
        deals,
        accounts,
        weights=health_weights,
        extra_components=extra_health,
        extra_meta=extra_health_meta,
    )
    warnings.extend(health.warnings)
    p0 = data.base_rate

    # tiers from single-condition patterns
    tiers = []
    for t in (1, 2, 3):
        crit: dict[str, list[Criterion]] = {}
        for s in miner.univariate_:
            if s.tier == str(t):
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
                f"{s.text} (n={s.n}, win rate {s.win_rate:.0%}, lift {s.lift:.1f}x)"
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
    disq: list[Disqualifier] = []
    seen: set[str] = set()
    for s in miner.univariate_:
        # a veto needs a real trait (not 'unknown' or 'other') that cuts the odds to a third or less
        if (
            s.tier == "negative"
            and s.odds_ratio <= VETO_ODDS
            and s.conditions[0].op not in ("missing", "other")
        ):
            c = s.conditions[0]
            disq.append(
                Disqualifier(
                    **_cond_fields(c),
                    family=s.families[0],
                    evidence=_evidence(s),
                    reason=f"won {s.wins} of {s.n} deals ({s.win_rate:.0%} vs {p0:.0%} overall)",
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
        # a veto when these accounts also lose deals; otherwise a warning sign a person can switch on
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
        disq.append(
            Disqualifier(
                **_cond_fields(cond), family=fam, evidence=ev, reason=reason, enabled=loses
            )
        )
        seen.add(cond.text())

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
    )
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
