"""CRM shapes: import files for HubSpot and Salesforce, and their webhook payloads.

Import files
    HubSpot updates companies from a CSV keyed by ``Record ID`` (or ``Company
    Domain Name``); Salesforce (Data Import Wizard, Data Loader) by ``Id``.
    The ICP lands in three custom properties or fields, created once in the CRM:

    ============  ===============  ==================
    meaning       HubSpot          Salesforce
    ============  ===============  ==================
    fit score     ``icp_score``    ``ICP_Score__c``
    tier          ``icp_tier``     ``ICP_Tier__c``
    reasons       ``icp_reasons``  ``ICP_Reasons__c``
    ============  ===============  ==================

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

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .errors import InputError

HUBSPOT = {"score": "icp_score", "tier": "icp_tier", "reasons": "icp_reasons"}
SALESFORCE = {"score": "ICP_Score__c", "tier": "ICP_Tier__c", "reasons": "ICP_Reasons__c"}
FORMATS = ("csv", "hubspot", "salesforce")


def export_frame(
    scored: pd.DataFrame, fmt: str, domains: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The scored rows in an import format: ``csv`` (as ``icp score``), ``hubspot`` or ``salesforce``."""
    if fmt == "csv":
        return scored
    ids = scored["account_id"].astype(str)
    if fmt == "hubspot":
        out = pd.DataFrame({"Record ID": ids})
        if domains:
            out["Company Domain Name"] = [domains.get(i) or "" for i in ids]
        names = HUBSPOT
    elif fmt == "salesforce":
        out = pd.DataFrame({"Id": ids})
        names = SALESFORCE
    else:
        raise InputError(f"unknown export format '{fmt}'", hint=f"Use one of {', '.join(FORMATS)}")
    out[names["score"]] = scored["score"].astype(int).to_numpy()
    out[names["tier"]] = scored["tier"].astype(str).to_numpy()
    out[names["reasons"]] = scored["reasons"].astype(str).to_numpy()
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The export as CSV text, safe to open in a spreadsheet (see :mod:`icpkit.csvsafe`)."""
    from .csvsafe import csv_text

    return csv_text(frame)


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
