"""A seeded, believable B2B sample company: accounts, deals, contacts, revenue,
events, tickets and conversations of a fictional vendor selling a data platform
in three tiers (Starter, Growth, Enterprise) plus a Connector Pack add-on.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives
identical tables. Deals are created over the two years ending 2026-06-30
(``END_DATE``); no date in any table is later than that.

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

__all__ = ["END_DATE", "PLANTED", "START_DATE", "TABLE_NAMES", "generate", "write_sample"]

END_DATE = pd.Timestamp("2026-06-30")
START_DATE = pd.Timestamp("2024-07-01")
TABLE_NAMES = ("accounts", "deals", "contacts", "revenue", "events", "tickets", "conversations")

ICP_THEMES = [
    "manual spreadsheet reconciliation",
    "shipment visibility",
    "integration with snowflake",
]
NEG_THEMES = ["price too high", "procurement process", "budget freeze"]

PLANTED: dict = {
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
    "themes": {
        "icp": ICP_THEMES,
        "negative": NEG_THEMES,
        "icp_workaround": "spreadsheets",
        "everywhere": ["pricing", "tier"],
    },
    "noise": ["country", "region", "founded_year", "funding_stage"],
    "base_win_rate": [0.25, 0.35],
}


# ----------------------------------------------------------------------------- word lists
# fmt: off
def _arr(words: str, sep: str = " ") -> np.ndarray:
    return np.array(words.split(sep), dtype=object)


INDUSTRIES = _arr("logistics|manufacturing|retail|healthcare|financial services|software|education|"
                  "government|media|construction", "|")
IND_W = np.array([0.11, 0.13, 0.11, 0.10, 0.10, 0.14, 0.07, 0.08, 0.07, 0.09])
IND_SIZE = np.array([0.1, 0.3, 0.0, 0.1, 0.1, -0.3, 0.3, 0.6, -0.2, -0.1])  # log-size shift
IND_RPE = np.array([300, 280, 250, 180, 400, 220, 120, 150, 200, 260]) * 1000.0  # revenue/employee
NOUNS = [s.split("|") for s in (
    "Logistics|Freight|Transport|Shipping|Supply Chain|Cargo|Haulage",
    "Manufacturing|Industries|Components|Fabrication|Machining|Plastics|Metals",
    "Retail|Outfitters|Goods|Stores|Market|Apparel|Home",
    "Health|Medical|Care|Clinics|Diagnostics|Pharma|Labs",
    "Capital|Financial|Bank|Insurance|Lending|Wealth|Payments",
    "Software|Systems|Technologies|Cloud|Data|AI|Digital",
    "Academy|Learning|College|Schools|Institute|Education|University",
    "Transit Authority|County|Water District|Housing Authority|Port Authority|Council|City",
    "Media|Studios|Publishing|Broadcasting|Press|Pictures|Audio",
    "Construction|Builders|Contracting|Engineering|Homes|Infrastructure|Roofing")]
PREFIX = _arr("North Blue Summit Iron Bright Cedar Harbor Atlas Pioneer Silver Granite Vertex Apex Red "
              "Oak Falcon Meridian Keystone Evergreen Horizon Stone River Clear Swift Golden Pine Eagle "
              "Lake Prairie Coastal Union Liberty Beacon Crest Maple Orion Nova Polar Sterling Tri")
PREFIX2 = _arr("||wind|field|gate|line|point|bridge|stone|way|ridge|view|works", "|")
PLACES = _arr("Springfield Riverside Fairview Madison Clinton Franklin Greenville Bristol Salem Dover "
              "Ashford Kingston Marion Oxford Burlington Lexington Milton Newport Auburn Hudson")
DECOR = _arr("| Group| International| Holdings| Partners| Worldwide| Co", "|")
# country, weight, region, tld, government tld, legal forms
COUNTRIES = [
    ("US", 0.38, "NA", ".com", ".gov", ["Inc.", "LLC", "Corp."]),
    ("UK", 0.12, "EMEA", ".co.uk", ".gov.uk", ["Ltd", "plc"]),
    ("DE", 0.09, "EMEA", ".de", ".de", ["GmbH", "AG"]),
    ("FR", 0.06, "EMEA", ".fr", ".fr", ["SAS", "SA"]),
    ("CA", 0.07, "NA", ".ca", ".ca", ["Inc.", "Ltd."]),
    ("AU", 0.06, "APAC", ".com.au", ".gov.au", ["Pty Ltd"]),
    ("NL", 0.05, "EMEA", ".nl", ".nl", ["B.V."]),
    ("IN", 0.06, "APAC", ".in", ".gov.in", ["Pvt Ltd"]),
    ("BR", 0.04, "LATAM", ".com.br", ".gov.br", ["Ltda"]),
    ("SG", 0.03, "APAC", ".sg", ".gov.sg", ["Pte Ltd"]),
    ("MX", 0.02, "LATAM", ".mx", ".gob.mx", ["S.A. de C.V."]),
    ("SE", 0.02, "EMEA", ".se", ".se", ["AB"]),
]
TOOLS = _arr("salesforce hubspot snowflake aws azure gcp sap netsuite slack jira zendesk shopify oracle "
             "workday excel")
STAGES = _arr("bootstrapped seed series_a series_b series_c+ public private_equity")
STAGE_P = np.array([[0.45, 0.30, 0.15, 0.05, 0.00, 0.00, 0.05],   # < 50 employees
                    [0.25, 0.05, 0.20, 0.20, 0.12, 0.03, 0.15],   # 50-500
                    [0.10, 0.00, 0.00, 0.08, 0.17, 0.35, 0.30]])  # > 500
VENTURE = ["seed", "series_a", "series_b", "series_c+", "private_equity"]
SOLUTIONS = _arr("spreadsheets legacy_erp competitor_a competitor_b none")
SOURCES = _arr("inbound outbound partner event paid_search")
SOURCE_P = np.array([0.30, 0.30, 0.12, 0.10, 0.18])
SOURCE_EFF = np.array([0.15, -0.2, 0.3, 0.0, -0.1])  # small, realistic, not part of the ICP
PRODUCTS = _arr("Starter|Growth|Enterprise|Connector Pack", "|")
PRICE = np.array([6000.0, 24000.0, 72000.0, 9000.0])  # yearly list price at PRICE_REF employees
PRICE_REF = np.array([30.0, 300.0, 3000.0, 300.0])
REASONS = _arr("price|no decision|competitor|timing|missing feature", "|")
EVENT_TYPES = _arr("funding_round executive_hire headcount_jump competitor_contract_end "
                   "security_incident compliance_audit tech_adopted")
FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Susan Richard "
         "Jessica Joseph Sarah Thomas Karen Daniel Priya Rahul Wei Mei Hiroshi Yuki Lukas Anna Sophie "
         "Lars Ingrid Carlos Lucia Pedro Ana Olivia Noah Emma Liam Aisha Omar Fatima Mateo Chloe Jürgen "
         "François José Sean Niamh Arjun").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Patel Shah Kumar Singh Chen Wang Li "
        "Nakamura Sato Müller Schmidt Schneider Fischer Dubois Moreau Laurent Silva Santos Oliveira "
        "Jansen de Vries Bakker Nilsson Johansson O'Brien Murphy Kelly Walsh Nguyen Tran Kim Park Cohen "
        "Rossi Russo Novak").split()

FUNCS = ["operations", "data_engineering", "finance", "procurement", "legal", "it", "engineering",
         "analytics", "sales", "marketing", "executive", "support", "hr"]
TITLES = {k: v.split("|") for k, v in {
    "operations": "VP Operations|VP, Ops|Director of Operations|Head of Operations|Ops Mgr|"
                  "Operations Manager|Sr. Operations Manager|Dir. Ops|Supply Chain Operations Lead|"
                  "Logistics Operations Manager|operations director|VP of Operations|Head of Ops|"
                  "Operatons Manager|Warehouse Ops Supervisor|COO|Fulfillment Operations Lead",
    "data_engineering": "Sr. Data Engineer|Data Engineer|Lead Data Engineer|Head of Data Engineering|"
                        "Data Eng Manager|Director, Data Engineering|Principal Data Engineer|"
                        "data engineer II|Analytics Engineer|Staff Data Eng|Data Platform Lead|"
                        "Sr Data Enginer|Mgr, Data Engineering|VP Data",
    "finance": "CFO|Chief Financial Officer|VP Finance|VP, Finance|Head of Finance|Finance Director|"
               "Dir. of Finance|Controller|Financial Controller|FP&A Manager|CFO & COO|cfo|"
               "Head of FP&A|VP of Finance & Admin|Finanace Director",
    "procurement": "Procurement Specialist|Procurement Manager|Sr. Buyer|Purchasing Mgr|"
                   "Head of Procurement|Strategic Sourcing Lead|Category Manager, IT Procurement|"
                   "procurement officer|Vendor Management Specialist|Procurment Lead",
    "legal": "General Counsel|Legal Counsel|Sr. Corporate Counsel|Contracts Manager|Paralegal|"
             "Head of Legal|Commercial Counsel|legal ops manager|Deputy GC",
    "it": "director of IT operations|IT Manager|Head of IT|IT Director|Sys Admin|"
          "Sr. Systems Administrator|VP, IT|IT Ops Lead|infrastructure manager|IT Mgr",
    "engineering": "VP, Eng|VP Engineering|Software Engineer|Sr. Software Engineer|Engineering Manager|"
                   "Eng Mgr|Staff Engineer|Head of Engineering|Principal Engineer|Dev Lead|"
                   "sr software engineer",
    "analytics": "Business Analyst|BI Analyst|Data Analyst|Sr. BI Developer|Reporting Analyst|"
                 "Head of BI|Analytics Mgr|data analyst",
    "sales": "VP Sales|Sales Director|RevOps Manager|Sales Ops Analyst|Account Executive|"
             "Head of Revenue Operations|Dir. Sales",
    "marketing": "CMO|Marketing Manager|Head of Growth|Demand Gen Mgr|Marketing Ops Specialist|"
                 "Dir. Marketing",
    "executive": "CEO|Founder & CEO|Co-founder|President|Managing Director|General Manager|Owner|CIO|"
                 "CTO|CRO|Chief Executive Officer|GM",
    "support": "Customer Support Lead|Head of Customer Success|Support Manager|CS Ops Specialist",
    "hr": "HR Manager|People Ops Partner|Head of People|HR Generalist",
}.items()}
DEPTS = {k: v.split("|") for k, v in {
    "operations": "Operations|Ops|Supply Chain|Logistics", "finance": "Finance|Finance & Accounting|Accounting",
    "data_engineering": "Data|Engineering|Data & Analytics|Data Platform", "legal": "Legal",
    "procurement": "Procurement|Purchasing", "it": "IT|Information Technology", "engineering": "Engineering|R&D",
    "analytics": "Analytics|BI|Finance", "sales": "Sales|Revenue Operations", "marketing": "Marketing",
    "executive": "Executive|Management", "support": "Customer Success|Support", "hr": "HR|People",
}.items()}
FILLER_P = np.array([0.10, 0.06, 0.08, 0.07, 0.03, 0.14, 0.14, 0.12, 0.08, 0.07, 0.04, 0.04, 0.03])

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
_FLAT = np.array([x.replace("{t}", _TIERS[i % 3]) for p in _POOLS for i, x in enumerate(p)], dtype=object)
_SIZE = np.array([len(p) for p in _POOLS])
_OFF = np.concatenate([[0], np.cumsum(_SIZE)[:-1]])
# fmt: on

EPOCH = np.datetime64("1970-01-01", "D")
END_D = int((np.datetime64("2026-06-30", "D") - EPOCH).astype(int))
START_D = int((np.datetime64("2024-07-01", "D") - EPOCH).astype(int))


def _dates(days) -> pd.Series:
    """Day numbers (float, NaN allowed) to a datetime64 Series."""
    return pd.Series(pd.to_datetime(np.asarray(days, dtype=float), unit="D")).astype(
        "datetime64[s]"
    )


def _month(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days.astype(int)).astype("datetime64[M]").astype(int)


def _month_day(months: np.ndarray) -> np.ndarray:
    return (np.asarray(months).astype("datetime64[M]").astype("datetime64[D]") - EPOCH).astype(int)


def _pick(rng, p: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a probability matrix (rows need not sum to 1)."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def _choice(rng, pool, n: int) -> np.ndarray:
    pool = np.asarray(pool, dtype=object)
    return pool[rng.integers(0, len(pool), n)]


def _dedupe(values: pd.Series, extra: np.ndarray) -> pd.Series:
    k = values.groupby(values).cumcount().to_numpy()
    out = values + extra[np.minimum(k, len(extra) - 1)]
    over = k >= len(extra)
    out[over] = out[over] + " " + pd.Series(k[over] + 1, index=out.index[over]).astype(str)
    return out


# ----------------------------------------------------------------------------- accounts
def _accounts(rng, n: int) -> tuple[pd.DataFrame, dict]:
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
    stage = STAGES[_pick(rng, STAGE_P[bucket])].astype(object)
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
    solution = SOLUTIONS[_pick(rng, sol_p)]
    # names and domains
    brand = pd.Series(_choice(rng, PREFIX, n) + _choice(rng, PREFIX2, n))
    noun = pd.Series([NOUNS[i][j] for i, j in zip(ind, rng.integers(0, 7, n), strict=True)])
    place = pd.Series(_choice(rng, PLACES, n))
    k = pd.Series(np.where(gov, place + noun, "")).groupby(place + noun).cumcount().to_numpy()
    quals = np.array(["", "Greater ", "North ", "East ", "West ", "South ", "New "], dtype=object)
    place = quals[np.minimum(k, len(quals) - 1)] + place
    gov_name = np.where(noun == "City", "City of " + place, place + " " + noun)
    base = _dedupe(pd.Series(np.where(gov, gov_name, brand + " " + noun)), DECOR)
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
    truth = {
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


# ----------------------------------------------------------------------------- events
def _event_details(rng, kinds: np.ndarray, stage: np.ndarray) -> list[str]:
    rounds = {
        "seed": ("Seed", 1, 5),
        "series_a": ("Series A", 8, 20),
        "series_b": ("Series B", 20, 60),
        "series_c+": ("Series C", 50, 200),
        "private_equity": ("Growth equity", 50, 300),
    }
    roles = [
        "VP Finance",
        "CFO",
        "VP Operations",
        "VP Engineering",
        "VP Sales",
        "COO",
        "CIO",
        "VP Data",
    ]
    u, first, last = (
        rng.random(len(kinds)),
        _choice(rng, FIRST, len(kinds)),
        _choice(rng, LAST, len(kinds)),
    )
    out = []
    for k, s, x, f, la in zip(kinds, stage, u, first, last, strict=True):
        if k == "funding_round":
            label, lo, hi = rounds.get(s, ("Series B", 20, 60))
            out.append(f"{label} ${int(lo + x * (hi - lo))}M")
        elif k == "executive_hire":
            out.append(f"New {roles[int(x * len(roles))]}: {f} {la}")
        elif k == "headcount_jump":
            out.append(f"Headcount +{int(10 + x * 40)}% in 6 months")
        elif k == "competitor_contract_end":
            out.append(
                f"Contract with {'Competitor A' if x < 0.5 else 'Competitor B'} ends in {int(30 + x * 150)} days"
            )
        elif k == "security_incident":
            out.append(
                [
                    "Phishing incident reported",
                    "Data breach disclosed",
                    "Ransomware hit billing systems",
                ][int(x * 3)]
            )
        elif k == "compliance_audit":
            out.append(["SOC 2 audit", "ISO 27001 audit", "GDPR audit", "SOX audit"][int(x * 4)])
        else:
            out.append(f"Adopted {TOOLS[int(x * len(TOOLS))]}")
    return out


def _background_events(rng, truth: dict, n: int) -> pd.DataFrame:
    cnt = rng.poisson(1.6, n)
    acc = np.repeat(np.arange(n), cnt)
    kind = EVENT_TYPES[rng.choice(7, len(acc), p=[0.10, 0.14, 0.16, 0.14, 0.12, 0.14, 0.20])]
    no_round = ~np.isin(truth["stage"][acc], VENTURE)
    kind[(kind == "funding_round") & no_round] = "headcount_jump"
    day = rng.integers(START_D - 200, END_D + 1, len(acc))
    return pd.DataFrame({"acc": acc, "day": day, "type": kind})


# ----------------------------------------------------------------------------- deals
def _deals(rng, n: int, t: dict, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    icp, snow, gov, tiny, neg, emp = t["icp"], t["snow"], t["gov"], t["tiny"], t["neg"], t["emp"]
    active = rng.random(n) < np.where(icp, 0.95, 0.85)
    created = START_D + np.floor(rng.beta(1.0, 1.5, n) * (END_D - 5 - START_D)).astype(int)
    has_won = np.zeros(n, dtype=bool)
    batches, planted = [], []
    trig_events = events[events["type"].isin(PLANTED["trigger"]["types"])][["acc", "day"]]
    for k in range(5):
        idx = np.flatnonzero(active & (created <= END_D))
        m, c = len(idx), created[idx]
        expansion = has_won[idx]
        ops = rng.random(m) < np.where(icp[idx], 0.45, 0.32)
        fin = rng.random(m) < 0.4
        block = rng.random(m) < np.where(gov[idx], 0.4, np.where(tiny[idx], 0.3, 0.15))
        plant = rng.random(m) < 0.2
        venture = np.isin(t["stage"][idx], VENTURE)
        ptype = np.where(venture & (rng.random(m) < 0.6), "funding_round", "executive_hire")
        new = pd.DataFrame(
            {
                "acc": idx[plant],
                "day": c[plant] - rng.integers(3, 88, m)[plant],
                "type": ptype[plant],
            }
        )
        planted.append(new)
        trig_events = pd.concat([trig_events, new[["acc", "day"]]], ignore_index=True)
        pos = pd.DataFrame({"pos": np.arange(m), "acc": idx, "created": c}).merge(
            trig_events, on="acc"
        )
        hit = pos[(pos["day"] < pos["created"]) & (pos["day"] >= pos["created"] - 90)][
            "pos"
        ].to_numpy()
        trig = np.zeros(m, dtype=bool)
        trig[hit] = True
        src = rng.choice(5, m, p=SOURCE_P)
        comp = np.isin(t["solution"][idx], ["competitor_a", "competitor_b"])
        z = (
            -1.7
            + 1.25 * icp[idx]
            + 1.0 * (icp[idx] & snow[idx])
            + 0.2 * (snow[idx] & ~icp[idx])
            - 1.8 * gov[idx]
            - 1.6 * tiny[idx]
            + 0.9 * trig
            + 0.8 * ops
            + 0.6 * fin
            - 1.3 * block
            + 0.9 * expansion
            + SOURCE_EFF[src]
            - 0.25 * comp
        )
        won = rng.random(m) < 1 / (1 + np.exp(-z))
        e = emp[idx]
        if k == 0:
            prod = _pick(
                rng,
                np.array([[0.75, 0.22, 0.03, 0], [0.25, 0.6, 0.15, 0], [0.05, 0.4, 0.55, 0]])[
                    np.digitize(e, [100, 1000])
                ],
            )
        else:
            prod = rng.choice(4, m, p=[0.05, 0.3, 0.2, 0.45])
        amount = PRICE[prod] * (e / PRICE_REF[prod]) ** 0.35 * np.exp(rng.normal(0, 0.35, m))
        amount = amount * np.where(expansion, 0.7, 1.0) * np.where(won, 1.0, 1.08)
        amount = np.maximum(np.round(amount, -2), 1200)
        med = (
            70
            * np.where(icp[idx], 0.6, 1.0)
            * np.where(gov[idx], 2.0, 1.0)
            * np.where(tiny[idx], 0.7, 1.0)
            * np.array([0.7, 1.0, 1.5, 0.8])[prod]
            * np.where(expansion, 0.7, 1.0)
            * np.where(won, 1.0, 1.15)
        )
        cycle = np.maximum(np.round(med * np.exp(rng.normal(0, 0.45, m))), 7).astype(int)
        closed = c + cycle
        is_open = closed > END_D
        outcome = np.where(is_open, "open", np.where(won, "won", "lost")).astype(object)
        w = np.tile([0.25, 0.25, 0.2, 0.15, 0.15], (m, 1))
        w[:, 0] *= np.where(tiny[idx], 3.0, 1.0) * np.where(block, 1.5, 1.0)
        w[:, 1] *= np.where(gov[idx], 3.0, 1.0) * np.where(block, 1.5, 1.0)
        w[:, 2] *= np.where(comp, 2.5, 1.0)
        w[:, 3] *= np.where(gov[idx], 1.5, 1.0)
        reason = REASONS[_pick(rng, w)].astype(object)
        reason[outcome != "lost"] = None
        batches.append(
            pd.DataFrame(
                {
                    "acc": idx,
                    "created": c,
                    "closed": np.where(is_open, np.nan, closed),
                    "outcome": outcome,
                    "amount": amount,
                    "product": PRODUCTS[prod],
                    "source": SOURCES[src],
                    "lost_reason": reason,
                    "ops": ops,
                    "fin": fin,
                    "block": block,
                    "trigger": trig,
                    "k": k,
                    "cycle": cycle,
                }
            )
        )
        closed_won = won & ~is_open
        p_next = np.where(
            is_open,
            0.0,
            np.where(closed_won, np.where(icp[idx], 0.95, np.where(neg[idx], 0.4, 0.8)), 0.7),
        )
        nxt = rng.random(m) < p_next
        active[:] = False
        active[idx[nxt]] = True
        created[idx[nxt]] = (closed + rng.integers(10, 150, m))[nxt]
        has_won[idx[closed_won]] = True
    deals = pd.concat(batches, ignore_index=True).sort_values(
        ["created", "acc", "k"], kind="stable"
    )
    return deals.reset_index(drop=True), pd.concat(planted, ignore_index=True)


# ----------------------------------------------------------------------------- contacts
def _contacts(rng, deals: pd.DataFrame) -> pd.DataFrame:
    nd = len(deals)
    d = np.arange(nd)
    ops, fin, block = deals["ops"].to_numpy(), deals["fin"].to_numpy(), deals["block"].to_numpy()
    champ_other = ~ops & (rng.random(nd) < 0.55)
    eb_other = ~fin & (rng.random(nd) < 0.6)
    parts = [
        (d[ops], np.where(rng.random(ops.sum()) < 0.6, 1, 0), "champion"),
        (d[champ_other], rng.choice([5, 6, 7, 8, 9, 11], champ_other.sum()), "champion"),
        (d[fin], np.full(fin.sum(), 2), "economic buyer"),
        (d[eb_other], np.full(eb_other.sum(), 10), "economic buyer"),
        (d[block], np.where(rng.random(block.sum()) < 0.65, 3, 4), "blocker"),
    ]
    nf = rng.integers(1, 4, nd)
    fd = np.repeat(d, nf)
    f_role = np.array(["technical buyer", "end user", None], dtype=object)[
        rng.choice(3, len(fd), p=[0.12, 0.14, 0.74])
    ]
    frames = [
        pd.DataFrame({"d": dd, "f": ff, "role": r, "slot": i})
        for i, (dd, ff, r) in enumerate(parts)
    ]
    frames.append(
        pd.DataFrame(
            {"d": fd, "f": rng.choice(len(FUNCS), len(fd), p=FILLER_P), "role": f_role, "slot": 9}
        )
    )
    c = (
        pd.concat(frames, ignore_index=True)
        .sort_values(["d", "slot"], kind="stable")
        .reset_index(drop=True)
    )
    nc = len(c)
    c.loc[(c["slot"] < 9) & (rng.random(nc) < 0.12), "role"] = None  # roles are often not recorded
    f = c["f"].to_numpy()
    pool = np.array([t for fn in FUNCS for t in TITLES[fn]], dtype=object)
    size = np.array([len(TITLES[fn]) for fn in FUNCS])
    off = np.concatenate([[0], np.cumsum(size)[:-1]])
    title = pd.Series(pool[off[f] + (rng.random(nc) * size[f]).astype(int)])
    r = rng.random(nc)
    title = title.where(r >= 0.08, title.str.lower()).where(
        (r < 0.08) | (r >= 0.11), title.str.upper()
    )
    typo = np.flatnonzero((r >= 0.11) & (r < 0.14))
    at = rng.random(len(typo))
    for i, x in zip(typo, at, strict=True):
        s = title[i]
        j = int(x * (len(s) - 1))
        title[i] = s[:j] + s[j + 1] + s[j] + s[j + 2 :]
    title[(r >= 0.14) & (r < 0.18)] = None
    dpool = np.array([x for fn in FUNCS for x in DEPTS[fn]], dtype=object)
    dsize = np.array([len(DEPTS[fn]) for fn in FUNCS])
    doff = np.concatenate([[0], np.cumsum(dsize)[:-1]])
    dept = dpool[doff[f] + (rng.random(nc) * dsize[f]).astype(int)]
    dept[rng.random(nc) < 0.3] = None
    first = (
        pd.Series(_choice(rng, FIRST, nc))
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    last = (
        pd.Series(_choice(rng, LAST, nc))
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    first, last = first.str.lower(), last.str.lower().str.replace(r"[^a-z]", "", regex=True)
    pat = rng.integers(0, 4, nc)
    first, last = first.to_numpy(dtype=object), last.to_numpy(dtype=object)
    initial = np.array([x[:1] for x in first], dtype=object)
    local = np.select(
        [pat == 0, pat == 1, pat == 2],
        [first + "." + last, initial + last, first],
        first + "_" + last,
    )
    c["email"] = pd.Series(local) + "@" + deals["domain"].to_numpy()[c["d"].to_numpy()]
    c.loc[rng.random(nc) < 0.05, "email"] = None
    c["title"], c["department"] = title, dept
    return c


# ----------------------------------------------------------------------------- text
def _texts(rng, n: int, us: np.ndarray, group: np.ndarray, tier: np.ndarray, ticket: np.ndarray):
    """1-4 sentences per row; group 0 rest, 1 ICP, 2 negative ICP; tier 0-2 fills "{t}"."""
    nsent = rng.choice([1, 2, 3, 4], n, p=[0.3, 0.35, 0.25, 0.1])
    out = np.full(n, "", dtype=object)
    for s in range(4):
        p = np.where(us[:, None], US_MIX, CUSTOMER_MIX[group])
        if s == 0:
            p = np.where(ticket[:, None], TICKET_MIX, p)
        cat = _pick(rng, p)
        j = (rng.random(n) * _SIZE[cat]).astype(int)
        j = np.where(cat >= 4, (j // 3) * 3 + tier, j)  # tiered pools hold each sentence 3 times
        sent = _FLAT[_OFF[cat] + j]
        out = np.where(s < nsent, np.where(out == "", sent, out + " " + sent), out)
    return out


# ----------------------------------------------------------------------------- main
def generate(seed: int = 7, n_accounts: int = 3000) -> dict[str, pd.DataFrame]:
    """Generate the sample company's tables (see the module docstring for the planted truth)."""
    n = int(n_accounts)
    if n < 1:
        raise ValueError("n_accounts must be at least 1")
    rng = np.random.default_rng(seed)
    acc, t = _accounts(rng, n)
    ids = acc["account_id"].to_numpy()
    bg = _background_events(rng, t, n)
    deals, planted = _deals(rng, n, t, bg)
    deals["domain"] = acc["domain"].to_numpy()[deals["acc"].to_numpy()]
    ev = pd.concat([bg, planted], ignore_index=True).sort_values(["day", "acc"], kind="stable")
    ev = ev.reset_index(drop=True)
    eacc = ev["acc"].to_numpy()
    events = pd.DataFrame(
        {
            "account_id": ids[eacc],
            "occurred_at": _dates(ev["day"]),
            "type": ev["type"].to_numpy(),
            "detail": _event_details(rng, ev["type"].to_numpy(), t["stage"][eacc]),
        }
    )
    deals["deal_id"] = [f"DEAL-{i + 1:06d}" for i in range(len(deals))]
    deal_tbl = pd.DataFrame(
        {
            "deal_id": deals["deal_id"],
            "account_id": ids[deals["acc"].to_numpy()],
            "created_at": _dates(deals["created"]),
            "closed_at": _dates(deals["closed"]),
            "outcome": deals["outcome"],
            "amount": pd.array(deals["amount"].astype(np.int64), dtype="Int64"),
            "product": deals["product"],
            "source": deals["source"],
            "lost_reason": deals["lost_reason"],
        }
    )

    c = _contacts(rng, deals)
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
    revenue, cust, tenure = _revenue(rng, deals, t, ids)
    tickets, tk = _tickets(rng, t, ids, cust, tenure)
    conversations = _conversations(rng, n, t, ids, deals, c, tk, cust, tenure)
    return {
        "accounts": acc,
        "deals": deal_tbl,
        "contacts": contacts,
        "revenue": revenue,
        "events": events,
        "tickets": tickets,
        "conversations": conversations,
    }


