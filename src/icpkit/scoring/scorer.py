"""The reference scorer: applies an ``icp.yaml`` to account rows.

Semantics (the compiled SQL must match them exactly):

- Each feature's bins are tried in order; the first bin whose condition holds
  gives its points. No match gives 0 points.
- Category tests compare trimmed, lower-cased text. ``between`` is
  ``low <= x < high``. List attributes are lists of lower-cased items (a text
  value is split on ``|``, ``;`` or ``,``). A missing value matches only
  ``missing: true``; ``lacks`` needs a known list.
- ``score = clamp(base + sum(points), 0, 100)``.
- Any enabled disqualifier that holds: tier ``excluded``, score ``veto_score``
  (default 0), route ``deprioritize``.
- Otherwise the tier is the best tier whose ``min_score`` the score reaches
  and whose pinned criteria all hold; else ``none``.
- Route: ``high_touch`` at or above ``routing.high_touch``, ``nurture`` at or
  above ``routing.nurture``, else ``deprioritize``.
- Reasons: up to 5 non-zero contributions, largest absolute first (ties by
  feature order), as ``"<bin label> +N"``; a veto is listed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..icpfile import ICP, Condition
from ..schema import normalize_name

MAX_REASONS = 5


def _text(series: pd.Series) -> pd.Series:
    def conv(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (list, tuple, np.ndarray)):
            return None
        if isinstance(v, float) and v == int(v):
            v = int(v)
        s = str(v).strip().lower()
        return s if s != "" else None

    return series.map(conv)


def _numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    return pd.to_numeric(
        series.map(lambda v: None if v is None else str(v).replace(",", "").strip()),
        errors="coerce",
    )


def _lists(series: pd.Series) -> pd.Series:
    def conv(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (list, tuple, np.ndarray)):
            items = [str(x).strip().lower() for x in v]
        else:
            s = str(v)
            if s.strip() == "":
                return None
            sep = "|" if "|" in s else ";" if ";" in s else ","
            items = [p.strip().lower() for p in s.split(sep)]
        return frozenset(i for i in items if i)

    return series.map(conv)


def is_missing(series: pd.Series) -> pd.Series:
    def miss(v: object) -> bool:
        if v is None:
            return True
        if isinstance(v, float) and np.isnan(v):
            return True
        if isinstance(v, (list, tuple, np.ndarray, frozenset, set)):
            return len(v) == 0
        if isinstance(v, str) and v.strip() == "":
            return True
        return bool(pd.isna(v)) if not isinstance(v, (str, bool)) else False

    return series.map(miss).astype(bool)


def evaluate(cond: Condition, frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows for which ``cond`` holds."""
    n = len(frame)
    if cond.attribute not in frame.columns:
        col = pd.Series([None] * n, index=frame.index, dtype=object)
    else:
        col = frame[cond.attribute]
    op = cond.op
    missing = is_missing(col).to_numpy()
    if op == "missing":
        return missing if cond.missing else ~missing
    if op == "other":
        return ~missing
    if op in ("in", "not_in"):
        vals = {str(v).strip().lower() for v in (cond.in_ if op == "in" else cond.not_in) or []}
        txt = _text(col)
        hit = txt.isin(vals).to_numpy()
        return hit & ~missing if op == "in" else ~hit & ~missing
    if op == "between":
        lo, hi = cond.between or (None, None)
        x = _numbers(col).to_numpy(dtype=float)
        ok = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            if lo is not None:
                ok &= x >= lo
            if hi is not None:
                ok &= x < hi
        return ok
    if op in ("has", "lacks"):
        item = str(cond.has if op == "has" else cond.lacks).strip().lower()
        lst = _lists(col)
        hit = lst.map(lambda s: s is not None and item in s).to_numpy(dtype=bool)
        return hit if op == "has" else ~hit & ~missing
    raise ValueError(f"unknown operator {op}")


@dataclass
class ScoreResult:
    frame: pd.DataFrame
    unknown_attributes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _fmt_points(p: int) -> str:
    return f"+{p}" if p > 0 else str(p)


