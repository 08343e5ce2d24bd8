"""A seeded, believable B2B sample company: accounts, deals, contacts, revenue,
events, tickets and conversations of a fictional vendor selling a data platform
in three tiers (Starter, Growth, Enterprise) plus a Connector Pack add-on.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives
identical tables. Deals are created over the two years ending 2026-06-30
(``END_DATE``); no date in any table is later than that, except the renewals
scheduled ahead.

Planted truth (also in ``PLANTED``, so that recovery can be checked):

* ICP: industry logistics or manufacturing with 200-2000 employees wins far
  more often (odds about 7x the rest), higher still with snowflake in the tech
  stack; its sales cycles are shorter, its customers expand (more repeat deals,
  growing MRR) and rarely churn.
* Negative ICP: government, or fewer than 20 employees: most deals are lost
  (price, no decision), customers churn quickly and file more, more escalated
  tickets.
* Persona: a champion from operations or data engineering, and a finance
  economic buyer, raise the win rate; a procurement or legal blocker who only
  appears near the end of the deal (all their conversations fall in the last
  sixth of the cycle) lowers it.
* Trigger: a funding round or an executive (VP / C-level) hire within 90 days
  before a deal is created raises its win rate; every other event type is noise.
* Upcoming trigger: a contract renewal due within 60 days after a deal is
  created raises its win rate; open deals have renewals due in the 60 days
  after the sample ends (the only dates later than ``END_DATE``).
* Themes: ICP customers talk about manual spreadsheet reconciliation, shipment
  visibility and the integration with snowflake; negative-ICP contacts about
  price too high, the procurement process and a budget freeze; pricing talk
  happens in every segment, up to the last month (June 2026).
* Noise: country, region, founded_year, funding_stage and most of the tech
  stack carry no planted effect; lead source and current_solution carry small
  ones only.

Frames hold dates as ``datetime64`` (day precision), ``tech_stack`` as a
';'-joined string, and blanks as missing values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..csvsafe import write_csv
from .accounts import draw_accounts
from .contacts import draw_contacts
from .conversations import draw_conversations
from .deals import background_events, draw_deals, event_details, renewal_events
from .draws import to_dates
from .revenue import draw_revenue, draw_tickets
from .truth import END_DATE, PLANTED, START_DATE, TABLE_NAMES

__all__ = ["END_DATE", "PLANTED", "START_DATE", "TABLE_NAMES", "generate", "write_sample"]


def generate(seed: int = 7, n_accounts: int = 3000) -> dict[str, pd.DataFrame]:
    """Generate the sample company's tables (see the module docstring for the planted truth)."""
    n = int(n_accounts)
    if n < 1:
        raise ValueError("n_accounts must be at least 1")
    rng = np.random.default_rng(seed)
    acc, t = draw_accounts(rng, n)
    ids = acc["account_id"].to_numpy()
    bg = background_events(rng, t, n)
    deals, planted = draw_deals(rng, n, t, bg)
    deals["domain"] = acc["domain"].to_numpy()[deals["acc"].to_numpy()]
    ev = pd.concat([bg, planted], ignore_index=True).sort_values(["day", "acc"], kind="stable")
    ev = ev.reset_index(drop=True)
    eacc = ev["acc"].to_numpy()
    events = pd.DataFrame(
        {
            "account_id": ids[eacc],
            "occurred_at": to_dates(ev["day"]),
            "type": ev["type"].to_numpy(),
            "detail": event_details(rng, ev["type"].to_numpy(), t["stage"][eacc]),
        }
    )
    events = pd.concat([events, renewal_events(seed, deals, n, ids)], ignore_index=True)
    events = events.sort_values("occurred_at", kind="stable").reset_index(drop=True)
    deals["deal_id"] = [f"DEAL-{i + 1:06d}" for i in range(len(deals))]
    deal_tbl = pd.DataFrame(
        {
            "deal_id": deals["deal_id"],
            "account_id": ids[deals["acc"].to_numpy()],
            "created_at": to_dates(deals["created"]),
            "closed_at": to_dates(deals["closed"]),
            "outcome": deals["outcome"],
            "amount": pd.array(deals["amount"].astype(np.int64), dtype="Int64"),
            "product": deals["product"],
            "source": deals["source"],
            "lost_reason": deals["lost_reason"],
        }
    )

    c = draw_contacts(rng, deals)
    c["contact_id"] = [f"CON-{i + 1:06d}" for i in range(len(c))]
    cd = c["d"].to_numpy()
    contacts = pd.DataFrame(
        {
            "contact_id": c["contact_id"],
            "account_id": ids[deals["acc"].to_numpy()[cd]],
            "deal_id": deals["deal_id"].to_numpy()[cd],
            "title": c["title"],
            "department": c["department"],
            "email": c["email"],
            "deal_role": c["role"],
        }
    )
    revenue, cust, tenure = draw_revenue(rng, deals, t, ids)
    tickets, tk = draw_tickets(rng, t, ids, cust, tenure)
    conversations = draw_conversations(rng, n, t, ids, deals, c, tk, cust, tenure)
    return {
        "accounts": acc,
        "deals": deal_tbl,
        "contacts": contacts,
        "revenue": revenue,
        "events": events,
        "tickets": tickets,
        "conversations": conversations,
    }


def write_sample(out_dir: str | Path, seed: int = 7, n_accounts: int = 3000) -> dict[str, Path]:
    """Generate the sample company and write one CSV per table into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, df in generate(seed=seed, n_accounts=n_accounts).items():
        df = df.copy()
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = df[col].dt.strftime("%Y-%m-%d")
            elif pd.api.types.is_bool_dtype(df[col]):
                df[col] = np.where(df[col], "true", "false")
        path = out / f"{name}.csv"
        write_csv(df, path, atomic=False, encoding="utf-8", lineterminator="\n")
        paths[name] = path
    return paths
