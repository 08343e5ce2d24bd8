"""CRM shapes: import files for HubSpot and Salesforce, and their webhook payloads.

Import files
    HubSpot updates companies from a CSV keyed by ``Record ID`` (or ``Company
    Domain Name``); Salesforce (Data Import Wizard, Data Loader) updates
    Accounts by ``Id``. The ICP lands in seven custom properties or fields,
    created once in the CRM from the definitions :func:`property_definitions`
    writes (HubSpot: a ``POST /crm/v3/properties/companies/batch/create``
    body; Salesforce: the fields to add to Account):

    ==============  =================  ======================  ========
    meaning         HubSpot            Salesforce              type
    ==============  =================  ======================  ========
    fit score       ``icp_score``      ``ICP_Score__c``        number
    tier            ``icp_tier``       ``ICP_Tier__c``         text
    route           ``icp_route``      ``ICP_Route__c``        text
    reasons         ``icp_reasons``    ``ICP_Reasons__c``      long text
    why now         ``icp_why_now``    ``ICP_Why_Now__c``      long text
    ICP version     ``icp_version``    ``ICP_Version__c``      text
    scored at       ``icp_scored_at``  ``ICP_Scored_At__c``    date-time
    ==============  =================  ======================  ========

    ``icp_version`` is the ICP's fingerprint (:func:`icp_fingerprint`): the
    same ``icp.yaml`` gives the same version from ``icp score``, ``icp run``
    and the web app. :func:`changed_rows` keeps only the accounts whose tier or
    route differ from a previous export (or that it did not hold).

Webhooks
    A HubSpot workflow webhook, a CRM object (``{"id", "properties"}``), a batch
    (``{"inputs": [...]}``) or webhook subscription events (``objectId``,
    ``propertyName``, ``propertyValue``); a Salesforce sObject (``Id``,
    ``attributes``), a list of them, ``{"records": [...]}`` or a Change Data
    Capture event (``ChangeEventHeader.recordIds``). The answer is the body to
    send back: HubSpot's batch update ``{"inputs": [{"id", "properties"}]}``, or
    Salesforce's sObject collection update ``{"allOrNone": false, "records": [...]}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import InputError

if TYPE_CHECKING:
    from .icpfile import ICP


@dataclass(frozen=True)
class Property:
    """One ICP property as each CRM names and types it."""

    key: str  # the scored frame's column
    hubspot: str
    salesforce: str
    label: str
    kind: str  # number, text, long_text, datetime
    description: str


PROPERTIES = (
    Property("score", "icp_score", "ICP_Score__c", "ICP score", "number",
             "Fit to the Ideal Customer Profile, 0-100 (50 is the average account)"),
    Property("tier", "icp_tier", "ICP_Tier__c", "ICP tier", "text",
             "ICP tier: 1, 2, 3, none, or excluded by a disqualifier"),
    Property("route", "icp_route", "ICP_Route__c", "ICP route", "text",
             "Sales route from the score: high_touch, nurture or deprioritize"),
    Property("reasons", "icp_reasons", "ICP_Reasons__c", "ICP reasons", "long_text",
             "The points behind the score, largest first"),
    Property("why_now", "icp_why_now", "ICP_Why_Now__c", "ICP why now", "long_text",
             "The triggering events that make it a good time to reach out"),
    Property("version", "icp_version", "ICP_Version__c", "ICP version", "text",
             "Fingerprint of the icp.yaml that scored the account"),
    Property("scored_at", "icp_scored_at", "ICP_Scored_At__c", "ICP scored at", "datetime",
             "When the account was scored (UTC)"),
)  # fmt: skip

HUBSPOT = {p.key: p.hubspot for p in PROPERTIES}
SALESFORCE = {p.key: p.salesforce for p in PROPERTIES}
FORMATS = ("csv", "hubspot", "salesforce")
CRMS = ("hubspot", "salesforce")
KEY_COLUMN = {"hubspot": "Record ID", "salesforce": "Id"}


def icp_fingerprint(icp: ICP) -> str:
    """A short, stable fingerprint of an ICP: the same ``icp.yaml`` gives the same one."""
    from . import icpfile

    return hashlib.sha256(icpfile.dumps(icp).encode("utf-8")).hexdigest()[:12]


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    name = str(fmt).strip().lower()
    if name not in allowed:
        raise InputError(f"unknown export format '{fmt}'", hint=f"Use one of {', '.join(allowed)}")
    return name


def export_frame(
    scored: pd.DataFrame,
    fmt: str,
    domains: Mapping[str, Any] | None = None,
    *,
    version: str = "",
    scored_at: str | None = None,
) -> pd.DataFrame:
    """The scored rows in an import format: ``csv`` (as ``icp score``), ``hubspot`` or ``salesforce``.

    The import formats hold the key (``Record ID``, plus ``Company Domain Name``
    when ``domains`` are known; ``Id``) and the seven ICP properties; a
    ``why_now`` column of the scores fills ``icp_why_now`` (blank without one).
    """
    fmt = check_format(fmt)
    if fmt == "csv":
        return scored
    ids = scored["account_id"].astype(str)
    out = pd.DataFrame({KEY_COLUMN[fmt]: ids.to_numpy()})
    if fmt == "hubspot" and domains:
        out["Company Domain Name"] = [domains.get(i) or "" for i in ids]
    when = scored_at or utc_now()
    n = len(scored)
    values: dict[str, Any] = {
        "score": scored["score"].astype(int).to_numpy(),
        "tier": scored["tier"].astype(str).to_numpy(),
        "route": scored["route"].astype(str).to_numpy() if "route" in scored else [""] * n,
        "reasons": scored["reasons"].fillna("").astype(str).to_numpy(),
        "why_now": (
            scored["why_now"].fillna("").astype(str).to_numpy() if "why_now" in scored else [""] * n
        ),
        "version": [version] * n,
        "scored_at": [when] * n,
    }
    for p in PROPERTIES:
        out[getattr(p, fmt)] = values[p.key]
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The export as CSV text, safe to open in a spreadsheet (see :mod:`icpkit.csvsafe`)."""
    from .csvsafe import csv_text

    return csv_text(frame)


