"""Voice of customer inside ``icp build`` / ``icp run``: index the conversations,
find the pain language per tier and for the negative ICP, and fill the ICP
statement's "experiencing [pain]" and "currently [workaround]" slots when the
data supports it (:func:`voc_step` finds, :func:`apply_to_statement` fills;
the build saves the ICP once)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import icpfile
from ..workspace import Workspace
from .sync import update_index
from .themes import pain_themes

WORKAROUND_WORDS = (
    "spreadsheet",
    "excel",
    "manual",
    "legacy",
    "in-house",
    "in house",
    "email",
    "paper",
    "workaround",
)
TBC_PREFIX = "[pain:"


def account_groups(ws: Workspace) -> dict[str, set[str]]:
    """Tier 1/2/3, negative ICP (excluded) and best/worst 20% by health."""
    groups: dict[str, set[str]] = {}
    if ws.has("scores"):
        s = ws.query("SELECT account_id, tier FROM scores")
        for key, name in (
            ("1", "tier 1"),
            ("2", "tier 2"),
            ("3", "tier 3"),
            ("excluded", "negative ICP"),
        ):
            ids = set(s.loc[s["tier"].astype(str) == key, "account_id"].astype(str))
            if ids:
                groups[name] = ids
    if ws.has("health"):
        h = ws.query("SELECT account_id, health_tier FROM health")
        for key in ("best", "worst"):
            ids = set(h.loc[h["health_tier"] == key, "account_id"].astype(str))
            if ids:
                groups[key] = ids
    return groups


def _speakers(ws: Workspace) -> set[str] | None:
    if not ws.has("conversations"):
        return None
    vals = ws.query(
        "SELECT DISTINCT lower(CAST(speaker AS VARCHAR)) AS s FROM conversations WHERE speaker IS NOT NULL"
    )
    found = set(vals["s"].dropna())
    return {"customer"} if "customer" in found else None


def compute_voc(ws: Workspace) -> dict[str, Any]:
    """Themes per group and the best-vs-worst and tier-1-vs-negative contrasts."""
    report = update_index(ws)
    groups = account_groups(ws)
    spk = _speakers(ws)
    out: dict[str, Any] = {"index": report.as_dict(), "speakers": sorted(spk) if spk else None}
    if not groups:
        out["themes"] = {"groups": {}, "contrast": None}
        return out
    out["themes"] = pain_themes(
        ws,
        groups,
        contrast=("best", "worst") if {"best", "worst"} <= set(groups) else None,
        speakers=spk,
        top=40,
    )
    if {"tier 1", "negative ICP"} <= set(groups):
        out["icp_vs_negative"] = pain_themes(
            ws,
            {"tier 1": groups["tier 1"], "negative ICP": groups["negative ICP"]},
            speakers=spk,
            top=40,
        )["contrast"]
    return out


def _first_quote(themes: dict[str, Any], group: str, phrase: str) -> str | None:
    for t in themes.get("groups", {}).get(group, {}).get("themes", []):
        if t["phrase"] == phrase and t.get("quotes"):
            q = t["quotes"][0]
            return str(q.get("quote") or q.get("text") or "")
    return None


def pick_pain(voc: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(pain, workaround, evidence): the ICP group's leading themes whose words are
    all over-represented against the other group (tier 1 vs negative ICP, else best vs worst)."""
    themes = voc.get("themes") or {}
    for key, group in (("icp_vs_negative", "tier 1"), ("contrast", "best")):
        c = voc.get(key) if key == "icp_vs_negative" else themes.get("contrast")
        if not c or not c.get("over_a"):
            continue
        over = {w for r in c["over_a"] for w in r["phrase"].split()}
        z = {r["phrase"]: r["z"] for r in c["over_a"]}
        cands = []
        for t in themes.get("groups", {}).get(group, {}).get("themes", []):
            words = [w for w in t["phrase"].split() if len(w) > 3]
            if words and all(w in over for w in words):
                cands.append(t)
        if not cands:
            continue
        pain = cands[0]["phrase"]
        workaround = next(
            (
                t["phrase"]
                for t in cands
                if t["phrase"] != pain and any(w in t["phrase"] for w in WORKAROUND_WORDS)
            ),
            None,
        )
        top_z = max((z.get(w, 0.0) for w in pain.split()), default=0.0)
        evidence = (
            f"'{pain}' recurs in {cands[0]['passages']} passages from {cands[0]['accounts']} {group} accounts; "
            f"its words are over-represented against the {c['b']} group (z up to {top_z:.1f})"
        )
        return pain, workaround, evidence
    return None, None, None


def apply_to_statement(
    icp: icpfile.ICP, pain: str | None, workaround: str | None, evidence: str | None
) -> bool:
    st = icp.statement
    changed = False
    if pain and st.pain.startswith(TBC_PREFIX):
        new = f"{pain} (in customers' own words)"
        st.text = st.text.replace(st.pain, new, 1)
        st.pain = new
        changed = True
    if workaround and st.workaround.startswith("[workaround:"):
        new = f"{workaround} (in customers' own words)"
        st.text = st.text.replace(st.workaround, new, 1)
        st.workaround = new
        changed = True
    if changed:
        icp.voc = icpfile.Voc(pain=pain, workaround=workaround, evidence=evidence)
    return changed


@dataclass
class VocResult:
    """What the conversations say: the themes (``voc.json``), the pain, workaround and evidence."""

    voc: dict[str, Any] | None
    pain: str | None = None
    workaround: str | None = None
    evidence: str | None = None
    warnings: list[str] = field(default_factory=list)

    def apply(self, icp: icpfile.ICP) -> bool:
        """Fill ``icp``'s statement slots (in place); True when it changed."""
        return apply_to_statement(icp, self.pain, self.workaround, self.evidence)


def voc_step(ws: Workspace) -> VocResult:
    """Index the conversations and find the pain language; store ``voc.json``. Saves no ICP version."""
    if not ws.has("conversations"):
        return VocResult(None)
    voc = compute_voc(ws)
    warnings = []
    split = voc["index"].get("split") or {}
    for key, label in (
        ("empty_skipped", "empty texts skipped"),
        ("truncated", "texts truncated at the size limit"),
        ("decoded_with_replacement", "texts with undecodable bytes replaced"),
        ("html_stripped", "HTML texts reduced to plain text"),
    ):
        if split.get(key):
            warnings.append(f"conversations: {split[key]} {label}")
    ws.write({}, artifacts={"voc.json": json.dumps(voc, default=str)})
    pain, workaround, evidence = pick_pain(voc)
    return VocResult(voc, pain, workaround, evidence, warnings)
