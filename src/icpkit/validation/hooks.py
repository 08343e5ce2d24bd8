"""Validation inside ``icp run``: backtest the ICP just built, store the figures."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from .. import icpfile
from ..errors import IcpkitError
from ..pipeline import attribute_meta, current_icp
from ..profile import fit_icp
from ..workspace import Workspace
from . import to_json, validate
from .report import ARTIFACT


def previous_icp(ws: Workspace) -> icpfile.ICP | None:
    """The ICP version before the current one, when the workspace keeps one."""
    versions = ws.icp_versions()
    if len(versions) < 2:
        return None
    text = ws.icp_version(int(versions["version"].iloc[-2]))
    if text is None:
        return None
    try:
        return icpfile.loads(text, f"{ws.file}:icp.yaml (previous version)")
    except IcpkitError:
        return None


def build_hook(ws: Workspace, paths: Mapping[str, str | Path | None]) -> list[str]:
    """validate: backtest on held-out deals, peers, null control

    Writes the figures to the workspace (artifact ``validation.json``, shown
    in the report) and to ``validation.json`` in the workspace folder. Sizes
    the ICP when a market list was given, and measures drift against the
    previous ICP version when the workspace has one; with a revenue table,
    it measures the won accounts' retained revenue per tier. Returns warnings; a
    dataset too small to validate gives a warning, not an error.
    """
    kinds, families = attribute_meta(ws)
    market = ws.table("market") if paths.get("market") is not None and ws.has("market") else None
    icp = current_icp(ws)
    try:
        result = validate(
            ws.table("accounts"),
            ws.table("deals"),
            kinds=kinds,
            families=families,
            icp=icp,
            market=market,
            previous=previous_icp(ws),
            revenue=ws.table("revenue") if ws.has("revenue") else None,
            min_support=icp.evidence.min_support,
            # columns kept on purpose stay in every fold's fit
            fit=functools.partial(fit_icp, keep_columns=icp.kept_columns),
        )
    except (IcpkitError, ValueError) as exc:
        return [f"validation skipped: {exc}"]
    text = to_json(result)
    ws.write({}, artifacts={ARTIFACT: text})
    p = ws.dir / ARTIFACT
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    v = result["verdict"]
    if v["strength"] == "weak":
        return [f"validation: {v['strength']} evidence — {v['message']}"]
    out = []
    mono = result["heldout"]["monotonicity"]
    if mono["significant_violation"]:
        out.append(f"validation: {mono['message']}")
    rec = result["recommendation"]
    if rec["action"] in ("narrow", "widen"):
        out.append(f"validation: {rec['message']}")
    return out