def property_definitions(fmt: str) -> tuple[str, str]:
    """The properties to create in the CRM before the first import: ``(file name, text)``.

    HubSpot: the body of ``POST /crm/v3/properties/companies/batch/create``
    (JSON). Salesforce: one row per custom field to add to Account (CSV:
    label, API name, type, length, description), as entered in Setup >
    Object Manager > Account > Fields & Relationships.
    """
    fmt = check_format(fmt, CRMS)
    if fmt == "hubspot":
        types = {
            "number": ("number", "number"),
            "text": ("string", "text"),
            "long_text": ("string", "textarea"),
            "datetime": ("datetime", "date"),
        }
        inputs = [
            {
                "name": p.hubspot,
                "label": p.label,
                "type": types[p.kind][0],
                "fieldType": types[p.kind][1],
                "groupName": "companyinformation",
                "description": p.description,
            }
            for p in PROPERTIES
        ]
        return "hubspot-properties.json", json.dumps({"inputs": inputs}, indent=2) + "\n"
    sf = {
        "number": ("Number", "", "3", "0"),
        "text": ("Text", "40", "", ""),
        "long_text": ("Long Text Area", "32768", "", ""),
        "datetime": ("Date/Time", "", "", ""),
    }
    rows = [
        {
            "Object": "Account",
            "Field Label": p.label,
            "API Name": p.salesforce,
            "Data Type": sf[p.kind][0],
            "Length": sf[p.kind][1],
            "Precision": sf[p.kind][2],
            "Scale": sf[p.kind][3],
            "Description": p.description,
        }
        for p in PROPERTIES
    ]
    return "salesforce-fields.csv", to_csv(pd.DataFrame(rows))


