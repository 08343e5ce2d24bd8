"""The quarterly refresh: re-learn the ICP on fresh exports and say what changed.

:func:`refresh` runs the whole chain (``icp run``) into a folder that holds a
previous run, then compares the new ICP with the previous one:

- criteria and segments of the tiers: added, dropped, strengthened (a better
  tier, or a lift up by 10% or more) and weakened (a worse tier, or a lift
  down by 10% or more), each with its evidence then and now;
- disqualifiers that veto: added and dropped;
- the population stability index (PSI) of the scores, previous ICP against
  new ICP on today's accounts;
- held-out quality then (the previous run's validation) and now;
- trigger drift: whether each trigger that qualified before still qualifies,
  and how many accounts have it active now.

Every version stays in the workspace: :func:`restore` makes an earlier one
current again (as a new version) and rescores the accounts with it.
:func:`staleness` is the warning ``icp score`` prints when an ICP is older
than its ``refresh.interval_days``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import icpfile
from .errors import InputError
from .icpfile import ICP

if TYPE_CHECKING:
    from .workspace import Workspace

LIFT_CHANGE = 0.10  # relative change of lift that counts as strengthened / weakened
REPORT_FILE = "refresh.md"


def staleness(icp: ICP, today: datetime | None = None) -> str | None:
    """A warning when ``icp`` is older than its ``refresh.interval_days``, else None.

    >>> from icpkit.icpfile import Refresh
    >>> icp = ICP.model_construct(generated_at="2026-01-01T09:00:00", refresh=Refresh())
    >>> staleness(icp, datetime(2026, 3, 1)) is None
    True
    >>> print(staleness(icp, datetime(2026, 6, 1)))  # doctest: +NORMALIZE_WHITESPACE
    the ICP was learned on 2026-01-01, 150 days ago, beyond its refresh interval of 90 days
    (refresh.interval_days in icp.yaml): re-learn it on fresh exports with `icp refresh`
    """
    if not icp.generated_at:
        return None
    try:
        built = datetime.fromisoformat(icp.generated_at).replace(tzinfo=None)
    except ValueError:
        return None
    now = today or datetime.now()
    age = (now - built).days
    limit = icp.refresh.interval_days
    if age <= limit:
        return None
    return (
        f"the ICP was learned on {built.date()}, {age} days ago, beyond its refresh interval of "
        f"{limit} days (refresh.interval_days in icp.yaml): re-learn it on fresh exports with "
        "`icp refresh`"
    )


@dataclass
class Snapshot:
    """One run's state, as the workspace holds it."""

    version: int | None
    icp: ICP | None
    validation: dict[str, Any] | None
    accounts: int = 0

    @classmethod
    def of(cls, ws: Workspace) -> Snapshot:
        if not ws.file.exists():
            return cls(None, None, None)
        version = ws.latest_icp_version()
        icp = ws.current_icp() if version is not None else None
        n = len(ws.table("accounts")) if ws.has("accounts") else 0
        return cls(version, icp, ws.json_artifact("validation.json"), n)


def _definitions(icp: ICP) -> dict[str, dict[str, Any]]:
    """Each criterion and segment of the tiers by its text: tier and evidence."""
    out: dict[str, dict[str, Any]] = {}
    for t in sorted(icp.tiers, key=lambda t: t.tier):
        items = [(c.text(), c.evidence) for cs in t.criteria.values() for c in cs]
        items += [(s.text(), s.evidence) for s in t.segments]
        for text, ev in items:
            if text not in out:
                out[text] = {
                    "tier": t.tier,
                    "n": ev.n if ev else None,
                    "win_rate": ev.win_rate if ev else None,
                    "lift": ev.lift if ev else None,
                }
    return out


