"""Pattern extraction: single-attribute statistics and a subgroup-discovery
beam search for segments of 2-3 conditions.

The search is split as pysubgroup splits it — a target (won), a search space
of selectors (the fitted bins), a quality function (the binomial quality
``sqrt(n) * (p - p0)``, in either direction) and a beam search — but counts
with numpy instead of a Python loop per candidate: each deal's bins and outcome
are integer codes, and one ``bincount`` of a beam member's deals counts its
deals and wins with every selector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..features import ROW_BLOCK, FeatureSpace
from ..icpfile import Condition, Evidence
from .stats import (
    bh,
    binom_pvalues,
    distinct_per_group,
    odds_ratio,
    prior_strength,
    shrink,
    wilson,
)

ALPHA = 0.05
TIER_ODDS = {1: 3.0, 2: 1.75, 3: 1.25}
NEGATIVE_ODDS = 0.5
MIN_ACCOUNTS = 3


@dataclass
class Segment:
    conditions: list[Condition]
    families: list[str]
    n: int
    wins: int
    accounts: int = 0
    win_rate: float = 0.0
    ci_low: float = 0.0
    ci_high: float = 1.0
    shrunk_win_rate: float = 0.0
    lift: float = 0.0
    odds_ratio: float = 1.0
    p_value: float = 1.0
    q_value: float = 1.0
    revenue_share: float | None = None
    median_cycle_days: float | None = None
    quality: float = 0.0
    tier: str = ""
    flag: str = ""
    keys: tuple[tuple[int, int], ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " AND ".join(c.text() for c in self.conditions)

    @property
    def depth(self) -> int:
        return len(self.conditions)


@dataclass
class Training:
    """Closed training deals with their account attributes, as arrays."""

    frame: pd.DataFrame  # one row per closed deal
    won: np.ndarray  # bool
    amount: np.ndarray  # float, won amount (nan unknown)
    cycle: np.ndarray  # float days (nan unknown)
    account: np.ndarray  # account ids
    assigned: np.ndarray  # (rows, features) bin index

    @property
    def base_rate(self) -> float:
        return float(self.won.mean()) if len(self.won) else 0.0


#: The deals' own columns a training frame keeps (the accounts' columns join them).
DEAL_FIELDS = ("deal_id", "account_id", "outcome", "amount", "created_at", "closed_at")


def training_frame(accounts: pd.DataFrame, deals: pd.DataFrame) -> Training:
    """Closed deals joined to their account's attributes."""
    closed = deals[deals["outcome"].isin(["won", "lost"])].copy()
    keep = [c for c in DEAL_FIELDS if c in closed.columns]
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
    return Training(
        frame=frame,
        won=won,
        amount=amount,
        cycle=cyc,
        account=frame["account_id"].astype(str).to_numpy(),
        assigned=np.zeros((len(frame), 0), dtype=np.int16),
    )


def design_effect(won: np.ndarray, account: np.ndarray) -> float:
    """Variance inflation from deals clustered in accounts (ANOVA ICC estimate)."""
    df = pd.DataFrame({"w": won.astype(float), "a": account})
    g = df.groupby("a")["w"].agg(["mean", "size"])
    k = len(g)
    N = len(df)
    if k < 2 or N <= k:
        return 1.0
    p = df["w"].mean()
    msb = float((g["size"] * (g["mean"] - p) ** 2).sum() / (k - 1))
    msw = float((g["size"] * g["mean"] * (1 - g["mean"])).sum() / (N - k))
    n0 = (N - (g["size"] ** 2).sum() / N) / (k - 1)
    if msb + (n0 - 1) * msw <= 0:
        return 1.0
    icc = max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))
    mbar = N / k
    return float(max(1.0, 1 + (mbar - 1) * icc))