def read_export(path: str | Path) -> pd.DataFrame:
    """A previous export read back: ``account_id``, ``score``, ``tier``, ``route`` (and the
    other properties it holds), from a HubSpot or Salesforce import file or a scores file."""
    from .ingest.read import read_frame

    raw, _ = read_frame(path)
    cols = set(map(str, raw.columns))
    for fmt in CRMS:
        key = KEY_COLUMN[fmt]
        if key in cols and getattr(PROPERTIES[1], fmt) in cols:
            names = {getattr(p, fmt): p.key for p in PROPERTIES if getattr(p, fmt) in cols}
            out = raw[[key, *names]].rename(columns={key: "account_id", **names})
            break
    else:
        if not {"account_id", "tier"} <= cols:
            raise InputError(
                "not an ICP export: no Record ID and icp_tier (HubSpot), Id and ICP_Tier__c "
                "(Salesforce) or account_id and tier (a scores file)",
                file=str(path),
                row=1,
            )
        out = raw[[c for c in ("account_id", "score", "tier", "route") if c in cols]]
    out = out.copy()
    if "score" in out:
        out["score"] = pd.to_numeric(out["score"], errors="coerce")
    return out.reset_index(drop=True)


def changed_rows(current: pd.DataFrame, previous: pd.DataFrame) -> pd.Series:
    """Which rows of ``current`` (scored rows) changed tier or route since ``previous``
    (:func:`read_export`), or are new to it."""
    prev = (
        previous.assign(account_id=previous["account_id"].astype(str))
        .drop_duplicates("account_id", keep="last")
        .set_index("account_id")
    )
    ids = current["account_id"].astype(str)
    known = ids.isin(prev.index).to_numpy()
    changed = ~known
    for col in ("tier", "route"):
        if col in prev.columns and col in current.columns:
            before = ids.map(prev[col].astype(str)).fillna("")
            changed |= known & (before.to_numpy() != current[col].astype(str).to_numpy())
    return pd.Series(changed, index=current.index)


