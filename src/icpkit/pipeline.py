"""The workspace steps behind the CLI: health, patterns, build, score.

``icp run`` is the composition of these, never a second implementation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import icpfile, leakage
from .health import HealthResult, compute_health
from .icpfile import ICP
from .profile import BuildResult, fit_icp
from .retention import RetentionResult, compute_retention
from .scoring.scorer import ScoreResult, score_accounts
from .statement import restate, source_headers
from .timing import score_timing
from .workspace import Workspace


@dataclass
class StepResult:
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def attribute_meta(ws: Workspace, tbl: str = "accounts") -> tuple[dict[str, str], dict[str, str]]:
    attrs = ws.attributes(tbl)
    kinds = dict(zip(attrs["col"], attrs["kind"], strict=True))
    fams = {c: f for c, f in zip(attrs["col"], attrs["family"], strict=True) if isinstance(f, str)}
    return kinds, fams


def health_weights_from(icp_path: Path | None) -> dict[str, float] | None:
    """Health weights set by hand in an existing icp.yaml (``health.weights``)."""
    if icp_path is None or not icp_path.exists():
        return None
    try:
        icp = icpfile.load(icp_path)
    except Exception:
        return None
    if icp.health and isinstance(icp.health.get("weights"), dict):
        return {str(k): float(v) for k, v in icp.health["weights"].items()}
    return None


def churn_source_from(icp_path: Path | None) -> str:
    """``health.churn_source`` from an existing icp.yaml (default: revenue)."""
    if icp_path is None or not icp_path.exists():
        return "revenue"
    try:
        icp = icpfile.load(icp_path)
    except Exception:
        return "revenue"
    return str((icp.health or {}).get("churn_source", "revenue"))


def retention_inputs(ws: Workspace, churn_source: str = "revenue") -> RetentionResult | None:
    """Health components from revenue, tickets, usage and churn tables, when the workspace has any."""
    opt = {
        name: ws.table(name) for name in ("revenue", "tickets", "usage", "churn") if ws.has(name)
    }
    if not opt:
        return None
    deals = ws.table("deals") if ws.has("deals") else None
    return compute_retention(ws.table("accounts"), deals=deals, churn_source=churn_source, **opt)


def _retention_artifacts(ret: RetentionResult | None) -> dict[str, str]:
    if ret is None:
        return {}
    return {
        "health_conflicts": json.dumps(ret.conflicts, default=str),
        "health_as_of": "" if ret.as_of is None else str(pd.Timestamp(ret.as_of).date()),
    }


def step_health(
    ws: Workspace, *, weights: dict[str, float] | None = None, churn_source: str = "revenue"
) -> HealthResult:
    ret = retention_inputs(ws, churn_source)
    deals = ws.table("deals") if ws.has("deals") else None
    result = compute_health(
        deals,
        ws.table("accounts"),
        weights=weights,
        extra_components=ret.components if ret else None,
        extra_meta=ret.meta if ret else None,
    )
    if ret is not None:
        result.warnings.extend(ret.warnings)
        result.warnings.extend(
            f"health: {c['accounts']} account(s) disagree ({c['sources']}); {c['winner']}"
            for c in ret.conflicts
        )
    ws.write({"health": result.table}, artifacts=_retention_artifacts(ret))
    return result


def step_build(
    ws: Workspace,
    *,
    weights: dict[str, float] | None = None,
    min_support: int | None = None,
    churn_source: str = "revenue",
    keep_columns: Sequence[str] = (),
) -> BuildResult:
    """Learn the ICP from the workspace; store segments, health, scores and a new icp.yaml version."""
    if ws.file.exists() and ws.has("accounts") and not ws.has("deals"):
        from .errors import InputError

        raise InputError(
            "building an ICP needs won and lost deals",
            hint="Ingest them with `icp ingest --deals PATH`; `icp health` works without them",
        )
    kinds, fams = attribute_meta(ws)
    accounts = ws.table("accounts")
    deals = ws.table("deals")
    ret = retention_inputs(ws, churn_source)
    build = fit_icp(
        accounts,
        deals,
        kinds=kinds,
        families=fams,
        health_weights=weights,
        min_support=min_support,
        extra_health=ret.components if ret else None,
        extra_health_meta=ret.meta if ret else None,
        events=ws.table("events") if ws.has("events") else None,
        keep_columns=[*keep_columns, *leakage.stored_keep(ws)],
    )
    if ret is not None:
        assert build.icp.health is not None
        build.icp.health["churn_source"] = churn_source
        build.warnings.extend(ret.warnings)
        build.warnings.extend(
            f"health: {c['accounts']} account(s) disagree ({c['sources']}); {c['winner']}"
            for c in ret.conflicts
        )
    restate(build.icp, build.training, source_headers(ws))  # readable labels from the headers
    events = ws.table("events") if ws.has("events") else None
    scored = score_with_timing(build.icp, accounts, events, as_of=data_as_of(ws))
    text = icpfile.dumps(build.icp)
    ws.write(
        {"segments": build.segments, "health": build.health.table, "scores": scored.frame},
        artifacts={
            **_retention_artifacts(ret),
            "build_warnings": "\n".join(build.warnings),
            "scorecard_auc": f"{build.model.cv_auc_:.4f}",
        },
    )
    ws.save_icp_version(
        text,
        note=f"built from {build.icp.training.deals if build.icp.training else '?'} closed deals",
    )
    return build


def current_icp(ws: Workspace) -> ICP:
    text = ws.icp_version()
    if text is None:
        from .errors import WorkspaceError

        raise WorkspaceError("The workspace has no ICP yet. Run `icp build` first.")
    return icpfile.loads(text, f"{ws.file}:icp.yaml")


def data_as_of(ws: Workspace) -> pd.Timestamp | None:
    """The latest date in the workspace's deals and events: 'now' for scoring its own accounts."""
    dates = []
    for tbl, cols in (("deals", ("created_at", "closed_at")), ("events", ("occurred_at",))):
        if ws.has(tbl):
            df = ws.table(tbl)
            dates += [pd.to_datetime(df[c]).max() for c in cols if c in df.columns]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates) if dates else None


