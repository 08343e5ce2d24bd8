"""The reference scorer: applies an ``icp.yaml`` to account rows.

Semantics (the compiled SQL must match them exactly):

- An attribute the ICP uses that is absent from the input (no such column)
  scores neutral: every condition on it is false, so its features give 0
  points, its disqualifiers do not veto, and tier definitions and pinned
  criteria on it do not hold. A column that is present but blank in a row is
  *missing* there instead (below).
- Each feature's bins are tried in order; the first bin whose condition holds
  gives its points. No match gives 0 points.
- Cells are read by the rules of :mod:`icpkit.scoring.clean` (trim, null
  words such as ``n/a`` or ``-``, numbers such as ``"$1,200"`` or ``"1.2e3"``,
  list separators). Category tests compare trimmed, lower-cased text.
  ``between`` is ``low <= x < high``. An attribute the ICP tests with
  ``between``, or a canonical number column (``employees``,
  ``annual_revenue``, ``founded_year``), is a number attribute: its value is the cell's number, so a cell
  holding none (``"abc"``, ``"n/a"``) is missing, and its category text is the
  number's (``"1200"``). List attributes are lists of lower-cased items (a
  text value is split on ``|``, ``;`` or ``,``); an attribute tested with
  ``has``/``lacks``, or a canonical list column (``tech_stack``), is a list
  attribute, where a cell without any item (``" ; "``) is missing. A missing value matches only
  ``missing: true``; ``has`` and ``lacks`` need a known value.
- ``score = clamp(base + sum(points), 0, 100)``.
- Any enabled disqualifier that holds: tier ``excluded``, score at most
  ``veto_score`` (default 0), route ``deprioritize``.
- Otherwise the tier is the best tier ``t`` (1 before 2 before 3) such that
  the score reaches ``t.min_score``, all of ``t``'s pinned criteria hold, and,
  when ``t.match`` is ``definition`` (the default), the account matches at
  least one *definition* of ``t`` or of a better tier. A definition is one
  criterion of the tier (any family, pinned or not) or one segment of the
  tier, which holds when all of its conditions hold (a segment without
  conditions defines nothing). With ``match: score`` no definition is
  needed. No such tier: ``none``. So a ``match: definition`` tier without
  criteria or segments, below tiers without any either, holds no account.
- Route: ``high_touch`` at or above ``routing.high_touch``, ``nurture`` at or
  above ``routing.nurture``, else ``deprioritize``.
- Reasons: up to 5 non-zero contributions, largest absolute first (ties by
  feature order), as ``"<bin label> +N"``; a veto is listed first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..icpfile import ICP, Condition
from ..schema import INT, LIST, NUM, TABLES, normalize_name
from . import clean

MAX_REASONS = 5


_LIST_TYPES = (list, tuple, np.ndarray, frozenset, set)


def _norm_scalar_text(v: object) -> object:
    """Text form of one value for category tests (None when missing or a list)."""
    if v is None or isinstance(v, _LIST_TYPES):
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        if v == int(v):
            v = int(v)
    elif v is pd.NA or v is pd.NaT:
        return None
    s = str(v).strip().lower()
    return s if s != "" else None


class Columns:
    """Vectorised, cached views of a frame's columns for evaluating many conditions.

    Every condition on one attribute reuses the same normalised text, numbers,
    missing mask and exploded list items, so scoring and binning cost one pass
    per attribute rather than one Python call per cell and bin. Cells are read
    by the rules of :mod:`icpkit.scoring.clean`. ``numeric`` names the number
    attributes (those the ICP tests with ``between``): their value is the
    cell's number, so a cell holding no number is missing and their category
    text is the number's. ``lists`` names the list attributes (tested with
    ``has``/``lacks``, or canonical list columns): a cell with no item is missing.
    """

    def __init__(
        self, frame: pd.DataFrame, numeric: Iterable[str] = (), lists: Iterable[str] = ()
    ) -> None:
        self.frame = frame
        self.n = len(frame)
        self.numeric = frozenset(numeric)
        self.lists = frozenset(lists) - self.numeric
        self._cache: dict[tuple[str, str], object] = {}

    def present(self, attr: str) -> bool:
        """Whether the frame has a column for ``attr`` (an absent one scores neutral)."""
        return attr in self.frame.columns

    def _series(self, attr: str) -> pd.Series | None:
        if attr not in self.frame.columns:
            return None
        return self.frame[attr].reset_index(drop=True)

    def _cached(self, kind: str, attr: str, fn):  # type: ignore[no-untyped-def]
        key = (kind, attr)
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def missing(self, attr: str) -> np.ndarray:
        def build() -> np.ndarray:
            if attr in self.numeric:
                return np.isnan(self.numbers(attr))
            s = self._series(attr)
            if s is None:
                return np.ones(self.n, dtype=bool)
            m = clean.null_mask(s)
            if attr in self.lists:  # a list with no item is missing
                some = np.zeros(self.n, dtype=bool)
                some[self.item_codes(attr)[0]] = True
                m |= ~some
            return m

        return self._cached("missing", attr, build)  # type: ignore[no-any-return]

    def text(self, attr: str) -> pd.Series:
        """Each row's text for category tests (None when missing), trimmed and lower-cased."""
        codes, shared = self.text_codes(attr)
        return pd.Series(shared[codes], dtype=object)

    def text_codes(self, attr: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`text` as a code per row into the distinct texts, whose last is None
        (code -1): held as codes, not as a text object per row."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            if (s := self._series(attr)) is not None and (
                attr not in self.numeric
                and s.dtype != object
                and pd.api.types.is_string_dtype(s.dtype)
            ):
                # each distinct value is cleaned once and its text shared by its rows
                codes, uniques = pd.factorize(s)
                t = pd.Series(uniques, dtype=s.dtype).str.strip().str.lower()
                text = t.astype(object).where(
                    t.notna().to_numpy() & (t != "").fillna(False).to_numpy(), None
                )
                return _small(codes), _with_none(text.to_numpy(dtype=object))
            codes, uniques = pd.factorize(text_per_row().to_numpy(dtype=object))
            return _small(codes), _with_none(np.asarray(uniques, dtype=object))

        def text_per_row() -> pd.Series:
            s = self._series(attr)
            if s is None:
                return pd.Series([None] * self.n, dtype=object)
            if attr in self.numeric:
                return pd.Series([clean.number_text(x) for x in self.numbers(attr)], dtype=object)
            if pd.api.types.is_bool_dtype(s.dtype):
                return s.map(lambda v: None if pd.isna(v) else str(bool(v)).lower()).astype(object)
            if pd.api.types.is_numeric_dtype(s.dtype):
                x = s.to_numpy(dtype=float)
                out = np.full(self.n, None, dtype=object)
                ok = ~np.isnan(x)
                integral = ok & (x == np.round(x)) & (np.abs(x) < 2**62)
                out[integral] = x[integral].astype(np.int64).astype(str)
                frac = ok & ~integral
                if frac.any():
                    out[frac] = [str(float(v)).lower() for v in x[frac]]
                return pd.Series(out, dtype=object)
            obj = s.astype(object)
            types = obj.dropna().map(type)
            if len(types) and all(t is str for t in types.unique()):
                t = obj.str.strip().str.lower()
                return t.where(t.notna() & (t != ""), None).astype(object)
            return obj.map(_norm_scalar_text).astype(object)

        return self._cached("text", attr, build)  # type: ignore[no-any-return]

    def numbers(self, attr: str) -> np.ndarray:
        def build() -> np.ndarray:
            s = self._series(attr)
            if s is None:
                return np.full(self.n, np.nan)
            return clean.numbers(s)

        return self._cached("numbers", attr, build)  # type: ignore[no-any-return]

    def items(self, attr: str) -> pd.DataFrame:
        """One row per (row position, list item), items trimmed and lower-cased."""
        pos, codes, uniques = self.item_codes(attr)
        return pd.DataFrame({"pos": pos, "item": uniques[codes]})

    def item_codes(self, attr: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`items` as (row positions, item codes, the distinct items)."""

        def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            s = self._series(attr)
            if s is None:
                s = pd.Series([], dtype=object)
            return _items_per_cell(s.astype(object).to_numpy())

        return self._cached("items", attr, build)  # type: ignore[no-any-return]

    def item_rows(self, attr: str) -> dict[str, int]:
        """Rows holding each item (an item listed twice in a row counts once), items in
        sorted order."""
        from ..mining.stats import distinct_per_group  # scipy, loaded by the build anyway

        pos, codes, uniques = self.item_codes(attr)
        rows = distinct_per_group(codes, len(uniques), pos, self.n)
        return {
            str(uniques[i]): int(rows[i])
            for i in sorted(range(len(uniques)), key=uniques.__getitem__)
        }

    def has(self, attr: str, item: str) -> np.ndarray:
        pos, codes, uniques = self.item_codes(attr)
        code_of = self._cached("groups", attr, lambda: {str(u): i for i, u in enumerate(uniques)})
        out = np.zeros(self.n, dtype=bool)
        code = code_of.get(item)
        if code is not None:
            out[pos[codes == code]] = True
        return out

    def text_in(self, attr: str, values: set[str]) -> np.ndarray:
        """``text(attr).isin(values)``, tested once per distinct text."""
        codes, shared = self.text_codes(attr)
        return pd.Series(shared, dtype=object).isin(values).to_numpy(dtype=bool)[codes]  # type: ignore[no-any-return]


def _with_none(values: np.ndarray) -> np.ndarray:
    """``values`` and a last None (what code -1 picks)."""
    out = np.full(len(values) + 1, None, dtype=object)
    out[:-1] = values
    return out


def _small(codes: np.ndarray) -> np.ndarray:
    """Codes (``-1`` and up) in 32 bits when they fit."""
    return codes.astype(np.int32) if len(codes) and codes.max() < 2**31 - 1 else codes


def _item_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The items of the cells ``s`` (an object series indexed 0..n-1), one per (row, item):
    the list cells' items in row order, then the text cells split on ``|``, on ``;``, on
    ``,``. Returns (row positions, item codes, the distinct items, which of those four
    parts each item came from)."""
    none = np.array([], dtype=np.int64)
    obj = s.astype(object)
    types = obj.map(type).to_numpy()
    parts = []
    is_list = np.array([t in _LIST_TYPES for t in types], dtype=bool)
    if is_list.any():
        parts.append(obj[is_list].explode().dropna().astype(str))
    else:
        parts.append(pd.Series([], dtype=object))
    scalar = ~is_list & ~s.isna().to_numpy(dtype=bool)
    if scalar.any():
        txt = obj[scalar].map(str)
        pipe = txt.str.contains("|", regex=False)
        semi = ~pipe & txt.str.contains(";", regex=False)
        comma = ~pipe & ~semi
        for mask, sep in ((pipe, "|"), (semi, ";"), (comma, ",")):
            parts.append(
                txt[mask].str.split(sep, regex=False).explode()
                if mask.any()
                else pd.Series([], dtype=object)
            )
    if not any(len(p) for p in parts):
        return none, none, np.array([], dtype=object), none
    part = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    ex = pd.concat([p for p in parts if len(p)])
    keep = ex.notna().to_numpy()
    ex, part = ex[keep], part[keep]
    ex = ex.astype(str).str.strip().str.lower()
    keep = (ex != "").to_numpy()
    ex, part = ex[keep], part[keep]
    # one text object per distinct item, shared by its rows
    codes, uniques = pd.factorize(ex)
    return (
        ex.index.to_numpy(dtype=np.int64),
        codes.astype(np.int64),
        np.asarray(uniques, dtype=object),
        part,
    )


def _items_per_cell(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_item_codes` of ``cells``, each distinct cell object split once.

    Rows that hold the same object (the deals of one account share its list) share its
    items; the rows come out in :func:`_item_codes`' order (by the part a cell's items
    come from, then by row), each row's items in its cell's order.
    """
    codes, first = clean.distinct_objects(cells)
    u_pos, u_items, uniques, u_part = _item_codes(pd.Series(cells[first], dtype=object))
    if len(first) == len(cells) or not len(u_pos):
        return u_pos, u_items, uniques
    # each distinct cell's items are contiguous
    lens_u = np.bincount(u_pos, minlength=len(first))
    start_u = np.zeros(len(first), dtype=np.int64)
    part_u = np.zeros(len(first), dtype=np.int64)
    at = np.flatnonzero(np.r_[True, u_pos[1:] != u_pos[:-1]])
    start_u[u_pos[at]] = at
    part_u[u_pos[at]] = u_part[at]
    lens = lens_u[codes]
    rows = np.flatnonzero(lens)
    rows = rows[np.argsort(part_u[codes[rows]], kind="stable")]
    lens = lens[rows]
    offs = np.cumsum(lens) - lens
    take = np.repeat(start_u[codes[rows]] - offs, lens) + np.arange(int(lens.sum()))
    return np.repeat(rows.astype(np.int64), lens), u_items[take], uniques


def is_missing(series: pd.Series) -> pd.Series:
    """Missing values: None, NaN, blank text, empty lists."""
    name = "_v"
    return pd.Series(
        Columns(pd.DataFrame({name: series.reset_index(drop=True)})).missing(name),
        index=series.index,
    )


def evaluate(cond: Condition, frame: pd.DataFrame | Columns) -> np.ndarray:
    """Boolean mask of the rows for which ``cond`` holds."""
    cols = frame if isinstance(frame, Columns) else Columns(frame)
    attr = cond.attribute
    op = cond.op
    if not cols.present(attr):  # absent column: no condition on it holds
        return np.zeros(cols.n, dtype=bool)
    missing = cols.missing(attr)
    if op == "missing":
        return missing if cond.missing else ~missing
    if op == "other":
        return ~missing
    if op in ("in", "not_in"):
        vals = {str(v).strip().lower() for v in (cond.in_ if op == "in" else cond.not_in) or []}
        hit = cols.text_in(attr, vals)
        return hit & ~missing if op == "in" else ~hit & ~missing
    if op == "between":
        lo, hi = cond.between or (None, None)
        x = cols.numbers(attr)
        ok = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            if lo is not None:
                ok &= x >= lo
            if hi is not None:
                ok &= x < hi
        return ok
    if op in ("has", "lacks"):
        item = str(cond.has if op == "has" else cond.lacks).strip().lower()
        hit = cols.has(attr, item)
        return hit & ~missing if op == "has" else ~hit & ~missing
    raise ValueError(f"unknown operator {op}")


def conditions(icp: ICP) -> list[Condition]:
    """Every condition scoring evaluates: bins, enabled disqualifiers, pinned criteria and
    tier definitions."""
    out: list[Condition] = [b for f in icp.scorecard.features for b in f.bins]
    out += [d for d in icp.disqualifiers if d.enabled]
    out += [c for t in icp.tiers for c in t.pinned()]
    out += [c for defs in icp.tier_definitions().values() for d in defs for c in d]
    return out


def number_attributes(icp: ICP) -> set[str]:
    """The number attributes: those the ICP tests with ``between``, and the canonical
    number columns (``employees``, ``annual_revenue`` …, which ingest reads as numbers)."""
    conds = conditions(icp)
    canonical = {c.name for c in TABLES["market"].columns if c.kind in (NUM, INT)}
    return {c.attribute for c in conds if c.op == "between" or c.attribute in canonical}


def list_attributes(icp: ICP) -> set[str]:
    """The list attributes: those the ICP tests with ``has``/``lacks``, and the canonical
    list columns (``tech_stack``); a cell with no item is missing there."""
    canonical = {c.name for c in TABLES["market"].columns if c.kind == LIST}
    return {
        c.attribute for c in conditions(icp) if c.op in ("has", "lacks") or c.attribute in canonical
    } - number_attributes(icp)


def tier_definitions_hold(icp: ICP, cols: Columns) -> dict[int, np.ndarray]:
    """Per ``match: definition`` tier, the rows matching one of its or a better tier's
    definitions."""
    out: dict[int, np.ndarray] = {}
    for number, definitions in icp.tier_definitions().items():
        hit = np.zeros(cols.n, dtype=bool)
        for conds in definitions:
            m = np.ones(cols.n, dtype=bool)
            for c in conds:
                m &= evaluate(c, cols)
            hit |= m
        out[number] = hit
    return out


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
    frame = frame.reset_index(drop=True)
    cols = Columns(frame, numeric=number_attributes(icp), lists=list_attributes(icp))
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
            m = evaluate(b, cols) & ~done
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
        m = evaluate(d, cols) & ~veto
        veto_reason[m] = f"VETO {d.text()}" + (f" ({d.reason})" if d.reason else "")
        veto |= m
    score = np.where(veto, np.minimum(score, icp.veto_score), score)

    tier = np.full(n, "none", dtype=object)
    defined = tier_definitions_hold(icp, cols)
    for t in sorted(icp.tiers, key=lambda t: -t.tier):  # 3, 2, 1: better tiers overwrite
        ok = score >= t.min_score
        for c in t.pinned():
            ok &= evaluate(c, cols)
        if t.tier in defined:
            ok &= defined[t.tier]
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
    return ScoreResult(out, absent, absent_warnings(icp, absent))


def absent_warnings(icp: ICP, absent: list[str]) -> list[str]:
    """One line per absent attribute: it scores neutral, and what is at stake.

    E.g. ``"funding_stage absent: scored neutral (its points range -20..+12)"``.
    """
    out = []
    for a in absent:
        points = [b.points for f in icp.scorecard.features if f.attribute == a for b in f.bins]
        stake = []
        if points:
            lo, hi = min(points), max(points)
            stake.append(
                f"its points range {_fmt_points(lo) if lo else '0'}..{_fmt_points(hi) if hi else '0'}"
            )
        if any(d.enabled and d.attribute == a for d in icp.disqualifiers):
            stake.append("its disqualifiers do not apply")
        defined = {c.attribute for ds in icp.tier_definitions().values() for d in ds for c in d}
        if a in defined or any(c.attribute == a for t in icp.tiers for c in t.pinned()):
            stake.append("tier criteria on it do not hold")
        out.append(f"{a} absent: scored neutral" + (f" ({'; '.join(stake)})" if stake else ""))
    return out