def compare_criteria(old: ICP, new: ICP) -> list[dict[str, Any]]:
    """Every criterion or segment of either ICP: ``change`` is added, dropped,
    strengthened, weakened or unchanged, with the tier and evidence before and after."""
    a, b = _definitions(old), _definitions(new)
    rows = []
    for text in list(b) + [k for k in a if k not in b]:
        was, now = a.get(text), b.get(text)
        if was is None:
            change = "added"
        elif now is None:
            change = "dropped"
        elif now["tier"] != was["tier"]:
            change = "strengthened" if now["tier"] < was["tier"] else "weakened"
        elif was["lift"] and now["lift"]:
            rel = now["lift"] / was["lift"] - 1
            change = (
                "strengthened"
                if rel >= LIFT_CHANGE
                else "weakened"
                if rel <= -LIFT_CHANGE
                else "unchanged"
            )
        else:
            change = "unchanged"
        row: dict[str, Any] = {"criterion": text, "change": change}
        for label, d in (("before", was), ("after", now)):
            for k in ("tier", "n", "win_rate", "lift"):
                row[f"{k}_{label}"] = None if d is None else d[k]
        rows.append(row)
    order = {"added": 0, "dropped": 1, "strengthened": 2, "weakened": 3, "unchanged": 4}
    return sorted(rows, key=lambda r: order[r["change"]])


def _vetoes(icp: ICP) -> set[str]:
    return {d.text() for d in icp.disqualifiers if d.enabled}


def _quality(validation: dict[str, Any] | None) -> dict[str, Any] | None:
    """Held-out AUC and in/out ratio of a validation, with the deals behind them."""
    h = (validation or {}).get("heldout")
    if not h:
        return None
    io = h.get("in_vs_out") or {}
    return {
        "deals": h.get("n"),
        "wins": h.get("wins"),
        "roc_auc": h.get("roc_auc"),
        "in_out_ratio": io.get("ratio"),
        "in_icp_deals": (io.get("in") or {}).get("n"),
        "cutoff": ((validation or {}).get("split") or {}).get("cutoff"),
    }


def active_triggers(
    icp: ICP, accounts: pd.DataFrame, events: pd.DataFrame | None, as_of: pd.Timestamp | None
) -> dict[str, int]:
    """Accounts with an active event per trigger type of ``icp`` on ``as_of``."""
    from .timing import score_timing

    out: dict[str, int] = {}
    if icp.timing is None:
        return out
    for t in icp.timing.triggers:
        timing = {"half_life_days": icp.timing.half_life_days, "triggers": [t.model_dump()]}
        s = score_timing(timing, accounts, events, np.zeros(len(accounts)), as_of=as_of)
        out[t.type] = int((s["trigger_tier"] > 0).sum())
    return out


def trigger_drift(old: ICP, new: ICP, active: Mapping[str, int]) -> list[dict[str, Any]]:
    """Per trigger that qualified before or qualifies now: still qualifying, and active accounts."""
    a = {t.type: t for t in (old.timing.triggers if old.timing else [])}
    b = {t.type: t for t in (new.timing.triggers if new.timing else [])}
    rows = []
    for name in list(a) + [k for k in b if k not in a]:
        was, now = a.get(name), b.get(name)
        either = now if now is not None else was
        status = (
            "still qualifies"
            if was is not None and now is not None
            else "no longer qualifies"
            if now is None
            else "new"
        )
        rows.append(
            {
                "trigger": name,
                "when": either.when if either is not None else "past",
                "status": status,
                "window_days_before": was.window_days if was else None,
                "window_days_after": now.window_days if now else None,
                "lift_before": (was.evidence or {}).get("lift") if was else None,
                "lift_after": (now.evidence or {}).get("lift") if now else None,
                "n_after": (now.evidence or {}).get("n") if now else None,
                "active_accounts": int(active.get(name, 0)),
            }
        )
    return rows


