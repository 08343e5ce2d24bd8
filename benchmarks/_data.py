"""Synthetic accounts and deals at scale for the benchmarks (fast, vectorised, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

INDUSTRIES = np.array(
    [
        "logistics",
        "manufacturing",
        "retail",
        "healthcare",
        "financial services",
        "software",
        "education",
        "government",
        "media",
        "construction",
    ]
)
COUNTRIES = np.array(["US", "UK", "DE", "FR", "CA", "AU", "NL", "IN", "BR", "ES"])
STAGES = np.array(
    ["bootstrapped", "seed", "series_a", "series_b", "series_c+", "public", "private_equity"]
)
TOOLS = np.array(
    [
        "salesforce",
        "hubspot",
        "snowflake",
        "aws",
        "azure",
        "gcp",
        "sap",
        "netsuite",
        "slack",
        "jira",
    ]
)


def accounts(n: int, seed: int = 1) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    emp = np.exp(r.normal(5, 1.6, n)).round().clip(1, 200_000)
    stack = np.array(
        [";".join(TOOLS[r.random(len(TOOLS)) < 0.3]) for _ in range(min(n, 5000))], dtype=object
    )
    return pd.DataFrame(
        {
            "account_id": np.char.add("A", np.arange(n).astype(str)),
            "industry": INDUSTRIES[r.integers(0, len(INDUSTRIES), n)],
            "employees": emp,
            "annual_revenue": (emp * r.lognormal(11.5, 0.6, n)).round(-3),
            "country": COUNTRIES[r.integers(0, len(COUNTRIES), n)],
            "founded_year": r.integers(1950, 2024, n).astype(float),
            "funding_stage": STAGES[r.integers(0, len(STAGES), n)],
            "tech_stack": stack[r.integers(0, len(stack), n)],
            "seats": r.integers(1, 500, n).astype(float),
            "web_visits": r.poisson(40, n).astype(float),
            "current_solution": np.array(["spreadsheets", "legacy_erp", "competitor_a", "none"])[
                r.integers(0, 4, n)
            ],
            "region": np.array(["NA", "EMEA", "APAC", "LATAM"])[r.integers(0, 4, n)],
            "partner_tier": np.array(["gold", "silver", "none"])[r.integers(0, 3, n)],
        }
    )


def deals(acc: pd.DataFrame, per_account: int = 3, seed: int = 2) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    n = len(acc) * per_account
    idx = np.repeat(np.arange(len(acc)), per_account)
    logit = (
        -1.0
        + 1.2 * (acc["industry"].to_numpy()[idx] == "logistics")
        - 1.5 * (acc["industry"].to_numpy()[idx] == "government")
        + 0.4 * np.log10(acc["employees"].to_numpy()[idx])
        - 0.8
    )
    won = r.random(n) < 1 / (1 + np.exp(-logit))
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(r.integers(0, 700, n), unit="D")
    return pd.DataFrame(
        {
            "deal_id": np.char.add("D", np.arange(n).astype(str)),
            "account_id": acc["account_id"].to_numpy()[idx],
            "created_at": created,
            "closed_at": created + pd.to_timedelta(r.integers(5, 200, n), unit="D"),
            "outcome": np.where(won, "won", "lost"),
            "amount": r.lognormal(9, 1, n).round(),
        }
    )