def _revenue(rng, deals: pd.DataFrame, t: dict, ids: np.ndarray):
    """Monthly MRR from the first win until churn or the end date; annual deals / 12."""
    won = deals[deals["outcome"] == "won"]
    wacc, wmon = won["acc"].to_numpy(), _month(won["closed"].to_numpy())
    first = pd.Series(wmon).groupby(wacc).min()
    lastw = pd.Series(wmon).groupby(wacc).max()
    cust = first.index.to_numpy()
    hazard = np.where(t["neg"][cust], 0.06, np.where(t["icp"][cust], 0.008, 0.02))
    churn = lastw.to_numpy() + rng.geometric(hazard)
    end_m = _month(np.array([END_D]))[0]
    stop = np.minimum(churn, end_m)
    nm = stop - first.to_numpy() + 1
    racc = np.repeat(cust, nm)
    rmon = np.repeat(first.to_numpy(), nm) + (
        np.arange(nm.sum()) - np.repeat(np.cumsum(nm) - nm, nm)
    )
    grid = pd.DataFrame({"acc": racc, "mon": rmon})
    inc = (
        pd.DataFrame({"acc": wacc, "mon": wmon, "add": won["amount"].to_numpy() / 12})
        .groupby(["acc", "mon"], as_index=False)["add"]
        .sum()
    )
    grid = grid.merge(inc, on=["acc", "mon"], how="left").fillna({"add": 0.0})
    base = grid.groupby("acc")["add"].cumsum().to_numpy()
    since = rmon - np.repeat(first.to_numpy(), nm)
    growth = np.where(t["icp"][racc], 0.012, np.where(t["neg"][racc], -0.004, 0.003))
    mrr = np.round(base * (1 + growth) ** since, 2)
    churned = (rmon == np.repeat(churn, nm)) & (rmon <= end_m)
    revenue = pd.DataFrame(
        {
            "account_id": ids[racc],
            "period": _dates(_month_day(rmon)),
            "mrr": mrr,
            "churned": churned,
        }
    )
    tenure = (_month_day(first.to_numpy()), _month_day(stop + 1) - 1, nm)
    return revenue, cust, tenure


