"""Health components from revenue history, support tickets, product usage and churn.

These extend the customer scoring matrix (``health.py``) when ``--revenue``,
``--tickets``, ``--usage`` or ``--churn`` are given:

============== ======================================================= =========
component      meaning                                                 direction
============== ======================================================= =========
retention      still paying at the as-of date (1) or churned (0)       higher
nrr            net revenue retention: MRR now / MRR in the first month higher
tenure         months from the first paid month to churn or as-of      higher
support_load   tickets per 1,000 of revenue earned                     lower
escalations    share of tickets escalated                              lower
usage          usage events per month of tenure                        higher
time_to_value  days from becoming a customer to first recorded usage   lower
============== ======================================================= =========

Churn can be stated three ways — subscriptions that end, churn events, and a
churn flag on the account — and real exports disagree. Revenue wins: an
account with an active subscription at the as-of date is active, whatever
the events or flags say; without revenue rows, a churn event wins over the
flag. Every disagreement is counted and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .workspace import Workspace

META: dict[str, tuple[float, bool, str]] = {
    "retention": (0.20, True, "still paying at the as-of date (1) or churned (0)"),
    "nrr": (0.20, True, "net revenue retention: MRR now / MRR in the first month"),
    "tenure": (0.05, True, "months from the first paid month to churn or the as-of date"),
    "support_load": (0.10, False, "support tickets per 1,000 of revenue earned (lower is better)"),
    "escalations": (0.05, False, "share of tickets escalated (lower is better)"),
    "usage": (0.10, True, "product usage events per month of tenure"),
    "time_to_value": (
        0.05,
        False,
        "days from becoming a customer to first recorded usage (lower is better)",
    ),
}
_FLAG_COLUMNS = ("churn_flag", "churned", "is_churned")
DAYS_PER_MONTH = 30.4375
CHURN_SOURCES = ("revenue", "events", "flag")


@dataclass
class RetentionResult:
    components: pd.DataFrame  # account_id + one column per component
    meta: dict[str, tuple[float, bool, str]]
    status: pd.DataFrame  # account_id, churned, churned_at, source
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    as_of: pd.Timestamp | None = None


def _examples(ids: pd.Series | list[str], k: int = 3) -> list[str]:
    return [str(x) for x in list(pd.Series(ids).drop_duplicates().head(k))]


def revenue_table(revenue: pd.DataFrame, warnings: list[str]) -> tuple[pd.DataFrame, bool]:
    """Clean revenue rows; returns the frame and whether rows are subscriptions (start/end) or MRR snapshots."""
    rev = revenue.copy()
    rev["mrr"] = pd.to_numeric(rev["mrr"], errors="coerce")
    neg = rev["mrr"] < 0
    if neg.any():
        warnings.append(
            f"revenue: {int(neg.sum())} row(s) with negative MRR ignored (e.g. accounts {_examples(rev.loc[neg, 'account_id'])})"
        )
        rev = rev[~neg]
    missing = rev["mrr"].isna() | rev["period"].isna()
    if missing.any():
        warnings.append(f"revenue: {int(missing.sum())} row(s) without MRR or period ignored")
        rev = rev[~missing]
    subscriptions = "end_date" in rev.columns
    if subscriptions:
        bad = rev["end_date"].notna() & (rev["end_date"] < rev["period"])
        if bad.any():
            warnings.append(
                f"revenue: {int(bad.sum())} subscription(s) end before they start; ignored (e.g. {_examples(rev.loc[bad, 'account_id'])})"
            )
            rev = rev[~bad]
    else:
        dup = rev.duplicated(["account_id", "period"], keep=False)
        if dup.any():
            warnings.append(
                f"revenue: {int(rev.loc[dup, ['account_id', 'period']].drop_duplicates().shape[0])} account-period(s) appear more than once (overlapping periods); their MRR is summed (e.g. {_examples(rev.loc[dup, 'account_id'])})"
            )
            rev = rev.groupby(["account_id", "period"], as_index=False)["mrr"].sum()
    return rev.reset_index(drop=True), subscriptions


def _mrr_at(rev: pd.DataFrame, when: pd.Series, subscriptions: bool) -> pd.Series:
    """MRR per account at a per-account date ``when`` (index: account_id)."""
    r = rev.merge(when.rename("t").reset_index(), on="account_id")
    if subscriptions:
        active = (r["period"] <= r["t"]) & (r["end_date"].isna() | (r["end_date"] > r["t"]))
    else:
        active = r["period"].dt.to_period("M") == r["t"].dt.to_period("M")
    return r[active].groupby("account_id")["mrr"].sum().reindex(when.index, fill_value=0.0)


def compute_retention(
    accounts: pd.DataFrame,
    *,
    revenue: pd.DataFrame | None = None,
    tickets: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    churn: pd.DataFrame | None = None,
    deals: pd.DataFrame | None = None,
    churn_source: str = "revenue",
) -> RetentionResult:
    """Compute the components; ``churn_source`` (revenue, events or flag) says which churn statement wins."""
    if churn_source not in CHURN_SOURCES:
        raise ValueError(
            f"The 'churn_source' parameter must be one of {', '.join(CHURN_SOURCES)}. Got {churn_source!r} instead."
        )
    warnings: list[str] = []
    comps = pd.DataFrame({"account_id": pd.Series(dtype=str)})
    dates = []
    rev = None
    subscriptions = False
    if revenue is not None and len(revenue):
        rev, subscriptions = revenue_table(revenue, warnings)
        dates += [rev["period"].max()] + ([rev["end_date"].max()] if subscriptions else [])
    for df, col in ((tickets, "occurred_at"), (usage, "occurred_at"), (churn, "churned_at")):
        if df is not None and len(df):
            dates.append(pd.to_datetime(df[col]).max())
    as_of = max(d for d in dates if pd.notna(d)) if dates else None

    status = pd.DataFrame(columns=["account_id", "churned", "churned_at", "source"])
    conflicts: list[dict[str, Any]] = []
    start = pd.Series(dtype="datetime64[us]")
    if rev is not None and len(rev) and as_of is not None:
        g = rev.groupby("account_id")
        start = g["period"].min()
        end_by_rev = g["end_date"].max() if subscriptions else g["period"].max()
        if subscriptions:
            open_subs = rev[rev["end_date"].isna()].groupby("account_id").size()
            end_by_rev = end_by_rev.where(~end_by_rev.index.isin(open_subs.index), pd.NaT)
        mrr0 = _mrr_at(rev, start, subscriptions)
        asof = pd.Series(as_of, index=start.index)
        mrr_now = _mrr_at(rev, asof, subscriptions)
        active = mrr_now > 0
        last = end_by_rev.fillna(as_of) if subscriptions else end_by_rev
        tenure = ((last.where(~active, as_of) - start).dt.days / DAYS_PER_MONTH).clip(lower=0)
        # revenue earned: MRR x months active
        if subscriptions:
            e = rev["end_date"].fillna(as_of)
            months = ((e - rev["period"]).dt.days / DAYS_PER_MONTH).clip(lower=0)
        else:
            months = pd.Series(1.0, index=rev.index)
        earned = (rev["mrr"] * months).groupby(rev["account_id"]).sum()
        comps = pd.DataFrame(
            {
                "account_id": start.index.astype(str),
                "retention": active.astype(float).to_numpy(),
                "nrr": np.where(mrr0 > 0, mrr_now / mrr0.replace(0, np.nan), np.nan),
                "tenure": tenure.to_numpy(),
                "mrr_now": mrr_now.to_numpy(),
                "revenue_earned": earned.reindex(start.index).to_numpy(),
            }
        )
        status = pd.DataFrame(
            {
                "account_id": start.index.astype(str),
                "churned": (~active).to_numpy(),
                "churned_at": last.where(~active).to_numpy(),
                "source": "revenue",
            }
        )
        flagged = (
            rev.loc[rev["churned"].fillna(False).astype(bool), "account_id"]
            if "churned" in rev.columns
            else pd.Series(dtype=str)
        )
        if len(flagged):
            still = set(flagged) & set(status.loc[~status["churned"], "account_id"])
            if still:
                conflicts.append(
                    {
                        "sources": "subscription churn flag vs active subscription",
                        "accounts": len(still),
                        "examples": _examples(sorted(still)),
                        "winner": "revenue: the account has an active subscription at the as-of date",
                    }
                )

    # churn events
    if churn is not None and len(churn):
        ch = churn.copy()
        ch["account_id"] = ch["account_id"].astype(str)
        if "reactivation" in ch.columns:
            ch = ch[~ch["reactivation"].fillna(False).astype(bool)]
        ev = ch.groupby("account_id")["churned_at"].max()
        known = set(status["account_id"])
        revenue_active = set(status.loc[~status["churned"], "account_id"])
        conflict = sorted(set(ev.index) & revenue_active)
        if conflict:
            conflicts.append(
                {
                    "sources": "churn event vs active subscription",
                    "accounts": len(conflict),
                    "events": int(ch["account_id"].isin(conflict).sum()),
                    "examples": _examples(conflict),
                    "winner": "revenue: an active subscription at the as-of date means active",
                }
            )
        only_events = sorted(set(ev.index) - known)
        if only_events:
            status = pd.concat(
                [
                    status,
                    pd.DataFrame(
                        {
                            "account_id": only_events,
                            "churned": True,
                            "churned_at": ev.reindex(only_events).to_numpy(),
                            "source": "churn events",
                        }
                    ),
                ],
                ignore_index=True,
            )
    # churn flag on the account
    flag_col = next((c for c in _FLAG_COLUMNS if c in accounts.columns), None)
    if flag_col is not None:
        flag = accounts.set_index(accounts["account_id"].astype(str))[flag_col].map(
            lambda v: str(v).strip().lower() in ("true", "1", "yes")
        )
        st = status.set_index("account_id")["churned"]
        common = st.index.intersection(flag.index)
        says_churned_active = sorted(
            common[flag.reindex(common).to_numpy() & ~st.reindex(common).to_numpy().astype(bool)]
        )
        says_active_churned = sorted(
            common[~flag.reindex(common).to_numpy() & st.reindex(common).to_numpy().astype(bool)]
        )
        if says_churned_active:
            conflicts.append(
                {
                    "sources": f"accounts.{flag_col}=true vs {'/'.join(sorted(set(status['source'])))}",
                    "accounts": len(says_churned_active),
                    "examples": _examples(says_churned_active),
                    "winner": "revenue or churn events over the account flag",
                }
            )
        if says_active_churned:
            conflicts.append(
                {
                    "sources": f"accounts.{flag_col}=false vs {'/'.join(sorted(set(status['source'])))} saying churned",
                    "accounts": len(says_active_churned),
                    "examples": _examples(says_active_churned),
                    "winner": "revenue or churn events over the account flag",
                }
            )
        missing = sorted(set(flag.index[flag]) - set(status["account_id"]))
        if missing:
            status = pd.concat(
                [
                    status,
                    pd.DataFrame(
                        {
                            "account_id": missing,
                            "churned": True,
                            "churned_at": pd.NaT,
                            "source": f"accounts.{flag_col}",
                        }
                    ),
                ],
                ignore_index=True,
            )
    if churn_source != "revenue" and len(status):
        st = status.set_index("account_id")
        if churn_source == "events" and churn is not None and len(churn):
            ev_ids = set(ev.index)
            st["churned"] = st.index.isin(ev_ids)
            st["source"] = "churn events"
        elif churn_source == "flag" and flag_col is not None:
            st["churned"] = flag.reindex(st.index).fillna(st["churned"]).astype(bool)
            st["source"] = f"accounts.{flag_col}"
        else:
            warnings.append(
                f"churn_source={churn_source!r} asked for, but that source is absent; revenue used"
            )
        status = st.reset_index()
        for c in conflicts:
            c["winner"] = f"{churn_source} (chosen with health.churn_source)"
    if len(status):
        ret = status.set_index("account_id")["churned"].map(lambda c: 0.0 if c else 1.0)
        if len(comps):
            comps = comps.set_index("account_id")
            comps["retention"] = ret.reindex(comps.index).fillna(comps["retention"])
            extra = ret.index.difference(comps.index)
            comps = (
                pd.concat([comps, pd.DataFrame({"retention": ret.reindex(extra)})])
                .rename_axis("account_id")
                .reset_index()
            )
        else:
            comps = pd.DataFrame({"account_id": ret.index, "retention": ret.to_numpy()})

    # support load
    if tickets is not None and len(tickets):
        t = tickets.copy()
        t["account_id"] = t["account_id"].astype(str)
        g = t.groupby("account_id")
        tk = pd.DataFrame({"n_tickets": g.size()})
        if "escalated" in t.columns:
            tk["escalations"] = g["escalated"].apply(
                lambda s: float(s.fillna(False).astype(bool).mean())
            )
        comps = comps.merge(tk.reset_index(), on="account_id", how="outer")
        if "revenue_earned" in comps.columns:
            comps["support_load"] = comps["n_tickets"].fillna(0) / (
                comps["revenue_earned"] / 1000
            ).where(comps["revenue_earned"] > 0)
        else:
            warnings.append(
                "support load needs revenue history to be relative to revenue; tickets counted only"
            )
            comps["support_load"] = comps["n_tickets"]
        if "escalations" in comps.columns and "revenue_earned" in comps.columns:
            comps.loc[
                comps["n_tickets"].isna() & comps["revenue_earned"].notna(), "escalations"
            ] = 0.0
    # usage
    if usage is not None and len(usage):
        u = usage.copy()
        if "account_id" not in u.columns or u["account_id"].isna().all():
            if (
                rev is not None
                and "subscription_id" in rev.columns
                and "subscription_id" in u.columns
            ):
                m = (
                    rev.dropna(subset=["subscription_id"])
                    .drop_duplicates("subscription_id")
                    .set_index("subscription_id")["account_id"]
                )
                u["account_id"] = u["subscription_id"].map(m)
                lost = u["account_id"].isna()
                if lost.any():
                    warnings.append(
                        f"usage: {int(lost.sum())} row(s) whose subscription is not in the revenue file were skipped"
                    )
                u = u[~lost]
            else:
                warnings.append(
                    "usage rows have no account_id and cannot be linked through --revenue subscription ids; usage skipped"
                )
                u = u.iloc[0:0]
        if len(u):
            u["account_id"] = u["account_id"].astype(str)
            u["count"] = (
                pd.to_numeric(u["count"], errors="coerce").fillna(1.0)
                if "count" in u.columns
                else 1.0
            )
            g = u.groupby("account_id")
            us = pd.DataFrame(
                {"usage_total": g["count"].sum(), "first_usage": g["occurred_at"].min()}
            )
            comps = comps.merge(us.reset_index(), on="account_id", how="outer")
            if "tenure" in comps.columns:
                comps["usage"] = comps["usage_total"].fillna(0) / comps["tenure"].clip(lower=1)
            else:
                comps["usage"] = comps["usage_total"]
            became = start.copy()
            if deals is not None and len(deals) and "closed_at" in deals.columns:
                won = (
                    deals[deals["outcome"].eq("won")]
                    .groupby(deals["account_id"].astype(str))["closed_at"]
                    .min()
                )
                became = won.combine_first(became) if len(became) else won
            if len(became):
                fu = comps.set_index("account_id")["first_usage"]
                ttv = (fu - became.reindex(fu.index)).dt.days
                comps["time_to_value"] = ttv.clip(lower=0).to_numpy()
    used_meta = {k: v for k, v in META.items() if k in comps.columns}
    keep = ["account_id", *used_meta]
    info_cols = [c for c in ("mrr_now", "n_tickets") if c in comps.columns]
    comps = comps[keep + info_cols]
    comps["account_id"] = comps["account_id"].astype(str)
    return RetentionResult(
        components=comps,
        meta=used_meta,
        status=status,
        conflicts=conflicts,
        warnings=warnings,
        as_of=as_of,
    )


# the date each health table is dated by: rows after an as-of date are not yet known then
_DATED = {
    "revenue": "period",
    "tickets": "occurred_at",
    "usage": "occurred_at",
    "churn": "churned_at",
}


def retention_inputs(
    ws: Workspace, churn_source: str = "revenue", *, as_of: Any = None
) -> RetentionResult | None:
    """Health components from the workspace's revenue, tickets, usage and churn tables.

    ``None`` when the workspace has none of them. With ``as_of``, only what was
    known on that date is used: rows dated after it are left out and a
    subscription ending after it counts as still running, so a backtest
    learns retention as it stood at its cutoff.
    """
    tables = {
        name: ws.table(name) for name in ("revenue", "tickets", "usage", "churn") if ws.has(name)
    }
    if not tables:
        return None
    if as_of is not None:
        cutoff = pd.Timestamp(as_of)
        for name, col in _DATED.items():
            if name in tables and col in tables[name].columns:
                t = tables[name]
                t = t[~(pd.to_datetime(t[col], errors="coerce") > cutoff)].copy()
                if name == "revenue" and "end_date" in t.columns:
                    ends = pd.to_datetime(t["end_date"], errors="coerce")
                    t["end_date"] = ends.where(~(ends > cutoff))
                tables[name] = t
    deals = ws.table("deals") if ws.has("deals") else None
    if as_of is not None and deals is not None and "closed_at" in deals.columns:
        deals = deals[~(pd.to_datetime(deals["closed_at"], errors="coerce") > pd.Timestamp(as_of))]
    return compute_retention(ws.table("accounts"), deals=deals, churn_source=churn_source, **tables)