@dataclass
class RefreshReport:
    """What changed between two runs. Render with :meth:`to_markdown`."""

    previous_version: int
    version: int
    previous_generated_at: str | None
    generated_at: str | None
    criteria: list[dict[str, Any]]
    vetoes_added: list[str]
    vetoes_dropped: list[str]
    psi: dict[str, Any] | None
    quality_then: dict[str, Any] | None
    quality_now: dict[str, Any] | None
    triggers: list[dict[str, Any]]
    accounts: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("added", "dropped", "strengthened", "weakened", "unchanged")}
        for r in self.criteria:
            out[r["change"]] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "counts": self.counts()}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        c = self.counts()
        lines = [
            f"# ICP refresh: version {self.previous_version} -> {self.version}",
            "",
            f"Previous ICP learned {self.previous_generated_at or '?'} on "
            f"{self.accounts.get('before', '?')} accounts; this one {self.generated_at or '?'} on "
            f"{self.accounts.get('after', '?')} accounts. "
            f"Restore the previous one with `icp refresh --restore {self.previous_version}`.",
            "",
            "## Criteria",
            "",
            ", ".join(f"{n} {k}" for k, n in c.items()) + ".",
            "",
        ]
        changed = [r for r in self.criteria if r["change"] != "unchanged"]
        if changed:
            lines += [
                "| change | criterion | tier | lift | n |",
                "|---|---|---|---|---|",
            ]
            for r in changed:
                lines.append(
                    f"| {r['change']} | {r['criterion']} | {_pair(r['tier_before'], r['tier_after'])}"
                    f" | {_pair(r['lift_before'], r['lift_after'])} | {_pair(r['n_before'], r['n_after'])} |"
                )
            lines.append("")
        lines += ["## Disqualifiers that veto", ""]
        lines.append(
            "Added: " + (", ".join(self.vetoes_added) or "none") + ". Dropped: "
            f"{', '.join(self.vetoes_dropped) or 'none'}."
        )
        lines += ["", "## Score stability", ""]
        if self.psi:
            lines.append(
                f"PSI {self.psi['psi']:.3f} ({self.psi['psi_label']}) on "
                f"{self.psi['accounts_scored']} accounts scored by both ICPs "
                f"(mean score {self.psi['mean_old']} -> {self.psi['mean_new']})."
            )
        else:
            lines.append("No accounts to compare.")
        lines += ["", "## Held-out quality", ""]
        lines += ["| | deals | AUC | in/out ratio |", "|---|---|---|---|"]
        for label, q in (("then", self.quality_then), ("now", self.quality_now)):
            if q:
                lines.append(
                    f"| {label} (cutoff {q.get('cutoff')}) | {q.get('deals')} | {_num(q.get('roc_auc'))}"
                    f" | {_num(q.get('in_out_ratio'))} |"
                )
            else:
                lines.append(f"| {label} | - | not validated | - |")
        lines += ["", "## Triggers", ""]
        if self.triggers:
            lines += [
                "| trigger | status | window (days) | lift | active accounts |",
                "|---|---|---|---|---|",
            ]
            for t in self.triggers:
                lines.append(
                    f"| {t['trigger']} ({t['when']}) | {t['status']} | "
                    f"{_pair(t['window_days_before'], t['window_days_after'])} | "
                    f"{_pair(t['lift_before'], t['lift_after'])} | {t['active_accounts']} |"
                )
        else:
            lines.append("Neither ICP has timing triggers.")
        return "\n".join(lines) + "\n"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def _pair(a: Any, b: Any) -> str:
    if a == b:
        return _num(a)
    return f"{_num(a)} -> {_num(b)}"


