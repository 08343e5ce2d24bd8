"""The canonical data model: which tables icpkit knows, their columns and types,
and the column names of common CRM exports that map onto them automatically.

Only ``accounts`` and ``deals`` are required; every other table enriches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Column kinds
STR = "str"
NUM = "num"
INT = "int"
DATE = "date"
BOOL = "bool"
LIST = "list"

FAMILIES = ("firmographic", "technographic", "behavioral", "trigger", "dmu")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    doc: str = ""
    keep_extra: bool = True  # unknown columns are kept as custom attributes

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def normalize_name(name: str) -> str:
    """Normalise a column header for matching: ``"Country/Region"`` -> ``"country_region"``."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


_ACCOUNT_COLUMNS = (
    Column(
        "account_id",
        STR,
        (
            "account_id",
            "accountid",
            "record_id",
            "company_id",
            "hs_object_id",
            "company_record_id",
            "id",
            "account",
            "mql_id",
        ),
        required=True,
        doc="unique id of the account",
    ),
    Column("name", STR, ("name", "company_name", "account_name", "company"), doc="company name"),
    Column(
        "domain", STR, ("domain", "company_domain_name", "website", "domain_name"), doc="web domain"
    ),
    Column("industry", STR, ("industry", "sector", "vertical", "business_segment"), doc="industry"),
    Column(
        "employees",
        NUM,
        (
            "employees",
            "number_of_employees",
            "numberofemployees",
            "num_of_employees",
            "num_employees",
            "employee_count",
            "headcount",
        ),
        doc="headcount",
    ),
    Column(
        "annual_revenue",
        NUM,
        ("annual_revenue", "annualrevenue", "revenue", "company_revenue"),
        doc="annual revenue (any currency unit, used consistently)",
    ),
    Column(
        "country",
        STR,
        (
            "country",
            "country_region",
            "billingcountry",
            "billing_country",
            "office_location",
            "hq_country",
        ),
        doc="country of the headquarters",
    ),
    Column("region", STR, ("region", "sales_region", "geo"), doc="sales region"),
    Column(
        "founded_year",
        NUM,
        ("founded_year", "year_established", "year_founded", "founded"),
        doc="year the company was founded",
    ),
    Column(
        "funding_stage", STR, ("funding_stage", "stage_of_funding", "funding"), doc="funding stage"
    ),
    Column(
        "tech_stack",
        LIST,
        ("tech_stack", "technologies", "technographics", "tools"),
        doc="technologies in use, separated by ';' or '|'",
    ),
)

# how a deal or a contact names its account: by the account's id in the CRM's words, or by
# the company's name (matched to the accounts file's names when the values are not ids)
ACCOUNT_ID_ALIASES = (
    "account_id",
    "accountid",
    "company_id",
    "associated_company_ids_primary",
    "associated_company_id_primary",
    "associated_company_id",
    "associated_company_ids",
    "account",
)
ACCOUNT_NAME_ALIASES = (
    "associated_company_primary",
    "associated_company",
    "account_name",
    "company_name",
    "company",
)

_DEAL_COLUMNS = (
    Column(
        "deal_id",
        STR,
        ("deal_id", "opportunity_id", "opportunityid", "record_id", "deal_record_id", "id"),
        doc="unique id of the deal (generated from the row number when absent)",
    ),
    Column(
        "account_id",
        STR,
        (
            *ACCOUNT_ID_ALIASES,
            "mql_id",
            *ACCOUNT_NAME_ALIASES,
        ),
        required=True,
        doc="the account the deal belongs to (its id, or its name as in the accounts file)",
    ),
    Column(
        "created_at",
        DATE,
        (
            "created_at",
            "createddate",
            "create_date",
            "created_date",
            "date_created",
            "creation_date",
            "created",
            "engage_date",
            "first_contact_date",
        ),
        doc="when the deal was created or engaged",
    ),
    Column(
        "closed_at",
        DATE,
        ("closed_at", "closedate", "close_date", "closed_date", "date_closed", "won_date"),
        doc="when the deal was won or lost",
    ),
    Column(
        "outcome",
        STR,
        (
            "outcome",
            "stagename",
            "deal_stage",
            "dealstage",
            "opportunity_stage",
            "stage",
            "status",
            "result",
            "iswon",
        ),
        required=True,
        doc="won / lost / open, or a CRM stage label such as 'Closed Won'",
    ),
    Column(
        "amount",
        NUM,
        (
            "amount",
            "close_value",
            "deal_amount",
            "opportunity_amount",
            "value",
            "amount_in_company_currency",
            "amount_converted",
        ),
        doc="deal value",
    ),
    Column("product", STR, ("product", "product_name", "plan"), doc="product sold"),
    Column(
        "source",
        STR,
        (
            "source",
            "lead_source",
            "leadsource",
            "original_source",
            "original_traffic_source",
            "origin",
            "channel",
        ),
        doc="lead source",
    ),
    Column(
        "lost_reason",
        STR,
        ("lost_reason", "closed_lost_reason", "loss_reason", "reason_lost"),
        doc="why the deal was lost",
    ),
)

