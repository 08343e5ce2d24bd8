"""Accounts: firmographics, tech stack, current solution, names and domains, and the
planted per-account truth the other tables are drawn from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draws import choice, dedupe, pick
from .truth import PLANTED, Truth
from .words import (
    COUNTRIES,
    DECOR,
    IND_RPE,
    IND_SIZE,
    IND_W,
    INDUSTRIES,
    NOUNS,
    PLACES,
    PREFIX,
    PREFIX2,
    SOLUTIONS,
    STAGE_P,
    STAGES,
    TOOLS,
)


def draw_accounts(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, Truth]:
    """The accounts table (blanks punched in) and the planted truth per account."""
    ind = rng.choice(len(INDUSTRIES), n, p=IND_W)
    emp = np.clip(np.round(np.exp(rng.normal(np.log(150) + IND_SIZE[ind], 1.55))), 5, 50000)
    sig = 10 ** np.maximum(np.floor(np.log10(emp)) - 1, 0)
    emp = np.where((rng.random(n) < 0.4) & (emp > 100), np.round(emp / sig) * sig, emp).astype(int)
    rev = emp * IND_RPE[ind] * np.exp(rng.normal(0, 0.45, n))
    rev = np.round(rev, -4)
    c_idx = rng.choice(
        len(COUNTRIES), n, p=np.array([c[1] for c in COUNTRIES]) / sum(c[1] for c in COUNTRIES)
    )
    country = np.array([c[0] for c in COUNTRIES], dtype=object)[c_idx]
    region = np.array([c[2] for c in COUNTRIES], dtype=object)[c_idx]
    age = np.exp(rng.normal(np.log(12) + 0.25 * np.log(emp / 150), 0.7))
    founded = np.clip(2026 - np.round(age), 1890, 2025).astype(int)
    bucket = np.digitize(emp, [50, 500])
    stage = STAGES[pick(rng, STAGE_P[bucket])].astype(object)
    gov = INDUSTRIES[ind] == "government"
    stage[gov] = ""
    icp = np.isin(INDUSTRIES[ind], PLANTED["icp"]["industry"]) & (emp >= 200) & (emp <= 2000)
    tiny = emp < PLANTED["negative"]["employees_below"]
    neg = gov | tiny
    # tech stack
    big = np.clip(np.log10(emp) / 4, 0, 1)
    sw = INDUSTRIES[ind] == "software"
    m = np.zeros((n, len(TOOLS)), dtype=bool)
    crm = rng.random(n)
    m[:, 0] = crm < 0.25 + 0.35 * big
    m[:, 1] = (~m[:, 0]) & (crm < 0.75)
    m[:, 2] = rng.random(n) < 0.08 + 0.22 * big + 0.12 * np.isin(ind, [0, 1, 4, 5])
    cloud = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    has_cloud = rng.random(n) < 0.55 + 0.4 * big
    for j in range(3):
        m[:, 3 + j] = has_cloud & ((cloud == j) | (rng.random(n) < 0.1))
    erp = rng.random(n)
    m[:, 6] = erp < 0.35 * big
    m[:, 7] = (~m[:, 6]) & (erp < 0.35 * big + 0.25)
    m[:, 8] = rng.random(n) < 0.55
    m[:, 9] = rng.random(n) < np.where(sw, 0.85, 0.35)
    m[:, 10] = rng.random(n) < 0.25
    m[:, 11] = rng.random(n) < np.where(INDUSTRIES[ind] == "retail", 0.55, 0.04)
    m[:, 12] = (~m[:, 6]) & (rng.random(n) < 0.15 * big)
    m[:, 13] = rng.random(n) < np.where(emp > 1000, 0.5, 0.05)
    m[:, 14] = rng.random(n) < 0.7
    stack = np.array([";".join(TOOLS[row]) for row in m], dtype=object)
    snow = m[:, 2]
    sol_p = np.where(icp[:, None], [0.45, 0.25, 0.1, 0.1, 0.1], [0.25, 0.2, 0.2, 0.2, 0.15])
    solution = SOLUTIONS[pick(rng, sol_p)]
    # names and domains
    brand = pd.Series(choice(rng, PREFIX, n) + choice(rng, PREFIX2, n))
    noun = pd.Series([NOUNS[i][j] for i, j in zip(ind, rng.integers(0, 7, n), strict=True)])
    place = pd.Series(choice(rng, PLACES, n))
    k = pd.Series(np.where(gov, place + noun, "")).groupby(place + noun).cumcount().to_numpy()
    quals = np.array(["", "Greater ", "North ", "East ", "West ", "South ", "New "], dtype=object)
    place = quals[np.minimum(k, len(quals) - 1)] + place
    gov_name = np.where(noun == "City", "City of " + place, place + " " + noun)
    base = dedupe(pd.Series(np.where(gov, gov_name, brand + " " + noun)), DECOR)
    forms = [c[5] for c in COUNTRIES]
    form = np.array(
        [forms[c][j % len(forms[c])] for c, j in zip(c_idx, rng.integers(0, 6, n), strict=True)]
    )
    with_form = (~gov) & ~np.isin(INDUSTRIES[ind], ["education"]) & (rng.random(n) < 0.6)
    name = np.where(with_form, base + " " + form, base)
    full = base.str.normalize("NFKD").str.lower().str.replace(r"[^a-z0-9]", "", regex=True)
    short = brand.str.lower() + np.where(
        rng.random(n) < 0.35, "", noun.str.lower().str.replace(" ", "")
    )
    plain = (base == brand + " " + noun).to_numpy() & ~gov
    tld = np.array([c[3] for c in COUNTRIES], dtype=object)[c_idx]
    gtld = np.array([c[4] for c in COUNTRIES], dtype=object)[c_idx]
    slug, suffix = pd.Series(np.where(plain, short, full)), np.where(gov, gtld, tld)
    k = (slug + suffix).groupby(slug + suffix).cumcount().to_numpy()
    decor = np.array(["", "hq", "group", "co", "global", "inc", "online"], dtype=object)
    extra = np.where(k < len(decor), decor[np.minimum(k, len(decor) - 1)], k.astype(str))
    domain = slug + extra + suffix
    acc = pd.DataFrame(
        {
            "account_id": [f"ACC-{i + 1:05d}" for i in range(n)],
            "name": name,
            "domain": domain,
            "industry": INDUSTRIES[ind],
            "employees": pd.array(emp, dtype="Int64"),
            "annual_revenue": pd.array(rev.astype(np.int64), dtype="Int64"),
            "country": country,
            "region": region,
            "founded_year": pd.array(founded, dtype="Int64"),
            "funding_stage": np.where(gov, None, stage),
            "tech_stack": stack,
            "current_solution": solution,
        }
    )
    for col, rate in (
        ("employees", 0.03),
        ("annual_revenue", 0.04),
        ("tech_stack", 0.05),
        ("founded_year", 0.06),
        ("industry", 0.01),
    ):
        acc.loc[rng.random(n) < rate, col] = None
    acc.loc[acc["tech_stack"] == "", "tech_stack"] = None
    truth: Truth = {
        "icp": icp,
        "snow": snow,
        "gov": gov,
        "tiny": tiny,
        "neg": neg,
        "emp": emp,
        "stage": stage,
        "solution": solution,
    }
    return acc, truth
