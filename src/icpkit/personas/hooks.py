"""The personas step of ``icp build`` / ``icp run`` (and of ``icp personas``).

With contacts in the workspace: infer every contact's role, build the persona
profiles per tier and store them (table ``contacts_roles``, table
``persona_stats`` and the JSON artifact ``personas``). :func:`personas_step`
returns the profiles; :func:`with_persona` puts them into an ICP (``personas``
section, ``statement.persona`` and the statement's "Primary persona"
sentence). The build saves that ICP once, with every other section;
:func:`update_personas` (``icp personas``) saves it as its own version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from icpkit import icpfile
from icpkit.icpfile import ICP
from icpkit.personas.dmu import _infer, default_dmu_rules, infer_roles
from icpkit.personas.model import PersonaProfiles
from icpkit.personas.profiles import build_profiles
from icpkit.personas.titles import normalize_titles
from icpkit.workspace import Workspace

ARTIFACT = "personas"
_PERSONA_SENTENCE = re.compile(r"\s*Primary persona:.*\Z", re.DOTALL)
# Placeholders that mean "no title" (compared lower-case, punctuation as spaces).
BLANK_TITLES = frozenset(
    {"", "n a", "na", "none", "null", "nil", "tbd", "tba", "unknown", "nan", "x", "xx", "xxx"}
)
ROLE_COLUMNS = (
    "contact_id",
    "account_id",
    "deal_id",
    "title",
    "title_normalized",
    "department",
    "function",
    "seniority",
    "dmu_role",
    "dmu_role_source",
    "dmu_role_blind",
)


def _blank(value: Any) -> bool:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return True
    return " ".join(re.split(r"[^a-z0-9]+", str(value).casefold())).strip() in BLANK_TITLES


def _examples(values: Iterable[Any], k: int = 3) -> list[str]:
    return [str(v) for v in pd.unique(pd.Series(list(values), dtype=object))[:k]]


def contact_roles(
    contacts: pd.DataFrame, deals: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Normalise titles and infer DMU roles for every contact, with warnings for bad input.

    Returns one row per contact, in input order, with the columns of
    ``ROLE_COLUMNS`` the input allows: ``dmu_role`` is the role
    :func:`~icpkit.personas.dmu.infer_roles` gives (using deal involvement),
    ``dmu_role_blind`` the same without the lost-deal signal (used for win-rate
    lifts). Warnings count empty and unrecognised titles, unrecognised
    deal-role labels, contacts on deals not in ``deals`` and contacts without
    a deal, with examples. No contact is dropped.
    """
    warnings: list[str] = []
    c = contacts.reset_index(drop=True)
    n = len(c)
    roles = infer_roles(c, deals)
    user_fns = tuple(roles.attrs.get("user_functions", ()))
    titles = c["title"] if "title" in c.columns else pd.Series([None] * n, dtype=object)
    parsed = normalize_titles(titles)
    roles["title_normalized"] = parsed["title"].to_numpy()
    inferred = (roles["dmu_role_source"] == "inferred").to_numpy()
    blind = roles["dmu_role"].to_numpy(dtype=object, copy=True)
    rules = default_dmu_rules()
    blind[inferred] = [
        _infer(f, s, False, user_fns, rules)
        for f, s in zip(roles["function"][inferred], roles["seniority"][inferred], strict=True)
    ]
    roles["dmu_role_blind"] = blind

    blank = titles.map(_blank).to_numpy(dtype=bool)
    if blank.any():
        dept = int((blank & (roles["function"] != "unknown").to_numpy()).sum())
        warnings.append(
            f"contacts: {int(blank.sum())} of {n} have an empty title"
            + (f" ({dept} got a function from their department)" if dept else "")
            + "; their role comes from what else is known, else it is unknown"
        )
    garbage = ~blank & (parsed["confidence"] == 0).to_numpy()
    if garbage.any():
        warnings.append(
            f"contacts: {int(garbage.sum())} title(s) not recognised as any function or seniority "
            f"(e.g. {_examples(titles[garbage])}); add their words to title_rules.yaml if they are titles"
        )
    if "deal_role" in c.columns:
        given = (c["deal_role"].notna() & c["deal_role"].astype(str).str.strip().ne("")).to_numpy()
        odd = given & inferred
        if odd.any():
            warnings.append(
                f"contacts: {int(odd.sum())} deal-role label(s) not recognised "
                f"(e.g. {_examples(c.loc[odd, 'deal_role'])}); the role was inferred from the title"
            )
    if "deal_id" in c.columns:
        has_deal = c["deal_id"].notna().to_numpy()
        if deals is not None and "deal_id" in deals.columns:
            known = set(deals["deal_id"].astype(str))
            unknown = has_deal & ~c["deal_id"].astype(str).isin(known).to_numpy()
            if unknown.any():
                warnings.append(
                    f"contacts: {int(unknown.sum())} contact(s) point to deals not in the deals file "
                    f"(e.g. {_examples(c.loc[unknown, 'deal_id'])}); kept for titles, "
                    "left out of the win-rate lifts"
                )
        if has_deal.any() and not has_deal.all():
            warnings.append(
                f"contacts: {int((~has_deal).sum())} contact(s) have no deal_id; kept for titles, "
                "left out of the win-rate lifts"
            )
    if "contact_id" in c.columns and c["contact_id"].isna().any():
        warnings.append(f"contacts: {int(c['contact_id'].isna().sum())} contact(s) have no id")
    out = roles[[col for col in ROLE_COLUMNS if col in roles.columns]].copy()
    out.attrs["user_functions"] = list(user_fns)
    return out, warnings