_CONTACT_COLUMNS = (
    Column(
        "contact_id",
        STR,
        ("contact_id", "contactid", "record_id", "id"),
        doc="unique id of the contact",
    ),
    Column(
        "account_id",
        STR,
        (
            *ACCOUNT_ID_ALIASES,
            *ACCOUNT_NAME_ALIASES,
        ),
        required=True,
    ),
    Column("title", STR, ("title", "job_title", "jobtitle", "position"), doc="free-text job title"),
    Column("department", STR, ("department", "function"), doc="department"),
    Column("seniority", STR, ("seniority", "level", "job_level"), doc="seniority, if known"),
    Column("email", STR, ("email", "email_address"), doc="email"),
    Column(
        "deal_id",
        STR,
        (
            "deal_id",
            "opportunity_id",
            "opportunityid",
            "associated_deal_ids_primary",
            "associated_deal_ids",
            "associated_deal_id",
        ),
        doc="deal the contact was involved in",
    ),
    Column(
        "deal_role",
        STR,
        ("deal_role", "role", "contact_role", "opportunity_contact_role"),
        doc="role on the deal",
    ),
)

_REVENUE_COLUMNS = (
    Column("account_id", STR, ("account_id", "accountid", "company_id", "account"), required=True),
    Column(
        "period", DATE, ("period", "month", "date", "start_date", "period_start"), required=True
    ),
    Column(
        "mrr", NUM, ("mrr", "mrr_amount", "monthly_recurring_revenue", "revenue"), required=True
    ),
    Column(
        "end_date",
        DATE,
        ("end_date", "period_end"),
        doc="end of a subscription period (blank = active)",
    ),
    Column(
        "churned", BOOL, ("churned", "churn_flag", "is_churned"), doc="this period ended in churn"
    ),
    Column(
        "subscription_id",
        STR,
        ("subscription_id", "sub_id"),
        doc="subscription id (links usage rows)",
    ),
)

_USAGE_COLUMNS = (
    Column(
        "account_id",
        STR,
        ("account_id", "accountid", "company_id", "account"),
        doc="the account (or give subscription_id)",
    ),
    Column(
        "subscription_id",
        STR,
        ("subscription_id", "sub_id"),
        doc="subscription id, resolved to the account through --revenue",
    ),
    Column(
        "occurred_at",
        DATE,
        ("occurred_at", "usage_date", "date", "timestamp", "day"),
        required=True,
    ),
    Column(
        "count",
        NUM,
        ("count", "usage_count", "events", "sessions"),
        doc="usage events on that row (default 1)",
    ),
    Column("feature", STR, ("feature", "feature_name", "event", "event_name")),
)

_CHURN_COLUMNS = (
    Column("account_id", STR, ("account_id", "accountid", "company_id", "account"), required=True),
    Column("churned_at", DATE, ("churned_at", "churn_date", "date", "occurred_at"), required=True),
    Column("reason", STR, ("reason", "reason_code", "churn_reason")),
    Column("reactivation", BOOL, ("reactivation", "is_reactivation")),
    Column("feedback", STR, ("feedback", "feedback_text", "comment")),
)

_EVENT_COLUMNS = (
    Column("account_id", STR, ("account_id", "accountid", "company_id", "account"), required=True),
    Column("occurred_at", DATE, ("occurred_at", "date", "event_date", "timestamp"), required=True),
    Column("type", STR, ("type", "event_type", "signal"), required=True),
    Column("detail", STR, ("detail", "description", "details"), doc="free text"),
)