# what each CRM's record ids look like: HubSpot's are numbers, Salesforce's 15 or 18 characters
ID_PATTERNS = {"hubspot": r"^[0-9]+$", "salesforce": r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"}


def _foreign_ids(ids: pd.Series, fmt: str) -> str | None:
    """A warning when account ids do not look like the CRM's record ids (the import would
    match no record), else None."""
    text = ids.astype(str).str.strip()
    bad = ~text.str.match(ID_PATTERNS[fmt])
    if not bad.any():
        return None
    what = (
        "HubSpot Record IDs (numbers)"
        if fmt == "hubspot"
        else "Salesforce Ids (15 or 18 characters)"
    )
    return (
        f"{int(bad.sum()):,} of {len(text):,} account ids do not look like {what}, "
        f"e.g. {text[bad].iloc[0]!r}: the CRM will not find those records. "
        f"Score an export that has the {KEY_COLUMN[fmt]} column"
    )


@dataclass
class ImportFiles:
    """What :func:`write_import` wrote."""

    path: Path
    definitions: Path
    rows: int
    total: int
    previous: Path | None = None
    notes: list[str] = field(default_factory=list)


def write_import(
    scored: pd.DataFrame,
    out: str | Path,
    fmt: str,
    *,
    version: str,
    changed_since: str | Path | pd.DataFrame | None = None,
    scored_at: str | None = None,
    domains: Mapping[str, Any] | None = None,
) -> ImportFiles:
    """Write the import file for ``fmt`` (``hubspot`` or ``salesforce``) and, beside it,
    the property definitions to create first.

    With ``changed_since`` (a previous export or scores file) only the accounts whose
    tier or route changed since then, or that it did not hold, are written.
    """
    from .scoring.output import _write_frame

    fmt = check_format(fmt, CRMS)
    out = Path(out)
    rows = scored
    notes: list[str] = []
    previous: Path | None = None
    if changed_since is not None:
        if isinstance(changed_since, pd.DataFrame):
            before, since = changed_since, "the previous run"
        else:
            previous = Path(changed_since)
            before, since = read_export(previous), str(previous)
        keep = changed_rows(scored, before)
        rows = scored[keep.to_numpy()]
        notes.append(
            f"{len(rows):,} of {len(scored):,} accounts changed tier or route since {since}"
        )
    odd = _foreign_ids(scored["account_id"], fmt)
    if odd:
        notes.append(odd)
    frame = export_frame(rows, fmt, domains, version=version, scored_at=scored_at)
    _write_frame(frame, out)
    name, text = property_definitions(fmt)
    definitions = out.with_name(name)
    tmp = definitions.with_name(f".{name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(definitions)
    return ImportFiles(out, definitions, len(frame), len(scored), previous, notes)


# -- webhook payloads -------------------------------------------------------------------


def _flat(props: Mapping[str, Any]) -> dict[str, Any]:
    """Property values as plain values: HubSpot's ``{"value": ...}`` unwrapped, nested objects dropped."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if isinstance(v, Mapping):
            if "value" in v and not isinstance(v["value"], (Mapping, list)):
                out[str(k)] = v["value"]
            elif str(k).lower() in ("billingaddress", "shippingaddress") and v.get("country"):
                out.setdefault(str(k)[: -len("Address")] + "Country", v["country"])
            continue
        if isinstance(v, list) and any(isinstance(x, Mapping) for x in v):
            continue
        out[str(k)] = v
    return out


def hubspot_records(payload: Any) -> list[dict[str, Any]]:
    """Company records (``account_id`` plus properties) from a HubSpot payload."""
    if isinstance(payload, Mapping):
        for key in ("inputs", "results", "objects"):
            if isinstance(payload.get(key), list):
                return hubspot_records(payload[key])
        items: list[Any] = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise InputError("a HubSpot payload must be a JSON object or a list of them")
    records: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"item {i} of the HubSpot payload is not an object")
        oid = item.get("objectId", item.get("id", item.get("hs_object_id")))
        if oid is None and isinstance(item.get("properties"), Mapping):
            oid = _flat(item["properties"]).get("hs_object_id")
        if oid is None:
            raise InputError(
                f"item {i} of the HubSpot payload has no objectId or id",
                hint="Send the company's record id as objectId (webhooks) or id (CRM objects)",
            )
        rec = records.setdefault(str(oid), {"account_id": str(oid)})
        if isinstance(item.get("properties"), Mapping):
            props = _flat(item["properties"])
            props.pop("hs_object_id", None)
            rec.update(props)
        elif "propertyName" in item:
            rec[str(item["propertyName"])] = item.get("propertyValue")
    return list(records.values())


def hubspot_answer(scored: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "id": r["account_id"],
                "properties": {
                    HUBSPOT["score"]: r["score"],
                    HUBSPOT["tier"]: r["tier"],
                    HUBSPOT["reasons"]: r["reasons"],
                },
            }
            for r in scored
        ]
    }


def salesforce_records(payload: Any) -> tuple[list[dict[str, Any]], str]:
    """Account records (``account_id`` plus fields) and the sObject type from a Salesforce payload."""
    if isinstance(payload, Mapping):
        if isinstance(payload.get("data"), Mapping):
            return salesforce_records(payload["data"])
        if isinstance(payload.get("payload"), Mapping):
            return salesforce_records(payload["payload"])
        for key in ("records", "new", "accounts"):
            if isinstance(payload.get(key), list):
                return salesforce_records(payload[key])
        items: list[Any] = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise InputError("a Salesforce payload must be a JSON object or a list of them")
    out: list[dict[str, Any]] = []
    kind = "Account"
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"record {i} of the Salesforce payload is not an object")
        fields = _flat(
            {k: v for k, v in item.items() if k not in ("attributes", "ChangeEventHeader")}
        )
        attrs = item.get("attributes")
        if isinstance(attrs, Mapping) and attrs.get("type"):
            kind = str(attrs["type"])
        header = item.get("ChangeEventHeader")
        if isinstance(header, Mapping):
            kind = str(header.get("entityName") or kind)
            ids = [str(x) for x in header.get("recordIds") or []]
            if not ids:
                raise InputError(f"record {i}: the change event names no recordIds")
            out += [
                {**{k: v for k, v in fields.items() if k != "Id"}, "account_id": x} for x in ids
            ]
            continue
        rid = fields.pop("Id", fields.pop("id", None))
        if rid is None:
            raise InputError(
                f"record {i} of the Salesforce payload has no Id",
                hint="Include the record's Id field (18-character Salesforce id)",
            )
        out.append({**fields, "account_id": str(rid)})
    return out, kind


def salesforce_answer(scored: list[dict[str, Any]], kind: str = "Account") -> dict[str, Any]:
    return {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": kind},
                "Id": r["account_id"],
                SALESFORCE["score"]: r["score"],
                SALESFORCE["tier"]: r["tier"],
                SALESFORCE["reasons"]: r["reasons"],
            }
            for r in scored
        ],
    }
