"""The server's hold on the workspace: one writer at a time, readers never see half a build.

- Reads go through :meth:`Service.read`, a lock around the one open
  :class:`~icpkit.workspace.Workspace`.
- A build copies the workspace into a staging folder, runs ``icp run`` there
  (ingest, build, report) and, only when everything succeeded, swaps the
  finished file and outputs in. A failed build deletes the staging folder: the
  previous ICP keeps serving.
- Saving an edited ICP writes the new version, rescores and re-renders while
  holding both locks, then publishes a new :class:`Snapshot` (the ICP and its
  compiled row scorer) that the scoring API reads without touching the file.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from .. import icpfile
from ..errors import IcpkitError, InputError, InputErrors
from ..icpfile import ICP
from ..ingest import read_table
from ..ingest.read import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    JSON_SUFFIXES,
    PARQUET_SUFFIXES,
    table_shape,
)
from ..pipeline import export_outputs, run_all
from ..report import collect, write_report
from ..schema import TABLES
from ..scores import score_with_timing
from ..workspace import FILENAME, Workspace
from . import auth
from .rowscore import RowScorer

log = logging.getLogger("icpkit.web")

STAGE = ".icp-build"
UPLOADS = "uploads"
SUFFIXES = CSV_SUFFIXES | PARQUET_SUFFIXES | JSON_SUFFIXES | EXCEL_SUFFIXES
REQUIRED = ("accounts", "deals")
MAX_JOBS = 20
MAX_ROWS = 1_000_000
MAX_CELLS = 20_000_000  # a cell read as text takes about 60-150 bytes in memory
MAX_NAME = 120


class Busy(IcpkitError):
    """Another change to the workspace is running. Try again when it has finished."""


class NotAvailable(IcpkitError):
    """This capability is not installed on this server."""


class NotFound(IcpkitError):
    """Not found."""


class TooLarge(IcpkitError):
    """The request is larger than this server accepts (413)."""


@dataclass
class Snapshot:
    """What the API serves: the current ICP, its version and compiled scorer."""

    generation: int
    icp: ICP | None = None
    version: int | None = None
    scorer: RowScorer | None = None


@dataclass
class Job:
    id: str
    kind: str
    status: str = "running"
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "steps": self.steps,
            "warnings": self.warnings,
            "error": self.error,
            "errors": self.errors,
            "version": self.version,
            "seconds": round((self.finished or time.time()) - self.started, 1),
        }


def short_name(name: str) -> str:
    """An uploaded file's name as valid text, shortened to fit any file system (the suffix is kept)."""
    name = name.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    if len(name.encode("utf-8")) <= MAX_NAME:
        return name
    suffix = Path(name).suffix[:16]
    stem = name[: len(name) - len(Path(name).suffix)] if Path(name).suffix else name
    while len((stem + suffix).encode("utf-8")) > MAX_NAME:
        stem = stem[:-1]
    return stem + suffix


def error_items(exc: Exception) -> list[dict[str, Any]]:
    """An error (or each of several input errors) as dicts with file, row, column and message."""
    errs = exc.errors if isinstance(exc, InputErrors) else [exc]
    out = []
    for e in errs:
        item: dict[str, Any] = {"message": str(e)}
        if isinstance(e, InputError):
            item.update(
                {
                    "file": Path(e.file).name if e.file else None,
                    "row": e.row,
                    "column": e.column,
                    "hint": e.hint,
                }
            )
        out.append(item)
    return out


