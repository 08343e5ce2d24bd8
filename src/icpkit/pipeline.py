"""The workspace steps behind the CLI: health, patterns, build, score, run.

``icp run`` is the composition of these, never a second implementation:

1. ingest the files;
2. build: learn the health model, segments, scorecard and tiers, score the
   accounts, then shape the ICP with the personas and the voice of customer
   (:func:`step_build`, which ``icp build`` runs too, so both give the same
   ICP) and save it as **one** ICP version;
3. validate the ICP just built, with drift against the previous run's version;
4. write the report and export icp.yaml and the CSV files.

Each step is a plain function that returns its part; only :func:`step_build`
saves an ICP version. Settings (health weights, churn source) come from the
workspace's current ICP; a hand-edited icp.yaml next to the workspace is
validated and imported first (:func:`settings`).

``icp run`` is atomic: it works on a copy of the output folder's state in a
sibling staging folder and swaps the finished files in at the end, so a
failed or killed run leaves the previous run's workspace, icp.yaml, CSV files
and report intact (:func:`run_all`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import icpfile, leakage
from .csvsafe import write_csv
from .errors import InputError, WorkspaceError
from .health import HealthResult, compute_health
from .icpfile import ICP
from .mining.deal_context import deal_context_step
from .negative import MAX_EXCLUDED_SHARE
from .personas.hooks import personas_step, with_persona
from .profile import BuildResult, fit_icp
from .retention import RetentionResult, retention_inputs
from .scores import score_with_timing
from .statement import restate, source_headers
from .validation.hooks import SKIPPED_VALIDATION, skip_validation, validation_step
from .voc.hooks import voc_step
from .workspace import FILENAME, Workspace

# Progress labels, in the order ``icp run`` reaches them.
STEPS = {
    "ingest": "ingest: reading and validating files",
    "build": "build: health, patterns, scorecard, tiers",
    "personas": "personas: buying committee per tier",
    "voc": "voice of customer: index conversations and find the pain language",
    "validate": "validate: backtest on held-out deals, peers, null control",
    "report": "report: writing report.html and report.md",
    "market": "score: the market list",
}
# Tests set this to a step name (or "commit") to have the run kill itself there.
KILL_ENV = "ICPKIT_TEST_KILL_AT"
STAGE_SUFFIX = ".icp-stage"
_COMMITTED = ".committed"
_TRASH = ".replaced"


@dataclass
class StepResult:
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class Settings:
    """What a person may set in the ICP for the next build (section ``health``)."""

    weights: dict[str, float] | None = None
    churn_source: str = "revenue"

    @classmethod
    def of(cls, icp: ICP | None) -> Settings:
        h = icp.health if icp is not None else None
        if h is None:
            return cls()
        return cls(dict(h.weights) or None, h.churn_source or "revenue")


def _progress(say: Callable[[str], None] | None) -> Callable[[str], None]:
    """``say(step)`` prints the step's label; with ``ICPKIT_TEST_KILL_AT`` set, kills the process there."""

    def step(name: str) -> None:
        if say is not None and name in STEPS:
            say(STEPS[name])
        if os.environ.get(KILL_ENV) == name:
            os.kill(os.getpid(), signal.SIGKILL)

    return step


def attribute_meta(ws: Workspace, tbl: str = "accounts") -> tuple[dict[str, str], dict[str, str]]:
    """Same as :meth:`Workspace.attribute_meta`."""
    return ws.attribute_meta(tbl)


def data_as_of(ws: Workspace) -> pd.Timestamp | None:
    """Same as :meth:`Workspace.data_as_of`: the latest deal date (events dated ahead do not count)."""
    return ws.data_as_of()


def current_icp(ws: Workspace) -> ICP:
    icp = ws.current_icp()
    if icp is None:
        raise WorkspaceError("The workspace has no ICP yet. Run `icp build` first.")
    return icp


def settings(ws: Workspace, exported: Path | None = None) -> Settings:
    """The settings for the next build: from the workspace's current ICP version.

    ``exported`` is the icp.yaml exported next to the workspace. When a person
    edited it (its text differs from the workspace's current version), it is
    validated with :func:`icpfile.load` (an invalid file raises
    :class:`~icpkit.errors.IcpFileError` naming the field) and its settings win.
    """
    current = ws.icp_version() if ws.file.exists() else None
    if exported is not None and exported.is_file():
        if exported.read_text(encoding="utf-8") != current:
            return Settings.of(icpfile.load(exported))
    return Settings.of(None if current is None else icpfile.loads(current, f"{ws.file}:icp.yaml"))


