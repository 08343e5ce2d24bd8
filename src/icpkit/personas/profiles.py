"""Persona profiles: who sits on the deals we win, per ICP tier and for the negative ICP.

For each group of closed deals — each ICP tier (the account's tier in the
``scores`` table), the negative ICP (accounts a disqualifier excludes) and all
deals — and for each decision-making-unit role:

- how often the role appears on won deals (share of won deals with at least
  one contact in that role);
- its win-rate lift: the win rate of deals with the role against deals without
  it, with a Wilson 95% interval, Fisher's exact test and Benjamini-Hochberg
  q-values over every role and role x function tested in the group. As in the
  core patterns, a lift counts only with q < 0.05 and at least ``min_support``
  closed deals behind it (fewer are flagged "small sample"), and the rate is
  shrunk toward the rate without the role before the lift is taken;
- the typical titles (most common normalised titles), the dominant function
  and seniority, how late its people first speak in the deal, and — when
  conversations exist — its top pains in its own words.

Roles used here ignore the deal outcome: the "present only on lost deals"
blocker signal of :func:`icpkit.personas.dmu.infer_roles` would make blockers
lose by construction, so a contact keeps its explicit role or the role its
function and seniority give (column ``dmu_role_blind``).

A persona is a role, or a role in one function ("champion (operations)"). The
primary persona is the champion persona with the highest significant lift in
Tier 1 (else over all deals), else any persona with the highest significant
lift, else the most frequent role on won deals — and its evidence says which.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from icpkit.features import min_support_for
from icpkit.mining.stats import bh, shrink, wilson
from icpkit.personas.dmu import _outcome
from icpkit.personas.titles import normalize_titles

ALPHA = 0.05
SHRINK_KAPPA = 20.0  # prior strength toward the rate without the role, as for triggers
LATE_FRACTION = 0.75  # first speaks in the last quarter of the deal
MIN_TEST_N = 5
PAIN_Z = 2.58  # a pain is over-represented at the 1% level against every other customer text

# (key, label, tier value in the scores table; None = every closed deal)
GROUPS: tuple[tuple[str, str, str | None], ...] = (
    ("tier_1", "Tier 1", "1"),
    ("tier_2", "Tier 2", "2"),
    ("tier_3", "Tier 3", "3"),
    ("negative", "Negative ICP", "excluded"),
    ("all", "All deals", None),
)
PROFILE_ROLES = (
    "champion",
    "economic_buyer",
    "technical_buyer",
    "end_user",
    "blocker",
    "influencer",
)
SENIORITY_LABELS = {
    "c_level": "C-level",
    "vp": "VP",
    "individual_contributor": "individual contributor",
}
FUNCTION_LABELS = {"it": "IT", "hr": "HR"}
# Speakers on the seller's side; everyone else in conversations is the customer.
SELLER_SPEAKERS = frozenset(
    {"us", "we", "rep", "agent", "seller", "sales", "vendor", "internal", "staff", "employee"}
)
# Small talk that is never a pain, however distinctive.
_CHATTER = frozenset(
    """call calls time next week weeks thanks thank today tomorrow follow following followup up
    schedule scheduling reschedule rescheduling meeting meet demo recap monday tuesday wednesday
    thursday friday morning afternoon find let's lets back touch base soon right sounds""".split()
)
_SENT = re.compile(r"[^.!?\n]+[.!?]?")


def fmt_q(q: float | None) -> str:
    """A q-value with two significant digits, four near the 0.05 bar (0.04996 is not 0.05)."""
    if q is None:
        return ""
    text = f"{q:.4g}" if 0.045 <= q < 0.055 else f"{q:.2g}"
    return "<0.05" if q < ALPHA and float(text) >= ALPHA else text


def q_is(q: float | None) -> str:
    """``q=0.012``, or ``q<0.05`` just under the bar."""
    text = fmt_q(q)
    return f"q{text}" if text.startswith("<") else f"q={text}"


def role_label(role: str) -> str:
    return role.replace("_", " ")


def function_label(fn: str) -> str:
    return FUNCTION_LABELS.get(fn, fn.replace("_", " "))