class SegmentMiner:
    """Mine single conditions and 2-3 condition segments that separate wins from losses.

    Parameters
    ----------
    min_support : int
        Minimum closed deals in a segment.
    max_depth : int, default 3
    beam_width : int, default 25
    top_k : int, default 25
        Segments kept per direction (winning and losing).
    alpha : float, default 0.05
        False discovery rate for calling a segment significant.
    detail : bool, default True
        Also give each segment its share of won revenue and its median sales
        cycle; without them (the null control counts tiers only) the tiers
        are the same.
    """

    def __init__(
        self,
        *,
        min_support: int = 30,
        max_depth: int = 3,
        beam_width: int = 25,
        top_k: int = 25,
        alpha: float = ALPHA,
        detail: bool = True,
    ) -> None:
        self.min_support = min_support
        self.max_depth = max_depth
        self.beam_width = beam_width
        self.top_k = top_k
        self.alpha = alpha
        self.detail = detail

    def fit(self, space: FeatureSpace, data: Training) -> SegmentMiner:
        p0 = data.base_rate
        self.base_rate_ = p0
        self.deff_ = design_effect(data.won, data.account)
        sels = []
        for j, spec in enumerate(space.specs):
            for b, cond in enumerate(spec.bins):
                sels.append((j, b, cond, spec.family))
        self._sels = sels
        # column by column: a selector's deals are one contiguous column compared
        self._assigned = np.asfortranarray(data.assigned)
        self._coded_counts(space, data)
        self._acc_codes = pd.factorize(data.account)[0]
        won_amt = data.amount[data.won]
        self._won_amount = np.nansum(won_amt) if len(won_amt) else 0.0
        self._sel_index = {(j, b): k for k, (j, b, _, _) in enumerate(sels)}
        uni = self._make_singles(data)
        # beam search over non-missing selectors
        searchable = [k for k, (_, _, c, _) in enumerate(sels) if c.op not in ("missing", "other")]
        found: dict[frozenset[int], Segment] = {}
        # every conjunction the search looks at is a hypothesis tested, reported or not
        self.n_tested_ = 0
        k = len([i for i in searchable])
        self.search_space_ = (
            float(sum(math.comb(k, d) for d in range(2, self.max_depth + 1))) or 1.0
        )
        for direction in (1, -1):
            for seg_keys in self._beam(data, searchable, direction):
                key = frozenset(seg_keys)
                if key not in found:
                    found[key] = self._make(data, sorted(seg_keys, key=lambda k: sels[k][0]))
        # one set of deals, one segment: keep the shortest description
        seen_masks = {self._mask_key(data, [k]) for k in range(len(sels))}
        multi = []
        for s in sorted(found.values(), key=lambda s: s.depth):
            if s.depth < 2:
                continue
            mk = self._mask_key(data, [self._sel_index[k] for k in s.keys])
            if mk in seen_masks:
                continue
            seen_masks.add(mk)
            multi.append(s)
        allsegs = uni + multi
        self._finish(allsegs, data)
        self.univariate_ = uni
        self.segments_ = multi
        del (
            self._assigned,
            self._codes,
            self._acc_codes,
        )  # per-deal arrays: not kept past the search
        return self

    # -- internals -----------------------------------------------------------
    def _beam(self, data: Training, searchable: list[int], direction: int) -> list[list[int]]:
        y = data.won
        p0 = data.base_rate
        n_all, w_all = self._counts(searchable, y, [])
        results: list[tuple[float, list[int]]] = []

        def quality(n: np.ndarray, w: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                p = np.where(n > 0, w / np.maximum(n, 1), 0)
                q = np.sqrt(n) * (p - p0) * direction
            q[n < self.min_support] = -np.inf
            return q

        q1 = quality(n_all, w_all)
        order = np.argsort(-q1)[: self.beam_width]
        beam = [([int(i)], float(q1[i])) for i in order if np.isfinite(q1[i]) and q1[i] > 0]
        feat_of = np.array([self._sels[searchable[i]][0] for i in range(len(searchable))])
        for _depth in range(2, self.max_depth + 1):
            cands: dict[frozenset[int], tuple[float, list[int]]] = {}
            if not beam:
                break
            N, W = self._counts(searchable, y, [keys for keys, _ in beam])
            for b, (keys, qparent) in enumerate(beam):
                q = quality(N[b], W[b])
                self.n_tested_ += int(np.isfinite(q).sum())
                used = {feat_of[k] for k in keys}
                for i in np.argsort(-q)[: self.beam_width]:
                    if not np.isfinite(q[i]) or feat_of[i] in used or q[i] <= qparent * 1.02:
                        continue
                    new = sorted([*keys, int(i)])
                    fk = frozenset(new)
                    if fk not in cands or cands[fk][0] < q[i]:
                        cands[fk] = (float(q[i]), new)
            if not cands:
                break
            best = sorted(cands.values(), key=lambda t: -t[0])[: self.beam_width]
            results.extend(best)
            beam = [(k, q) for q, k in best]
        results.sort(key=lambda t: -t[0])
        return [[searchable[i] for i in keys] for _, keys in results[: self.top_k]]

    def _coded_counts(self, space: FeatureSpace, data: Training) -> None:
        """Each deal's bin per feature as one integer code that also carries the outcome.

        Feature ``j``'s bins (and "no bin", ``-1``) get consecutive slots from
        ``offset[j]``; a deal in bin ``b`` of feature ``j`` with outcome ``won`` has code
        ``2 * (offset[j] + b + 1) + won``, so one ``bincount`` of a set of deals' codes
        counts its lost and won deals in every bin of every feature at once.
        """
        sizes = np.array([len(spec.bins) + 1 for spec in space.specs], dtype=np.int64)
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._n_codes = 2 * int(sizes.sum())
        dtype = np.uint16 if self._n_codes <= np.iinfo(np.uint16).max else np.int32
        won = data.won.astype(np.int32)
        base = (2 * (offset + 1)).astype(np.int32)
        codes = np.empty(data.assigned.shape, dtype=dtype)
        for lo in range(0, len(won), ROW_BLOCK):
            block = 2 * data.assigned[lo : lo + ROW_BLOCK].astype(np.int32) + base
            block += won[lo : lo + ROW_BLOCK, None]
            codes[lo : lo + ROW_BLOCK] = block
        self._codes = codes
        self._all_counts: np.ndarray | None = None
        # the slot of every selector
        self._slot = np.array([offset[j] + b + 1 for j, b, _, _ in self._sels], dtype=np.int64)

    def _mask(self, keys: list[int]) -> np.ndarray:
        """The deals that meet every selector in ``keys`` (all deals when empty)."""
        mask = np.ones(len(self._assigned), dtype=bool)
        for k in keys:
            j, b = self._sels[k][0], self._sels[k][1]
            mask &= self._assigned[:, j] == b
        return mask

    def _bin_counts(self, mask: np.ndarray | None) -> np.ndarray:
        """Lost and won deals (``mask``'s, or all) per code slot: shape (slots, 2).

        A mask holding most deals is counted as all deals less the others.
        """
        if mask is not None and 2 * int(np.count_nonzero(mask)) > len(mask):
            if self._all_counts is None:
                self._all_counts = self._bin_counts(None)
            return self._all_counts - self._bin_counts(~mask)
        out = np.zeros(self._n_codes, dtype=np.int64)
        for lo in range(0, len(self._codes), ROW_BLOCK):
            block = self._codes[lo : lo + ROW_BLOCK]
            if mask is not None:
                block = block[mask[lo : lo + ROW_BLOCK]]
            # bincount reads platform integers: converting first is the faster way
            out += np.bincount(block.ravel().astype(np.intp), minlength=self._n_codes)
        return out.reshape(-1, 2)

    def _counts(
        self, searchable: list[int], y: np.ndarray, beam: list[list[int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Deals and wins in every beam member x selector (every selector alone when
        ``beam`` is empty), as float32; ``beam`` keys index ``searchable``.

        Exact integer counts: one ``bincount`` of the member's deals' codes (see
        ``_coded_counts``) per beam member; ``y`` is the outcome the codes carry.
        """
        slots = self._slot[searchable]
        masks = [self._mask([searchable[i] for i in keys]) for keys in beam] if beam else [None]
        N = np.empty((len(masks), len(searchable)), dtype=np.float32)
        W = np.empty((len(masks), len(searchable)), dtype=np.float32)
        for r, mask in enumerate(masks):
            c = self._bin_counts(mask)
            N[r] = (c[:, 0] + c[:, 1])[slots]
            W[r] = c[slots, 1]
        return (N, W) if beam else (N[0], W[0])

    def _mask_key(self, data: Training, keys: list[int]) -> tuple[int, int, int]:
        mask = self._mask(keys)
        return (int(mask.sum()), int((mask & data.won).sum()), hash(np.packbits(mask).tobytes()))

    def _make_singles(self, data: Training) -> list[Segment]:
        """``_make(data, [k])`` for every selector ``k``, a feature's bins counted at once."""
        out: list[Segment] = []
        won = data.won
        acc = self._acc_codes
        n_acc = int(acc.max()) + 1 if len(acc) else 1
        amount_won, cycle_won = data.amount[won], data.cycle[won]
        by_feature: dict[int, list[int]] = {}
        for k, (j, _, _, _) in enumerate(self._sels):
            by_feature.setdefault(j, []).append(k)
        for j, ks in by_feature.items():
            size = max(b for _, b, _, _ in (self._sels[k] for k in ks)) + 2
            code = self._assigned[:, j].astype(np.intp) + 1  # 0: no bin
            n_b = np.bincount(code, minlength=size)
            code_won = code[won]
            w_b = np.bincount(code_won, minlength=size)
            acc_b = distinct_per_group(code, size, acc, n_acc)
            for k in ks:
                _, b, cond, fam = self._sels[k]
                n, w = int(n_b[b + 1]), int(w_b[b + 1])
                seg = Segment(conditions=[cond], families=[fam], n=n, wins=w, keys=((j, b),))
                seg.accounts = int(acc_b[b + 1]) if n else 0
                out.append(seg)
                if not self.detail:
                    continue
                in_bin = code_won == b + 1
                if self._won_amount > 0:
                    seg.revenue_share = float(np.nansum(amount_won[in_bin]) / self._won_amount)
                cyc = cycle_won[in_bin]
                cyc = cyc[~np.isnan(cyc)]
                if len(cyc):
                    seg.median_cycle_days = float(np.median(cyc))
        return out

    def _make(self, data: Training, keys: list[int]) -> Segment:
        mask = self._mask(keys)
        mask_won = mask & data.won
        n = int(mask.sum())
        w = int(mask_won.sum())
        conds = [self._sels[k][2] for k in keys]
        fams = [self._sels[k][3] for k in keys]
        seg = Segment(
            conditions=conds,
            families=fams,
            n=n,
            wins=w,
            keys=tuple((self._sels[k][0], self._sels[k][1]) for k in keys),
        )
        seg.accounts = (
            int(np.count_nonzero(np.bincount(self._acc_codes[mask], minlength=1))) if n else 0
        )
        if not self.detail:
            return seg
        total = self._won_amount
        if total > 0:
            seg.revenue_share = float(np.nansum(data.amount[mask_won]) / total)
        cyc = data.cycle[mask_won]
        cyc = cyc[~np.isnan(cyc)]
        if len(cyc):
            seg.median_cycle_days = float(np.median(cyc))
        return seg

    def _finish(self, segs: list[Segment], data: Training) -> None:
        p0 = data.base_rate
        n = np.array([s.n for s in segs])
        w = np.array([s.wins for s in segs])
        uni_n = np.array([s.n for s in segs if s.depth == 1])
        uni_w = np.array([s.wins for s in segs if s.depth == 1])
        # the prior is worth at most the minimum support: enough to keep a 2-deal, 100%-win group
        # off the top, never so much that a well-supported segment is pulled to the base rate
        self.kappa_ = (
            min(prior_strength(uni_w, uni_n, p0), float(self.min_support)) if len(uni_n) else 10.0
        )
        lo, hi = wilson(w, n)
        # honest p-values: deals cluster in accounts, so use the effective sample size
        deff = self.deff_
        pv = binom_pvalues(
            np.round(w / deff).astype(int), np.maximum(np.round(n / deff), 1).astype(int), p0
        )
        if deff > 1.0:
            lo, hi = wilson(w / deff, n / deff)
        # single conditions: Benjamini-Hochberg among themselves. Conjunctions were picked
        # by a search: each is corrected for every conjunction it could have picked
        # (Bonferroni over the whole search space), or noise would look significant
        depth = np.array([s.depth for s in segs])
        qv = np.ones(len(segs))
        uni = depth == 1
        if uni.any():
            qv[uni] = bh(pv[uni])
        if (~uni).any():
            qv[~uni] = np.minimum(1.0, pv[~uni] * self.search_space_)
        shrunk = shrink(w, n, p0, self.kappa_)
        ors = odds_ratio(shrunk, p0)
        for i, s in enumerate(segs):
            s.win_rate = float(w[i] / n[i]) if n[i] else 0.0
            s.ci_low, s.ci_high = float(lo[i]), float(hi[i])
            s.shrunk_win_rate = float(shrunk[i])
            s.lift = float(shrunk[i] / p0) if p0 > 0 else 0.0
            s.odds_ratio = float(ors[i])
            s.p_value, s.q_value = float(pv[i]), float(qv[i])
            s.tier = self.tier_of(s, p0)
            if s.n < self.min_support:
                s.flag = f"small sample (n={s.n} < {self.min_support})"
            elif s.accounts < MIN_ACCOUNTS:
                s.flag = f"only {s.accounts} account(s): an account, not a segment"
        self._check_refinements(segs, data)

    def _check_refinements(self, segs: list[Segment], data: Training) -> None:
        """A conjunction earns a tier only if every condition adds to it.

        Each segment is tested against each parent (the segment without one of
        its conditions): its win rate must differ significantly from the parent's
        in the segment's direction, otherwise it is flagged redundant.
        """
        from scipy import stats as _st

        deff = self.deff_
        for s in segs:
            if s.depth < 2 or not s.tier:
                continue
            keys = [self._sel_index[k] for k in s.keys]
            up = s.tier != "negative"
            for drop in range(len(keys)):
                parent = keys[:drop] + keys[drop + 1 :]
                mask = self._mask(parent)
                pn, pw = int(mask.sum()), int((mask & data.won).sum())
                rest_n, rest_w = pn - s.n, pw - s.wins
                if rest_n <= 0:
                    continue
                rate_rest = rest_w / rest_n
                # the segment against the rest of its parent, on the effective sample size
                k, nn = int(round(s.wins / deff)), max(1, int(round(s.n / deff)))
                p = _st.binomtest(
                    k,
                    nn,
                    min(max(rate_rest, 1e-6), 1 - 1e-6),
                    alternative="greater" if up else "less",
                ).pvalue
                if p >= self.alpha:
                    s.tier = ""
                    s.flag = (
                        f"no better than {' AND '.join(self._sels[k][2].text() for k in parent)}"
                    )
                    break

    def tier_of(self, s: Segment, p0: float) -> str:
        if s.n < self.min_support or s.q_value >= self.alpha or s.accounts < MIN_ACCOUNTS:
            return ""
        if s.odds_ratio <= NEGATIVE_ODDS and s.ci_high < p0:
            return "negative"
        if s.ci_low <= p0:
            return ""
        for t in (1, 2, 3):
            if s.odds_ratio >= TIER_ODDS[t]:
                return str(t)
        return ""

    def table(self) -> pd.DataFrame:
        """The pattern table (``segments.csv``): single conditions and multi-condition segments."""
        rows = []
        for s in [*self.segments_, *self.univariate_]:
            rows.append(
                {
                    "segment": s.text,
                    "depth": s.depth,
                    "family": "+".join(sorted(set(s.families))),
                    "n": s.n,
                    "accounts": s.accounts,
                    "wins": s.wins,
                    "win_rate": round(s.win_rate, 4),
                    "ci_low": round(s.ci_low, 4),
                    "ci_high": round(s.ci_high, 4),
                    "shrunk_win_rate": round(s.shrunk_win_rate, 4),
                    "lift": round(s.lift, 3),
                    "odds_ratio": round(s.odds_ratio, 3),
                    "p_value": s.p_value,
                    "q_value": s.q_value,
                    "revenue_share": None if s.revenue_share is None else round(s.revenue_share, 4),
                    "median_cycle_days": s.median_cycle_days,
                    "tier": s.tier,
                    "flag": s.flag,
                }
            )
        df = pd.DataFrame(rows)
        if len(df):
            tier_rank = df["tier"].map({"1": 0, "2": 1, "3": 2, "negative": 3}).fillna(4)
            df = (
                df.assign(_t=tier_rank)
                .sort_values(["_t", "q_value", "lift"], ascending=[True, True, False])
                .drop(columns="_t")
            )
        return df.reset_index(drop=True)


def segment_evidence(s: Segment, health_n: int | None = None) -> Evidence:
    """A segment's figures as the ``evidence`` of a criterion or disqualifier in icp.yaml."""
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
