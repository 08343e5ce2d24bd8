"""The monthly pipeline audit: the open pipeline held against the ICP.

For every open deal: the tier, route and score of its account (from the
workspace's scores, or scored with the current ICP when the account is new),
then

- deals and pipeline value by tier and by route;
- the share of pipeline value outside the ICP (no tier, or excluded) and in
  disqualified (excluded) accounts;
- expected wins by tier: the tier's held-out win rate from the last
  validation (n, wins and Wilson interval shown), else the win rate of the
  workspace's closed deals in that tier (in-sample, and said so);
- the deals to re-qualify: in a disqualified account, outside the ICP and
  deprioritised, or open longer than 90% of won deals took to close;
- the trend against the previous audit stored in the workspace.

>>> a = audit_pipeline(ws)             # doctest: +SKIP
>>> a.summary["share_value_outside_icp"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError
from .mining.stats import wilson

if TYPE_CHECKING:
    from .workspace import Workspace

TIERS = ("1", "2", "3", "none", "excluded")
ROUTES = ("high_touch", "nurture", "deprioritize")
_HELDOUT_GROUP = {
    "1": "Tier 1",
    "2": "Tier 2",
    "3": "Tier 3",
    "none": "No tier",
    "excluded": "Excluded (disqualified)",
}
# an open deal older than this share of won deals took to close is stalled
STALL_QUANTILE = 0.9


@dataclass
class Audit:
    """What :func:`audit_pipeline` found.

    ``deals``: one row per open deal (``deal_id, account_id, amount, age_days,
    score, tier, route, p_win, requalify``); ``by_tier`` and ``by_route``: deals
    and value per group with the expected wins; ``summary``: the headline
    figures stored for the next audit's trend; ``trend``: change against the
    previous audit (empty for the first).
    """

    as_of: str
    deals: pd.DataFrame
    by_tier: pd.DataFrame
    by_route: pd.DataFrame
    summary: dict[str, Any]
    rates_source: str
    trend: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def requalify(self) -> pd.DataFrame:
        d = self.deals[self.deals["requalify"] != ""]
        return d.sort_values(["amount", "deal_id"], ascending=[False, True], na_position="last")

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "summary": self.summary,
            "rates_source": self.rates_source,
            "by_tier": _records(self.by_tier),
            "by_route": _records(self.by_route),
            "requalify": _records(self.requalify),
            "trend": self.trend,
            "previous": self.previous,
            "warnings": self.warnings,
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", date_format="iso"))  # type: ignore[no-any-return]


def tier_win_rates(ws: Workspace) -> tuple[dict[str, dict[str, Any]], str]:
    """Per tier: ``n, wins, win_rate, ci_low, ci_high``, and where they come from.

    The held-out rates of the last validation when there are any, else the
    closed deals of the workspace by their account's current tier.
    """
    v = ws.json_artifact("validation.json") or {}
    groups = {g.get("group"): g for g in (v.get("heldout") or {}).get("tiers") or []}
    if groups and all(_HELDOUT_GROUP[t] in groups for t in ("1", "2", "3")):
        out = {}
        for t, name in _HELDOUT_GROUP.items():
            g = groups.get(name)
            if g and g.get("n"):
                out[t] = {k: g[k] for k in ("n", "wins", "win_rate", "ci_low", "ci_high")}
        return out, "held-out deals of the last validation"
    deals, scores = ws.table("deals"), ws.table("scores")
    closed = deals[deals["outcome"].isin(["won", "lost"])][["account_id", "outcome"]].copy()
    closed["account_id"] = closed["account_id"].astype(str)
    tiers = scores[["account_id", "tier"]].astype(str)
    m = closed.merge(tiers, on="account_id", how="inner")
    out = {}
    for t, g in m.groupby("tier"):
        n, k = len(g), int((g["outcome"] == "won").sum())
        lo, hi = wilson(k, n)
        out[str(t)] = {
            "n": n,
            "wins": k,
            "win_rate": round(k / n, 4),
            "ci_low": round(float(lo), 4),
            "ci_high": round(float(hi), 4),
        }
    return out, "closed deals of the workspace by current tier (in-sample: optimistic)"


def _open_deals(ws: Workspace, deals: pd.DataFrame | None) -> pd.DataFrame:
    d = ws.table("deals") if deals is None else deals
    if "outcome" in d.columns:
        d = d[d["outcome"].astype(str) == "open"]
    if not len(d):
        raise InputError(
            "there are no open deals to audit",
            hint="Pass --deals with the open pipeline (outcome open or an open stage)",
        )
    keep = [c for c in ("deal_id", "account_id", "amount", "created_at") if c in d.columns]
    out = d[keep].copy()
    out["account_id"] = out["account_id"].astype(str)
    if "amount" not in out.columns:
        out["amount"] = np.nan
    out["amount"] = pd.to_numeric(out["amount"], errors="coerce")
    return out.reset_index(drop=True)


def _account_scores(
    ws: Workspace, ids: set[str], accounts: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[str]]:
    """score, tier, route per account id: the workspace's scores, new accounts scored now."""
    from .scores import score_with_timing

    warnings: list[str] = []
    sc = ws.table("scores")
    cols = ["account_id", "score", "tier", "route"]
    sc = sc[cols].assign(account_id=sc["account_id"].astype(str))
    missing = ids - set(sc["account_id"])
    if missing and accounts is not None:
        acc = accounts.assign(account_id=accounts["account_id"].astype(str))
        acc = acc[acc["account_id"].isin(missing)]
        icp = ws.current_icp()
        if icp is not None and len(acc):
            events = ws.table("events") if ws.has("events") else None
            res = score_with_timing(icp, acc.reset_index(drop=True), events, as_of=ws.data_as_of())
            sc = pd.concat([sc, res.frame[cols]], ignore_index=True)
            missing -= set(res.frame["account_id"].astype(str))
    if missing:
        warnings.append(
            f"{len(missing)} account(s) of open deals are not in the workspace and were not "
            f"given with --accounts (e.g. {sorted(missing)[:3]}): their deals count as tier 'unscored'"
        )
    sc["tier"] = sc["tier"].astype(str)
    return sc, warnings


