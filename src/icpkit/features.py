"""Candidate attributes and their bins.

Every account column other than the id and name is a candidate attribute:
numbers are cut where the outcome changes (a shallow tree per column), with
a bin of their own for point masses such as zero spend, and readable edges; text becomes
categories (rare levels pooled as ``other``), list values (a tech stack)
become one has/lacks flag per frequent item. Each bin is a
:class:`~icpkit.icpfile.Condition`, so the same objects drive pattern
mining, the scorecard and the compiled SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from .icpfile import Condition
from .scoring.scorer import Columns, evaluate

SKIP_COLUMNS = {"account_id", "name", "domain", "email", "website"}


def min_support_for(n_deals: int, minimum: int = 30, share: float = 0.05) -> int:
    """Minimum closed deals behind a bin or criterion: ``minimum``, or ``share`` of deals for small data."""
    return int(max(5, min(minimum, math.ceil(share * n_deals))))


def nice(x: float) -> float:
    """Round an edge to two significant figures so bins read well.

    >>> nice(1234.0), nice(98_765), nice(0.04567), nice(0)
    (1200.0, 99000.0, 0.046, 0.0)
    """
    if x == 0 or not np.isfinite(x):
        return float(x)
    mag = 10.0 ** (math.floor(math.log10(abs(x))) - 1)
    if mag == 0 or not np.isfinite(mag):  # subnormal or huge: nothing to round
        return float(x)
    return float(round(x / mag) * mag)


@dataclass
class FeatureSpec:
    attribute: str
    family: str
    kind: str  # numeric | categorical | flag
    bins: list[Condition]
    note: str = ""

    @property
    def key(self) -> str:
        if self.kind == "flag":
            item = self.bins[0].has or self.bins[0].lacks
            return f"{self.attribute}:{item}"
        return self.attribute


@dataclass
class FeatureSpace:
    """Fitted attribute bins. ``fit`` learns edges and levels from training rows only."""

    min_support: int = 30
    max_levels: int = 15
    max_items: int = 20
    max_bins: int = 5
    specs: list[FeatureSpec] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def fit(
        self,
        rows: pd.DataFrame,
        kinds: dict[str, str],
        families: dict[str, str],
        target: np.ndarray | None = None,
        columns: Columns | None = None,
    ) -> FeatureSpace:
        """Learn bins from training rows.

        ``rows``: one row per closed training deal with its account's attributes;
        ``target`` (optional, one bool per row): the outcome, used to place the
        cut points of number columns (supervised binning); without it number
        columns get point-mass and quantile bins. ``columns``: ``Columns`` of
        ``rows.reset_index(drop=True)`` to share with :meth:`assign`.
        """
        self.specs = []
        self.skipped = {}
        n = len(rows)
        cols = columns if columns is not None else Columns(rows.reset_index(drop=True))
        for col in rows.columns:
            if col in SKIP_COLUMNS or col.startswith("_"):
                continue
            kind = kinds.get(col)
            if kind is None:
                continue
            fam = families.get(col, "firmographic")
            miss = pd.Series(cols.missing(col))
            known = int((~miss).sum())
            if known < self.min_support:
                self.skipped[col] = f"only {known} known values"
                continue
            if kind in ("num", "int"):
                spec = self._numeric(col, fam, pd.Series(cols.numbers(col)), miss, target)
            elif kind == "list":
                self.specs.extend(self._flags(col, fam, cols.item_rows(col), miss))
                continue
            elif kind in ("str", "bool"):
                spec = self._categorical(col, fam, cols.text(col), miss, n)
            else:
                self.skipped[col] = f"{kind} columns are not attributes"
                continue
            if spec is not None:
                self.specs.append(spec)
        return self

    # -- kinds ---------------------------------------------------------------
    def _missing_bin(self, col: str, miss: pd.Series) -> list[Condition]:
        return (
            [Condition(attribute=col, missing=True, label=f"{col} (blank)")] if miss.any() else []
        )

    def _numeric(
        self,
        col: str,
        fam: str,
        series: pd.Series,
        miss: pd.Series,
        target: np.ndarray | None = None,
    ) -> FeatureSpec | None:
        x = pd.to_numeric(series, errors="coerce").astype(float)
        ok = (~miss.to_numpy(dtype=bool)) & x.notna().to_numpy()
        known = x[ok]
        if known.nunique() < 2:
            self.skipped[col] = "a single value"
            return None
        vals = known.to_numpy()
        y = None if target is None else np.asarray(target)[ok]
        edges, masses = numeric_edges(vals, y, self.max_bins, self.min_support)
        # merge edges that leave a bin with too little support
        kept: list[float] = []
        lo = -np.inf
        for e in edges:
            if ((vals >= lo) & (vals < e)).sum() >= self.min_support and (
                vals >= e
            ).sum() >= self.min_support:
                kept.append(e)
                lo = e
        if not kept:
            self.skipped[col] = (
                f"no split with at least {self.min_support} deals on both sides "
                f"({len(vals)} known values, {known.nunique()} distinct)"
            )
            return None
        bounds = [None, *kept, None]
        bins = []
        is_int = bool(np.all(np.equal(np.mod(vals, 1), 0)))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            point = next((m for m in masses if _holds_only(vals, a, b, m)), None)
            label = (
                f"{col} = {fmt_point(point)}"
                if point is not None
                else _range_label(col, a, b, is_int)
            )
            bins.append(Condition(attribute=col, between=(a, b), label=label))
        bins += self._missing_bin(col, miss)
        return FeatureSpec(col, fam, "numeric", bins)

    def _categorical(
        self, col: str, fam: str, series: pd.Series, miss: pd.Series, n: int
    ) -> FeatureSpec | None:
        txt = series[~miss.to_numpy()].dropna()
        counts = txt.value_counts()
        if len(counts) < 2 and not miss.any():
            self.skipped[col] = "a single value"
            return None
        if len(counts) > 0.5 * len(txt) and len(counts) > 50:
            self.skipped[col] = f"looks like an identifier ({len(counts)} distinct values)"
            return None
        keep = [v for v, c in counts.items() if c >= self.min_support][: self.max_levels]
        bins = [
            Condition.model_validate({"attribute": col, "in": [v], "label": f"{col}={v}"})
            for v in keep
        ]
        rest = len(counts) - len(keep)
        if rest > 0:
            pooled = int(counts[~counts.index.isin(keep)].sum())
            bins.append(Condition(attribute=col, other=True, label=f"{col}=other"))
            note = f"{rest} rare value(s) ({pooled} deals) pooled as other"
        else:
            note = ""
        bins += self._missing_bin(col, miss)
        if len(bins) < 2:
            self.skipped[col] = "no value with enough support"
            return None
        return FeatureSpec(col, fam, "categorical", bins, note)

    def _flags(
        self, col: str, fam: str, items: dict[str, int], miss: pd.Series
    ) -> list[FeatureSpec]:
        """``items``: rows per item (``Columns.item_rows``), items in sorted order."""
        known = int((~miss).sum())
        out = []
        for it, c in sorted(items.items(), key=lambda kv: -kv[1])[: self.max_items]:
            if c < self.min_support or known - c < self.min_support:
                continue
            bins = [
                Condition(attribute=col, has=it, label=f"{col} has {it}"),
                Condition(attribute=col, lacks=it, label=f"no {it} in {col}"),
            ]
            bins += self._missing_bin(col, miss)
            out.append(FeatureSpec(col, fam, "flag", bins))
        if not out:
            self.skipped[col] = "no item with enough support"
        return out

    # -- applying ------------------------------------------------------------
    def assign(self, frame: pd.DataFrame, columns: Columns | None = None) -> np.ndarray:
        """Bin index per row and feature (``-1`` where no bin matches): shape (rows, features).

        ``columns``: ``Columns`` of ``frame.reset_index(drop=True)``, shared with :meth:`fit`.
        """
        out = np.full((len(frame), len(self.specs)), -1, dtype=np.int16)
        cols = columns if columns is not None else Columns(frame.reset_index(drop=True))
        for j, spec in enumerate(self.specs):
            done = np.zeros(len(frame), dtype=bool)
            col = np.full(len(frame), -1, dtype=np.int16)  # filled contiguous, stored once
            for b, cond in enumerate(spec.bins):
                m = evaluate(cond, cols) & ~done
                col[m] = b
                done |= m
            out[:, j] = col
        return out

    def selectors(self) -> list[tuple[int, int, Condition]]:
        """(feature index, bin index, condition) for every bin that can define a segment."""
        sel = []
        for j, spec in enumerate(self.specs):
            for b, cond in enumerate(spec.bins):
                if cond.op in ("missing",):
                    continue
                if spec.kind == "flag" and cond.op == "lacks" and len(self.specs) > 0:
                    # 'lacks' is useful for negatives; keep it
                    pass
                sel.append((j, b, cond))
        return sel

    def one_hot(self, assigned: np.ndarray) -> tuple[sparse.csr_matrix, list[tuple[int, int]]]:
        """Sparse one-hot design matrix: one column per (feature, bin).

        Built row block by row block straight into CSR form (a row has at most one
        entry per feature, in feature order), so no coordinate-form copy of every
        entry is held on the way.
        """
        cols: list[tuple[int, int]] = []
        offsets = []
        for j, spec in enumerate(self.specs):
            offsets.append(len(cols))
            for b in range(len(spec.bins)):
                cols.append((j, b))
        n = assigned.shape[0]
        off = np.asarray(offsets, dtype=np.int32)
        indptr = np.zeros(n + 1, dtype=np.int64)
        for lo in range(0, n, ROW_BLOCK):
            hi = min(n, lo + ROW_BLOCK)
            indptr[lo + 1 : hi + 1] = indptr[lo] + np.cumsum((assigned[lo:hi] >= 0).sum(axis=1))
        idx = np.empty(int(indptr[-1]), dtype=np.int32)
        for lo in range(0, n, ROW_BLOCK):
            block = assigned[lo : lo + ROW_BLOCK]
            idx[indptr[lo] : indptr[lo + len(block)]] = (block.astype(np.int32) + off)[block >= 0]
        X = sparse.csr_matrix(
            (np.ones(len(idx), dtype=np.float64), idx, indptr), shape=(n, len(cols))
        )
        return X, cols


ROW_BLOCK = 1 << 18  # rows per block when a per-row matrix is built piece by piece


POINT_MASS_SHARE = 0.10  # a single value held by this share of known values gets a bin of its own


def numeric_edges(
    vals: np.ndarray, y: np.ndarray | None, max_bins: int, min_support: int
) -> tuple[list[float], list[float]]:
    """Candidate cut points for one number column, and its point masses.

    Three sources, so that no signal is lost to equal-frequency bins:

    - **point masses**: a value held by at least 10% of rows and ``min_support``
      deals (the zeros of spend, seats or ticket counts) gets a bin of its own,
      so "0 vs more than 0" is always a candidate split;
    - **supervised cuts** (when the outcome ``y`` is given): the thresholds of a
      shallow decision tree on the column alone (scikit-learn, at most
      ``max_bins`` leaves of at least ``min_support`` deals), which follow
      monotone trends and tails wherever the outcome changes;
    - **quantiles** of the values outside the point masses, when the tree finds
      no split (a column without univariate signal still gets readable bins, and
      the regularised scorecard decides whether they earn points).

    Returns sorted edges (``x < e`` | ``x >= e``) and the point-mass values.
    """
    uniq, counts = np.unique(vals, return_counts=True)
    n = len(vals)
    masses = [
        float(v)
        for v, c in zip(uniq, counts, strict=True)
        if c >= max(min_support, POINT_MASS_SHARE * n)
    ]
    edges: set[float] = set()
    for m in masses:
        if (vals < m).any():
            edges.add(m)
        above = uniq[uniq > m]
        if len(above):
            nxt = float(above[0])
            # a readable edge between the mass and the next value, when one exists
            e = nice(nxt) if m < nice(nxt) <= nxt else nxt
            edges.add(e)
    rest = vals[~np.isin(vals, masses)] if masses else vals
    cuts: list[float] = []
    if y is not None and 0 < int(np.sum(y)) < len(y):
        for v in _tree_thresholds(
            vals, np.asarray(y, dtype=bool), uniq, counts, max_bins, min_support
        ):
            cuts.append(roundest(v, float(vals.min()), float(vals.max())))
    if not cuts and len(np.unique(rest)) >= 2:
        qs = np.linspace(0, 1, max_bins + 1)[1:-1]
        cuts = [nice(v) for v in np.quantile(rest, qs)]
    edges.update(cuts)
    lo_all = float(vals.min())
    return sorted(e for e in edges if e > lo_all), masses


def _tree_thresholds(
    vals: np.ndarray,
    y: np.ndarray,
    uniq: np.ndarray,
    counts: np.ndarray,
    max_bins: int,
    min_support: int,
) -> list[float]:
    """The sorted thresholds of a shallow decision tree (scikit-learn) on one number
    column: at most ``max_bins`` leaves of at least ``min_support`` deals.

    The tree is grown on the distinct values, each with its won and its lost deals as
    weights, instead of on every deal: the same splits, as a tree's impurities depend on
    the deals only through these counts (exact integers either way), and a leaf's
    ``min_support`` deals are a weight of more than ``min_support - 1``.
    """
    from sklearn.tree import DecisionTreeClassifier

    n = len(vals)
    leaf = max(1, min_support)
    if n < 2 * leaf:  # no split leaves that many deals on both sides
        return []
    won_vals, won_counts = np.unique(vals[y], return_counts=True)
    won = np.zeros(len(uniq), dtype=np.int64)
    won[np.searchsorted(uniq, won_vals)] = won_counts
    lost = counts - won
    x = np.concatenate([uniq[lost > 0], uniq[won > 0]])
    target = np.concatenate(
        [np.zeros(int((lost > 0).sum()), int), np.ones(int((won > 0).sum()), int)]
    )
    weight = np.concatenate([lost[lost > 0], won[won > 0]]).astype(float)
    tree = DecisionTreeClassifier(
        max_leaf_nodes=max(2, max_bins),
        min_weight_fraction_leaf=(leaf - 0.5) / n,
        random_state=0,
    ).fit(x.reshape(-1, 1), target, sample_weight=weight)
    t = tree.tree_
    return sorted(float(v) for v, f in zip(t.threshold, t.feature, strict=True) if f >= 0)


def roundest(x: float, lo: float, hi: float, tolerance: float = 0.1) -> float:
    """The roundest number within ``tolerance`` (relative) of ``x`` and inside ``(lo, hi]``.

    A tree cut at 209.5 employees reads as 200; one at 44.3M as 40M.

    >>> roundest(209.5, 1, 5000)
    200.0
    >>> roundest(44_300_000, 0, 1e9)
    40000000.0
    """
    if x == 0 or not np.isfinite(x):
        return float(x)
    span = abs(x) * tolerance
    mag = 10.0 ** math.floor(math.log10(abs(x)))
    if mag == 0 or not np.isfinite(mag):
        return float(x)
    for step in (mag, mag / 2, mag / 4, mag / 10, mag / 20, mag / 100):
        c = round(x / step) * step
        if abs(c - x) <= span and lo < c <= hi:
            return float(c)
    return nice(x)


def _holds_only(vals: np.ndarray, lo: float | None, hi: float | None, m: float) -> bool:
    """True when the values in ``[lo, hi)`` are all equal to ``m`` (a point-mass bin)."""
    sel = np.ones(len(vals), dtype=bool)
    if lo is not None:
        sel &= vals >= lo
    if hi is not None:
        sel &= vals < hi
    return bool(sel.any()) and bool(np.all(vals[sel] == m))


def fmt_point(x: float) -> str:
    from .icpfile import fmt_number

    return fmt_number(x)


def _range_label(col: str, lo: float | None, hi: float | None, is_int: bool) -> str:
    from .icpfile import fmt_number

    if lo is None and hi is not None:
        return f"{col} < {fmt_number(hi)}"
    if hi is None and lo is not None:
        return f"{col} >= {fmt_number(lo)}"
    assert lo is not None and hi is not None
    if is_int and hi - lo > 1 and hi == int(hi) and hi <= 10000:
        return f"{col} {fmt_number(lo)}-{fmt_number(hi - 1)}"
    return f"{col} {fmt_number(lo)} to <{fmt_number(hi)}"
