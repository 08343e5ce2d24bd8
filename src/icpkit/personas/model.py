"""The persona profile model: a persona's evidence per group, its card, the groups, the primary
persona, and their JSON artifact and icp.yaml forms."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from icpkit.personas.dmu import DMU_ROLES
from icpkit.personas.labels import (
    ALPHA,
    function_label,
    persona_label,
    q_is,
    role_label,
    seniority_label,
)

# (key, label, tier value in the scores table; None = every closed deal)
GROUPS: tuple[tuple[str, str, str | None], ...] = (
    ("tier_1", "Tier 1", "1"),
    ("tier_2", "Tier 2", "2"),
    ("tier_3", "Tier 3", "3"),
    ("negative", "Negative ICP", "excluded"),
    ("all", "All deals", None),
)
PROFILE_ROLES = tuple(r for r in DMU_ROLES if r != "unknown")  # every known role


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