def _stall_days(ws: Workspace) -> float | None:
    """Days within which 90% of the won deals closed (``STALL_QUANTILE``)."""
    d = ws.table("deals")
    if not {"created_at", "closed_at"} <= set(d.columns):
        return None
    won = d[d["outcome"] == "won"]
    days = (pd.to_datetime(won["closed_at"]) - pd.to_datetime(won["created_at"])).dt.days
    days = days[days >= 0]
    return float(days.quantile(STALL_QUANTILE)) if len(days) else None


def _group(d: pd.DataFrame, key: str, order: tuple[str, ...]) -> pd.DataFrame:
    total_n, total_v = len(d), float(d["amount"].sum())
    rows = []
    present = list(order) + sorted(set(d[key]) - set(order))
    for g in present:
        part = d[d[key] == g]
        if not len(part) and g not in order:
            continue
        v = float(part["amount"].sum())
        known = part["p_win"].notna()
        rows.append(
            {
                key: g,
                "deals": len(part),
                "value": round(v, 2),
                "share_of_deals": round(len(part) / total_n, 4) if total_n else 0.0,
                "share_of_value": round(v / total_v, 4) if total_v else 0.0,
                "expected_wins": round(float(part.loc[known, "p_win"].sum()), 1),
                "expected_value": round(float((part["p_win"] * part["amount"]).sum()), 2),
            }
        )
    return pd.DataFrame(rows)


