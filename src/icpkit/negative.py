"""The negative ICP: who we deliberately do not serve.

Candidates come from two places — values whose deals lose (odds at most a third
of the base rate's) and values over-represented among the worst 20% of customers
by health — and a candidate becomes a veto only when it earns it
(:func:`earn_vetoes`): it holds on held-out deals, does not lower the
scorecard's cross-validated AUC, and the vetoes together exclude a bounded share
of the accounts. The rest stay in ``icp.yaml`` switched off, as warning signs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .features import FeatureSpace
from .health import HealthResult
from .icpfile import Condition, Disqualifier, Evidence
from .mining.segments import SegmentMiner, segment_evidence
from .mining.segments import Training as TrainingData
from .mining.stats import bh, odds_ratio, wilson
from .scoring.fit import ScorecardModel

VETO_ODDS = 1 / 3  # disqualifiers: the mirror image of Tier 1's 3x odds
MAX_EXCLUDED_SHARE = 0.2  # vetoes together exclude at most this share of accounts
# a veto may not lower the scorecard's cross-validated AUC by more than this (ties move it
# by a few ten-thousandths when a group the score already ranks lowest is vetoed)
AUC_TOLERANCE = 0.002


def condition_fields(c: Condition) -> dict:
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


def negative_candidates(
    miner: SegmentMiner,
    space: FeatureSpace,
    accounts: pd.DataFrame,
    health: HealthResult,
    p0: float,
    ms: int,
    *,
    value: bool = False,
) -> list[Disqualifier]:
    """Disqualifier candidates: values that lose (odds at most a third of the base rate's),
    and values over-represented among the worst 20% of customers by health; vetoes are
    decided afterwards by :func:`earn_vetoes`."""
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
                    **condition_fields(c),
                    family=s.families[0],
                    evidence=segment_evidence(s),
                    reason=f"won {s.wins} of {s.n} deals ({s.win_rate:.0%} vs {p0:.0%} overall)"
                    if not value
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
        ev = (
            segment_evidence(uni, health_n=nw + nb) if uni else Evidence(n=a + cb, health_n=nw + nb)
        )
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
                **condition_fields(cond), family=fam, evidence=ev, reason=reason, enabled=loses
            )
        )
        seen.add(cond.text())
    return candidates


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
    scorecard's cross-validated AUC (by more than ``AUC_TOLERANCE``); and (3) all vetoes together exclude at most
    ``max_share`` of the accounts. Candidates are taken strongest first; the rest
    stay in the file switched off, as warning signs with the reason.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    from .scoring.scorer import Columns, evaluate

    notes: list[str] = []
    if not candidates:
        return [], notes
    y = np.asarray(data.won, dtype=bool)
    cols = Columns(data.frame.reset_index(drop=True))
    acc_cols = Columns(accounts.reset_index(drop=True))
    n_acc = max(1, len(accounts))
    groups, distinct = pd.factorize(data.account)
    k = max(2, min(folds, len(distinct) + int((groups < 0).any())))
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
            if float(odds_ratio(r_tr, p_tr)) > 0.5:
                continue
            m_te = hit[te]
            held_n += int(m_te.sum())
            held_w += int((m_te & y[te]).sum())
        p_held = base_w / max(1, base_n)
        if held_n >= 5:
            lo, hi = wilson(held_w, held_n)
            rate = held_w / held_n
            holds = (
                float(hi) < p_held
                and float(odds_ratio((held_w + 0.5) / (held_n + 1), p_held)) <= 0.5
            )
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
            if trial < current - AUC_TOLERANCE:
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
    return sorted(out, key=lambda d: not d.enabled), notes  # vetoes first; sort is stable
