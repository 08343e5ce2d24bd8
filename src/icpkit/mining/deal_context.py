"""Deal qualification: what the deals file says about the *deal*, not the company.

Columns of the deals file (lead source, product, competitors involved, new
business or expansion, budget confirmed, any extra column) describe how a deal
came about. They are analysed here as deal qualification patterns, apart from
the ICP: "deals from referrals win 2.1x as often as the average deal", never
"companies that ...". None of them is ever an ICP criterion, a disqualifier or
a scorecard feature (``profile.training_frame`` keeps only the deal's id,
outcome, amount and dates).

``lost_reason`` is summarised overall, per ICP tier of the deal's account and
for the negative ICP, with the reasons whose share differs between tiers.

The result is stored as the workspace artifact ``deal_context`` (JSON) by
:func:`deal_context_step`; :func:`icpkit.mining.deal_report.section` renders
the report's "Deal qualification" section from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..features import FeatureSpace, min_support_for
from ..schema import normalize_name
from .stats import bh, binom_pvalues, prior_strength, shrink, wilson

if TYPE_CHECKING:
    from ..workspace import Workspace

ARTIFACT = "deal_context"

# never deal traits: keys, the outcome itself, its dates, and the reason a deal was lost
_SKIP = {"deal_id", "account_id", "outcome", "lost_reason", "created_at", "closed_at"}
# who worked the deal is not a trait of the deal: rep performance is another question
_OWNER_TOKENS = {
    "owner",
    "ownerid",
    "agent",
    "rep",
    "salesperson",
    "seller",
    "sdr",
    "bdr",
    "ae",
    "team",
    "assignee",
    "assigned",
}
_ID_TOKENS = {"id", "ids", "uuid", "url", "email"}
_TIME_TOKENS = {"fiscal", "quarter", "year", "month", "week"}
# set from the pipeline stage or measured over the deal's life: known only at the end
_STAGE_TOKENS = {"probability", "forecast", "age", "days", "duration", "cycle"}

# ICP tiers of the scores table, as groups that partition the scored accounts
TIER_GROUPS = (
    ("tier 1", ("1",)),
    ("tier 2", ("2",)),
    ("tier 3", ("3",)),
    ("below tier 3", ("none",)),
    ("excluded", ("excluded",)),
)
NEGATIVE = "negative ICP"  # below tier 3 or excluded, against tiers 1-3
PURITY = 0.99  # a column filled on >= 99% won (or lost) deals only was recorded after the outcome
MAX_REASONS = 12


@dataclass
class DealPattern:
    """One level of one deal column, against the average closed deal."""

    column: str
    level: str
    kind: str  # categorical | numeric | flag
    position: int  # the level's place in its column (numeric bins in ascending order)
    n: int
    wins: int
    win_rate: float
    ci_low: float
    ci_high: float
    shrunk_rate: float
    lift: float
    p_value: float
    q_value: float
    median_cycle_days: float | None
    cycle_n: int
    median_won_amount: float | None
    text: str
    significant: bool


@dataclass
class DealContext:
    """Deal qualification patterns and lost reasons, with the sample behind each figure."""

    closed_deals: int
    wins: int
    base_win_rate: float
    min_support: int
    median_cycle_days: float | None
    patterns: list[DealPattern] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # analysed column -> kind
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why not analysed
    lost_reasons: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def significant(self) -> list[DealPattern]:
        return [p for p in self.patterns if p.significant]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=_json_default)


def _json_default(v: object) -> object:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return str(v)


def _tokens(col: str) -> set[str]:
    return set(normalize_name(col).split("_"))


def _infer_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "num"
    first = s.dropna()
    if len(first) and isinstance(first.iloc[0], (list, tuple, np.ndarray)):
        return "list"
    return "str"


def _looks_like_dates(s: pd.Series) -> bool:
    """Text that is mostly dates (custom date columns stay text at ingest)."""
    vals = s.dropna().astype(str).head(200)
    vals = vals[vals.str.contains(r"\d", regex=True) & vals.str.contains(r"[-/.:]", regex=True)]
    if len(vals) < max(5, 0.5 * min(len(s.dropna()), 200)):
        return False
    parsed = pd.to_datetime(vals, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def deal_columns(
    deals: pd.DataFrame,
    kinds: dict[str, str] | None = None,
    *,
    account_columns: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, str], dict[str, str]]:
    """Which deal columns are deal traits: ``({column: kind}, {column: why skipped})``.

    Ids, dates, the outcome, ``lost_reason`` and who owned the deal are not traits;
    a column also present in the accounts file is the company's, not the deal's.
    """
    use: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for col in deals.columns:
        if col in _SKIP or str(col).startswith("_"):
            continue
        kind = (kinds or {}).get(col) or _infer_kind(deals[col])
        tok = _tokens(col)
        name = normalize_name(col)
        if kind == "date" or (kind == "str" and _looks_like_dates(deals[col])):
            skipped[col] = "a date, not a trait of the deal"
        elif tok & _OWNER_TOKENS:
            skipped[col] = "who worked the deal, not a trait of the deal"
        elif tok & _ID_TOKENS:
            skipped[col] = "an identifier"
        elif tok & _TIME_TOKENS or any(w in name for w in ("fiscal", "quarter")):
            skipped[col] = "a period, not a trait of the deal"
        elif tok & _STAGE_TOKENS or any(w in name for w in ("probability", "forecast")):
            skipped[col] = "follows the pipeline stage or the deal's length: known only at the end"
        elif col in account_columns:
            skipped[col] = "also a column of the accounts file: analysed as an account attribute"
        elif kind in ("num", "int", "str", "bool", "list"):
            use[col] = "num" if kind == "int" else kind
        else:
            skipped[col] = f"{kind} columns are not analysed"
    return use, skipped


def _cycle_days(closed: pd.DataFrame) -> np.ndarray:
    if "created_at" in closed.columns and "closed_at" in closed.columns:
        d = (pd.to_datetime(closed["closed_at"]) - pd.to_datetime(closed["created_at"])).dt.days
        cyc = np.array(d.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)
        cyc[cyc < 0] = np.nan
        return cyc
    return np.full(len(closed), np.nan)


def _after_outcome(s: pd.Series, kind: str, won: np.ndarray, ms: int) -> str | None:
    """Why a column looks recorded after the outcome, or None.

    A column filled (non-empty, and non-zero for numbers: a CRM's close value is
    0 on lost deals) on won deals only, or on lost deals only, says how the deal
    ended rather than how it came about.
    """
    filled = s.notna().to_numpy(dtype=bool, copy=True)
    if kind == "num":
        filled &= pd.to_numeric(s, errors="coerce").fillna(0).to_numpy() != 0
    elif kind == "list":
        filled &= s.map(lambda v: isinstance(v, (list, tuple, np.ndarray)) and len(v) > 0).to_numpy(
            dtype=bool
        )
    k = int(filled.sum())
    if k < ms or len(filled) - k < ms:
        return None
    share = float(won[filled].mean())
    empty = "empty or 0" if kind == "num" else "empty"
    if share >= PURITY:
        return f"filled on won deals only ({k} deals; {empty} on the others): recorded after the outcome"
    if share <= 1 - PURITY:
        return f"filled on lost deals only ({k} deals; {empty} on the others): recorded after the outcome"
    return None


def _follows_outcome(s: pd.Series, kind: str, won: np.ndarray, ms: int) -> str | None:
    """Why a column's values look set by the outcome (a stage, a forecast category), or None.

    Nearly every known value (95%) sits in a level that is won 99% of the time or
    lost 99% of the time, with both kinds of level present.
    """
    if kind == "list":
        return None
    known = s.notna().to_numpy(dtype=bool)
    if known.sum() < ms:
        return None
    if pd.api.types.is_numeric_dtype(s.dtype) and s[known].nunique() > 50:
        return None  # distinct numbers have distinct texts: more than 50 levels below too
    vals = s[known].astype(str).to_numpy()
    frame = pd.DataFrame({"v": vals, "w": won[known]})
    g = frame.groupby("v")["w"].agg(["size", "mean"])
    if len(g) > 50:
        return None
    pure_won = g[(g["mean"] >= PURITY) & (g["size"] >= 5)]
    pure_lost = g[(g["mean"] <= 1 - PURITY) & (g["size"] >= 5)]
    if pure_won.empty or pure_lost.empty:
        return None
    share = (pure_won["size"].sum() + pure_lost["size"].sum()) / g["size"].sum()
    if share >= 0.95:
        return (
            f"its values follow the outcome ({', '.join(map(str, pure_won.index[:2]))} won, "
            f"{', '.join(map(str, pure_lost.index[:2]))} lost): recorded after the outcome"
        )
    return None


def _level_text(column: str, label: str, lift: float, wins: int, n: int, rate: float) -> str:
    what = label if label else column
    how = (
        f"win {lift:.1f}x as often as the average deal"
        if lift >= 1
        else (f"win {lift:.2f}x as often as the average deal")
    )
    return f"deals with {what} {how} ({wins} of {n} won, {rate:.0%})"


def deal_patterns(
    deals: pd.DataFrame,
    *,
    kinds: dict[str, str] | None = None,
    min_support: int | None = None,
    account_columns: set[str] | frozenset[str] = frozenset(),
    alpha: float = 0.05,
) -> DealContext:
    """Win rate by level of every deal-level column of the closed deals.

    Parameters
    ----------
    deals : DataFrame
        Canonical deals (``outcome`` won/lost/open); open deals are ignored.
    kinds : dict, optional
        Column kind (num/str/bool/list/date) per deal column, as recorded at ingest;
        inferred from the dtypes when absent.
    min_support : int, optional
        Minimum closed deals behind a level; rarer levels are pooled as ``other``.
        Default 30, or 5% of the closed deals for small data.
    account_columns : set of str
        Columns of the accounts file: a deal column of the same name is skipped.
    alpha : float, default 0.05
        A level is significant when its BH q-value is below ``alpha``.

    Returns
    -------
    DealContext
        One :class:`DealPattern` per level (n, wins, Wilson interval, shrunk lift,
        binomial p-value against the base rate, BH q-value over every level tested,
        median cycle and won amount), sorted by q-value.
    """
    closed = deals[deals["outcome"].isin(["won", "lost"])].reset_index(drop=True)
    n = len(closed)
    won = closed["outcome"].eq("won").to_numpy()
    wins = int(won.sum())
    p0 = wins / n if n else 0.0
    ms = int(min_support or min_support_for(n))
    cycle = _cycle_days(closed)
    won_cycle = cycle[won]
    med_cycle = float(np.nanmedian(won_cycle)) if np.isfinite(won_cycle).any() else None
    use, skipped = deal_columns(closed, kinds, account_columns=account_columns)
    ctx = DealContext(
        closed_deals=n,
        wins=wins,
        base_win_rate=round(p0, 4),
        min_support=ms,
        median_cycle_days=med_cycle,
        skipped=skipped,
    )
    if n == 0 or wins == 0 or wins == n:
        ctx.warnings.append(
            f"deal qualification needs won and lost deals; {n} closed deals, {wins} won"
        )
        return ctx
    for col in list(use):
        why = _after_outcome(closed[col], use[col], won, ms) or _follows_outcome(
            closed[col], use[col], won, ms
        )
        if why:
            skipped[col] = why
            del use[col]
    space = FeatureSpace(min_support=ms).fit(closed, use, {c: "deal" for c in use})
    for col, why in space.skipped.items():
        skipped.setdefault(col, why)
    assigned = space.assign(closed)
    amount = (
        pd.to_numeric(closed["amount"], errors="coerce").to_numpy(dtype=float)
        if "amount" in closed.columns
        else np.full(n, np.nan)
    )
    rows: list[tuple[str, str, str, int, np.ndarray]] = []
    for j, spec in enumerate(space.specs):
        ctx.columns[spec.attribute] = use.get(spec.attribute, "str")
        for b, cond in enumerate(spec.bins):
            if spec.kind == "flag" and cond.op != "has":
                continue  # 'lacks' is the complement of 'has'
            label = cond.label or cond.text()
            if cond.op == "missing":
                label = f"{spec.attribute} not recorded"
            elif cond.op == "other":
                label = f"{spec.attribute}=other (rarer values pooled)"
            rows.append((spec.attribute, label, spec.kind, b, assigned[:, j] == b))
    if not rows:
        return ctx
    ns = np.array([int(r[-1].sum()) for r in rows])
    ws_ = np.array([int(won[r[-1]].sum()) for r in rows])
    lo, hi = wilson(ws_, ns)
    kappa = prior_strength(ws_, ns, p0)
    shrunk = shrink(ws_, ns, p0, kappa)
    pv = binom_pvalues(ws_, ns, p0)
    q = bh(pv)
    for (col, label, kind, pos, m), k, nn, a, b_, s, p, qq in zip(
        rows, ws_, ns, lo, hi, shrunk, pv, q, strict=True
    ):
        cyc = cycle[m & won]
        cyc = cyc[np.isfinite(cyc)]
        amt = amount[m & won]
        amt = amt[np.isfinite(amt)]
        lift = float(s / p0)
        rate = float(k / nn) if nn else 0.0
        ctx.patterns.append(
            DealPattern(
                column=col,
                kind=kind,
                position=int(pos),
                level=label,
                n=int(nn),
                wins=int(k),
                win_rate=round(rate, 4),
                ci_low=round(float(a), 4),
                ci_high=round(float(b_), 4),
                shrunk_rate=round(float(s), 4),
                lift=round(lift, 3),
                p_value=float(f"{p:.3g}"),
                q_value=float(f"{qq:.3g}"),
                median_cycle_days=float(np.median(cyc)) if len(cyc) else None,
                cycle_n=len(cyc),
                median_won_amount=float(np.median(amt)) if len(amt) else None,
                text=_level_text(col, label, lift, int(k), int(nn), rate),
                significant=bool(qq < alpha),
            )
        )
    ctx.patterns.sort(key=lambda p: (p.q_value, -abs(np.log(max(p.lift, 1e-6)))))
    return ctx


# -- lost reasons ----------------------------------------------------------------


def _share_rows(reasons: pd.Series, top: list[str]) -> list[dict[str, Any]]:
    n = len(reasons)
    counts = reasons.where(reasons.isin(top), "other").value_counts()
    return [
        {"reason": r, "count": int(c), "share": round(c / n, 4) if n else None}
        for r, c in counts.items()
    ]


def lost_reasons(
    deals: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    top: int = MAX_REASONS,
    alpha: float = 0.05,
) -> dict[str, Any] | None:
    """Lost reasons overall, per ICP tier of the deal's account, and for the negative ICP.

    ``scores`` holds ``account_id`` and ``tier`` (1/2/3/none/excluded). Reasons whose
    share in one tier group differs from the other groups are tested with Fisher's
    exact test per (reason, group), BH-adjusted over every cell; a chi-square test of
    reasons x groups summarises the whole table. Returns None without ``lost_reason``.
    """
    if "lost_reason" not in deals.columns:
        return None
    lost = deals[deals["outcome"].eq("lost")].reset_index(drop=True)
    raw = lost["lost_reason"].astype("string").str.strip()
    given = (raw.notna() & raw.ne("")).to_numpy(dtype=bool, na_value=False)
    out: dict[str, Any] = {
        "lost_deals": len(lost),
        "with_reason": int(given.sum()),
        "without_reason": int((~given).sum()),
    }
    reasons = raw[given].astype(object).reset_index(drop=True)
    if len(reasons) == 0:
        out.update(overall=[], groups={}, differences=[], chi2=None)
        return out
    order = reasons.value_counts()
    keep = list(order.index[:top])
    out["overall"] = _share_rows(reasons, keep)
    out["groups"] = {}
    out["differences"] = []
    out["chi2"] = None
    if scores is None or not {"account_id", "tier"} <= set(scores.columns):
        return out
    tiers = (
        scores.drop_duplicates("account_id")
        .assign(account_id=lambda f: f["account_id"].astype(str))
        .set_index("account_id")["tier"]
        .astype(str)
    )
    acc = lost.loc[given, "account_id"].astype(str).reset_index(drop=True)
    tier = pd.Series(tiers.reindex(acc.to_numpy()).to_numpy(), index=acc.index)
    group = pd.Series(pd.NA, index=tier.index, dtype=object)
    for name, values in TIER_GROUPS:
        group[tier.isin(values).to_numpy()] = name
    out["unscored"] = int(group.isna().sum())
    pooled = reasons.where(reasons.isin(keep), "other")
    names = [g for g, _ in TIER_GROUPS if (group == g).any()]
    negative = group.isin(["below tier 3", "excluded"])
    for g in names:
        out["groups"][g] = {
            "n": int((group == g).sum()),
            "reasons": _share_rows(reasons[group == g], keep),
        }
    if negative.any():
        out["groups"][NEGATIVE] = {
            "n": int(negative.sum()),
            "reasons": _share_rows(reasons[negative], keep),
        }
    if len(names) < 2:
        return out
    in_group = group.notna()
    table = pd.crosstab(pooled[in_group], group[in_group]).reindex(columns=names, fill_value=0)
    icp_side = in_group & ~negative
    if negative.any() and icp_side.any():
        neg = pd.crosstab(pooled[in_group], negative[in_group]).reindex(
            columns=[True, False], fill_value=0
        )
        table[NEGATIVE] = neg[True]
    if table.shape[0] >= 2:
        chi = stats.chi2_contingency(table[names].to_numpy())
        out["chi2"] = {
            "statistic": round(float(chi.statistic), 3),
            "dof": int(chi.dof),
            "p_value": float(f"{chi.pvalue:.3g}"),
            "n": int(table[names].to_numpy().sum()),
            "min_expected": round(float(chi.expected_freq.min()), 2),
        }
    cells: list[dict[str, Any]] = []
    total = table[names].sum(axis=0)
    for reason in table.index:
        everyone = int(table.loc[reason, names].sum())
        for g in [*names, *([NEGATIVE] if NEGATIVE in table.columns else [])]:
            # each tier against every other scored deal; the negative ICP against tiers 1-3
            a = int(table.loc[reason, g])
            ng = int(table[g].sum())
            c = everyone - a
            nr = int(total.sum()) - ng
            if a + c == 0:
                continue
            p = stats.fisher_exact([[a, ng - a], [c, nr - c]]).pvalue
            cells.append(
                {
                    "reason": str(reason),
                    "group": g,
                    "count": a,
                    "n": ng,
                    "share": round(a / ng, 4) if ng else None,
                    "rest_count": c,
                    "rest_n": nr,
                    "rest_share": round(c / nr, 4) if nr else None,
                    "p_value": float(p),
                }
            )
    if cells:
        q = bh(np.array([c["p_value"] for c in cells]))
        for cell, qq in zip(cells, q, strict=True):
            cell["p_value"] = float(f"{cell['p_value']:.3g}")
            cell["q_value"] = float(f"{qq:.3g}")
        out["differences"] = sorted(
            (cell for cell in cells if cell["q_value"] < alpha), key=lambda cell: cell["q_value"]
        )
    return out


# -- deal columns in the accounts file ------------------------------------------------

_DEAL_NAME_TOKENS = {"deal", "deals", "opportunity", "opp"}
_DEAL_NAMES = {
    "budget_confirmed",
    "budget_approved",
    "competitors_involved",
    "competitor_involved",
    "new_or_existing",
    "new_vs_existing",
    "business_type",
    "sales_type",
}
_DEAL_TYPE_VALUES = {
    "new",
    "new_business",
    "new_customer",
    "new_logo",
    "existing",
    "existing_business",
    "existing_customer",
    "renewal",
    "upsell",
    "upgrade",
    "expansion",
    "cross_sell",
    "add_on",
}
_DEAL_TYPE_MARKERS = ("new", "existing", "renewal", "upsell", "expansion")


def deal_like_account_columns(
    accounts: pd.DataFrame, kinds: dict[str, str] | None = None
) -> dict[str, str]:
    """Columns of the accounts file that describe deals, not companies: ``{column: why}``.

    A deal type (new business, existing customer, renewal, upsell) or a column named
    after the deal or opportunity is the same company's situation in one deal; learned
    as a company trait it can exclude all new business.
    """
    out: dict[str, str] = {}
    for col in accounts.columns:
        if col in ("account_id", "name"):
            continue
        kind = (kinds or {}).get(col) or _infer_kind(accounts[col])
        name = normalize_name(col)
        if _tokens(col) & _DEAL_NAME_TOKENS or name in _DEAL_NAMES:
            out[col] = "named after the deal"
            continue
        if kind not in ("str", "bool"):
            continue
        counts = accounts[col].dropna().astype(str).value_counts()
        if len(counts) > 50:
            continue
        names = [normalize_name(v) for v in counts.index]
        if len(set(names)) < 2 or _DEAL_TYPE_VALUES.isdisjoint(names):
            continue  # no deal type among the values (what follows would find none)
        norm = pd.Series(counts.to_numpy(), index=names)
        norm = norm.groupby(level=0).sum()
        levels = set(norm.index)
        if len(levels) < 2:
            continue
        inside = norm[norm.index.isin(list(_DEAL_TYPE_VALUES))].sum() / norm.sum()
        if inside >= 0.8 and any(m in v for v in levels for m in _DEAL_TYPE_MARKERS):
            out[col] = f"its values are deal types ({', '.join(sorted(levels)[:4])})"
    return out


# -- workspace step ------------------------------------------------------------------


def _text_columns(ws: Workspace, kinds: dict[str, str]) -> pd.DataFrame:
    """The accounts with only the columns whose values ``deal_like_account_columns``
    reads (text, yes/no, or of no stored kind); the others come as blanks, for their names."""
    names = list(ws.query('SELECT * FROM "accounts" LIMIT 0').columns)
    sel = ", ".join(
        f'NULL AS "{q}"' if kinds.get(c) and kinds[c] not in ("str", "bool") else f'"{q}"'
        for c in names
        for q in [c.replace('"', '""')]
    )
    return ws.query(f'SELECT {sel} FROM "accounts"')


def deal_context_step(ws: Workspace, *, min_support: int | None = None) -> list[str]:
    """Analyse the workspace's deals and store the ``deal_context`` artifact; returns warnings.

    Run after the build: lost reasons per tier need the ``scores`` table (without it
    they are reported overall only).
    """
    if not ws.has("deals"):
        return []
    deals = ws.table("deals")
    attrs = ws.attributes("deals")
    kinds = dict(zip(attrs["col"], attrs["kind"], strict=True)) if len(attrs) else None
    account_cols: set[str] = set()
    if ws.has("accounts"):
        account_cols = set(ws.attributes("accounts")["col"]) or set(
            ws.query('SELECT * FROM "accounts" LIMIT 0').columns
        )
    ctx = deal_patterns(
        deals, kinds=kinds, min_support=min_support, account_columns=account_cols - {"account_id"}
    )
    scores = None
    if ws.has("scores") and "lost_reason" in deals.columns:  # only lost reasons read them
        names = set(ws.query('SELECT * FROM "scores" LIMIT 0').columns)
        sel = ", ".join(f'"{c}"' for c in ("account_id", "tier") if c in names)
        scores = ws.query(f'SELECT {sel} FROM "scores"') if sel else ws.table("scores")
    ctx.lost_reasons = lost_reasons(deals, scores)
    warnings = list(ctx.warnings)
    shadow = sorted(
        c for c, why in ctx.skipped.items() if why.startswith("also a column of the accounts")
    )
    if shadow:
        warnings.append(
            f"deals and accounts both have column(s) {shadow}: if they describe the deal "
            "(source, deal type, product), remove them from the accounts file so they are "
            "not learned as company traits"
        )
    if ws.has("accounts"):
        attrs_a = ws.attributes("accounts")
        akinds = dict(zip(attrs_a["col"], attrs_a["kind"], strict=True))
        for col, why in deal_like_account_columns(_text_columns(ws, akinds), akinds).items():
            warnings.append(
                f"accounts column '{col}' looks like a deal column ({why}): it describes a deal, "
                "not the company; move it to the deals file (where it is analysed as deal "
                "qualification) or exclude it from the accounts with a mapping file "
                f"(`accounts: {{exclude: [{col}]}}`)"
            )
    if ctx.lost_reasons is not None and scores is None:
        warnings.append("lost reasons are summarised overall only: no scores to split them by tier")
    ws.write({}, artifacts={ARTIFACT: ctx.to_json()})
    return warnings