def audit_pipeline(
    ws: Workspace,
    deals: pd.DataFrame | None = None,
    *,
    accounts: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> Audit:
    """Audit the open pipeline against the workspace's current ICP.

    Parameters
    ----------
    ws : Workspace
        Holds the ICP, the accounts' scores and (for the trend) earlier audits.
    deals : DataFrame, optional
        Canonical deals (``deal_id, account_id, amount, created_at, outcome``);
        the open ones are audited. Default: the workspace's open deals.
    accounts : DataFrame, optional
        Accounts of open deals that the workspace does not hold; scored with the ICP.
    as_of : Timestamp, optional
        The audit's date, for deal ages. Default: the latest of the workspace's
        data date and the newest open deal's creation date.
    """
    if not ws.has("scores"):
        raise InputError(
            "the workspace has no scored accounts yet", hint="Run `icp run` or `icp build` first"
        )
    d = _open_deals(ws, deals)
    sc, warnings = _account_scores(ws, set(d["account_id"]), accounts)
    d = d.merge(sc, on="account_id", how="left")
    d["tier"] = d["tier"].fillna("unscored")
    d["route"] = d["route"].fillna("unscored")
    rates, source = tier_win_rates(ws)
    d["p_win"] = d["tier"].map({t: r["win_rate"] for t, r in rates.items()})
    dates = [ws.data_as_of()]
    if "created_at" in d.columns:
        dates.append(pd.to_datetime(d["created_at"]).max())
    known = [x for x in dates if x is not None and pd.notna(x)]
    when = as_of if as_of is not None else (max(known) if known else pd.Timestamp.now().normalize())
    if "created_at" in d.columns:
        d["age_days"] = (when - pd.to_datetime(d["created_at"])).dt.days
    else:
        d["age_days"] = np.nan
    cycle = _stall_days(ws)
    if d["amount"].isna().any():
        warnings.append(
            f"{int(d['amount'].isna().sum())} open deal(s) have no amount: counted as deals, not value"
        )
    reasons = []
    for tier, route, age in zip(d["tier"], d["route"], d["age_days"], strict=True):
        why = []
        if tier == "excluded":
            why.append("account disqualified (negative ICP)")
        elif tier == "none" and route == "deprioritize":
            why.append("outside the ICP and deprioritised")
        if cycle and pd.notna(age) and age > cycle:
            why.append(f"open {int(age)} days; 90% of won deals closed within {int(cycle)}")
        reasons.append("; ".join(why))
    d["requalify"] = reasons
    amount = d["amount"].fillna(0.0)
    d["amount"] = amount
    total_v = float(amount.sum())
    outside = d["tier"].isin(["none", "excluded"])
    disq = d["tier"] == "excluded"
    by_tier = _group(d, "tier", TIERS)
    by_tier["win_rate"] = by_tier["tier"].map({t: r["win_rate"] for t, r in rates.items()})
    by_tier["rate_n"] = by_tier["tier"].map({t: r["n"] for t, r in rates.items()})
    by_tier["rate_ci_low"] = by_tier["tier"].map({t: r["ci_low"] for t, r in rates.items()})
    by_tier["rate_ci_high"] = by_tier["tier"].map({t: r["ci_high"] for t, r in rates.items()})
    by_route = _group(d, "route", ROUTES)
    summary = {
        "open_deals": len(d),
        "pipeline_value": round(total_v, 2),
        "deals_outside_icp": int(outside.sum()),
        "share_value_outside_icp": round(float(amount[outside].sum()) / total_v, 4)
        if total_v
        else 0.0,
        "deals_disqualified": int(disq.sum()),
        "share_value_disqualified": round(float(amount[disq].sum()) / total_v, 4)
        if total_v
        else 0.0,
        "expected_wins": round(float(d["p_win"].sum()), 1),
        "expected_value": round(float((d["p_win"] * amount).sum()), 2),
        "requalify": int((d["requalify"] != "").sum()),
        "icp_version": ws.latest_icp_version(),
    }
    cols = ["deal_id", "account_id", "amount", "age_days", "score", "tier", "route", "p_win"]
    d = d[[c for c in cols if c in d.columns] + ["requalify"]]
    prev = ws.last_audit()
    trend: dict[str, Any] = {}
    if prev is not None:
        ps = prev.get("summary", {})
        for k, v in summary.items():
            if k != "icp_version" and isinstance(ps.get(k), int | float):
                trend[k] = round(v - ps[k], 4)
    return Audit(
        as_of=str(pd.Timestamp(when).date()),
        deals=d,
        by_tier=by_tier,
        by_route=by_route,
        summary=summary,
        rates_source=source,
        trend=trend,
        previous=None if prev is None else {"as_of": prev.get("as_of"), **prev.get("summary", {})},
        warnings=warnings,
    )


def save_audit(ws: Workspace, audit: Audit) -> int:
    """Store the audit's headline figures in the workspace (for the next audit's trend)."""
    return ws.save_audit(
        audit.as_of, json.dumps({"as_of": audit.as_of, "summary": audit.summary}, default=str)
    )
