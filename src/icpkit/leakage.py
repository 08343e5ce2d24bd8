"""The leakage guard: account columns that carry the outcome in disguise.

CRM exports record what happened after the sale on the account itself: a
Salesforce ``Type`` of "Customer - Direct", a HubSpot ``Lifecycle Stage`` of
"customer", a "Became a Customer Date", the number of won deals. Learned from,
such a column becomes a perfect Tier 1 and a disqualifier for every prospect,
and the evidence looks strong. ``find_leaks`` finds them two ways, on the
closed training deals joined to their accounts:

- **by name**: fields CRMs fill in after (or because) a deal is won
  (:data:`NAME_RULES`), matched on normalised header names, so ``Lifecycle
  Stage``, ``lifecyclestage`` and ``LifecycleStage__c`` all match;
- **by statistics**: a column that nearly determines the outcome (see
  :data:`PURE_SHARE`, :data:`MAX_OTHER_RATE`, :data:`MIN_COVERAGE` and
  :data:`LEAK_AUC`).

``guard`` drops what it finds from the columns ``fit_icp`` learns from, unless
a person keeps the column (``--keep-column``, or ``accounts: keep: [...]`` in
the mapping file) because it is known before the deal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .features import SKIP_COLUMNS
from .icpfile import ExcludedColumn
from .mining.stats import distinct_per_group
from .schema import KEEP_META_KEY, normalize_name

if TYPE_CHECKING:
    from .mining.segments import Training
    from .workspace import Workspace

# -- by name -----------------------------------------------------------------

_LIFECYCLE = "lifecycle"

#: (pattern, reason). A pattern is a regular expression matched in full against the
#: *compact* column name (normalised, trailing Salesforce ``_c`` and icpkit's ``_src``
#: removed, then every underscore removed), so ``Became a Customer Date``,
#: ``became_a_customer_date`` and ``BecameACustomerDate__c`` all read
#: ``becameacustomerdate``. A reason of ``_LIFECYCLE`` matches only when the column's
#: values look like relationship stages (customer, prospect, client, ...).
NAME_RULES: tuple[tuple[str, str], ...] = (
    # HubSpot
    (r"(hs)?lifecyclestage", "HubSpot sets the lifecycle stage to 'customer' when a deal is won"),
    (r"(hs)?leadstatus", "the lead status is updated as the deal progresses and closes"),
    (
        r"becamea.*date|hslifecyclestage.*date|(hs)?date(entered|exited).*",
        "the date the record reached a lifecycle stage exists only once it got there",
    ),
    (
        r"(hs)?(cumulative|latest)?timein.*(stage|lead|customer|opportunity|subscriber|evangelist|qualified|deal).*"
        r"|(days|time)in(current)?(deal)?stage",
        "time spent in a stage is known only after the stage is left",
    ),
    (
        r"(numberof|num)?associateddeals|numassociateddeals",
        "the number of associated deals grows when deals are created and won",
    ),
    (
        r"(hs)?total(revenue|dealvalue)",
        "HubSpot's total revenue sums the account's closed-won deals",
    ),
    (
        r"(hs)?recentdeal(amount|closedate)|firstdeal(created|closed?)date|firstclosedealdate",
        "recent and first deal fields are copied from the account's own deals",
    ),
    (r"(hs)?daystoclose", "days to close is known only once a deal closes"),
    (r"(hs)?close(d)?date", "an account's close date is the day it became a customer"),
    (
        r"customersince|customerstartdate|firstpurchasedate|(contract|subscription)(start|end|renewal)date"
        r"|renewaldate|onboarding(date|status)",
        "exists only for accounts that already bought",
    ),
    (
        r"(numberof)?(won|lost|closed)deals(count)?|lastwondeal.*|(won|lost)dealcount",
        "counts the account's won or lost deals",
    ),
    (
        r"(current)?(mrr|arr)|lifetimevalue|ltv|customerlifetimevalue",
        "recurring revenue or lifetime value from the account exists only once it is a customer",
    ),
    (r"churn(ed)?(flag|date|reason)?|ischurned", "churn happens only to customers"),
    # Salesforce
    (r"customerpriority", "Salesforce's customer priority is set on customer accounts"),
    (r"active|isactive", "Salesforce's Active field marks current customer accounts"),
    (r"upsellopportunity", "an upsell opportunity exists only on a customer"),
    (
        r"sla|slaexpirationdate|slaserialnumber",
        "a service level agreement is signed with customers",
    ),
    (
        r"type|accounttype|companytype|customertype|relationship(type)?|(account|company|customer)?status",
        _LIFECYCLE,
    ),
)

_LIFECYCLE_WORDS = re.compile(
    r"customer|client|prospect|lead|churn|partner|reseller|subscriber|evangelist|opportunity|former"
)
_LIFECYCLE_CORE = re.compile(r"customer|client|prospect")

# -- by statistics -------------------------------------------------------------

#: A value (category level, exact number, or numeric decile bin) counts as one-sided when
#: its *class-balanced* share of one outcome is at least this: the won deals' share of
#: the value, after weighting won and lost deals equally (at a 50% base rate this is the
#: plain share; weighting makes it independent of the base rate).
PURE_SHARE = 0.98
#: ... and the one-sided 95% upper bound (Clopper-Pearson) of the *other* outcome's rate
#: among the value's deals is at most this fraction of that outcome's overall rate, so a
#: handful of deals that happen to all win or all lose is never enough.
MAX_OTHER_RATE = 0.10
#: ... and the value has at least max(MIN_LEVEL_DEALS, MIN_LEVEL_SHARE of deals) closed
#: deals from at least MIN_LEVEL_ACCOUNTS accounts.
MIN_LEVEL_DEALS = 20
MIN_LEVEL_SHARE = 0.02
MIN_LEVEL_ACCOUNTS = 3
#: A column leaks when its one-sided values hold at least this share of the won deals
#: (or of the lost deals): most of one outcome is written into the column.
MIN_COVERAGE = 0.50
#: Or when the column alone separates won from lost deals with at least this
#: cross-validated AUC (target-encoded values, folds grouped by account) ...
LEAK_AUC = 0.95
#: ... measured on at least this many won and this many lost deals.
MIN_AUC_CLASS = 30

_MISSING = "(missing)"
_MAX_LIST_ITEMS = 30  # the most frequent items of a list column are checked
_CV_FOLDS = 5
_PRIOR = 2.0  # target-encoding pseudo-deals at the base rate


@dataclass
class LevelStats:
    """Closed deals with one value of a column."""

    value: str
    n: int
    wins: int
    accounts: int
    side: Literal["won", "lost"] | None = None  # one-sided toward this outcome

    @property
    def win_rate(self) -> float:
        return self.wins / self.n if self.n else float("nan")


@dataclass
class Leak:
    """A column that looks like the outcome."""

    column: str
    kind: Literal["name", "statistics"]
    reason: str
    n: int  # closed deals the figures are computed on
    wins: int
    accounts: int
    auc: float | None = None
    won_coverage: float = 0.0  # share of won deals in values seen (almost) only on won deals
    lost_coverage: float = 0.0
    levels: list[LevelStats] = field(default_factory=list)
    kept: bool = False

    @property
    def evidence(self) -> str:
        """The figures, in words, each with its n."""
        shown = sorted(self.levels, key=lambda lv: (lv.side is None, -lv.n))[:3]
        parts = [f"'{lv.value}': won {lv.wins} of {lv.n}" for lv in shown]
        lost = self.n - self.wins
        if self.won_coverage:
            parts.append(
                f"{self.won_coverage:.0%} of the {self.wins} won deals have a value seen almost only on won deals"
            )
        if self.lost_coverage:
            parts.append(
                f"{self.lost_coverage:.0%} of the {lost} lost deals have a value seen almost only on lost deals"
            )
        if self.auc is not None:
            parts.append(
                f"alone it separates won from lost with cross-validated AUC {self.auc:.2f}"
            )
        size = f"n={self.n} closed deals, {self.accounts} accounts"
        return f"{'; '.join(parts)} ({size})" if parts else size

    def to_excluded(self) -> ExcludedColumn:
        return ExcludedColumn(
            column=self.column, found_by=self.kind, reason=self.reason, evidence=self.evidence
        )

    def warning(self) -> str:
        if self.kept:
            return (
                f"column '{self.column}' looks like the outcome ({self.reason}; {self.evidence}): "
                "kept because you said it is known before the deal"
            )
        return (
            f"column '{self.column}' looks like the outcome ({self.reason}; {self.evidence}): "
            f"excluded from learning; keep it with --keep-column {self.column} if it is known before the deal"
        )


def compact_name(column: str) -> str:
    """``"LifecycleStage__c"`` -> ``"lifecyclestage"``: the form :data:`NAME_RULES` match."""
    n = normalize_name(column)
    for suffix in ("_src", "_c"):
        if n.endswith(suffix) and len(n) > len(suffix):
            n = n[: -len(suffix)]
    return n.replace("_", "")


def name_reason(column: str, values: pd.Series | None = None) -> str | None:
    """Why a column's name marks it as filled in after the sale, or None."""
    c = compact_name(column)
    for pattern, reason in NAME_RULES:
        if re.fullmatch(pattern, c):
            if reason != _LIFECYCLE:
                return reason
            if values is not None and _looks_like_lifecycle(values):
                return "its values are relationship stages such as customer and prospect, which change when a deal is won"
            return None
    return None


