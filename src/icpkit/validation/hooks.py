"""Validation inside ``icp run``: backtest the ICP just built, store the figures."""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import icpfile
from ..errors import IcpkitError
from ..profile import BuildResult, fit_icp
from ..retention import RetentionResult, retention_inputs
from ..workspace import Workspace
from . import to_json, validate
from .report import ARTIFACT


@dataclass
class ValidationResult:
    """The validation figures (None when the data was too small) and the warnings for the run."""

    figures: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)


def validation_step(
    ws: Workspace,
    icp: icpfile.ICP,
    *,
    previous: icpfile.ICP | None = None,
    previous_version: int | None = None,
    with_market: bool = False,
    churn_source: str | None = None,
    jobs: int | None = None,
) -> ValidationResult:
    """validate: backtest on held-out deals, peers, null control

    Validates ``icp`` (the ICP this run built) on the workspace's accounts and
    deals, sizes it on the market list when ``with_market``, and measures drift
    against ``previous`` (the ICP of the previous run, saved as
    ``previous_version``, which the drift section names) when given; with a
    revenue table, it measures the won accounts' retained revenue per tier.
    Writes the figures to the workspace (artifact ``validation.json``, shown in
    the report) and to ``validation.json`` in the workspace folder. A dataset too
    small to validate gives a warning, not an error. Saves no ICP version.

    Every fold is learned as ``icp`` was: under the value objective (won and
    still paying) when ``icp`` was, with retention as it stood at the fold's
    cutoff (from ``churn_source``, as the build read it), so what is validated
    is what ships; held-out figures are still measured on won and lost deals.
    ``jobs`` is validation's threads (see :func:`icpkit.validation.validate`):
    the fits then run in a worker thread, one at a time, and read retention
    through the workspace's lock.
    """
    kinds, families = ws.attribute_meta()
    market = ws.table("market") if with_market and ws.has("market") else None
    try:
        result = validate(
            ws.table("accounts"),
            ws.table("deals"),
            kinds=kinds,
            families=families,
            icp=icp,
            market=market,
            previous=previous,
            revenue=ws.table("revenue") if ws.has("revenue") else None,
            min_support=icp.evidence.min_support,
            # columns kept on purpose stay in every fold's fit
            fit=functools.partial(
                _fit_as_built,
                ws=ws,
                value=icp.training is not None and icp.training.objective == "value",
                churn_source=churn_source or "revenue",
                retention=RetentionCache(),
                keep_columns=icp.kept_columns,
            ),
            jobs=jobs,
        )
    except (IcpkitError, ValueError) as exc:
        return ValidationResult(None, [f"validation skipped: {exc}"])
    if result.get("drift") is not None and previous_version is not None:
        result["drift"]["previous_version"] = previous_version
    _store(ws, to_json(result))
    v = result["verdict"]
    if v["strength"] == "weak":
        return ValidationResult(result, [f"validation: {v['strength']} evidence — {v['message']}"])
    warnings = []
    mono = result["heldout"]["monotonicity"]
    if mono["significant_violation"]:
        warnings.append(f"validation: {mono['message']}")
    rec = result["recommendation"]
    if rec["action"] in ("narrow", "widen"):
        warnings.append(f"validation: {rec['message']}")
    return ValidationResult(result, warnings)


@dataclass
class RetentionCache:
    """Retention read per as-of date, for the folds that share one; the lock keeps a
    date from being read twice when fits run in worker threads."""

    read: dict[Any, RetentionResult | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _fit_as_built(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    ws: Workspace,
    value: bool,
    churn_source: str,
    retention: RetentionCache,
    **options: Any,
) -> BuildResult:
    """A fold's fit under the ICP's own objective: under value, retention is read as it
    stood when the fold's last training deal closed (nothing later is known to it)."""
    if not value:
        return fit_icp(accounts, deals, objective="win", **options)
    closed = pd.to_datetime(deals.get("closed_at"), errors="coerce")
    as_of = closed.max() if closed is not None and closed.notna().any() else None
    with retention.lock:
        if as_of not in retention.read:
            retention.read[as_of] = retention_inputs(ws, churn_source, as_of=as_of)
        ret = retention.read[as_of]
    return fit_icp(
        accounts,
        deals,
        objective="value" if ret is not None else "win",
        extra_health=ret.components if ret is not None else None,
        extra_health_meta=ret.meta if ret is not None else None,
        **options,
    )


SKIPPED_VALIDATION = (
    "validation skipped (--no-validate): no held-out figures for this ICP; "
    "run without --no-validate before acting on it"
)


def skip_validation(ws: Workspace) -> None:
    """Record that this run was not validated, replacing the previous run's figures."""
    _store(ws, json.dumps({"skipped": SKIPPED_VALIDATION}))


def _store(ws: Workspace, text: str) -> None:
    """The figures into the workspace (shown in the report) and into ``validation.json``
    in the workspace folder, written whole or not at all."""
    ws.write({}, artifacts={ARTIFACT: text})
    p = ws.dir / ARTIFACT
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
