"""Sentences that conversations and tickets are assembled from, and the mix of sentence
categories per segment."""

from __future__ import annotations

import numpy as np

# fmt: off
S_ICP = ["We're still doing manual spreadsheet reconciliation at every month-end close.",
         "Manual spreadsheet reconciliation eats two days of the team's week.",
         "Right now shipment visibility is basically zero once a truck leaves the dock.",
         "We need shipment visibility across all our carriers in one place.",
         "The integration with snowflake is the main thing our data team cares about.",
         "If the integration with snowflake works out of the box we can move fast.",
         "Today the workaround is a shared spreadsheet that ops updates by hand.",
         "Honestly our spreadsheets are the system of record right now, and it shows.",
         "We export everything to spreadsheets and reconcile it manually."]
S_NEG = ["Our CFO's first reaction was: price too high for a team our size.",
         "Bottom line, price too high compared to what we pay now.",
         "Anything over $10k has to go through our procurement process, which takes months.",
         "The procurement process requires three quotes and a security review.",
         "We're under a budget freeze until next fiscal year.",
         "There's a budget freeze on all new software spend this quarter.",
         "Legal will need to redline the MSA before anything moves."]
S_GEN = ["Reporting takes our analysts too long every week.", "We need SSO before any rollout.",
         "Onboarding new users has been painful with our current tool.",
         "Our dashboards break whenever the source schema changes.", "We'd like better audit trails.",
         "Can the platform handle our EU data residency requirements?"]
S_PRICE = ["What does the {t} tier cost per seat?",
           "The {t} tier pricing seems fair if onboarding is included.",
           "Can we get a discount on the {t} tier for a two-year term?",
           "Pricing for the {t} tier is higher than we expected.",
           "We compared the {t} tier against Competitor B and the price is close.",
           "Is the {t} tier price locked for the renewal?"]
S_US = ["Thanks for the call today.", "Following up on the proposal we sent over.",
        "Sharing the {t} tier pricing as discussed.", "Can we schedule a demo with your data team next week?",
        "Attaching the security questionnaire answers.", "Recap: next step is a technical deep dive.",
        "Checking in on timing for a decision.", "Sending over the order form for the {t} tier.",
        "Our {t} tier list price includes onboarding.",
        "We can offer 10% off the {t} tier for an annual prepay."]
S_NOISE = ["Thanks for the call.", "Let's find a time next week.", "Rescheduling to Thursday works for us.",
           "Looping in a colleague.", "Sounds good.", "Sorry for the delay on this.", "Scheduling a follow-up."]
S_TICKET = ["The nightly sync failed again.", "Can't log in with SSO since this morning.",
            "Export to CSV is timing out.", "Dashboard numbers don't match our spreadsheet.",
            "A connector stopped loading new rows.",
            "Renewal quote for the {t} tier came in higher than last year."]
# sentence categories:  noise  gen   icp   neg  price   us  ticket
CUSTOMER_MIX = np.array([[0.33, 0.36, 0.07, 0.07, 0.17, 0, 0],   # rest
                         [0.22, 0.08, 0.50, 0.03, 0.17, 0, 0],   # ICP
                         [0.22, 0.06, 0.03, 0.50, 0.19, 0, 0]])  # negative ICP
US_MIX = np.array([0.2, 0, 0, 0, 0, 0.8, 0])
TICKET_MIX = np.array([0, 0, 0, 0, 0, 0, 1.0])
_POOLS = [S_NOISE, S_GEN, S_ICP, S_NEG] + [[x for x in p for _ in range(3)] for p in (S_PRICE, S_US, S_TICKET)]
_TIERS = ["Starter", "Growth", "Enterprise"]
# every sentence of every pool, "{t}" filled; pool k holds SENTENCES[POOL_START[k]:][:POOL_SIZE[k]]
SENTENCES = np.array([x.replace("{t}", _TIERS[i % 3]) for p in _POOLS for i, x in enumerate(p)], dtype=object)
POOL_SIZE = np.array([len(p) for p in _POOLS])
POOL_START = np.concatenate([[0], np.cumsum(POOL_SIZE)[:-1]])
# fmt: on