def score_with_timing(
    icp: ICP,
    accounts: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
) -> ScoreResult:
    """Fit score (``score``), plus ``fit``, ``timing``, ``priority`` and ``why_now`` when the ICP has triggers."""
    res = score_accounts(icp, accounts)
    if icp.timing and icp.timing.get("triggers"):
        if events is None:
            res.warnings.append(
                "the ICP has timing triggers but no events were given (--events): timing is 0"
            )
        t = score_timing(
            icp.timing,
            accounts.reset_index(drop=True),
            events,
            res.frame["score"].to_numpy(),
            as_of=as_of,
        )
        front = res.frame[["account_id", "score", "tier", "route", "reasons"]]
        rest = res.frame.drop(columns=front.columns)
        res.frame = pd.concat([front, t[["fit", "timing", "priority", "why_now"]], rest], axis=1)
    return res


def export_outputs(ws: Workspace, out_dir: str | Path) -> dict[str, Path]:
    """Write icp.yaml, scores.csv, segments.csv and health.csv from the workspace into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    text = ws.icp_version()
    if text is not None:
        p = out / "icp.yaml"
        tmp = p.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        files["icp.yaml"] = p
    for name in ("scores", "segments", "health"):
        if ws.has(name):
            p = out / f"{name}.csv"
            tmp = p.with_suffix(".csv.tmp")
            ws.table(name).to_csv(tmp, index=False)
            tmp.replace(p)
            files[f"{name}.csv"] = p
    return files


def run_all(
    paths: Mapping[str, str | Path | None],
    out_dir: str | Path,
    *,
    mapping: str | Path | None = None,
    encoding: str | None = None,
    min_support: int | None = None,
    progress: Callable[[str], None] | None = None,
    keep_columns: Sequence[str] = (),
) -> StepResult:
    """``icp run``: ingest, build, report and export, as the step commands do them."""
    from .ingest import ingest
    from .report import collect, write_report

    say = progress or (lambda _s: None)
    out = Path(out_dir)
    result = StepResult()
    with Workspace(out) as ws:
        say("ingest: reading and validating files")
        ing = ingest(ws, paths, mapping_path=mapping, encoding=encoding)
        result.warnings.extend(ing.warnings)
        if not ing.unchanged:
            ws.write({}, artifacts={"ingest_warnings": "\n".join(ing.warnings)})
        say("build: health, patterns, scorecard, tiers")
        weights = health_weights_from(out / "icp.yaml")
        build = step_build(
            ws,
            weights=weights,
            min_support=min_support,
            churn_source=churn_source_from(out / "icp.yaml"),
            keep_columns=keep_columns,
        )
        result.warnings.extend(build.warnings)
        for hook in build_hooks():
            say(f"{hook.__doc__ or hook.__name__}".strip().splitlines()[0])
            result.warnings.extend(hook(ws, paths) or [])
        say("report: writing report.html and report.md")
        result.files.update(write_report(collect(ws), out))
        result.files.update(export_outputs(ws, out))
        if ws.has("market"):
            say("score: the market list")
            icp = current_icp(ws)
            market = score_with_timing(
                icp,
                ws.table("market"),
                ws.table("events") if ws.has("events") else None,
                as_of=data_as_of(ws),
            )
            result.warnings.extend(market.warnings)
            p = out / "market_scores.csv"
            market.frame.to_csv(p, index=False)
            result.files["market_scores.csv"] = p
        result.files["workspace.duckdb"] = ws.file
    return result


# Later phases add work to ``icp run`` from their own module: each listed
# module that exists provides ``build_hook(ws, paths) -> list[str] | None``
# (its docstring's first line is the progress label; it returns warnings).
HOOK_MODULES = (
    "icpkit.mining.deal_context",
    "icpkit.personas.hooks",
    "icpkit.voc.hooks",
    "icpkit.validation.hooks",
)


def build_hooks() -> list[Callable[[Workspace, Mapping[str, str | Path | None]], list[str] | None]]:
    from ._optional import optional_module

    hooks = []
    for name in HOOK_MODULES:
        mod = optional_module(name)
        if mod is not None:
            hooks.append(mod.build_hook)
    return hooks