def seniority_label(level: str) -> str:
    return SENIORITY_LABELS.get(level, level.replace("_", " "))


def persona_label(role: str, function: str | None) -> str:
    """``champion (operations)``, or the bare role label."""
    return role_label(role) + (f" ({function_label(function)})" if function else "")


def _num(x: Any) -> Any:
    """Round floats for JSON; non-finite floats become None."""
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return float(f"{x:.4g}")
    if isinstance(x, dict):
        return {k: _num(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    return x


# -- the profile model --------------------------------------------------------------------------


@dataclass
class RoleStat:
    """A persona's win-rate evidence in one group of closed deals."""

    group: str
    role: str
    function: str | None
    n: int  # closed deals with the persona
    wins: int
    win_rate: float
    ci_low: float
    ci_high: float
    n_without: int
    rate_without: float
    lift: float | None
    p_value: float
    share_of_won: float
    q_value: float = 1.0
    significant: bool = False
    flag: str = ""

    @property
    def label(self) -> str:
        return persona_label(self.role, self.function)

    def evidence(self) -> dict[str, Any]:
        """The icp.yaml evidence mapping (the keys of the core's criteria)."""
        return {
            "n": self.n,
            "wins": self.wins,
            "win_rate": round(self.win_rate, 4),
            "ci_low": round(self.ci_low, 4),
            "ci_high": round(self.ci_high, 4),
            "lift": None if self.lift is None else round(self.lift, 3),
            "q_value": float(f"{self.q_value:.3g}"),
        }


@dataclass
class Pain:
    """A recurring phrase in one role's own conversations, with a quote."""

    phrase: str
    passages: int
    accounts: int
    share: float
    quote: str
    distinctive: bool  # over-represented against every other customer conversation


@dataclass
class RoleProfile:
    """One persona card: a role in one group."""

    role: str
    won_deals: int
    share_of_won: float
    stat: RoleStat | None
    by_function: list[RoleStat] = field(default_factory=list)
    function: str = "unknown"
    function_share: float = 0.0
    seniority: str = "unknown"
    seniority_share: float = 0.0
    titles: list[tuple[str, int]] = field(default_factory=list)
    contacts: int = 0
    late_share: float | None = None
    late_n: int = 0
    pains: list[Pain] = field(default_factory=list)


@dataclass
class GroupProfile:
    key: str
    label: str
    deals: int
    wins: int
    accounts: int
    roles: list[RoleProfile] = field(default_factory=list)
    note: str = ""

    @property
    def win_rate(self) -> float:
        return self.wins / self.deals if self.deals else 0.0

    def role(self, name: str) -> RoleProfile | None:
        return next((r for r in self.roles if r.role == name), None)


@dataclass
class PrimaryPersona:
    """The primary persona: a role, in ``functions`` when the evidence is for those only."""

    role: str
    functions: list[str]  # empty: the evidence is for the role in any function
    typical_function: str
    seniority: str
    titles: list[str]
    group: str
    group_label: str
    share_of_won: float
    stat: RoleStat | None
    reason: str

    @property
    def label(self) -> str:
        fns = " or ".join(function_label(f) for f in self.functions if f != "unknown")
        return role_label(self.role) + (f" from {fns}" if fns else "")

    def sentence(self, *, plain: bool = False) -> str:
        """The "Primary persona" slot; ``plain`` leaves the q-value out (for the ICP statement)."""
        mostly = (
            f", mostly from {function_label(self.typical_function)}"
            if not self.functions and self.typical_function != "unknown"
            else ""
        )
        sen = (
            f", typically {seniority_label(self.seniority)}" if self.seniority != "unknown" else ""
        )
        eg = f" (e.g. {', '.join(self.titles[:3])})" if self.titles else ""
        article = "an" if self.label[:1] in "aeiou" else "a"
        head = f"{article} {self.label}{mostly}{sen}{eg}"
        deals = "won deals" if self.group == "all" else f"won {self.group_label} deals"
        s = self.stat
        if s is not None and s.significant and s.lift is not None:
            which = f"{s.label}: " if len(self.functions) > 1 else ""
            return (
                f"{head} — on {self.share_of_won:.0%} of {deals}; {which}"
                f"win rate {s.win_rate:.0%} with vs {s.rate_without:.0%} without "
                f"(lift {s.lift:.2f}x, n={s.n}" + (")" if plain else f", {q_is(s.q_value)})")
            )
        return (
            f"{head} — the most frequent role on {deals} ({self.share_of_won:.0%}); "
            "no persona's lift passed the evidence bar"
        )


@dataclass
class PersonaProfiles:
    """Persona profiles per group, the primary persona and the long table of tested personas."""

    groups: list[GroupProfile]
    primary: PrimaryPersona | None
    stats: pd.DataFrame
    min_support: int
    link: str  # "deal" or "account": how contacts were tied to deals
    contacts: int
    contacts_on_closed: int
    conversations_used: int = 0
    pains_source: str = ""
    warnings: list[str] = field(default_factory=list)

    def group(self, key: str) -> GroupProfile | None:
        return next((g for g in self.groups if g.key == key), None)

    def statement_persona(self) -> str:
        if self.primary is None:
            return "to be confirmed in interviews (no contact on a won deal)"
        return self.primary.sentence(plain=True)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the stats table, JSON-ready (the ``personas`` workspace artifact)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("stats", "groups", "primary")}
        out["alpha"] = ALPHA
        out["groups"] = [
            {**asdict(g), "win_rate": g.win_rate, "label": g.label} for g in self.groups
        ]
        out["primary"] = None
        if self.primary is not None:
            p = self.primary
            out["primary"] = {**asdict(p), "label": p.label, "sentence": p.sentence()}
        return _num(out)  # type: ignore[no-any-return]

    def to_icp(self) -> dict[str, Any]:
        """The ``personas`` section of icp.yaml: the primary persona and a short card per role and group."""
        out: dict[str, Any] = {
            "method": (
                "DMU roles from explicit deal roles, else from title function x seniority; lift = "
                "win rate of closed deals with the role vs without (shrunk), Fisher's exact test, "
                f"Benjamini-Hochberg q < {ALPHA} per group and n >= {self.min_support}"
            ),
            "min_support": self.min_support,
        }
        if self.primary is not None:
            p = self.primary
            out["primary"] = {
                "role": p.role,
                "functions": p.functions,
                "typical_function": p.typical_function,
                "seniority": p.seniority,
                "titles": p.titles,
                "group": p.group,
                "share_of_won": round(p.share_of_won, 4),
                **(
                    {"evidence": p.stat.evidence(), "rate_without": round(p.stat.rate_without, 4)}
                    if p.stat is not None
                    else {}
                ),
                "reason": p.reason,
            }
        groups: dict[str, Any] = {}
        for g in self.groups:
            if g.deals:
                groups[g.key] = {
                    "deals": g.deals,
                    "wins": g.wins,
                    "roles": [_icp_role(r) for r in g.roles],
                }
        out["groups"] = groups
        return out


def _icp_role(r: RoleProfile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "role": r.role,
        "share_of_won": round(r.share_of_won, 4),
        "function": r.function,
        "seniority": r.seniority,
        "titles": [t for t, _ in r.titles[:3]],
    }
    if r.stat is not None:
        entry["evidence"] = r.stat.evidence()
        entry["rate_without"] = round(r.stat.rate_without, 4)
        if r.stat.flag:
            entry["flag"] = r.stat.flag
    sig = [s for s in r.by_function if s.significant and s.lift is not None]
    if sig:
        entry["significant_functions"] = [
            f"{function_label(s.function or '')}: lift {s.lift:.2f}x, n={s.n}, {q_is(s.q_value)}"
            for s in sig
        ]
    if r.pains:
        entry["pains"] = [p.phrase for p in r.pains]
    return entry


# -- statistics --------------------------------------------------------------------------------


def _closed_deals(deals: pd.DataFrame, scores: pd.DataFrame | None) -> pd.DataFrame:
    d = deals.assign(_outcome=deals["outcome"].map(_outcome))
    d = d[d["_outcome"].isin(["won", "lost"])].reset_index(drop=True)
    d["deal_id"] = d["deal_id"].astype(str)
    d["account_id"] = d["account_id"].astype(str)
    d["won"] = d["_outcome"].eq("won").to_numpy()
    d["tier"] = "none"
    if scores is not None and len(scores) and "tier" in scores.columns:
        tiers = dict(zip(scores["account_id"].astype(str), scores["tier"].astype(str), strict=True))
        d["tier"] = d["account_id"].map(tiers).fillna("none")
    return d


def _links(roles: pd.DataFrame, closed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(contact row, closed deal position ``_d``) pairs: by deal_id, else by account."""
    pos = pd.DataFrame(
        {"deal_id": closed["deal_id"], "account_id": closed["account_id"], "_d": closed.index}
    )
    if "deal_id" in roles.columns and roles["deal_id"].notna().any():
        c = roles[roles["deal_id"].notna()]
        c = c.assign(deal_id=c["deal_id"].astype(str))
        return c.merge(pos[["deal_id", "_d"]], on="deal_id", how="inner"), "deal"
    c = roles.assign(account_id=roles["account_id"].astype(str))
    return c.merge(pos[["account_id", "_d"]], on="account_id", how="inner"), "account"


def _test(
    group: str, role: str, function: str | None, hit: np.ndarray, won: np.ndarray
) -> RoleStat | None:
    n = int(hit.sum())
    if n < MIN_TEST_N or n == len(won):
        return None
    k = int(won[hit].sum())
    n0, k0 = int((~hit).sum()), int(won[~hit].sum())
    total_won = int(won.sum())
    lo, hi = wilson(k, n)
    rate_wo = k0 / n0
    shr = float(shrink(np.array([k]), np.array([n]), rate_wo, SHRINK_KAPPA)[0])
    return RoleStat(
        group=group,
        role=role,
        function=function,
        n=n,
        wins=k,
        win_rate=k / n,
        ci_low=float(lo),
        ci_high=float(hi),
        n_without=n0,
        rate_without=rate_wo,
        lift=(shr / rate_wo) if rate_wo > 0 else None,
        p_value=float(stats.fisher_exact([[k, n - k], [k0, n0 - k0]]).pvalue),
        share_of_won=k / total_won if total_won else 0.0,
    )


def _mode(values: pd.Series) -> tuple[str, float]:
    """The commonest known value and its share of all values."""
    vals = values[values.notna() & (values != "unknown")]
    if not len(vals):
        return "unknown", 0.0
    counts = vals.value_counts()
    return str(counts.index[0]), float(counts.iloc[0] / len(values))


def _top_titles(people: pd.DataFrame, k: int) -> list[tuple[str, int]]:
    titles = Counter(t for t in people["title_normalized"].tolist() if isinstance(t, str) and t)
    return titles.most_common(k)


def _entry_fraction(
    conversations: pd.DataFrame, roles: pd.DataFrame, deals: pd.DataFrame
) -> pd.Series:
    """Per contact on a deal: how far into the deal (0 created, 1 closed) they first speak."""
    if (
        not {"contact_id", "occurred_at"} <= set(conversations.columns)
        or not {"contact_id", "deal_id"} <= set(roles.columns)
        or not {"created_at", "closed_at"} <= set(deals.columns)
    ):
        return pd.Series(dtype=float)
    conv = conversations[["contact_id", "occurred_at"]].dropna()
    first = conv.groupby(conv["contact_id"].astype(str))["occurred_at"].min()
    d = deals[["deal_id", "created_at", "closed_at"]].dropna()
    m = roles[["contact_id", "deal_id"]].dropna().astype(str)
    m = m.merge(d.assign(deal_id=d["deal_id"].astype(str)), on="deal_id")
    start = pd.to_datetime(m["created_at"])
    span = (pd.to_datetime(m["closed_at"]) - start).dt.days
    frac = (pd.to_datetime(m["contact_id"].map(first)) - start).dt.days / span.where(span > 0)
    ok = frac.between(0, 1)
    return pd.Series(frac[ok].to_numpy(), index=m.loc[ok, "contact_id"].to_numpy())


# -- pains -------------------------------------------------------------------------------------


def _log_odds_z(y_a: int, n_a: int, y_b: int, n_b: int, alpha: float = 0.5) -> float:
    a1, a0 = y_a + alpha, max(n_a - y_a, 0) + alpha
    b1, b0 = y_b + alpha, max(n_b - y_b, 0) + alpha
    return (math.log(a1 / a0) - math.log(b1 / b0)) / math.sqrt(1 / a1 + 1 / a0 + 1 / b1 + 1 / b0)


def _quote(texts: Iterable[str], phrase: str, max_len: int = 180) -> str:
    """The sentence containing ``phrase`` heard most often (the shortest on ties)."""
    pat = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", re.IGNORECASE)
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(s.strip() for s in _SENT.findall(t) if pat.search(s))
    if not counts:
        return ""
    best = min(counts.items(), key=lambda kv: (-kv[1], len(kv[0])))[0]
    return best if len(best) <= max_len else best[: max_len - 1].rstrip() + "…"


class _PainFinder:
    """Top phrases of some customer texts, checked against every other customer text."""

    def __init__(self, texts: pd.Series, accounts: pd.Series) -> None:
        self.texts = texts.fillna("").astype(str).tolist()
        self.lower = [t.lower() for t in self.texts]
        self.accounts = accounts.astype(str).tolist()
        self._masks: dict[str, np.ndarray] = {}
        self.source = "icpkit.voc key phrases"

    def _mask(self, phrase: str) -> np.ndarray:
        m = self._masks.get(phrase)
        if m is None:
            pat = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")
            m = np.fromiter(
                (phrase in t and pat.search(t) is not None for t in self.lower),
                dtype=bool,
                count=len(self.lower),
            )
            self._masks[phrase] = m
        return m

    def _candidates(self, rows: np.ndarray) -> list[tuple[str, int, int]]:
        from icpkit.voc.themes import key_phrases  # scikit-learn, loaded only when pains are sought

        texts = [self.texts[i] for i in rows]
        accs = [self.accounts[i] for i in rows]
        found = [
            (t.phrase, t.passages, t.accounts) for t in key_phrases(texts, top=30, accounts=accs)
        ]
        multi = [c for c in found if " " in c[0] and not all(w in _CHATTER for w in c[0].split())]
        return multi or [c for c in found if c[0] not in _CHATTER]

    def pains(self, rows: np.ndarray, top: int = 3) -> list[Pain]:
        """Up to ``top`` phrases over-represented in these texts, the most heard first; when
        none is, the single most heard phrase (marked not distinctive)."""
        if len(rows) < 3:
            return []
        inside = np.zeros(len(self.texts), dtype=bool)
        inside[rows] = True
        n_in, n_out = int(inside.sum()), int((~inside).sum())
        scored = []
        for phrase, passages, n_acc in self._candidates(rows):
            m = self._mask(phrase)
            y_in, y_out = int((m & inside).sum()), int((m & ~inside).sum())
            if y_in >= 2:
                z = _log_odds_z(y_in, n_in, y_out, n_out) if n_out else 0.0
                scored.append((phrase, max(passages, y_in), n_acc, z >= PAIN_Z, m & inside))
        scored.sort(key=lambda t: (not t[3], -t[1]))
        out: list[Pain] = []
        for phrase, passages, n_acc, distinctive, where in scored:
            if (not distinctive and out) or len(out) >= top:
                break
            if any(phrase in p.phrase or p.phrase in phrase for p in out):
                continue
            quote = _quote((self.texts[i] for i in np.flatnonzero(where)), phrase)
            if quote and all(quote != p.quote for p in out):
                out.append(
                    Pain(phrase, passages, n_acc, round(passages / n_in, 4), quote, distinctive)
                )
                if not distinctive:
                    break
        return out


# -- building ----------------------------------------------------------------------------------


@dataclass
class _Deals:
    """Closed deals, the contacts tied to them and who is on which deal."""

    closed: pd.DataFrame
    won: np.ndarray
    pairs: pd.DataFrame  # contact row (``_row``) x closed deal position (``_d``)
    hits: dict[tuple[str, str | None], np.ndarray]  # persona -> on which closed deals

    def mask(self, tier: str | None) -> np.ndarray:
        if tier is None:
            return np.ones(len(self.closed), dtype=bool)
        return self.closed["tier"].eq(tier).to_numpy()

    def people(self, mask: np.ndarray, role: str, won_only: bool = True) -> pd.DataFrame:
        d = self.pairs["_d"].to_numpy()
        keep = mask[d] & (self.pairs["_role"] == role).to_numpy()
        if won_only:
            keep &= self.won[d]
        return self.pairs[keep]


def _customer_texts(
    conversations: pd.DataFrame | None, roles: pd.DataFrame, warnings: list[str]
) -> pd.DataFrame:
    """Customer-side conversations by contacts, with the speaker's role (``_role``)."""
    if conversations is None or not len(conversations) or "contact_id" not in conversations:
        return pd.DataFrame(columns=["contact_id", "account_id", "text", "_role"])
    cust = conversations[conversations["contact_id"].notna() & conversations["text"].notna()]
    if "speaker" in cust.columns:
        spk = cust["speaker"].fillna("").astype(str).str.strip().str.lower()
        cust = cust[~spk.isin(SELLER_SPEAKERS)]
    cust = cust.assign(contact_id=cust["contact_id"].astype(str)).reset_index(drop=True)
    if "account_id" not in cust.columns:
        cust["account_id"] = ""
    who: dict[str, str] = {}
    if "contact_id" in roles.columns:
        who = dict(zip(roles["contact_id"].astype(str), roles["_role"], strict=True))
    cust["_role"] = cust["contact_id"].map(who)
    stray = cust["_role"].isna()
    if stray.any():
        warnings.append(
            f"personas: {int(stray.sum())} customer conversation(s) name contacts not in the contacts "
            f"file (e.g. {cust.loc[stray, 'contact_id'].drop_duplicates().head(3).tolist()}); "
            "left out of the pains"
        )
    return cust


def build_profiles(
    roles: pd.DataFrame,
    deals: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    conversations: pd.DataFrame | None = None,
    *,
    min_support: int | None = None,
    alpha: float = ALPHA,
    n_titles: int = 5,
) -> PersonaProfiles:
    """Persona profiles per ICP tier, for the negative ICP and over all closed deals.

    Parameters
    ----------
    roles : DataFrame
        Contacts with roles, as :func:`icpkit.personas.hooks.contact_roles`
        returns them: ``account_id``, ``function``, ``seniority``,
        ``dmu_role_blind`` (or ``dmu_role``), optionally ``contact_id``,
        ``title_normalized`` and ``deal_id`` (without it a contact is tied to
        every closed deal of its account).
    deals : DataFrame
        ``deal_id``, ``account_id``, ``outcome`` (and ``created_at``,
        ``closed_at`` to measure when people first speak in a deal).
    scores : DataFrame, optional
        ``account_id`` and ``tier`` ('1', '2', '3', 'none', 'excluded');
        without it only "All deals" has deals.
    conversations : DataFrame, optional
        ``contact_id``, ``account_id``, ``text``, optionally ``speaker`` and
        ``occurred_at``: each role's pains in its own words.
    min_support : int, optional
        Closed deals needed behind a lift; by default as the core (30, or 5%
        of closed deals for small data).
    """
    warnings: list[str] = []
    closed = _closed_deals(deals, scores)
    won = closed["won"].to_numpy(dtype=bool)
    ms = int(min_support or min_support_for(len(closed)))
    r = roles.reset_index(drop=True)
    role_col = "dmu_role_blind" if "dmu_role_blind" in r.columns else "dmu_role"
    r = r.assign(_role=r[role_col].astype(str), _row=np.arange(len(r)))
    if "title_normalized" not in r.columns:
        titles = r["title"] if "title" in r.columns else pd.Series([None] * len(r))
        r["title_normalized"] = normalize_titles(titles)["title"].to_numpy()
    pairs, link = _links(r, closed)
    if link == "account" and len(pairs):
        warnings.append(
            "personas: contacts have no deal_id, so each is tied to every closed deal of its account"
        )
    pairs = pairs[pairs["_role"].isin(PROFILE_ROLES)]
    hits: dict[tuple[str, str | None], np.ndarray] = {}
    for (role, fn), g in pairs.groupby(["_role", "function"], sort=True):
        h = np.zeros(len(closed), dtype=bool)
        h[g["_d"].to_numpy()] = True
        hits[(str(role), None)] = hits.get((str(role), None), np.zeros(len(closed), bool)) | h
        if fn not in ("unknown", "other"):  # not a persona of its own
            hits[(str(role), str(fn))] = h
    data = _Deals(closed, won, pairs, hits)

    has_conv = conversations is not None and len(conversations) > 0
    entry = _entry_fraction(conversations, r, deals) if has_conv else pd.Series(dtype=float)  # type: ignore[arg-type]
    cust = _customer_texts(conversations, r, warnings)
    finder = _PainFinder(cust["text"], cust["account_id"]) if len(cust) else None

    groups: list[GroupProfile] = []
    all_stats: list[RoleStat] = []
    for key, label, tier in GROUPS:
        mask = data.mask(tier)
        g = GroupProfile(
            key=key,
            label=label,
            deals=int(mask.sum()),
            wins=int(won[mask].sum()),
            accounts=int(closed.loc[mask, "account_id"].nunique()),
        )
        groups.append(g)
        if not g.deals:
            g.note = f"no closed deal with an account in {label}"
            continue
        tested = [
            s for (role, fn), h in hits.items() if (s := _test(key, role, fn, h[mask], won[mask]))
        ]
        q = bh(np.array([s.p_value for s in tested], dtype=float))
        for s, qv in zip(tested, q, strict=True):
            s.q_value = float(qv)
            s.significant = bool(qv < alpha and s.n >= ms)
            s.flag = f"small sample (n={s.n} < {ms})" if s.n < ms else ""
        all_stats.extend(tested)
        in_group = cust["account_id"].astype(str).isin(set(closed.loc[mask, "account_id"]))
        for role in PROFILE_ROLES:
            on = hits.get((role, None))
            if on is None or not on[mask].any():
                continue
            card = _card(data, mask, g, role, tested, n_titles)
            ids = (
                set(data.people(mask, role, won_only=False)["contact_id"].astype(str))
                if "contact_id" in r.columns
                else set()
            )
            late = entry[entry.index.isin(ids)]
            if len(late) >= MIN_TEST_N:
                card.late_n, card.late_share = len(late), float((late >= LATE_FRACTION).mean())
            if finder is not None:
                card.pains = finder.pains(np.flatnonzero((cust["_role"] == role) & in_group))
            g.roles.append(card)

    table = pd.DataFrame([asdict(s) for s in all_stats])
    if len(table):
        table.insert(3, "persona", [s.label for s in all_stats])
        table = table.sort_values(
            ["group", "significant", "q_value"], ascending=[True, False, True]
        ).reset_index(drop=True)
    prof = PersonaProfiles(
        groups=groups,
        primary=None,
        stats=table,
        min_support=ms,
        link=link,
        contacts=len(r),
        contacts_on_closed=int(pairs["_row"].nunique()),
        conversations_used=len(cust),
        pains_source=finder.source if finder is not None else "",
        warnings=warnings,
    )

    def people(gkey: str, role: str, functions: list[str]) -> tuple[str, list[str], float]:
        mask = data.mask(dict((k, t) for k, _, t in GROUPS)[gkey])
        on_won = data.people(mask, role)
        if functions:
            on_won = on_won[on_won["function"].isin(functions)]
        wins = int((mask & won).sum())
        share = on_won["_d"].nunique() / wins if wins else 0.0
        sel = on_won.drop_duplicates("_row")
        return _mode(sel["seniority"])[0], [t for t, _ in _top_titles(sel, 3)], share

    prof.primary = choose_primary(prof, all_stats, people)
    return prof


def _card(
    data: _Deals,
    mask: np.ndarray,
    g: GroupProfile,
    role: str,
    tested: list[RoleStat],
    n_titles: int,
) -> RoleProfile:
    """A role's card in one group: how often on won deals, lift, who they are."""
    won_deals = int((data.hits[(role, None)] & mask & data.won).sum())
    people = data.people(mask, role).drop_duplicates("_row")
    if not len(people):
        people = data.people(mask, role, won_only=False).drop_duplicates("_row")
    fn, fn_share = _mode(people["function"])
    sen, sen_share = _mode(people["seniority"])
    mine = [s for s in tested if s.role == role]
    return RoleProfile(
        role=role,
        won_deals=won_deals,
        share_of_won=won_deals / g.wins if g.wins else 0.0,
        stat=next((s for s in mine if s.function is None), None),
        by_function=sorted(
            (s for s in mine if s.function is not None),
            key=lambda s: (not s.significant, -s.share_of_won),
        ),
        function=fn,
        function_share=fn_share,
        seniority=sen,
        seniority_share=sen_share,
        titles=_top_titles(people, n_titles),
        contacts=int(data.people(mask, role, won_only=False)["_row"].nunique()),
    )


# -- the primary persona -----------------------------------------------------------------------

People = Callable[[str, str, list[str]], tuple[str, list[str], float]]


def choose_primary(
    prof: PersonaProfiles, stats_: list[RoleStat], people: People | None = None
) -> PrimaryPersona | None:
    """The champion persona with the highest significant lift in Tier 1 (else over all deals),
    else the persona with the highest significant lift, else the most frequent role on won deals.

    ``people(group, role, functions) -> (seniority, titles, share of won deals)``
    describes the chosen persona's people (any function when ``functions`` is
    empty); by default the role's card does.
    """
    order = [k for k in ("tier_1", "all") if (g := prof.group(k)) is not None and g.wins]
    rules: list[tuple[str, Callable[[RoleStat], bool]]] = [
        (
            "champion persona with the highest significant win-rate lift",
            lambda s: s.role == "champion",
        ),
        ("persona with the highest significant win-rate lift", lambda s: s.role != "blocker"),
    ]
    for why, keep in rules:
        for gkey in order:
            cands = [
                s
                for s in stats_
                if s.group == gkey and s.significant and (s.lift or 0) > 1 and keep(s)
            ]
            if cands:
                best = max(cands, key=lambda s: (s.lift or 0, s.n))
                return _primary(prof, gkey, best, f"the {why} {_in(gkey, prof)}", people=people)
    for gkey in order:
        grp = prof.group(gkey)
        cards = [c for c in (grp.roles if grp else []) if c.won_deals and c.role != "blocker"]
        if cards:
            top = max(cards, key=lambda c: (c.share_of_won, c.role == "champion"))
            why = f"the most frequent role on won deals {_in(gkey, prof)}; no persona's lift passed the evidence bar"
            return _primary(prof, gkey, None, why, role=top.role, people=people)
    return None


def _in(gkey: str, prof: PersonaProfiles) -> str:
    g = prof.group(gkey)
    return "over all closed deals" if gkey == "all" or g is None else f"in {g.label}"


def _primary(
    prof: PersonaProfiles,
    gkey: str,
    best: RoleStat | None,
    reason: str,
    *,
    role: str | None = None,
    people: People | None = None,
) -> PrimaryPersona:
    g = prof.group(gkey)
    assert g is not None
    role = best.role if best is not None else (role or "champion")
    card = g.role(role)
    assert card is not None
    functions: list[str] = []
    if best is not None and best.function is not None:
        # with every other function of the role whose lift is significantly above 1
        more = sorted(
            (s for s in card.by_function if s.significant and (s.lift or 0) > 1),
            key=lambda s: -(s.lift or 0),
        )
        functions = [best.function] + [
            s.function for s in more if s.function and s.function != best.function
        ]
    seniority, titles = card.seniority, [t for t, _ in card.titles[:3]]
    share = card.share_of_won
    if people is not None:
        seniority, titles, share = people(gkey, role, functions)
    return PrimaryPersona(
        role=role,
        functions=functions,
        typical_function=card.function,
        seniority=seniority,
        titles=titles,
        group=gkey,
        group_label=g.label,
        share_of_won=share,
        stat=best,
        reason=reason,
    )
