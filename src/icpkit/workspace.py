"""The workspace: one embedded DuckDB file, owned by one class.

Nothing else in icpkit opens the file or touches its connection: every read
and write goes through a method of :class:`Workspace`, under its lock. Every
write is one transaction, so a failed ingest or build leaves the previous
state intact and readers never see a half-written table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from .errors import NoWorkspaceData, WorkspaceError

if TYPE_CHECKING:
    from .icpfile import ICP

FILENAME = "workspace.duckdb"

_META_DDL = [
    """CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS _attributes (
        tbl VARCHAR, col VARCHAR, kind VARCHAR, family VARCHAR, excluded BOOLEAN,
        PRIMARY KEY (tbl, col))""",
    """CREATE TABLE IF NOT EXISTS _sources (
        tbl VARCHAR PRIMARY KEY, path VARCHAR, sha256 VARCHAR, rows BIGINT, ingested_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS _artifacts (name VARCHAR PRIMARY KEY, content VARCHAR, updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS _icp_versions (
        version INTEGER PRIMARY KEY, created_at TIMESTAMP, yaml VARCHAR, note VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS _audits (
        id INTEGER PRIMARY KEY, created_at TIMESTAMP, as_of VARCHAR, summary VARCHAR)""",
]


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _share_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Text-list cells (a LIST column arrives as one array per row) with the same items
    become one shared array: a tags or tech-stack column repeats a few combinations
    over many rows, and a million copies of them are a large part of a build's memory."""
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        values = frame[col].to_numpy()
        first = frame[col].first_valid_index()
        if first is None or not isinstance(frame[col].loc[first], np.ndarray):
            continue
        seen: dict[tuple[str | None, ...], np.ndarray] = {}
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            if (
                isinstance(v, np.ndarray)
                and v.dtype == object
                and all(x is None or type(x) is str for x in v)
            ):
                out[i] = seen.setdefault(tuple(v), v)
            else:
                out[i] = v
        frame[col] = out
    return frame


class Workspace:
    """A folder holding ``workspace.duckdb``, the canonical and derived tables.

    Parameters
    ----------
    path : str or Path
        The workspace folder (created if missing) or the ``.duckdb`` file itself.
    read_only : bool, default False
        Open without taking the write lock.

    Example
    -------
    >>> ws = Workspace("out")            # doctest: +SKIP
    >>> ws.table("accounts").shape       # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        p = Path(path)
        if p.suffix == ".duckdb":
            self.dir = p.parent
            self.file = p
        else:
            self.dir = p
            self.file = p / FILENAME
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()

    # -- connection ------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.read_only and not self.file.exists():
                raise NoWorkspaceData(
                    f"No workspace at {self.file}. Run `icp ingest` or `icp run` first."
                )
            if not self.dir.exists():
                self.dir.parent.mkdir(parents=True, exist_ok=True)
                self.dir.mkdir(mode=0o700, exist_ok=True)  # private: the workspace holds CRM data
            try:
                self._con = duckdb.connect(str(self.file), read_only=self.read_only)
            except duckdb.IOException as exc:
                raise WorkspaceError(
                    f"Cannot open the workspace {self.file}: {exc}. Is another icp process using it?"
                ) from exc
            if not self.read_only:
                self._private()
                for ddl in _META_DDL:
                    self._con.execute(ddl)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------
    def tables(self) -> list[str]:
        rows = self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='main' ORDER BY 1"
        )
        return [r[0] for r in rows if not r[0].startswith("_")]

    def has(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str) -> pd.DataFrame:
        """Return a whole table as a pandas frame."""
        if not self.has(name):
            if name in ("accounts", "deals"):
                raise NoWorkspaceData()
            raise WorkspaceError(f"The workspace has no '{name}' table yet.")
        with self._lock:
            frame = self.con.execute(f'SELECT * FROM "{name}"').df()
        return _share_lists(frame)

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            return self.con.execute(sql, params or []).df()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """A parameterised read as a list of tuples."""
        with self._lock:
            return self.con.execute(sql, params or []).fetchall()

    def one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a parameterised read, or None."""
        with self._lock:
            rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def stream(
        self,
        sql: str,
        *,
        batch_rows: int = 65536,
        frames: Mapping[str, pd.DataFrame] | None = None,
    ) -> Iterator[dict[str, list[Any]]]:
        """Run ``sql`` and yield its result in column batches (``{column: values}``).

        ``frames`` are registered as views under their names for the query (for
        example a list of ids to join with) and unregistered afterwards. The
        workspace lock is held while the batches are consumed.
        """
        with self._lock:
            con = self.con
            for name, df in (frames or {}).items():
                con.register(name, df)
            try:
                for batch in con.sql(sql).to_arrow_reader(batch_rows):
                    yield batch.to_pydict()
            finally:
                for name in frames or {}:
                    con.unregister(name)

    def columns(self, table: str | None = None) -> dict[str, dict[str, str]]:
        """``{table: {column: type}}`` for the user tables (or just ``table``), in one query."""
        sql = (
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND database_name = current_database()"
        )
        params: list[Any] = []
        if table is not None:
            sql += " AND table_name = ?"
            params.append(table)
        out: dict[str, dict[str, str]] = {}
        for t, c, typ in self.rows(sql + " ORDER BY table_name, column_index", params):
            if table is not None or not t.startswith("_"):
                out.setdefault(t, {})[c] = typ
        return out

    def attribute_meta(self, tbl: str = "accounts") -> tuple[dict[str, str], dict[str, str]]:
        """(kind per column, family per column that has one) as ingest recorded them."""
        attrs = self.attributes(tbl)
        kinds = dict(zip(attrs["col"], attrs["kind"], strict=True))
        fams = {
            c: f for c, f in zip(attrs["col"], attrs["family"], strict=True) if isinstance(f, str)
        }
        return kinds, fams

    def data_as_of(self) -> pd.Timestamp | None:
        """The latest deal date: 'now' for scoring the workspace's own accounts.

        Events count only when the deals carry no date, and then only those not
        later than today: an event dated ahead (a renewal) is upcoming, not 'now'.
        """
        dates: list[pd.Timestamp] = []
        for tbl, cols in (("deals", ("created_at", "closed_at")), ("events", ("occurred_at",))):
            if not self.has(tbl) or (tbl == "events" and dates):
                continue
            have = self.columns(tbl).get(tbl, {})
            for c in cols:
                if c in have:
                    sql = f'SELECT max("{c}") AS d FROM "{tbl}"'
                    if tbl == "events":
                        sql += f' WHERE "{c}" <= current_date'
                    dates.append(pd.to_datetime(self.query(sql)["d"]).max())
            dates = [d for d in dates if pd.notna(d)]
        return max(dates) if dates else None

    def attributes(self, tbl: str = "accounts") -> pd.DataFrame:
        return self.query(
            "SELECT col, kind, family, excluded FROM _attributes WHERE tbl = ? ORDER BY col", [tbl]
        )

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.one("SELECT value FROM _meta WHERE key = ?", [key])
        return row[0] if row else default

    def artifact(self, name: str) -> str | None:
        row = self.one("SELECT content FROM _artifacts WHERE name = ?", [name])
        return row[0] if row else None

    def json_artifact(self, name: str) -> Any:
        text = self.artifact(name)
        return json.loads(text) if text else None

    def sources(self) -> pd.DataFrame:
        return self.query("SELECT * FROM _sources ORDER BY tbl")

    # -- writing -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One writer at a time; commit on success, roll back on any error."""
        if self.read_only:
            raise WorkspaceError("The workspace is open read-only.")
        with self._lock:
            con = self.con
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")
                self._private()

    def _private(self) -> None:
        """Only the owner may read the workspace file and its write-ahead log (0600)."""
        for f in (self.file, self.file.with_name(self.file.name + ".wal")):
            try:
                if f.exists() and f.stat().st_mode & 0o077:
                    f.chmod(0o600)
            except OSError:  # not ours to change
                pass

    @staticmethod
    def _put(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
        view = f"_incoming_{name}"
        con.register(view, df)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            con.unregister(view)

    def write(
        self,
        tables: dict[str, pd.DataFrame],
        *,
        artifacts: dict[str, str] | None = None,
        meta: dict[str, str] | None = None,
        drop: list[str] | None = None,
    ) -> None:
        """Replace tables, artifacts and meta values in one transaction."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction() as con:
            for name in drop or []:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
            for name, df in tables.items():
                self._put(con, name, df)
            for name, content in (artifacts or {}).items():
                con.execute(
                    "INSERT OR REPLACE INTO _artifacts VALUES (?, ?, ?)", [name, content, now]
                )
            for key, value in (meta or {}).items():
                con.execute("INSERT OR REPLACE INTO _meta VALUES (?, ?)", [key, value])

    def record_ingest(
        self,
        tables: dict[str, pd.DataFrame],
        sources: dict[str, tuple[str, str]],
        kinds: dict[str, dict[str, str]],
        families: dict[str, dict[str, str]],
        *,
        drop_derived: list[str] | None = None,
    ) -> None:
        """Store canonical tables with their sources and attribute metadata, atomically."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction() as con:
            for name in drop_derived or []:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
            for name, df in tables.items():
                self._put(con, name, df)
                path, sha = sources[name]
                con.execute(
                    "INSERT OR REPLACE INTO _sources VALUES (?, ?, ?, ?, ?)",
                    [name, path, sha, len(df), now],
                )
                con.execute("DELETE FROM _attributes WHERE tbl = ?", [name])
                for col, kind in kinds.get(name, {}).items():
                    fam = families.get(name, {}).get(col)
                    con.execute(
                        "INSERT INTO _attributes VALUES (?, ?, ?, ?, ?)",
                        [name, col, kind, fam, False],
                    )

    def execute(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """One statement (DDL, insert, update) in its own transaction; returns its rows, if any."""
        with self.transaction() as con:
            cur = con.execute(sql, params or [])
            try:
                return cur.fetchall()
            except duckdb.InvalidInputException:  # a statement without a result
                return []

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Store small key-value settings (table ``_meta``) in one transaction."""
        self.write({}, meta=dict(values))

    def replace_rows(self, table: str, df: pd.DataFrame, *, ddl: str | None = None) -> None:
        """Replace every row of the internal ``table`` with ``df`` (created by ``ddl`` if missing)."""
        view = f"_incoming_{table}"
        with self.transaction() as con:
            if ddl:
                con.execute(ddl)
            con.execute(f'DELETE FROM "{table}"')
            con.register(view, df)
            try:
                con.execute(f'INSERT INTO "{table}" SELECT * FROM "{view}"')
            finally:
                con.unregister(view)

    def source_hash(self, tbl: str) -> str | None:
        if not self.file.exists():
            return None
        row = self.one("SELECT sha256 FROM _sources WHERE tbl = ?", [tbl])
        return row[0] if row else None

    # -- the file as a whole -----------------------------------------------
    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file, so the file alone is the whole state."""
        with self._lock:
            if self._con is not None or self.file.exists():
                self.con.execute("CHECKPOINT")

    def snapshot_to(self, folder: str | Path) -> Path | None:
        """Copy the workspace file into ``folder`` (after a checkpoint); None when there is none yet."""
        dest = Path(folder) / FILENAME
        with self._lock:
            if not self.file.exists():
                return None
            self.checkpoint()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.file, dest)
        return dest

    def replace_with(self, staged_file: str | Path) -> None:
        """Close and atomically replace the workspace file with ``staged_file`` (a finished build)."""
        with self._lock:
            self.close()
            os.replace(staged_file, self.file)
            wal = self.file.with_name(self.file.name + ".wal")
            if wal.exists():
                wal.unlink()

    # -- ICP versions ------------------------------------------------------
    def save_icp_version(self, yaml_text: str, note: str = "") -> int:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction() as con:
            row = con.execute("SELECT coalesce(max(version), 0) FROM _icp_versions").fetchone()
            version = int(row[0]) + 1 if row else 1
            con.execute(
                "INSERT INTO _icp_versions VALUES (?, ?, ?, ?)", [version, now, yaml_text, note]
            )
            con.execute(
                "INSERT OR REPLACE INTO _artifacts VALUES ('icp.yaml', ?, ?)", [yaml_text, now]
            )
        return version

    def icp_versions(self) -> pd.DataFrame:
        return self.query("SELECT version, created_at, note FROM _icp_versions ORDER BY version")

    def icp_version(self, version: int | None = None) -> str | None:
        """The YAML text of ICP ``version`` (default: the current one), or None."""
        if version is None:
            return self.artifact("icp.yaml")
        row = self.one("SELECT yaml FROM _icp_versions WHERE version = ?", [version])
        return row[0] if row else None

    def latest_icp_version(self) -> int | None:
        """The number of the newest saved ICP version, or None when there is none."""
        if not self.file.exists() and self._con is None:
            return None
        row = self.one("SELECT max(version) FROM _icp_versions")
        return int(row[0]) if row and row[0] is not None else None

    def current_icp(self) -> ICP | None:
        """The current ICP, parsed and validated, or None when none was built yet."""
        from . import icpfile

        text = self.icp_version()
        return None if text is None else icpfile.loads(text, f"{self.file}:icp.yaml")

    # -- pipeline audits ---------------------------------------------------
    def save_audit(self, as_of: str, summary_json: str) -> int:
        """Store one pipeline audit's headline figures (JSON); returns its number."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction() as con:
            row = con.execute("SELECT coalesce(max(id), 0) FROM _audits").fetchone()
            n = int(row[0]) + 1 if row else 1
            con.execute("INSERT INTO _audits VALUES (?, ?, ?, ?)", [n, now, as_of, summary_json])
        return n

    def audits(self) -> list[dict[str, Any]]:
        """Every stored pipeline audit, oldest first (``id, created_at, as_of`` and its JSON)."""
        if "_audits" not in {r[0] for r in self.rows("SELECT table_name FROM duckdb_tables()")}:
            return []
        rows = self.rows("SELECT id, created_at, as_of, summary FROM _audits ORDER BY id")
        return [{"id": i, "created_at": str(c), "as_of": a, **json.loads(s)} for i, c, a, s in rows]

    def last_audit(self) -> dict[str, Any] | None:
        """The most recent stored pipeline audit, or None."""
        found = self.audits()
        return found[-1] if found else None