def compare_runs(ws: Workspace, before: Snapshot) -> RefreshReport:
    """Compare the workspace's current run with the snapshot ``before`` of the previous one."""
    from .validation.drift import psi, psi_label

    after = Snapshot.of(ws)
    if before.icp is None or before.version is None or after.icp is None or after.version is None:
        raise InputError("a refresh needs a previous run and a new one in the same workspace")
    old, new = before.icp, after.icp
    accounts = ws.table("accounts")
    events = ws.table("events") if ws.has("events") else None
    as_of = ws.data_as_of()
    from .scores import score_with_timing

    s_old = score_with_timing(old, accounts).frame["score"].to_numpy()
    s_new = ws.table("scores")["score"].to_numpy() if ws.has("scores") else s_old
    value = psi(s_old, s_new)
    drift = {
        "psi": round(value, 4),
        "psi_label": psi_label(value),
        "accounts_scored": len(accounts),
        "mean_old": round(float(s_old.mean()), 1) if len(s_old) else None,
        "mean_new": round(float(s_new.mean()), 1) if len(s_new) else None,
    }
    return RefreshReport(
        previous_version=before.version,
        version=after.version,
        previous_generated_at=old.generated_at,
        generated_at=new.generated_at,
        criteria=compare_criteria(old, new),
        vetoes_added=sorted(_vetoes(new) - _vetoes(old)),
        vetoes_dropped=sorted(_vetoes(old) - _vetoes(new)),
        psi=drift,
        quality_then=_quality(before.validation),
        quality_now=_quality(after.validation),
        triggers=trigger_drift(old, new, active_triggers(new, accounts, events, as_of)),
        accounts={"before": before.accounts, "after": after.accounts},
    )


def refresh(
    paths: Mapping[str, str | Path | None],
    out_dir: str | Path,
    **run_options: Any,
) -> tuple[Any, RefreshReport]:
    """Re-run the chain on fresh exports into ``out_dir`` (which holds the previous run)
    and compare; writes ``refresh.md`` and stores ``refresh.json`` in the workspace.

    ``run_options`` are passed to :func:`icpkit.pipeline.run_all`. Returns the
    run's result and the :class:`RefreshReport`.
    """
    from .pipeline import output_folder, run_all
    from .workspace import Workspace

    out = Path(out_dir)
    # through output_folder: the previous run is what a swap an interrupted run left makes it
    with output_folder(out), Workspace(out) as ws:
        before = Snapshot.of(ws) if ws.file.exists() else Snapshot(None, None, None)
    if before.version is None:
        raise InputError(
            f"{out} holds no previous run to refresh",
            hint="Run `icp run --out DIR` once; `icp refresh` re-runs it on fresh exports later",
        )
    result = run_all(paths, out, **run_options)
    p = out / REPORT_FILE
    with output_folder(out), Workspace(out) as ws:
        report = compare_runs(ws, before)
        ws.write({}, artifacts={"refresh.json": report.to_json()})
        p.write_text(report.to_markdown(), encoding="utf-8")
    result.files[REPORT_FILE] = p
    return result, report


def restore(ws: Workspace, version: int, out_dir: str | Path | None = None) -> int:
    """Make ICP ``version`` current again as a new version, rescore the accounts with it,
    and rewrite the outputs (``icp.yaml``, CSVs, report) in ``out_dir`` (default: the
    workspace folder). Returns the new version number."""
    from .pipeline import export_outputs
    from .report import collect, write_report
    from .scores import score_with_timing

    text = ws.icp_version(version)
    if text is None:
        known = ws.icp_versions()["version"].tolist()
        raise InputError(
            f"the workspace has no ICP version {version}",
            hint=f"Known versions: {', '.join(map(str, known)) or 'none'}",
        )
    icp = icpfile.loads(text, f"icp.yaml version {version}")
    scored = None
    if ws.has("accounts"):
        events = ws.table("events") if ws.has("events") else None
        scored = score_with_timing(icp, ws.table("accounts"), events, as_of=ws.data_as_of())
    new = ws.save_icp_version(text, note=f"restored version {version}")
    if scored is not None:
        ws.write({"scores": scored.frame})
    folder = Path(out_dir) if out_dir is not None else ws.dir
    write_report(collect(ws), folder)
    export_outputs(ws, folder)
    return new
