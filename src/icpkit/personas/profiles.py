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

Here the profiles are built; the ideas they use live beside it: ``labels``
(how personas and q-values are written), ``model`` (the profile dataclasses and
their artifact and icp.yaml forms), ``rolestats`` (closed deals, who is on
which deal, the lift test), ``pains`` and ``primary``.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from icpkit.features import min_support_for
from icpkit.mining.stats import bh
from icpkit.personas.labels import ALPHA, fmt_q, function_label, q_is, role_label, seniority_label
from icpkit.personas.model import (
    GROUPS,
    PROFILE_ROLES,
    GroupProfile,
    PersonaProfiles,
    PrimaryPersona,
    RoleProfile,
    RoleStat,
)
from icpkit.personas.pains import PainFinder, customer_texts
from icpkit.personas.primary import choose_primary
from icpkit.personas.rolestats import (
    LATE_FRACTION,
    MIN_TEST_N,
    ClosedDeals,
    closed_deals,
    commonest,
    contact_links,
    entry_fraction,
    role_stat,
    top_titles,
)
from icpkit.personas.titles import normalize_titles

__all__ = [  # the labels are also importable from here, as before the split
    "PersonaProfiles",
    "PrimaryPersona",
    "RoleStat",
    "build_profiles",
    "fmt_q",
    "function_label",
    "q_is",
    "role_label",
    "seniority_label",
]


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
    closed = closed_deals(deals, scores)
    won = closed["won"].to_numpy(dtype=bool)
    ms = int(min_support or min_support_for(len(closed)))
    r = roles.reset_index(drop=True)
    role_col = "dmu_role_blind" if "dmu_role_blind" in r.columns else "dmu_role"
    r = r.assign(_role=r[role_col].astype(str), _row=np.arange(len(r)))
    if "title_normalized" not in r.columns:
        titles = r["title"] if "title" in r.columns else pd.Series([None] * len(r))
        r["title_normalized"] = normalize_titles(titles)["title"].to_numpy()
    pairs, link = contact_links(r, closed)
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
    data = ClosedDeals(closed, won, pairs, hits)

    has_conv = conversations is not None and len(conversations) > 0
    entry = entry_fraction(conversations, r, deals) if has_conv else pd.Series(dtype=float)  # type: ignore[arg-type]
    cust = customer_texts(conversations, r, warnings)
    finder = PainFinder(cust["text"], cust["account_id"]) if len(cust) else None

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
            s
            for (role, fn), h in hits.items()
            if (s := role_stat(key, role, fn, h[mask], won[mask]))
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
        return commonest(sel["seniority"])[0], [t for t, _ in top_titles(sel, 3)], share

    prof.primary = choose_primary(prof, all_stats, people)
    return prof


def _card(
    data: ClosedDeals,
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
    fn, fn_share = commonest(people["function"])
    sen, sen_share = commonest(people["seniority"])
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
        titles=top_titles(people, n_titles),
        contacts=int(data.people(mask, role, won_only=False)["_row"].nunique()),
    )
