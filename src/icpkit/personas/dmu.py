"""Decision-making-unit (DMU) roles: who on a deal is the champion, the economic
buyer, the technical buyer, an end user or a blocker.

An explicit role on the deal (a CRM contact role) is used when its label is
recognised; otherwise the role is inferred from the contact's function and
seniority (from the title, see :mod:`icpkit.personas.titles`) and from how the
contact was involved in deals. The label vocabulary and the inference rules are
data, in ``dmu_rules.yaml`` beside this module.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from icpkit.personas.titles import FUNCTIONS, SENIORITIES, normalize_title, normalize_titles
from icpkit.schema import LOST_LABELS, OPEN_LABELS, WON_LABELS, normalize_name

DMU_ROLES: tuple[str, ...] = (
    "champion",
    "economic_buyer",
    "technical_buyer",
    "end_user",
    "blocker",
    "influencer",
    "unknown",
)
RULES_PATH = Path(__file__).with_name("dmu_rules.yaml")
USER_FUNCTIONS = "$user"
_INVOLVEMENTS = ("lost_only",)


@dataclass(frozen=True)
class DmuRule:
    """One inference rule; an empty condition matches anything."""

    role: str
    functions: tuple[str, ...] | None = None  # None: any; ("$user",): the user functions
    seniorities: tuple[str, ...] | None = None
    involvement: str | None = None


@dataclass
class DmuRules:
    """DMU rules loaded from YAML (see ``dmu_rules.yaml`` for the format)."""

    role_labels: dict[str, str] = field(default_factory=dict)  # folded label -> role
    seniority_labels: dict[str, str] = field(default_factory=dict)
    user_functions: tuple[str, ...] = ()
    user_function_min_share: float = 0.2
    never_user_functions: frozenset[str] = frozenset()
    rules: tuple[DmuRule, ...] = ()
    default_role: str = "influencer"


def _fold(text: Any) -> str:
    text = unicodedata.normalize("NFKD", str(text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.split(r"[^a-z0-9]+", text)).strip()


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def load_dmu_rules(path: str | Path | None = None) -> DmuRules:
    """Load DMU rules from a YAML file (the packaged ``dmu_rules.yaml`` by default)."""
    raw: dict[str, Any] = yaml.safe_load(Path(path or RULES_PATH).read_text("utf-8")) or {}
    out = DmuRules()
    for role, labels in (raw.get("deal_role_labels") or {}).items():
        _check(role, DMU_ROLES, "role")
        out.role_labels.update({_fold(label): role for label in labels or ()})
    for level, labels in (raw.get("seniority_labels") or {}).items():
        _check(level, SENIORITIES, "seniority")
        out.seniority_labels.update({_fold(label): level for label in labels or ()})
    out.user_functions = tuple(raw.get("user_functions") or ())
    out.user_function_min_share = float(raw.get("user_function_min_share", 0.2))
    out.never_user_functions = frozenset(raw.get("never_user_functions") or ())
    rules = []
    for entry in raw.get("rules") or ():
        rule = DmuRule(
            role=entry["role"],
            functions=_as_tuple(entry.get("functions")),
            seniorities=_as_tuple(entry.get("seniorities")),
            involvement=entry.get("involvement"),
        )
        _check(rule.role, DMU_ROLES, "role")
        for fn in rule.functions or ():
            if fn != USER_FUNCTIONS:
                _check(fn, FUNCTIONS, "function")
        for level in rule.seniorities or ():
            _check(level, SENIORITIES, "seniority")
        if rule.involvement is not None:
            _check(rule.involvement, _INVOLVEMENTS, "involvement")
        rules.append(rule)
    out.rules = tuple(rules)
    out.default_role = raw.get("default_role", "influencer")
    _check(out.default_role, DMU_ROLES, "role")
    for fn in (*out.user_functions, *out.never_user_functions):
        _check(fn, FUNCTIONS, "function")
    return out


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"DMU rules: unknown {what} {value!r}; expected one of {allowed}")


@lru_cache(maxsize=1)
def default_dmu_rules() -> DmuRules:
    """The packaged DMU rules, loaded once."""
    return load_dmu_rules()


def normalize_deal_role(label: Any, rules: DmuRules | None = None) -> str | None:
    """Map a CRM contact-role label to a DMU role, or None when it is blank or unknown.

    ``"Decision Maker"`` -> ``economic_buyer``, ``"Technical Evaluator"`` ->
    ``technical_buyer``, ``"User"`` -> ``end_user``.
    """
    if label is None or (not isinstance(label, str) and pd.isna(label)):
        return None
    rules = rules or default_dmu_rules()
    return _deal_role(_fold(label), rules)


@lru_cache(maxsize=4096)
def _deal_role_cached(text: str, labels: tuple[tuple[str, str], ...]) -> str | None:
    table = dict(labels)
    if not text:
        return None
    if text in table:
        return table[text]
    if text.replace(" ", "_") in DMU_ROLES:
        return text.replace(" ", "_")
    close = difflib.get_close_matches(text, list(table), n=1, cutoff=0.85)
    if close:
        return table[close[0]]
    padded = f" {text} "
    contained = [label for label in table if f" {label} " in padded]
    if contained:
        return table[max(contained, key=len)]
    return None


def _deal_role(text: str, rules: DmuRules) -> str | None:
    return _deal_role_cached(text, tuple(sorted(rules.role_labels.items())))


def _seniority_from_label(value: Any, rules: DmuRules) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "unknown"
    text = _fold(value)
    if text.replace(" ", "_") in SENIORITIES:
        return text.replace(" ", "_")
    if text in rules.seniority_labels:
        return rules.seniority_labels[text]
    return normalize_title(str(value)).seniority


def _outcome(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    key = normalize_name(str(value))
    if key in WON_LABELS:
        return "won"
    if key in LOST_LABELS:
        return "lost"
    if key in OPEN_LABELS:
        return "open"
    return None


def _lost_only(contacts: pd.DataFrame, deals: pd.DataFrame | None) -> pd.Series:
    """True for rows whose contact is on at least one deal and on lost deals only."""
    result = pd.Series(False, index=contacts.index)
    if deals is None or "deal_id" not in contacts or "deal_id" not in deals:
        return result
    if "outcome" not in deals:
        return result
    outcome = dict(zip(deals["deal_id"].astype(str), deals["outcome"].map(_outcome), strict=True))
    row_outcome = [None if pd.isna(d) else outcome.get(str(d)) for d in contacts["deal_id"]]
    # a contact may have one row per deal: group rows by contact_id (a row without one
    # stands alone)
    ids = contacts["contact_id"].tolist() if "contact_id" in contacts else [None] * len(contacts)
    keys = [
        ("row", pos) if cid is None or pd.isna(cid) else ("id", str(cid))
        for pos, cid in enumerate(ids)
    ]
    per_contact: dict[Any, set[Any]] = {}
    for k, o in zip(keys, row_outcome, strict=True):
        per_contact.setdefault(k, set()).add(o)
    return pd.Series([per_contact[k] == {"lost"} for k in keys], index=contacts.index)


def _user_functions(
    functions: pd.Series, contacts: pd.DataFrame, deals: pd.DataFrame | None, rules: DmuRules
) -> tuple[str, ...]:
    """The functions that use the product: configured, or the commonest on won deals."""
    if rules.user_functions:
        return rules.user_functions
    pool = functions
    if deals is not None and "outcome" in deals:
        won = deals[deals["outcome"].map(_outcome) == "won"]
        on_won = None
        if "deal_id" in contacts and "deal_id" in won:
            on_won = contacts["deal_id"].astype(str).isin(set(won["deal_id"].astype(str)))
        elif "account_id" in contacts and "account_id" in won:
            on_won = contacts["account_id"].astype(str).isin(set(won["account_id"].astype(str)))
        if on_won is not None and on_won.any():
            pool = functions[on_won.to_numpy()]
    counts = Counter(f for f in pool.tolist() if f not in rules.never_user_functions)
    if not counts:
        return ()
    total = sum(counts.values())
    ranked = counts.most_common()
    chosen = [f for f, n in ranked if n / total >= rules.user_function_min_share]
    return tuple(chosen or [ranked[0][0]])


def _infer(
    function: str, seniority: str, lost_only: bool, user_fns: tuple[str, ...], rules: DmuRules
) -> str:
    for rule in rules.rules:
        if rule.functions is not None:
            allowed = {f for f in rule.functions if f != USER_FUNCTIONS}
            if USER_FUNCTIONS in rule.functions:
                allowed.update(user_fns)
            if function not in allowed:
                continue
        if rule.seniorities is not None and seniority not in rule.seniorities:
            continue
        if rule.involvement == "lost_only" and not lost_only:
            continue
        return rule.role
    if function == "unknown" and seniority == "unknown":
        return "unknown"
    return rules.default_role


def infer_roles(
    contacts: pd.DataFrame,
    deals: pd.DataFrame | None = None,
    *,
    user_functions: list[str] | tuple[str, ...] | None = None,
    rules: DmuRules | None = None,
) -> pd.DataFrame:
    """Add ``function``, ``seniority``, ``dmu_role`` and ``dmu_role_source`` to contacts.

    ``contacts`` has the canonical contact columns (``title``, and optionally
    ``department``, ``seniority``, ``deal_id``, ``deal_role``); ``deals`` has
    ``deal_id`` and ``outcome`` (won/lost/open or a CRM stage label).

    - ``function`` comes from the title, else from the department.
    - ``seniority`` comes from a recognised ``seniority`` column, else from the
      title; the original column is kept as ``seniority_raw``.
    - ``dmu_role`` is the explicit ``deal_role`` when its label is recognised
      (``dmu_role_source`` = "explicit"), else inferred with the rules
      ("inferred"). ``user_functions`` names the functions that use the product;
      by default they are taken from the rules file or from the data.

    Returns a copy; rows and index are kept.
    """
    rules = rules or default_dmu_rules()
    out = contacts.copy()
    n = len(out)
    titles = out["title"] if "title" in out else pd.Series([None] * n, index=out.index)
    parsed = normalize_titles(titles)
    function = parsed["function"].copy()
    if "department" in out:
        dept = normalize_titles(out["department"])["function"]
        fill = function.isin(("unknown", "other")) & ~dept.isin(("unknown", "other"))
        function[fill] = dept[fill]
    seniority = parsed["seniority"].copy()
    if "seniority" in out:
        given = out["seniority"].map(lambda v: _seniority_from_label(v, rules))
        known = given != "unknown"
        seniority[known] = given[known]
        out["seniority_raw"] = out["seniority"]

    if user_functions is not None:
        user_fns = tuple(user_functions)
        for fn in user_fns:
            _check(fn, FUNCTIONS, "function")
    else:
        user_fns = _user_functions(function, out, deals, rules)
    lost_only = _lost_only(out, deals)

    labels = out["deal_role"].tolist() if "deal_role" in out else [None] * n
    explicit = [normalize_deal_role(v, rules) for v in labels]
    roles, sources = [], []
    for fn, sen, lost, given_role in zip(
        function.tolist(), seniority.tolist(), lost_only.tolist(), explicit, strict=True
    ):
        if given_role is not None:
            roles.append(given_role)
            sources.append("explicit")
        else:
            roles.append(_infer(fn, sen, lost, user_fns, rules))
            sources.append("inferred")
    out["function"] = function.to_numpy()
    out["seniority"] = seniority.to_numpy()
    out["dmu_role"] = roles
    out["dmu_role_source"] = sources
    out.attrs["user_functions"] = list(user_fns)
    return out
