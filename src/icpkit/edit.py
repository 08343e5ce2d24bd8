"""Editing the ICP as a person would: thresholds, tiers, pins, drops, disqualifiers, points.

``apply_edits(icp, form)`` reads edit fields (the web ICP page's form, or any
mapping with the same keys) and returns the edited ICP (validated by the
icp.yaml schema) with a line in ``overrides`` for each change, so the report
shows where a person overruled the data.
``preview`` scores the workspace's accounts with the current and the edited
ICP side by side; ``diff`` is the unified diff between two icp.yaml texts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import icpfile
from .errors import InputError
from .icpfile import ICP
from .report import charts
from .scoring.scorer import score_accounts

OPS = {
    "in": "is one of",
    "not_in": "is not one of",
    "between": "is between",
    "has": "has (list)",
    "lacks": "lacks (list)",
    "missing": "is unknown",
}
TIER_ORDER = ["1", "2", "3", "none", "excluded"]


def _int(form: Mapping[str, str], key: str, label: str, lo: int = 0, hi: int = 100) -> int | None:
    raw = form.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        v = int(str(raw).strip())
    except ValueError:
        raise InputError(f"{label} must be a whole number from {lo} to {hi}; got {raw!r}") from None
    if not lo <= v <= hi:
        raise InputError(f"{label} must be from {lo} to {hi}; got {v}")
    return v


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]


def _number(text: str, label: str) -> float | None:
    t = text.strip().replace(",", "")
    if t in ("", "*", "-"):
        return None
    try:
        return float(t)
    except ValueError:
        raise InputError(f"{label} must be a number; got {text!r}") from None


def new_disqualifier(form: Mapping[str, str]) -> dict[str, Any] | None:
    """The disqualifier described by the ``new_dq.*`` fields, or None when left empty."""
    attr = (form.get("new_dq.attribute") or "").strip()
    if not attr:
        return None
    op = form.get("new_dq.op") or "in"
    value = (form.get("new_dq.value") or "").strip()
    reason = (form.get("new_dq.reason") or "").strip() or "set by hand"
    d: dict[str, Any] = {"attribute": attr, "reason": reason, "source": "manual"}
    if op not in OPS:
        raise InputError(f"unknown operator {op!r}", hint=f"Use one of {', '.join(OPS)}")
    if op == "missing":
        d["missing"] = True
    elif op == "between":
        lo, _, hi = value.partition("-") if "-" in value.strip("-") else (value, "", "")
        d["between"] = [_number(lo, "the low end"), _number(hi, "the high end")]
        if d["between"] == [None, None]:
            raise InputError("a 'between' disqualifier needs a range such as 0-10 or 500-*")
    elif not value:
        raise InputError(f"the new disqualifier on '{attr}' needs a value")
    elif op in ("in", "not_in"):
        d[op] = _values(value)
    else:
        d[op] = value
    return d


def new_tier(icp: ICP, form: Mapping[str, str]) -> dict[str, Any] | None:
    """The tier described by the ``new_tier.*`` fields, or None when left empty.

    A tier added by hand has no criteria yet, so accounts enter it on their
    score alone (``match: score``): reaching ``min_score`` is enough.
    """
    raw = (form.get("new_tier.tier") or "").strip()
    if not raw:
        return None
    if raw not in ("1", "2", "3"):
        raise InputError(f"the new tier must be 1, 2 or 3; got {raw!r}")
    n = int(raw)
    if icp.tier(n) is not None:
        raise InputError(
            f"Tier {n} exists already", hint="Change its minimum score under Thresholds"
        )
    v = _int(form, "new_tier.min_score", f"Tier {n} minimum score")
    if v is None:
        raise InputError(f"the new Tier {n} needs a minimum score from 0 to 100")
    from .profile import TIER_NAMES

    name = (form.get("new_tier.name") or "").strip() or TIER_NAMES[n]
    return {"tier": n, "name": name, "min_score": v, "match": "score"}


def apply_edits(icp: ICP, form: Mapping[str, str]) -> tuple[ICP, list[str]]:
    """The ICP with the form's changes applied, and a sentence per change."""
    data = icpfile.to_dict(icp)
    changes: list[str] = []
    for key, label in (("high_touch", "high-touch route"), ("nurture", "nurture route")):
        v = _int(form, f"routing.{key}", f"The {label} threshold")
        if v is not None and v != data.get("routing", {}).get(key, getattr(icp.routing, key)):
            changes.append(f"{label} threshold {getattr(icp.routing, key)} → {v}")
            data.setdefault("routing", {})[key] = v
    v = _int(form, "veto_score", "The score of an excluded account")
    if v is not None and v != icp.veto_score:
        changes.append(f"score of excluded accounts {icp.veto_score} → {v}")
        data["veto_score"] = v
    for t in data.setdefault("tiers", []):  # an ICP without tiers has no key
        n = t["tier"]
        v = _int(form, f"tier.{n}.min_score", f"Tier {n} minimum score")
        if v is not None and v != t["min_score"]:
            changes.append(f"Tier {n} minimum score {t['min_score']} → {v}")
            t["min_score"] = v
        for fam, crits in list(t.get("criteria", {}).items()):
            kept = []
            for i, c in enumerate(crits):
                key = f"crit.{n}.{fam}.{i}"
                text = icp.tier(n).criteria[fam][i].text()  # type: ignore[union-attr]
                if form.get(f"{key}.drop"):
                    changes.append(f"dropped Tier {n} criterion '{text}'")
                    continue
                pinned = bool(form.get(f"{key}.pinned"))
                if pinned != bool(c.get("pinned", False)) and f"{key}.shown" in form:
                    changes.append(
                        f"{'pinned' if pinned else 'unpinned'} Tier {n} criterion '{text}'"
                    )
                    c["pinned"] = pinned
                kept.append(c)
            t["criteria"][fam] = kept
        t["criteria"] = {f: cs for f, cs in t.get("criteria", {}).items() if cs}
    nt = new_tier(icp, form)
    if nt is not None:
        data["tiers"] = sorted([*data["tiers"], nt], key=lambda t: t["tier"])
        changes.append(
            f"added Tier {nt['tier']} ({nt['name']}): accounts scoring {nt['min_score']} or more"
        )
    kept_dq = []
    for i, d in enumerate(data.get("disqualifiers", [])):
        text = icp.disqualifiers[i].text()
        if form.get(f"dq.{i}.drop"):
            changes.append(f"dropped disqualifier '{text}'")
            continue
        if f"dq.{i}.shown" in form:
            enabled = bool(form.get(f"dq.{i}.enabled"))
            if enabled != bool(d.get("enabled", True)):
                changes.append(f"{'enabled' if enabled else 'disabled'} disqualifier '{text}'")
                d["enabled"] = enabled
        kept_dq.append(d)
    data["disqualifiers"] = kept_dq
    nd = new_disqualifier(form)
    if nd is not None:
        data["disqualifiers"].append(nd)
        changes.append(f"added disqualifier on {nd['attribute']} ({nd['reason']})")
    for fi, feat in enumerate(data["scorecard"].get("features", [])):
        for bi, b in enumerate(feat.get("bins", [])):
            v = _int(form, f"bin.{fi}.{bi}.points", f"Points for {feat['attribute']}", -100, 100)
            if v is not None and v != b["points"]:
                label = icp.scorecard.features[fi].bins[bi].text()
                changes.append(f"points for '{label}' {b['points']} → {v}")
                b["points"] = v
    if changes:
        data["overrides"] = [
            *data.get("overrides", []),
            *(f"{c} (edited in the web workspace)" for c in changes),
        ]
        data["generated_at"] = icpfile.now_iso()
    return icpfile.from_dict(data, "the edited ICP"), changes


