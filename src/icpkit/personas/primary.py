"""The primary persona: the champion persona with the highest significant lift, with fallbacks."""

from __future__ import annotations

from collections.abc import Callable

from icpkit.personas.model import PersonaProfiles, PrimaryPersona, RoleStat

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