def _retention_artifacts(ret: RetentionResult | None) -> dict[str, str]:
    if ret is None:
        return {}
    return {
        "health_conflicts": json.dumps(ret.conflicts, default=str),
        "health_as_of": "" if ret.as_of is None else str(pd.Timestamp(ret.as_of).date()),
    }


def step_health(ws: Workspace, settings: Settings | None = None) -> HealthResult:
    """Score every customer's health; store table ``health``."""
    s = settings or Settings()
    ret = retention_inputs(ws, s.churn_source)
    deals = ws.table("deals") if ws.has("deals") else None
    result = compute_health(
        deals,
        ws.table("accounts"),
        weights=s.weights,
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
    settings: Settings | None = None,
    *,
    min_support: int | None = None,
    progress: Callable[[str], None] | None = None,
    keep_columns: Sequence[str] = (),
    max_excluded_share: float = MAX_EXCLUDED_SHARE,
) -> BuildResult:
    """Learn the ICP from the workspace and save it as one new ICP version.

    Stores segments, health and scores; runs the personas and voice-of-customer
    steps (each returns its part of the ICP) and saves the assembled ICP once.
    ``settings`` default to the workspace's current ICP; ``keep_columns`` (and
    the mapping file's ``accounts: keep``) are learned from even when they look
    like the outcome. The deals' own columns are analysed as deal context. The returned
    ``BuildResult.icp`` is the ICP saved.
    """
    step = progress if progress is not None else _progress(None)
    if ws.file.exists() and ws.has("accounts") and not ws.has("deals"):
        raise InputError(
            "building an ICP needs won and lost deals",
            hint="Ingest them with `icp ingest --deals PATH`; `icp health` works without them",
        )
    s = settings if settings is not None else Settings.of(ws.current_icp())
    step("build")
    kinds, fams = ws.attribute_meta()
    accounts = ws.table("accounts")
    deals = ws.table("deals")
    ret = retention_inputs(ws, s.churn_source)
    events = ws.table("events") if ws.has("events") else None
    build = fit_icp(
        accounts,
        deals,
        kinds=kinds,
        families=fams,
        health_weights=s.weights,
        min_support=min_support,
        extra_health=ret.components if ret else None,
        extra_health_meta=ret.meta if ret else None,
        events=events,
        keep_columns=[*keep_columns, *leakage.stored_keep(ws)],
        max_excluded_share=max_excluded_share,
    )
    restate(build.icp, build.training, source_headers(ws))  # readable labels from the headers
    if ret is not None:
        assert build.icp.health is not None
        build.icp.health.churn_source = s.churn_source  # type: ignore[assignment]
        build.warnings.extend(ret.warnings)
        build.warnings.extend(
            f"health: {c['accounts']} account(s) disagree ({c['sources']}); {c['winner']}"
            for c in ret.conflicts
        )
    scored = score_with_timing(
        build.icp, accounts, events, as_of=ws.data_as_of(), fitted=build.scored
    )
    ws.write(
        {"segments": build.segments, "health": build.health.table, "scores": scored.frame},
        artifacts={
            **_retention_artifacts(ret),
            "build_warnings": "\n".join(build.warnings),
            "scorecard_auc": f"{build.model.cv_auc_:.4f}",
        },
    )
    del accounts, deals, events, scored  # stored; the steps below read what they need
    build.scored = None  # the accounts' scores (reasons, points per feature) are stored too
    build.warnings.extend(deal_context_step(ws, min_support=build.icp.evidence.min_support))
    icp = build.icp
    step("personas")
    if ws.has("contacts"):
        pers = personas_step(ws)
        build.warnings.extend(pers.warnings)
        if pers.profiles is not None:
            icp = with_persona(icp, pers.profiles)
    step("voc")
    voc = voc_step(ws)
    build.warnings.extend(voc.warnings)
    voc.apply(icp)
    build.icp = icp
    ws.save_icp_version(
        icpfile.dumps(icp),
        note=f"built from {icp.training.deals if icp.training else '?'} closed deals",
    )
    return build


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
            write_csv(ws.table(name), p)
            files[f"{name}.csv"] = p
    return files