def diff(old: str, new: str, old_label: str, new_label: str) -> list[tuple[str, str]]:
    """Unified diff lines as (kind, text), kind one of add, del, hunk, head, same."""
    out = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=2
    ):
        kind = (
            "head" if line.startswith(("---", "+++"))
            else "hunk" if line.startswith("@@")
            else "add" if line.startswith("+")
            else "del" if line.startswith("-")
            else "same"
        )  # fmt: skip
        out.append((kind, line))
    return out


def _summary(frame: pd.DataFrame, won: pd.Series | None) -> dict[str, Any]:
    tiers = frame["tier"].astype(str).value_counts()
    routes = frame["route"].astype(str).value_counts()
    out: dict[str, Any] = {
        "tiers": {k: int(tiers.get(k, 0)) for k in TIER_ORDER},
        "routes": {k: int(routes.get(k, 0)) for k in ("high_touch", "nurture", "deprioritize")},
        "mean": round(float(frame["score"].mean()), 1) if len(frame) else None,
    }
    if won is not None and len(won):
        by = frame.set_index("account_id")["tier"].astype(str)
        t = won.index.to_series().map(by)
        inside = t.isin(["1", "2", "3"]).to_numpy()
        w = won.to_numpy(dtype=bool)
        rin = float(w[inside].mean()) if inside.any() else None
        rout = float(w[~inside].mean()) if (~inside).any() else None
        out["validation"] = {
            "deals_inside": int(inside.sum()),
            "deals_outside": int((~inside).sum()),
            "win_rate_inside": rin,
            "win_rate_outside": rout,
            "ratio": (rin / rout) if rin is not None and rout else None,
        }
    return out


def closed_outcomes(deals: pd.DataFrame | None) -> pd.Series | None:
    """Won (True) or lost per closed deal, indexed by account_id."""
    if deals is None or "outcome" not in deals.columns:
        return None
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    return pd.Series(
        (closed["outcome"] == "won").to_numpy(), index=closed["account_id"].astype(str).to_numpy()
    )


def preview(
    current: ICP, edited: ICP, accounts: pd.DataFrame, deals: pd.DataFrame | None
) -> dict[str, Any]:
    """The score distribution (and in-sample win rates) under the current and the edited ICP."""
    a = score_accounts(current, accounts).frame
    b = score_accounts(edited, accounts).frame
    won = closed_outcomes(deals)
    moved = a["tier"].astype(str).to_numpy() != b["tier"].astype(str).to_numpy()
    order = ["excluded", "none", "3", "2", "1"]
    return {
        "accounts": len(a),
        "before": _summary(a, won),
        "after": _summary(b, won),
        "changed_tier": int(moved.sum()),
        "changed_score": int((a["score"].to_numpy() != b["score"].to_numpy()).sum()),
        "mean_delta": round(float(np.mean(b["score"].to_numpy() - a["score"].to_numpy())), 1)
        if len(a)
        else 0.0,
        "chart_before": charts.histogram(
            a["score"].to_numpy(), groups=a["tier"].astype(str).tolist(),
            title="Now: fit score by tier", order=order, height=190,
        ),
        "chart_after": charts.histogram(
            b["score"].to_numpy(), groups=b["tier"].astype(str).tolist(),
            title="After the edit: fit score by tier", order=order, height=190,
        ),
    }  # fmt: skip