class Service:
    """The workspace folder as the server sees it."""

    def __init__(self, workspace_dir: str | Path) -> None:
        self.dir = Path(workspace_dir).resolve()
        if not self.dir.exists():
            self.dir.parent.mkdir(parents=True, exist_ok=True)
            self.dir.mkdir(mode=0o700)
        self.uploads = self.dir / UPLOADS
        self.db_guard = threading.RLock()
        self.writer = threading.Lock()
        self.uploads_guard = threading.Lock()
        self.tokens = auth.TokenCache()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._ws: Workspace | None = None
        self._cache: dict[str, tuple[int, Any]] = {}
        self.snapshot = Snapshot(0)
        self.fast_hits = 0
        self.max_rows, self.max_cells = MAX_ROWS, MAX_CELLS
        self._key: bytes | None = None
        self._sessions: dict[str, tuple[str, float]] | None = None
        self.session_seconds = auth.SESSION_SECONDS
        # a build that died with the process leaves its staging folder behind
        shutil.rmtree(self.dir / STAGE, ignore_errors=True)
        with self.read() as ws:
            auth.ensure_tables(ws)
        self.refresh()

    # -- reading -------------------------------------------------------------------
    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            self._ws = Workspace(self.dir)
        return self._ws

    @contextmanager
    def read(self) -> Iterator[Workspace]:
        with self.db_guard:
            yield self.ws

    def close(self) -> None:
        with self.db_guard:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

    # -- sessions ------------------------------------------------------------------
    def session_key(self) -> bytes:
        if self._key is None:
            self._key = auth.session_key(self.dir)
        return self._key

    def _live(self) -> dict[str, tuple[str, float]]:
        if self._sessions is None:
            with self.read() as ws:
                self._sessions = auth.live_sessions(ws)
        return self._sessions

    def open_session(self, subject: str) -> str:
        """Start a session for ``subject``; returns the signed cookie value."""
        with self.read() as ws:
            sid, expires = auth.start_session(ws, subject, self.session_seconds)
        self._live()[sid] = (subject, expires)
        return auth.sign_session(self.session_key(), sid, expires)

    def session_subject(self, cookie: str | None) -> str | None:
        """Who the session cookie belongs to, while the session is live on the server."""
        sid = auth.read_session(self.session_key(), cookie)
        hit = self._live().get(sid) if sid else None
        if hit is None or hit[1] < time.time():
            return None
        return hit[0]

    def close_session(self, cookie: str | None) -> None:
        sid = auth.read_session(self.session_key(), cookie)
        if sid:
            with self.read() as ws:
                auth.end_session(ws, sid)
            self._live().pop(sid, None)

    def set_password(self, password: str) -> None:
        """Set the web password: a new session key, every session ended."""
        with self.read() as ws:
            auth.set_password(ws, password)
        self._key = None
        self._sessions = None

    def refresh(self) -> Snapshot:
        """Publish the workspace's current ICP to the API."""
        with self.db_guard:
            ws = self.ws
            icp = version = None
            text = ws.icp_version() if ws.file.exists() else None
            if text is not None:
                icp = icpfile.loads(text, "icp.yaml")
                versions = ws.icp_versions()
                version = int(versions["version"].max()) if len(versions) else None
            gen = self.snapshot.generation + 1
            self.snapshot = Snapshot(gen, icp, version, RowScorer(icp) if icp else None)
            self._cache.clear()
        return self.snapshot

    def cached(self, key: str, build: Any) -> Any:
        """``build(ws)`` computed once per snapshot generation."""
        gen = self.snapshot.generation
        hit = self._cache.get(key)
        if hit is not None and hit[0] == gen:
            return hit[1]
        with self.read() as ws:
            value = build(ws)
        self._cache[key] = (gen, value)
        return value

    def tables(self) -> dict[str, int]:
        def build(ws: Workspace) -> dict[str, int]:
            if not ws.file.exists():
                return {}
            return {
                t: int(ws.query(f'SELECT count(*) AS n FROM "{t}"')["n"][0]) for t in ws.tables()
            }

        return self.cached("tables", build)  # type: ignore[no-any-return]

    # -- uploads -------------------------------------------------------------------
    def staged(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if not self.uploads.exists():
            return out
        for d in sorted(self.uploads.iterdir()):
            files = [f for f in d.iterdir() if f.is_file()] if d.is_dir() else []
            if d.name in TABLES and files:
                f = max(files, key=lambda p: p.stat().st_mtime)
                out[d.name] = {"file": f.name, "bytes": f.stat().st_size, "path": f}
        return out

    def stage_upload(self, table: str, filename: str, data: BinaryIO) -> dict[str, Any]:
        """Validate one uploaded file as table ``table`` (as ``icp ingest`` does) and keep it for the next build."""
        if table not in TABLES:
            raise InputError(f"unknown table '{table}'", hint=f"Use one of {', '.join(TABLES)}")
        name = Path(filename or f"{table}.csv").name.replace("\x00", "") or f"{table}.csv"
        name = short_name(name)
        if Path(name).suffix.lower() not in SUFFIXES:
            raise InputError(
                "only CSV, TSV, Parquet, JSON lines or Excel files can be uploaded",
                file=name,
                hint="Export the table as CSV (UTF-8) or Parquet",
            )
        self.uploads.mkdir(mode=0o700, exist_ok=True)
        incoming = self.uploads / f".incoming-{secrets.token_hex(6)}"
        incoming.mkdir()
        try:
            path = incoming / name
            with open(path, "wb") as f:
                shutil.copyfileobj(data, f, 1 << 20)
            self.check_shape(path, name)
            try:
                frame, _kinds, warnings = read_table(table, path)
            except (InputError, InputErrors) as exc:
                raise self._clean_exc(exc, incoming) from None
            with self.uploads_guard:
                dest = self.uploads / table
                dest.mkdir(parents=True, exist_ok=True)
                for old in dest.iterdir():
                    old.unlink()
                os.replace(path, dest / name)
            return {
                "table": table,
                "file": name,
                "rows": len(frame),
                "columns": [str(c) for c in frame.columns],
                "warnings": [self._clean(w, incoming) for w in warnings],
            }
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def check_shape(self, path: Path, name: str) -> None:
        """Refuse a file with more rows or cells than this server accepts (413), before reading it."""
        try:
            rows, cols = table_shape(path)
        except InputError as exc:
            raise self._clean_exc(exc, path.parent) from None
        if rows > self.max_rows or rows * cols > self.max_cells:
            raise TooLarge(
                f"{name} has {rows:,} rows x {cols:,} columns; this server accepts at most "
                f"{self.max_rows:,} rows and {self.max_cells:,} cells per file "
                "(icp serve --max-upload-rows / --max-upload-cells). Score larger lists with "
                "`icp score --engine duckdb`."
            )

    def remove_upload(self, table: str) -> bool:
        with self.uploads_guard:
            d = self.uploads / table
            if table not in TABLES or not d.is_dir():
                return False
            shutil.rmtree(d)
            return True

    def _clean(self, text: str, *folders: Path) -> str:
        for d in (*folders, self.dir / STAGE / "inputs", self.uploads, self.dir):
            text = text.replace(str(d) + os.sep, "").replace(str(d), "")
        return text

    def _clean_exc(self, exc: Exception, *folders: Path) -> Exception:
        if isinstance(exc, InputErrors):
            return InputErrors([self._clean_exc(e, *folders) for e in exc.errors])  # type: ignore[misc]
        if isinstance(exc, InputError):
            e = InputError("x", file=Path(exc.file).name if exc.file else None, row=exc.row,
                           column=exc.column, hint=exc.hint)  # fmt: skip
            e.args = (self._clean(str(exc), *folders),)
            return e
        if isinstance(exc, IcpkitError):
            return type(exc)(self._clean(str(exc), *folders))
        return exc

    # -- builds --------------------------------------------------------------------
    def start_build(self) -> Job:
        """Start ``icp run`` on the staged uploads in the background; one at a time."""
        if not self.writer.acquire(blocking=False):
            running = [j.id for j in self.jobs.values() if j.status == "running"]
            raise Busy(
                "A build is already running"
                + (f" (job {running[0]})" if running else "")
                + ". Wait for it to finish."
            )
        staged = self.staged()
        have = self.tables()
        missing = [t for t in REQUIRED if t not in staged and t not in have]
        if missing:
            self.writer.release()
            raise InputError(
                f"upload {' and '.join(missing)} first",
                hint="Accounts and deals are required; the other tables are optional",
            )
        job = Job(id=secrets.token_hex(6), kind="build")
        self.jobs[job.id] = job
        while len(self.jobs) > MAX_JOBS:
            self.jobs.popitem(last=False)
        threading.Thread(
            target=self._build, args=(job,), name=f"icp-build-{job.id}", daemon=True
        ).start()
        return job

    def run_build(self) -> Job:
        """Build in the calling thread (for tests and scripts)."""
        job = self.start_build()
        while job.status == "running":
            time.sleep(0.05)
        return job

    def _build(self, job: Job) -> None:
        """Run the build; the job's final status is published only once the writer is free, so a
        client that sees it finished can start the next build at once."""
        stage = self.dir / STAGE
        status = "failed"
        try:
            shutil.rmtree(stage, ignore_errors=True)
            (stage / "inputs").mkdir(parents=True)
            with self.db_guard:
                self.ws.snapshot_to(stage)
                for p in self.dir.iterdir():
                    if p.is_dir() and p.name.endswith("_index"):
                        shutil.copytree(p, stage / p.name)
                if (self.dir / "icp.yaml").exists():
                    shutil.copy2(self.dir / "icp.yaml", stage / "icp.yaml")
            paths: dict[str, str | Path | None] = {}
            with self.uploads_guard:
                for table, info in self.staged().items():
                    dest = stage / "inputs" / table / info["file"]
                    dest.parent.mkdir(parents=True)
                    shutil.copy2(info["path"], dest)
                    paths[table] = dest
            result = run_all(paths, stage, progress=job.steps.append, atomic=False)
            job.warnings = [self._clean(w) for w in result.warnings]
            self._swap_in(stage)
            job.version = self.snapshot.version
            status = "done"
        except (IcpkitError, ValueError) as exc:
            clean = self._clean_exc(exc, stage / "inputs")
            job.error, job.errors = str(clean), error_items(clean)
            for item in job.errors:
                item["message"] = self._clean(item["message"])
        except Exception as exc:  # never lose the previous ICP, never show a trace
            log.exception("build %s failed", job.id)
            job.error = f"The build failed unexpectedly ({type(exc).__name__}); the previous ICP is still serving. See the server log."
        finally:
            job.finished = time.time()
            shutil.rmtree(stage, ignore_errors=True)
            self.writer.release()
            job.status = status

    def _swap_in(self, stage: Path) -> None:
        """Carry the web tables over, then replace the workspace file and outputs at once."""
        with self.db_guard:
            if self.ws.file.exists():
                tokens = (
                    self.ws.query("SELECT * FROM _web_tokens") if auth._has_table(self.ws) else None
                )
                sessions = (
                    self.ws.query("SELECT * FROM _web_sessions")
                    if auth._has_table(self.ws, "_web_sessions")
                    else None
                )
                meta = self.ws.query("SELECT * FROM _meta WHERE key LIKE 'web_%'")
            else:
                tokens, sessions, meta = None, None, pd.DataFrame()
            with Workspace(stage) as sws:
                auth.ensure_tables(sws)
                if tokens is not None:
                    sws.replace_rows("_web_tokens", tokens)
                if sessions is not None:
                    sws.replace_rows("_web_sessions", sessions)
                sws.set_meta(dict(zip(meta.get("key", []), meta.get("value", []), strict=True)))
                sws.checkpoint()
            self.ws.replace_with(stage / FILENAME)
            self.close()
            for p in stage.iterdir():
                if p.name in ("inputs", FILENAME) or p.name.endswith(".wal"):
                    continue
                target = self.dir / p.name
                if p.is_dir():
                    old = self.dir / f".old-{p.name}"
                    shutil.rmtree(old, ignore_errors=True)
                    if target.exists():
                        os.replace(target, old)
                    os.replace(p, target)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(p, target)
            self.refresh()

    # -- ICP versions --------------------------------------------------------------
    def save_icp(self, icp: ICP, note: str) -> int:
        """Save ``icp`` as a new version; rescore the workspace and re-render the report."""
        if not self.writer.acquire(timeout=5):
            raise Busy()
        try:
            with self.db_guard:
                ws = self.ws
                text = icpfile.dumps(icp)
                icpfile.loads(text, "icp.yaml")
                scored = None
                if ws.file.exists() and ws.has("accounts"):
                    events = ws.table("events") if ws.has("events") else None
                    scored = score_with_timing(
                        icp, ws.table("accounts"), events, as_of=ws.data_as_of()
                    )
                version = ws.save_icp_version(text, note=note)
                if scored is not None:
                    ws.write({"scores": scored.frame})
                    try:
                        write_report(collect(ws), self.dir)
                    except Exception:
                        log.exception("report after saving version %s", version)
                export_outputs(ws, self.dir)
                self.refresh()
            return version
        finally:
            self.writer.release()