_TICKET_COLUMNS = (
    Column("ticket_id", STR, ("ticket_id", "id"), doc="unique id"),
    Column("account_id", STR, ("account_id", "accountid", "company_id", "account"), required=True),
    Column(
        "occurred_at", DATE, ("occurred_at", "submitted_at", "created_at", "date"), required=True
    ),
    Column("priority", STR, ("priority",)),
    Column("escalated", BOOL, ("escalated", "escalation_flag", "is_escalated")),
    Column("satisfaction", NUM, ("satisfaction", "satisfaction_score", "csat")),
)

_CONVERSATION_COLUMNS = (
    Column("id", STR, ("id", "conversation_id", "message_id"), doc="unique id"),
    Column("account_id", STR, ("account_id", "accountid", "company_id", "account"), required=True),
    Column("contact_id", STR, ("contact_id",)),
    Column(
        "occurred_at",
        DATE,
        ("occurred_at", "date", "created_at", "timestamp", "created"),
        required=True,
    ),
    Column("channel", STR, ("channel", "type", "source")),
    Column("speaker", STR, ("speaker", "author_role", "from")),
    Column("text", STR, ("text", "body", "content", "transcript", "message"), required=True),
)

TABLES: dict[str, Table] = {
    "accounts": Table("accounts", _ACCOUNT_COLUMNS, key="account_id", doc="one row per company"),
    "deals": Table(
        "deals", _DEAL_COLUMNS, key="deal_id", doc="one row per opportunity", keep_extra=True
    ),
    "contacts": Table("contacts", _CONTACT_COLUMNS, key="contact_id", doc="people at accounts"),
    "revenue": Table("revenue", _REVENUE_COLUMNS, doc="MRR by period or subscriptions"),
    "events": Table("events", _EVENT_COLUMNS, doc="triggering events and signals"),
    "tickets": Table("tickets", _TICKET_COLUMNS, key="ticket_id", doc="support tickets"),
    "usage": Table("usage", _USAGE_COLUMNS, doc="product usage events"),
    "churn": Table("churn", _CHURN_COLUMNS, doc="churn events"),
    "conversations": Table(
        "conversations", _CONVERSATION_COLUMNS, key="id", doc="calls, emails, notes"
    ),
    "market": Table(
        "market", _ACCOUNT_COLUMNS, key="account_id", doc="prospects to size and score"
    ),
}

# Outcome labels (normalised with normalize_name) -> canonical outcome
WON_LABELS = {
    "won",
    "closed_won",
    "closedwon",
    "win",
    "true",
    "1",
    "yes",
    "signed",
    "closed_won_signed",
    "customer",
    "converted",
}
LOST_LABELS = {
    "lost",
    "closed_lost",
    "closedlost",
    "loss",
    "false",
    "0",
    "no",
    "disqualified",
    "closed_disqualified",
    "churned_lost",
    "not_won",
}
OPEN_LABELS = {
    "open",
    "prospecting",
    "engaging",
    "qualification",
    "qualified",
    "qualifying",
    "discovery",
    "demo",
    "demo_scheduled",
    "proposal",
    "proposal_sent",
    "proposal_price_quote",
    "negotiation",
    "negotiation_review",
    "id_decision_makers",
    "perception_analysis",
    "value_proposition",
    "needs_analysis",
    "appointment_scheduled",
    "qualified_to_buy",
    "presentation_scheduled",
    "decision_maker_bought_in",
    "contract_sent",
    "in_progress",
    "pending",
    "new",
    "working",
}


# workspace meta key: the accounts columns a mapping file keeps (``accounts: keep: [...]``)
KEEP_META_KEY = "keep_columns"


@dataclass
class ColumnMapping:
    """What a mapping file says about one table."""

    columns: dict[str, str] = field(default_factory=dict)  # source header -> canonical name
    families: dict[str, str] = field(default_factory=dict)  # column -> family
    exclude: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # label -> won/lost/open
    list_separator: str | None = None
    list_columns: list[str] = field(default_factory=list)
    keep: list[str] = field(
        default_factory=list
    )  # learn from these even if they look like the outcome