@dataclass
class PersonasResult:
    profiles: PersonaProfiles | None
    warnings: list[str] = field(default_factory=list)
    icp_version: int | None = None  # the new icp.yaml version, when one was saved


def with_persona(icp: ICP, profiles: PersonaProfiles) -> ICP:
    """A copy of ``icp`` with the personas section and the primary persona in its statement."""
    new = icp.model_copy(deep=True)
    new.personas = icpfile.Personas.model_validate(profiles.to_icp())
    persona = profiles.statement_persona()
    sentence = f"Primary persona: {persona}."
    before = f"Primary persona: {icp.statement.persona}."
    text = new.statement.text
    if before in text:  # the slot as the statement spells it, wherever it sits
        new.statement.text = text.replace(before, sentence)
    else:  # a hand-edited slot runs to the end of the text; else there is none yet
        new.statement.text = f"{_PERSONA_SENTENCE.sub('', text).rstrip()} {sentence}"
    new.statement.persona = persona
    return new


def personas_step(ws: Workspace) -> PersonasResult:
    """Infer roles and build persona profiles; store the tables, return the profiles.

    Does nothing (and says so) when the workspace has no contacts. Saves no
    ICP version: the caller puts the profiles into its ICP with :func:`with_persona`.
    """
    if not ws.has("contacts"):
        return PersonasResult(None, ["personas skipped: no contacts (ingest them with --contacts)"])
    contacts = ws.table("contacts")
    deals = ws.table("deals") if ws.has("deals") else None
    roles, warnings = contact_roles(contacts, deals)
    if deals is None:
        ws.write({"contacts_roles": roles}, artifacts={"personas_warnings": "\n".join(warnings)})
        return PersonasResult(
            None, [*warnings, "personas: no deals, so roles were inferred but not profiled"]
        )
    profiles = build_profiles(
        roles,
        deals,
        ws.table("scores") if ws.has("scores") else None,
        ws.table("conversations") if ws.has("conversations") else None,
    )
    warnings += profiles.warnings
    if not ws.has("scores"):
        warnings.append(
            "personas: no scores yet (run `icp build`), so only 'all closed deals' is profiled"
        )
    profiles.warnings = warnings
    ws.write(
        {"contacts_roles": roles, "persona_stats": profiles.stats},
        artifacts={
            ARTIFACT: json.dumps(profiles.to_dict(), default=str),
            "personas_warnings": "\n".join(warnings),
        },
    )
    return PersonasResult(profiles, warnings)


def update_personas(ws: Workspace) -> PersonasResult:
    """``icp personas``: :func:`personas_step`, then record the personas in a new ICP version.

    A new version is saved only when the personas change the current ICP.
    """
    res = personas_step(ws)
    current = ws.icp_version()
    if res.profiles is None or current is None:
        return res
    icp = icpfile.loads(current, "icp.yaml")
    text = icpfile.dumps(with_persona(icp, res.profiles))
    if text != current:
        p = res.profiles.primary
        res.icp_version = ws.save_icp_version(
            text, note=f"personas: primary persona {p.label if p else 'to be confirmed'}"
        )
    return res
