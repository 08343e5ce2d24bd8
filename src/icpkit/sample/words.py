"""Vocabulary of the sample company: industries, name parts, countries, tools, products,
people's names, job titles and departments."""

from __future__ import annotations

import numpy as np


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
# fmt: on