def _tickets(rng, t: dict, ids: np.ndarray, cust: np.ndarray, tenure: tuple):
    tenure_start, tenure_end, nm = tenure
    lam = np.where(t["neg"][cust], 0.8, np.where(t["icp"][cust], 0.25, 0.35)) * nm
    nt = rng.poisson(lam)
    tacc = np.repeat(cust, nt)
    ts, te = np.repeat(tenure_start, nt), np.minimum(np.repeat(tenure_end, nt), END_D)
    tday = ts + (rng.random(len(tacc)) * (te - ts + 1)).astype(int)
    tneg = t["neg"][tacc]
    prio = np.array(["low", "normal", "high", "urgent"], dtype=object)[
        _pick(rng, np.where(tneg[:, None], [0.2, 0.4, 0.26, 0.14], [0.3, 0.47, 0.17, 0.06]))
    ]
    esc = rng.random(len(tacc)) < np.where(
        tneg, 0.25, np.where(t["icp"][tacc], 0.05, 0.08)
    ) + 0.2 * (prio == "urgent")
    order = np.lexsort((tacc, tday))
    tacc, tday, prio, esc = tacc[order], tday[order], prio[order], esc[order]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"TCK-{i + 1:06d}" for i in range(len(tacc))],
            "account_id": ids[tacc],
            "occurred_at": _dates(tday),
            "priority": prio,
            "escalated": esc,
        }
    )
    return tickets, (tacc, tday)


