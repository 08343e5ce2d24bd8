"""Keep ``<workspace>/voc_index`` in step with the conversations table.

Which conversations the index holds is recorded in the workspace table
``voc_indexed`` (source id, content hash, passage count), so
:func:`update_index` only splits and adds conversations it has not seen,
re-indexes changed ones and deletes removed ones. If the index and that table
disagree (a crash between the two commits, a deleted folder), the index is
rebuilt from scratch.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import tantivy

from .index import SCHEMA_VERSION, PassageIndex, norm_value
from .passages import MAX_WORDS, MIN_WORDS, SplitStats, split_passages

if TYPE_CHECKING:
    from ..workspace import Workspace

INDEX_DIR = "voc_index"
TRACK_TABLE = "voc_indexed"
_BATCH = 20_000


@dataclass
class IndexReport:
    """What :func:`update_index` did."""

    added_sources: int = 0
    removed_sources: int = 0
    changed_sources: int = 0
    added_passages: int = 0
    total_passages: int = 0
    rebuilt: bool = False
    seconds: float = 0.0
    split: SplitStats = field(default_factory=SplitStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added_sources": self.added_sources,
            "removed_sources": self.removed_sources,
            "changed_sources": self.changed_sources,
            "added_passages": self.added_passages,
            "total_passages": self.total_passages,
            "rebuilt": self.rebuilt,
            "seconds": round(self.seconds, 3),
            "split": self.split.as_dict(),
        }


def index_path(ws: Workspace) -> Path:
    return Path(ws.dir) / INDEX_DIR


def open_index(ws: Workspace) -> PassageIndex:
    return PassageIndex(index_path(ws))


_SOURCE_ID = (
    "coalesce(CAST(id AS VARCHAR), 'h:' || md5(coalesce(CAST(account_id AS VARCHAR), '') || '|' || "
    "coalesce(CAST(occurred_at AS VARCHAR), '') || '|' || coalesce(CAST(text AS VARCHAR), '')))"
)
_DAY = (
    "CAST(coalesce(TRY_CAST(occurred_at AS DATE), CAST(TRY_CAST(occurred_at AS TIMESTAMP) AS DATE))"
    " - DATE '1970-01-01' AS BIGINT)"
)


def _conv_columns(ws: Workspace) -> set[str]:
    return set(ws.columns("conversations").get("conversations", {}))


def _col(cols: set[str], name: str) -> str:
    return f"coalesce(CAST(\"{name}\" AS VARCHAR), '')" if name in cols else "''"


def _select(cols: set[str]) -> str:
    """Source id and content hash of every conversation row."""
    sid = _SOURCE_ID if "id" in cols else _SOURCE_ID.replace("CAST(id AS VARCHAR)", "NULL")
    parts = [
        _col(cols, c)
        for c in ("text", "account_id", "occurred_at", "channel", "speaker", "contact_id")
    ]
    joined = " || '|' || ".join(parts)
    return f"{sid} AS source_id, md5({joined}) AS hash"


def _current(ws: Workspace) -> pd.DataFrame:
    sql = f"SELECT {_select(_conv_columns(ws))} FROM conversations"
    return ws.query(f"SELECT source_id, any_value(hash) AS hash FROM ({sql}) GROUP BY source_id")


def _tracked(ws: Workspace) -> pd.DataFrame:
    if ws.has(TRACK_TABLE):
        return ws.table(TRACK_TABLE)
    return pd.DataFrame({"source_id": pd.Series(dtype=str), "hash": pd.Series(dtype=str),
                         "passages": pd.Series(dtype="int64")})  # fmt: skip


def _fetch(
    ws: Workspace, source_ids: Sequence[str], *, all_rows: bool = False
) -> Iterable[pd.DataFrame]:
    """Conversation rows for ``source_ids``, streamed in batches."""
    cols = _conv_columns(ws)
    fields = ", ".join(
        f'CAST("{c}" AS VARCHAR) AS {c}' if c in cols else f"NULL::VARCHAR AS {c}"
        for c in ("account_id", "contact_id", "channel", "speaker")
    )
    inner = f"SELECT {_select(cols)}, {fields}, {_DAY} AS day, CAST(text AS VARCHAR) AS text FROM conversations"
    where = "" if all_rows else " WHERE source_id IN (SELECT id FROM _voc_ids)"
    sql = f"SELECT * FROM ({inner}){where}"
    ids = None if all_rows else {"_voc_ids": pd.DataFrame({"id": list(source_ids)})}
    yield from ws.stream(sql, batch_rows=_BATCH, frames=ids)


def update_index(
    ws: Workspace,
    *,
    rebuild: bool = False,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    heap_size: int = 256_000_000,
) -> IndexReport:
    """Bring ``<workspace>/voc_index`` up to date with the conversations table.

    Only conversations not indexed yet are split and added; changed ones are
    re-indexed and removed ones deleted. ``rebuild=True`` starts over.
    """
    t0 = time.perf_counter()
    report = IndexReport()
    path = index_path(ws)
    if not ws.has("conversations"):
        from ..errors import WorkspaceError

        raise WorkspaceError(
            "The workspace has no 'conversations' table; ingest conversations first."
        )
    tracked = _tracked(ws)
    meta_ok = ws.meta("voc_index_schema") == SCHEMA_VERSION
    if path.exists() and not rebuild and meta_ok:
        idx = PassageIndex(path)
        if idx.num_docs() != int(tracked["passages"].sum() if len(tracked) else 0):
            rebuild = True  # the index and the record disagree
    if rebuild or not meta_ok or not path.exists():
        if path.exists():
            shutil.rmtree(path)
        tracked = tracked.iloc[0:0]
        report.rebuilt = True
    idx = PassageIndex(path)

    current = _current(ws)
    merged = current.merge(tracked[["source_id", "hash"]], on="source_id", how="outer",
                           suffixes=("", "_old"), indicator=True)  # fmt: skip
    new_ids = merged.loc[merged["_merge"] == "left_only", "source_id"].tolist()
    both = merged[merged["_merge"] == "both"]
    changed_ids = both.loc[both["hash"] != both["hash_old"], "source_id"].tolist()
    removed_ids = merged.loc[merged["_merge"] == "right_only", "source_id"].tolist()
    report.added_sources = len(new_ids)
    report.changed_sources = len(changed_ids)
    report.removed_sources = len(removed_ids)

    if not (new_ids or changed_ids or removed_ids):
        ws.write({}, meta=_meta(ws))
        report.total_passages = idx.num_docs()
        report.seconds = time.perf_counter() - t0
        return report

    writer = idx.writer(heap_size=heap_size)
    for sid in removed_ids + changed_ids:
        writer.delete_documents_by_term("source_id", str(sid))
    counts: dict[str, int] = {}
    hashes: dict[str, str] = {}
    stats = report.split
    todo = new_ids + changed_ids
    for batch in _fetch(ws, todo, all_rows=len(todo) == len(current)):
        cols = (
            batch[c]
            for c in (
                "source_id",
                "hash",
                "text",
                "account_id",
                "contact_id",
                "channel",
                "speaker",
                "day",
            )
        )
        for sid, h, text, acc, con, channel, speaker, day in zip(*cols, strict=True):
            sid = str(sid)
            if sid in counts:  # duplicate ids: keep the first row
                continue
            ps = split_passages(
                sid, text, channel=channel, min_words=min_words, max_words=max_words, stats=stats
            )
            fields = {
                "source_id": sid,
                "account_id": acc or "",
                "contact_id": con or "",
                "channel": norm_value(channel),
                "speaker": norm_value(speaker),
            }
            for p in ps:
                doc = tantivy.Document(
                    text=p.text, passage_id=p.passage_id, start=p.start, end=p.end, **fields
                )
                if day is not None:
                    doc.add_integer("day", int(day))
                writer.add_document(doc)
            counts[sid] = len(ps)
            hashes[sid] = h
    report.added_passages = sum(counts.values())

    keep = tracked[~tracked["source_id"].isin(set(removed_ids) | set(changed_ids))]
    new_rows = pd.DataFrame(
        {
            "source_id": list(counts),
            "hash": [hashes[s] for s in counts],
            "passages": pd.Series(list(counts.values()), dtype="int64"),
        }  # fmt: skip
    )
    table = pd.concat([keep, new_rows], ignore_index=True) if len(keep) else new_rows
    writer.commit()
    writer.wait_merging_threads()
    ws.write(
        {TRACK_TABLE: table},
        meta=_meta(ws),
    )
    report.total_passages = idx.num_docs()
    report.seconds = time.perf_counter() - t0
    return report


def fingerprint(ws: Workspace) -> str:
    """A cheap fingerprint of the conversations table: row count and a hash of the ids.

    It tells :func:`ensure_index` that conversations were added or removed
    without reading the texts; call :func:`update_index` after editing texts
    in place (it compares content hashes).
    """
    cols = _conv_columns(ws)
    key = '"id"' if "id" in cols else "rowid"
    n, h = ws.one(f"SELECT count(*), bit_xor(hash({key})) FROM conversations")  # type: ignore[misc]
    return f"{int(n)}:{h}"


def _meta(ws: Workspace) -> dict[str, str]:
    """What ask() reads back without scanning: schema, fingerprint, channel and speaker values."""
    cols = _conv_columns(ws)
    out = {"voc_index_schema": SCHEMA_VERSION, "voc_index_fingerprint": fingerprint(ws)}
    for col in ("channel", "speaker"):
        if col in cols:
            rows = ws.rows(
                f'SELECT DISTINCT lower(trim(CAST("{col}" AS VARCHAR))) FROM conversations LIMIT 200'
            )
            out[f"voc_{col}s"] = json.dumps(sorted(r[0] for r in rows if r[0]))
    return out


def ensure_index(ws: Workspace) -> tuple[PassageIndex, IndexReport | None]:
    """Open the index, updating it first if the conversations changed.

    A read-only workspace uses the index as it is.
    """
    path = index_path(ws)
    if ws.read_only:
        return PassageIndex(path), None
    if (
        path.exists()
        and ws.meta("voc_index_schema") == SCHEMA_VERSION
        and ws.meta("voc_index_fingerprint") == fingerprint(ws)
    ):
        return PassageIndex(path), None
    report = update_index(ws)
    return open_index(ws), report
