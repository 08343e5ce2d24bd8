"""Personas: who the buyers are. Job-title normalisation and decision-making-unit roles."""

from icpkit.personas.dmu import DMU_ROLES, infer_roles, load_dmu_rules, normalize_deal_role
from icpkit.personas.titles import (
    FUNCTIONS,
    SENIORITIES,
    TitleInfo,
    TitleRules,
    load_title_rules,
    normalize_title,
    normalize_titles,
)

__all__ = [
    "DMU_ROLES",
    "FUNCTIONS",
    "SENIORITIES",
    "TitleInfo",
    "TitleRules",
    "infer_roles",
    "load_dmu_rules",
    "load_title_rules",
    "normalize_deal_role",
    "normalize_title",
    "normalize_titles",
]