def crm_exports(
    ws: Workspace,
    out_dir: Path,
    formats: Sequence[str],
    previous: pd.DataFrame | None = None,
    notes: list[str] | None = None,
) -> dict[str, Path]:
    """Each CRM's import file of the workspace's scores (``hubspot-import.csv``,
    ``salesforce-import.csv``) with its property definitions and, given the previous
    export, the accounts whose tier or route changed (``…-import-changed.csv``)."""
    from . import crm as crm_files

    icp = ws.current_icp()
    version = crm_files.icp_fingerprint(icp) if icp is not None else ""
    scores = ws.table("scores")
    when = crm_files.utc_now()
    files: dict[str, Path] = {}
    for fmt in formats:
        full = crm_files.write_import(
            scores, out_dir / f"{fmt}-import.csv", fmt, version=version, scored_at=when
        )
        files[full.path.name] = full.path
        files[full.definitions.name] = full.definitions
        if notes is not None:
            notes.extend(f"{fmt}: {n}" for n in full.notes)
        if previous is not None:
            changed = crm_files.write_import(
                scores,
                out_dir / f"{fmt}-import-changed.csv",
                fmt,
                version=version,
                scored_at=when,
                changed_since=previous,
            )
            files[changed.path.name] = changed.path
            if notes is not None:
                notes.extend(f"{fmt}: {n}" for n in changed.notes if n not in full.notes)
    return files


# -- icp run -----------------------------------------------------------------------------


def staging_dir(out_dir: str | Path) -> Path:
    """The sibling folder an atomic ``icp run`` into ``out_dir`` stages its outputs in."""
    out = Path(out_dir).resolve()
    return out.parent / f".{out.name}{STAGE_SUFFIX}"


def _commit(stage: Path, out: Path, step: Callable[[str], None] | None = None) -> None:
    """Move every staged entry into ``out``, after marking the stage committed.

    Once the marker exists the run counts as done: :func:`recover` finishes
    an interrupted commit. Entries already moved are skipped, so it can be
    repeated.
    """
    marker = stage / _COMMITTED
    if not marker.exists():
        tmp = stage / (_COMMITTED + ".tmp")
        tmp.write_text("done\n", encoding="utf-8")
        os.replace(tmp, marker)
    trash = stage / _TRASH
    names = sorted(p.name for p in stage.iterdir() if p.name not in (_COMMITTED, _TRASH))
    # the workspace file first: the report and CSV files are derived from it
    names.sort(key=lambda n: n != FILENAME)
    for i, name in enumerate(names):
        src, dst = stage / name, out / name
        if src.is_dir():
            if dst.exists():
                trash.mkdir(exist_ok=True)
                shutil.rmtree(trash / name, ignore_errors=True)
                os.replace(dst, trash / name)
            os.replace(src, dst)
        else:
            os.replace(src, dst)
            if name == FILENAME:
                wal = out / (FILENAME + ".wal")
                if wal.exists():
                    wal.unlink()
        if i == 0 and step is not None:
            step("commit")
    shutil.rmtree(stage, ignore_errors=True)


def recover(out_dir: str | Path) -> str | None:
    """Clean up after a crashed ``icp run`` into ``out_dir``.

    A committed stage is finished (its files moved in), any other is
    deleted. Returns what was done ("finished", "removed") or None.
    """
    stage = staging_dir(out_dir)
    if not stage.exists():
        return None
    if (stage / _COMMITTED).exists():
        _commit(stage, Path(out_dir).resolve())
        return "finished"
    shutil.rmtree(stage)
    return "removed"


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on the output folder so that two runs into it cannot interleave."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: DuckDB's file lock is the guard
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WorkspaceError(
                f"Another icp run or build is writing to {out}. Wait for it to finish."
            ) from None
        yield
    finally:
        os.close(fd)


@contextmanager
def output_folder(out_dir: str | Path) -> Iterator[Path]:
    """Hold ``out_dir`` for writing: create it (private), lock it and finish or
    remove a stage an interrupted ``icp run`` left beside it (:func:`recover`).

    Every command that writes into an output folder opens it through this, so
    a half-done swap is finished before new work lands on top of it.
    """
    out = Path(out_dir)
    if not out.exists():  # private: the folder holds the workspace's CRM data
        out.parent.mkdir(parents=True, exist_ok=True)
        out.mkdir(mode=0o700, exist_ok=True)
    with _exclusive(out):
        recover(out)
        yield out