def align_columns(icp: ICP, accounts: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Match account columns to the ICP's attributes by normalised name; list the absent ones."""
    rename = {}
    have = set(accounts.columns)
    for c in accounts.columns:
        nc = normalize_name(c)
        if nc != c and nc not in have:
            rename[c] = nc
    frame = accounts.rename(columns=rename)
    absent = [a for a in icp.used_attributes() if a not in frame.columns]
    return frame, absent


def score_accounts(
    icp: ICP, accounts: pd.DataFrame, *, id_column: str = "account_id"
) -> ScoreResult:
    """Score account rows with ``icp``.

    Returns a frame with ``account_id, score, tier, route, reasons`` plus
    ``points_<attribute>`` columns, in the input order.
    """
    frame, absent = align_columns(icp, accounts)
    n = len(frame)
    sc = icp.scorecard
    total = np.full(n, float(sc.base))
    contrib_pts: list[np.ndarray] = []
    contrib_lbl: list[np.ndarray] = []
    for feat in sc.features:
        pts = np.zeros(n)
        lbl = np.full(n, "", dtype=object)
        done = np.zeros(n, dtype=bool)
        for b in feat.bins:
            m = evaluate(b, frame) & ~done
            pts[m] = b.points
            lbl[m] = b.text()
            done |= m
        total += pts
        contrib_pts.append(pts)
        contrib_lbl.append(lbl)
    score = np.clip(np.rint(total), 0, 100).astype(int)

    veto = np.zeros(n, dtype=bool)
    veto_reason = np.full(n, "", dtype=object)
    for d in icp.disqualifiers:
        if not d.enabled:
            continue
        m = evaluate(d, frame) & ~veto
        veto_reason[m] = f"VETO {d.text()}" + (f" ({d.reason})" if d.reason else "")
        veto |= m
    score = np.where(veto, np.minimum(score, icp.veto_score), score)

    tier = np.full(n, "none", dtype=object)
    for t in sorted(icp.tiers, key=lambda t: -t.tier):  # 3, 2, 1: better tiers overwrite
        ok = score >= t.min_score
        for c in t.pinned():
            ok &= evaluate(c, frame)
        tier[ok] = str(t.tier)
    tier[veto] = "excluded"

    r = icp.routing
    route = np.where(
        score >= r.high_touch, "high_touch", np.where(score >= r.nurture, "nurture", "deprioritize")
    )
    route = np.where(veto, "deprioritize", route)

    if contrib_pts:
        P = np.vstack(contrib_pts).T  # n x f
        L = np.vstack(contrib_lbl).T
    else:
        P = np.zeros((n, 0))
        L = np.zeros((n, 0), dtype=object)
    reasons = []
    for i in range(n):
        row = P[i]
        order = sorted(
            (j for j in range(len(row)) if row[j] != 0), key=lambda j: (-abs(row[j]), j)
        )[:MAX_REASONS]
        parts = [f"{L[i, j]} {_fmt_points(int(row[j]))}" for j in order]
        if veto[i]:
            parts.insert(0, str(veto_reason[i]))
        reasons.append("; ".join(parts))

    ids = (
        frame[id_column].astype(str).to_numpy()
        if id_column in frame.columns
        else np.arange(1, n + 1).astype(str)
    )
    out = pd.DataFrame(
        {"account_id": ids, "score": score, "tier": tier, "route": route, "reasons": reasons}
    )
    for feat, pts in zip(sc.features, contrib_pts, strict=True):
        name = (
            f"points_{feat.attribute}"
            if feat.kind != "flag"
            else f"points_{feat.attribute}_{feat.bins[0].has or feat.bins[0].lacks}"
        )
        out[normalize_name(name)] = pts.astype(int)
    warnings = []
    if absent:
        warnings.append(
            f"{len(absent)} attribute(s) the ICP uses are not in the input and score as unknown: {', '.join(absent)}"
        )
    return ScoreResult(out, absent, warnings)