def _looks_like_lifecycle(values: pd.Series) -> bool:
    vals = values.dropna().astype(str).map(normalize_name)
    vals = vals[vals != ""]
    if vals.empty:
        return False
    hits = vals.str.contains(_LIFECYCLE_WORDS)
    return bool(vals.str.contains(_LIFECYCLE_CORE).any() and hits.mean() >= 0.5)


def _level_codes(s: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Each deal's value as a label, factorized: categories as text, numbers as exact
    values or decile bins; codes in order of first appearance, and the labels. Worked out
    on integer codes: each distinct value is labelled once."""
    if kind == "list":
        return None
    if kind in ("num", "int"):
        x = pd.to_numeric(s, errors="coerce").astype(float)
        ids = np.zeros(len(x), dtype=np.int64)  # 0: missing
        names: list[np.ndarray] = [np.array([_MISSING], dtype=object)]
        known = x.notna()
        if known.any():
            counts = x[known].value_counts()
            if len(counts) <= 10:
                _label_part(ids, names, known.to_numpy(), *_formatted_codes(x[known].to_numpy()))
            else:
                # a value held by many deals (zero revenue, say) is its own level
                top = counts[counts >= 0.1 * known.sum()].index
                is_top = (known & x.isin(top)).to_numpy()
                if is_top.any():
                    _label_part(ids, names, is_top, *_formatted_codes(x[is_top].to_numpy()))
                rest = known.to_numpy() & ~is_top
                if rest.any():
                    xr = x[rest]
                    edges = np.unique(np.nanquantile(xr, np.linspace(0, 1, 11)))
                    if len(edges) < 2:
                        _label_part(ids, names, rest, *_formatted_codes(xr.to_numpy()))
                    else:
                        idx = np.clip(
                            np.searchsorted(edges, xr, side="right") - 1, 0, len(edges) - 2
                        )
                        bins = np.array(
                            [f"{edges[i]:g} to {edges[i + 1]:g}" for i in range(len(edges) - 1)],
                            dtype=object,
                        )
                        _label_part(ids, names, rest, idx, bins)
        return _first_seen(ids, np.concatenate(names))
    if isinstance(s.dtype, pd.CategoricalDtype) or (
        s.dtype != object and pd.api.types.is_string_dtype(s.dtype)
    ):
        # text columns: each distinct value is cleaned once; the deals share its label
        codes, uniques = pd.factorize(s)
        labels = _text_levels(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
        names_ = np.append(labels.to_numpy(dtype=object), _MISSING)
        return _first_seen(np.where(codes < 0, len(uniques), codes), names_)
    return pd.factorize(_text_levels(s).to_numpy())


def _label_part(
    ids: np.ndarray, names: list[np.ndarray], where: np.ndarray, idx: np.ndarray, labels: np.ndarray
) -> None:
    """Give the rows ``where`` the labels ``labels[idx]``, numbered after those in ``names``."""
    ids[where] = sum(len(n) for n in names) + np.asarray(idx)
    names.append(labels)


def _first_seen(ids: np.ndarray, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(names[ids])`` without a label per row: equal names share a code."""
    name_codes, uniq = pd.factorize(names)
    codes, order = pd.factorize(name_codes[ids])
    return codes, np.asarray(uniq, dtype=object)[order]


def _text_levels(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip().str.lower()
    return text.mask(text.isna() | (text == ""), _MISSING).astype(object)


def _formatted_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``f"{v:g}"`` of each number as an index into its formatted distinct values (each
    formatted once, bit for bit, so -0.0 keeps its sign)."""
    bits, inv = np.unique(np.ascontiguousarray(x, dtype=float).view(np.int64), return_inverse=True)
    return inv.ravel(), np.array([f"{v:g}" for v in bits.view(float)], dtype=object)


def _min_level_deals(n: int) -> int:
    """Deals a value needs before it can count as seen (almost) only on one outcome."""
    return max(MIN_LEVEL_DEALS, int(np.ceil(MIN_LEVEL_SHARE * n)))


def _upper(k: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate, k of n."""
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(0.95, k + 1, n - k))


def _folds(account: np.ndarray) -> np.ndarray | None:
    """A fold number per deal: accounts dealt at random (seeded) into folds, so no account
    is in two folds."""
    groups, uniq = pd.factorize(account)
    if len(uniq) < _CV_FOLDS:
        return None
    order = np.random.default_rng(0).permutation(len(uniq))
    return (order % _CV_FOLDS)[groups]


def _grouped_auc(score: np.ndarray, n: np.ndarray, wins: np.ndarray) -> float:
    """Area under the ROC curve (ties count half) of deals in groups that share a score:
    ``n[g]`` deals, ``wins[g]`` won, scored ``score[g]``. The Mann-Whitney U from the won and lost deals per distinct
    score, in exact integers (it equals the rank sum's)."""
    n = np.asarray(n, dtype=np.int64)
    wins = np.asarray(wins, dtype=np.int64)
    _, inv = np.unique(score, return_inverse=True)
    w = np.bincount(inv.ravel(), weights=wins, minlength=inv.max() + 1).astype(np.int64)
    lost = np.bincount(inv.ravel(), weights=n - wins, minlength=inv.max() + 1).astype(np.int64)
    below = np.cumsum(lost) - lost  # lost deals scored lower
    u2 = int(np.sum(w * (2 * below + lost)))  # twice U: a tie counts half
    n1, n0 = int(w.sum()), int(lost.sum())
    return float(np.float64(u2 / 2) / (n1 * n0))


def _cv_auc(codes: np.ndarray, won: np.ndarray, folds: np.ndarray) -> float | None:
    """Cross-validated AUC of the target-encoded column, folds grouped by account.

    A deal's out-of-fold score depends only on its fold and value, so the AUC is
    computed from the deals and wins per (fold, value).
    """
    k = int(codes.max()) + 1
    group = folds.astype(np.int64) * k + codes
    n_g = np.bincount(group, minlength=_CV_FOLDS * k).reshape(_CV_FOLDS, k)
    w_g = np.bincount(group, weights=won, minlength=_CV_FOLDS * k).reshape(_CV_FOLDS, k)
    n_all, w_all = n_g.sum(0), w_g.sum(0)
    enc = np.empty((_CV_FOLDS, k), dtype=float)
    for f in range(_CV_FOLDS):
        seen = n_all - n_g[f]  # the other folds' deals and wins per value
        wins = w_all - w_g[f]
        n_tr, w_tr = int(seen.sum()), int(wins.sum())
        if n_g[f].sum() == 0 or w_tr == n_tr or w_tr == 0:
            return None
        p0 = w_tr / n_tr
        enc[f] = (wins + _PRIOR * p0) / (seen + _PRIOR)
    held = n_g.ravel() > 0
    return _grouped_auc(enc.ravel()[held], n_g.ravel()[held], w_g.ravel()[held])


def _account_codes(account: np.ndarray) -> tuple[np.ndarray, int]:
    """Accounts as codes 0..n-1, and n."""
    codes, uniq = pd.factorize(np.asarray(account), use_na_sentinel=False)
    return codes, len(uniq)


def column_stats(
    column: str,
    values: pd.Series,
    kind: str,
    won: np.ndarray,
    account: np.ndarray,
    folds: np.ndarray | None = None,
    account_codes: tuple[np.ndarray, int] | None = None,
) -> Leak | None:
    """One column's figures; the returned Leak has an empty reason (the caller decides).

    ``folds`` (from ``_folds(account)``) and ``account_codes`` (from
    ``_account_codes(account)``) may be passed to share them across columns.
    """
    if kind == "list":
        return _list_stats(column, values, won, account, folds, account_codes)
    coded = _level_codes(values.reset_index(drop=True), kind)
    if coded is None:
        return None
    won = np.asarray(won, dtype=bool)
    n, wins = len(won), int(won.sum())
    lost = n - wins
    if n == 0 or wins == 0 or lost == 0:
        return None
    p_won, p_lost = wins / n, lost / n
    min_n = _min_level_deals(n)
    codes, uniques = coded
    k = len(uniques)
    lv_n = np.bincount(codes, minlength=k)
    lv_w = np.bincount(codes, weights=won.astype(float), minlength=k).astype(int)
    acc_codes, n_acc = account_codes if account_codes is not None else _account_codes(account)
    lv_acc = distinct_per_group(codes, k, acc_codes, n_acc)
    levels = []
    won_cov = lost_cov = 0
    for j in range(k):
        w, m = int(lv_w[j]), int(lv_n[j])
        lv = LevelStats(value=str(uniques[j]), n=m, wins=w, accounts=int(lv_acc[j]))
        if m >= min_n and lv.accounts >= MIN_LEVEL_ACCOUNTS:
            share = (w / wins) / (w / wins + (m - w) / lost)
            if share >= PURE_SHARE and _upper(m - w, m) <= MAX_OTHER_RATE * p_lost:
                lv.side = "won"
                won_cov += w
            elif share <= 1 - PURE_SHARE and _upper(w, m) <= MAX_OTHER_RATE * p_won:
                lv.side = "lost"
                lost_cov += m - w
        levels.append(lv)
    auc = None
    if folds is None:
        folds = _folds(account)
    if min(wins, lost) >= MIN_AUC_CLASS and k > 1 and folds is not None:
        auc = _cv_auc(codes, won, folds)
    return Leak(
        column=column,
        kind="statistics",
        reason="",
        n=n,
        wins=wins,
        accounts=n_acc,
        auc=None if auc is None else round(auc, 3),
        won_coverage=round(won_cov / wins, 3),
        lost_coverage=round(lost_cov / lost, 3),
        levels=levels,
    )


def _list_stats(
    column: str,
    values: pd.Series,
    won: np.ndarray,
    account: np.ndarray,
    folds: np.ndarray | None,
    account_codes: tuple[np.ndarray, int] | None = None,
) -> Leak | None:
    """A list column (tags, tech stack) checked item by item: each frequent item is a
    has / has-not column of its own, and the item that looks most like the outcome
    stands for the column (its levels are named ``has ITEM`` / ``no ITEM``)."""
    from .scoring.clean import distinct_objects, split_items

    cells = values.to_numpy(dtype=object)
    n = len(cells)
    # each distinct cell object split once: the deals of one account share its cell
    cell_of, first = distinct_objects(cells)
    items = [tuple(set(split_items(v))) for v in cells[first]]
    # items numbered as first met (row by row, a row's items in set order), the order
    # ties are sorted in; the cells come in the order their first rows do
    names: dict[str, int] = {}
    lens = np.fromiter((len(r) for r in items), dtype=np.int64, count=len(items))
    item_codes = np.fromiter(
        (names.setdefault(it, len(names)) for r in items for it in r),
        dtype=np.int64,
        count=int(lens.sum()),
    )
    item_cells = np.repeat(np.arange(len(items)), lens)
    rows_per_cell = np.bincount(cell_of, minlength=len(items))
    rows_per_item = np.bincount(item_codes, weights=rows_per_cell[item_cells], minlength=len(names))
    counts = dict(zip(names, rows_per_item.astype(np.int64).tolist(), strict=True))
    empty = (lens == 0)[cell_of]
    min_n = _min_level_deals(n)
    worst: Leak | None = None
    for it, c in sorted(counts.items(), key=lambda kv: -kv[1])[:_MAX_LIST_ITEMS]:
        if c < min_n:
            break
        cell_has = np.zeros(len(items), dtype=bool)
        cell_has[item_cells[item_codes == names[it]]] = True
        has = cell_has[cell_of]
        flag = pd.Series(
            pd.Categorical.from_codes(
                np.where(empty, 0, np.where(has, 1, 2)),
                categories=[_MISSING, f"has {it}", f"no {it}"],
            )
        )
        figures = column_stats(column, flag, "str", won, account, folds, account_codes)
        if figures is None:
            continue
        if worst is None or _strength(figures) > _strength(worst):
            worst = figures
    return worst


def _strength(s: Leak) -> tuple[bool, float, float]:
    return _determines(s), s.auc or 0.0, max(s.won_coverage, s.lost_coverage)


def _determines(s: Leak) -> bool:
    return (
        s.won_coverage >= MIN_COVERAGE
        or s.lost_coverage >= MIN_COVERAGE
        or (s.auc is not None and s.auc >= LEAK_AUC)
    )


def find_leaks(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    kinds: dict[str, str],
    *,
    keep: Iterable[str] = (),
    training: Training | None = None,
) -> list[Leak]:
    """Account columns that look like the outcome, by name or by statistics.

    Parameters
    ----------
    accounts, deals : DataFrame
        Canonical tables; only closed (won/lost) deals are looked at.
    kinds : dict
        Attribute kind per account column; only these columns are checked.
    keep : iterable of str
        Columns a person says are known before the deal: still reported, with ``kept=True``.
    training : Training, optional
        ``training_frame(accounts, deals)``, when the caller has it.

    Returns
    -------
    list of Leak
        In column order.
    """
    from .mining.segments import training_frame

    kept = {normalize_name(c) for c in keep}
    data = training if training is not None else training_frame(accounts, deals)
    frame = data.frame.reset_index(drop=True)
    won = np.asarray(data.won, dtype=bool)
    # accounts as integer codes: every column's figures group by them
    account = pd.factorize(np.asarray(data.account), use_na_sentinel=False)[0]
    folds = _folds(account)
    account_codes = _account_codes(account)
    out: list[Leak] = []
    for col, kind in kinds.items():
        if col in SKIP_COLUMNS or col == "account_id" or col not in accounts.columns:
            continue
        if col not in frame.columns or frame[col].isna().all():
            continue
        figures = column_stats(col, frame[col], kind, won, account, folds, account_codes)
        by_name = name_reason(col, frame[col])
        if by_name is not None:
            leak = figures or Leak(
                column=col,
                kind="name",
                reason="",
                n=len(won),
                wins=int(won.sum()),
                accounts=int(pd.unique(account).size),
            )
            leak.kind, leak.reason = "name", by_name
        elif figures is not None and _determines(figures):
            leak = figures
            leak.reason = "it nearly determines whether the deal was won"
        else:
            continue
        leak.kept = normalize_name(col) in kept
        out.append(leak)
    return out


def guard(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    kinds: dict[str, str],
    families: dict[str, str],
    *,
    keep: Sequence[str] = (),
    warnings: list[str] | None = None,
    training: Training | None = None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str], list[ExcludedColumn], list[str]]:
    """Drop leaking columns before anything is learned.

    Returns the accounts, kinds and families without them, what was excluded, and the
    leaking columns kept on request; appends one warning per leak (excluded or kept)
    to ``warnings``. ``training``: ``training_frame(accounts, deals)``, when the caller
    has it.
    """
    leaks = find_leaks(accounts, deals, kinds, keep=keep, training=training)
    if warnings is not None:
        warnings.extend(leak.warning() for leak in leaks)
        known = {normalize_name(c) for c in kinds}
        warnings.extend(
            f"--keep-column {c}: the accounts table has no column '{normalize_name(c)}'"
            for c in dict.fromkeys(keep)
            if normalize_name(c) not in known
        )
    drop = [leak.column for leak in leaks if not leak.kept]
    kept = [leak.column for leak in leaks if leak.kept]
    if not drop:
        return accounts, kinds, families, [], kept
    return (
        accounts.drop(columns=drop),
        {c: k for c, k in kinds.items() if c not in drop},
        {c: f for c, f in families.items() if c not in drop},
        [leak.to_excluded() for leak in leaks if not leak.kept],
        kept,
    )


# -- kept columns stored in the workspace (from the mapping file) ---------------


def stored_keep(ws: Workspace) -> list[str]:
    """Columns the mapping file (``accounts: keep: [...]``) says to keep."""
    if not ws.file.exists():
        return []
    raw = ws.meta(KEEP_META_KEY)
    return [str(c) for c in json.loads(raw)] if raw else []
