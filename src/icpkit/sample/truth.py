"""The planted truth of the sample company, its date range and the per-account flags
(``Truth``) that every later table is drawn from."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import pandas as pd

END_DATE = pd.Timestamp("2026-06-30")
START_DATE = pd.Timestamp("2024-07-01")
TABLE_NAMES = ("accounts", "deals", "contacts", "revenue", "events", "tickets", "conversations")

ICP_THEMES = [
    "manual spreadsheet reconciliation",
    "shipment visibility",
    "integration with snowflake",
]
NEG_THEMES = ["price too high", "procurement process", "budget freeze"]

PLANTED: dict[str, Any] = {
    "end_date": "2026-06-30",
    "icp": {
        "industry": ["logistics", "manufacturing"],
        "employees": [200, 2000],
        "tech_stack_has": "snowflake",
        "win_odds_ratio_at_least": 3.0,
        "shorter_sales_cycle": True,
        "more_expansion": True,
    },
    "negative": {
        "industry": ["government"],
        "employees_below": 20,
        "lost_reasons": ["price", "no decision"],
    },
    "persona": {
        "champion": ["operations", "data engineering"],
        "economic_buyer": ["finance"],
        "late_blocker": ["procurement", "legal"],
        "late_share_of_cycle": 1 / 6,
    },
    "trigger": {
        "types": ["funding_round", "executive_hire"],
        "window_days": 90,
        "noise_types": [
            "headcount_jump",
            "competitor_contract_end",
            "security_incident",
            "compliance_audit",
            "tech_adopted",
        ],
    },
    "upcoming_trigger": {"types": ["renewal"], "window_days": 60},
    "themes": {
        "icp": ICP_THEMES,
        "negative": NEG_THEMES,
        "icp_workaround": "spreadsheets",
        "everywhere": ["pricing", "tier"],
    },
    "noise": ["country", "region", "founded_year", "funding_stage"],
    "base_win_rate": [0.25, 0.35],
}


class Truth(TypedDict):
    """Per-account planted flags and draws, one array entry per account (index = account)."""

    icp: np.ndarray  # bool: ICP industry and size
    snow: np.ndarray  # bool: snowflake in the tech stack
    gov: np.ndarray  # bool: government
    tiny: np.ndarray  # bool: fewer than 20 employees
    neg: np.ndarray  # bool: negative ICP (gov | tiny)
    emp: np.ndarray  # int: employees before blanks are punched in
    stage: np.ndarray  # object: funding stage ("" for government)
    solution: np.ndarray  # object: current solution