def _conversations(rng, n, t, ids, deals, c, tk, cust, tenure) -> pd.DataFrame:
    """Conversations during deals, on a third of tickets, and customer check-ins."""
    tacc, tday = tk
    tenure_start, tenure_end, nm = tenure
    group = np.where(t["icp"], 1, np.where(t["neg"], 2, 0))
    cd = c["d"].to_numpy()
    nd = len(deals)
    cnt = np.bincount(cd, minlength=nd)
    coff = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    dstart = deals["created"].to_numpy()
    dend = np.where(deals["closed"].isna(), END_D, deals["closed"].fillna(0)).astype(int)
    nconv = 1 + rng.poisson(0.8, nd)
    vd = np.repeat(np.arange(nd), nconv)
    vcont = coff[vd] + (rng.random(len(vd)) * cnt[vd]).astype(int)
    is_block = c["slot"].to_numpy()[vcont] == 4
    # every late blocker speaks at least once, and only in the last sixth of the deal
    bdeal = np.flatnonzero(deals["block"].to_numpy())
    bcont = c.index[c["slot"] == 4].to_numpy()
    vd = np.concatenate([vd, bdeal])
    vcont = np.concatenate([vcont, bcont])
    is_block = np.concatenate([is_block, np.ones(len(bdeal), dtype=bool)])
    span = dend[vd] - dstart[vd]
    frac = np.where(is_block, 1 - rng.random(len(vd)) / 6, rng.random(len(vd)))
    vday = np.minimum(dstart[vd] + np.round(frac * span).astype(int), END_D)
    vacc = deals["acc"].to_numpy()[vd]
    vtier = np.array([0, 1, 2, 1])[pd.Categorical(deals["product"], categories=PRODUCTS).codes[vd]]
    vch = np.array(["call", "email", "note"], dtype=object)[
        rng.choice(3, len(vd), p=[0.35, 0.45, 0.2])
    ]
    vgroup = np.where(is_block, 2, group[vacc])
    # post-sale: a third of tickets become threads, plus check-ins every ~4 months of tenure
    pool = np.flatnonzero(c["slot"].to_numpy() != 4)  # late blockers never speak after the deal
    cacc = deals["acc"].to_numpy()[cd[pool]]
    by_acc = pool[np.argsort(cacc, kind="stable")]
    acnt = np.bincount(cacc, minlength=n)
    amin = np.concatenate([[0], np.cumsum(acnt)[:-1]])
    tk = rng.random(len(tacc)) < 0.35
    ci_n = rng.poisson(nm / 4)
    ciacc = np.repeat(cust, ci_n)
    cis, cie = np.repeat(tenure_start, ci_n), np.minimum(np.repeat(tenure_end, ci_n), END_D)
    ciday = cis + (rng.random(len(ciacc)) * (cie - cis + 1)).astype(int)
    pacc = np.concatenate([tacc[tk], ciacc])
    pday = np.concatenate([tday[tk], ciday])
    pcont = by_acc[(amin[pacc] + rng.random(len(pacc)) * acnt[pacc]).astype(int)]
    pch = np.concatenate(
        [
            np.full(tk.sum(), "ticket", dtype=object),
            np.array(["call", "note", "email"], dtype=object)[rng.integers(0, 3, len(ciacc))],
        ]
    )
    allacc = np.concatenate([vacc, pacc])
    allday = np.concatenate([vday, pday])
    allcont = np.concatenate([vcont, pcont])
    allch = np.concatenate([vch, pch])
    allgroup = np.concatenate([vgroup, group[pacc]])
    alltier = np.concatenate([vtier, rng.integers(0, 3, len(pacc))])
    nv = len(allacc)
    us = (rng.random(nv) < 0.4) | (allch == "note")
    us[allch == "ticket"] = False
    text = _texts(rng, nv, us, allgroup, alltier, allch == "ticket")
    order = np.lexsort((allcont, allday))
    return pd.DataFrame(
        {
            "id": [f"CONV-{i + 1:06d}" for i in range(nv)],
            "account_id": ids[allacc[order]],
            "contact_id": c["contact_id"].to_numpy()[allcont[order]],
            "occurred_at": _dates(allday[order]),
            "channel": allch[order],
            "speaker": np.where(us[order], "us", "customer"),
            "text": text[order],
        }
    )


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
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths[name] = path
    return paths