def run_all(
    paths: Mapping[str, str | Path | None],
    out_dir: str | Path,
    *,
    mapping: str | Path | None = None,
    encoding: str | None = None,
    min_support: int | None = None,
    progress: Callable[[str], None] | None = None,
    atomic: bool = True,
    keep_columns: Sequence[str] = (),
    product: str | None = None,
    max_excluded_share: float = MAX_EXCLUDED_SHARE,
    validate: bool = True,
    crm: Sequence[str] = (),
    jobs: int | None = None,
) -> StepResult:
    """``icp run``: ingest, build, validate, report and export, as the step commands do them.

    With ``atomic`` (the default) the run works in a staging folder next to
    ``out_dir`` (a copy of its workspace) and swaps the finished workspace,
    icp.yaml, CSV files and report in only at the end: when it fails or is
    killed, ``out_dir`` keeps the previous run's outputs. A stage left by a
    crash is cleaned at the start. ``atomic=False`` writes into ``out_dir``
    directly (for a caller that stages by itself). ``product`` learns from the
    deals of one product line only (one ICP per product line: one output folder
    each). ``validate=False`` skips the backtest (quick iterations); the report
    and ``validation.json`` say it was skipped. ``crm`` (``hubspot``,
    ``salesforce``) writes each CRM's import file of the scores with its property
    definitions, and, when the output folder holds a previous run's ``scores.csv``,
    an import file of only the accounts whose tier or route changed since then.
    ``jobs`` is validation's threads (see :func:`icpkit.validation.validate`).
    """
    step = _progress(progress)
    out = Path(out_dir)

    def run_in(folder: Path) -> StepResult:
        return _run_in(
            paths,
            folder,
            out / "icp.yaml",
            mapping,
            encoding,
            min_support,
            step,
            keep_columns,
            product,
            max_excluded_share,
            validate,
            crm,
            jobs,
        )

    if not atomic:
        return run_in(out)
    with output_folder(out):
        stage = staging_dir(out)
        try:
            stage.mkdir(mode=0o700)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create the staging folder {stage} next to {out}: {exc.strerror}. "
                "`icp run` builds there and swaps the results in at the end; "
                "choose an output folder whose parent folder is writable."
            ) from exc
        try:
            if (out / FILENAME).exists():
                with Workspace(out) as live:
                    live.snapshot_to(stage)
            for p in out.iterdir():
                if p.is_dir() and p.name.endswith("_index"):
                    shutil.copytree(p, stage / p.name)
            result = run_in(stage)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        _commit(stage, out.resolve(), step)
    result.files = {
        k: out / p.relative_to(stage) if p.is_relative_to(stage) else p
        for k, p in result.files.items()
    }
    return result


def _run_in(
    paths: Mapping[str, str | Path | None],
    folder: Path,
    exported: Path,
    mapping: str | Path | None,
    encoding: str | None,
    min_support: int | None,
    step: Callable[[str], None],
    keep_columns: Sequence[str] = (),
    product: str | None = None,
    max_excluded_share: float = MAX_EXCLUDED_SHARE,
    validate: bool = True,
    crm: Sequence[str] = (),
    jobs: int | None = None,
) -> StepResult:
    from . import crm as crm_files
    from .ingest import ingest
    from .report import collect, write_report

    result = StepResult()
    formats = [crm_files.check_format(f, crm_files.CRMS) for f in crm]
    last_scores = exported.with_name("scores.csv")
    previous_scores = (
        crm_files.read_export(last_scores) if formats and last_scores.exists() else None
    )
    with Workspace(folder) as ws:
        conf = settings(ws, exported)  # a broken hand edit fails before any work
        step("ingest")
        ing = ingest(ws, paths, mapping_path=mapping, encoding=encoding, product=product)
        result.warnings.extend(ing.warnings)
        if not ing.unchanged:
            ws.write({}, artifacts={"ingest_warnings": "\n".join(ing.warnings)})
        previous_version = ws.latest_icp_version()
        previous = ws.current_icp() if previous_version is not None else None
        build = step_build(
            ws,
            conf,
            min_support=min_support,
            progress=step,
            keep_columns=keep_columns,
            max_excluded_share=max_excluded_share,
        )
        result.warnings.extend(build.warnings)
        step("validate")
        if validate:
            checked = validation_step(
                ws,
                build.icp,
                previous=previous,
                previous_version=previous_version,
                with_market=paths.get("market") is not None,
                churn_source=conf.churn_source,
                jobs=jobs,
            )
            result.warnings.extend(checked.warnings)
        else:
            skip_validation(ws)
            result.warnings.append(SKIPPED_VALIDATION)
        step("report")
        result.files.update(write_report(collect(ws), folder))
        result.files.update(export_outputs(ws, folder))
        if formats and ws.has("scores"):
            result.files.update(crm_exports(ws, folder, formats, previous_scores, result.warnings))
        if ws.has("market"):
            step("market")
            market = score_with_timing(
                build.icp,
                ws.table("market"),
                ws.table("events") if ws.has("events") else None,
                as_of=ws.data_as_of(),
            )
            result.warnings.extend(market.warnings)
            p = folder / "market_scores.csv"
            write_csv(market.frame, p)
            result.files["market_scores.csv"] = p
        result.files["workspace.duckdb"] = ws.file
    return result
