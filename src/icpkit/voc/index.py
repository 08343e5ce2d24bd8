"""The passage search index: tantivy BM25 with filter fields.

The index lives in ``<workspace>/voc_index/``. Which conversations it holds is
recorded in the workspace table ``voc_indexed`` (source id, text hash,
passage count), so :func:`update_index` only splits and adds conversations it
has not seen, re-indexes changed ones and deletes removed ones. If the index
and that table disagree (a crash between the two commits, a deleted folder),
the index is rebuilt from scratch.

Scope filters (account ids, contact ids, date range, channel, speaker) are
clauses of the tantivy query itself, so BM25 ranks only passages in scope.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import tantivy

from .passages import MAX_WORDS, MIN_WORDS, SplitStats, split_passages

if TYPE_CHECKING:
    from ..workspace import Workspace

INDEX_DIR = "voc_index"
TRACK_TABLE = "voc_indexed"
SCHEMA_VERSION = "1"
_EPOCH = date(1970, 1, 1)
_BATCH = 20_000
_QUERY_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'\-]*")


def day_number(d: date | str | pd.Timestamp | None) -> int | None:
    """Days since 1970-01-01 (the index's date field)."""
    if d is None or (not isinstance(d, str) and pd.isna(d)):
        return None
    ts = pd.Timestamp(d)
    return (ts.date() - _EPOCH).days


def from_day_number(n: int | None) -> date | None:
    if n is None:
        return None
    return date.fromordinal(_EPOCH.toordinal() + int(n))


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("text", stored=True, tokenizer_name="en_stem")
    sb.add_text_field("passage_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("source_id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("account_id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("contact_id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("channel", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("speaker", stored=True, fast=True, tokenizer_name="raw")
    sb.add_integer_field("day", stored=True, indexed=True, fast=True)
    sb.add_integer_field("start", stored=True)
    sb.add_integer_field("end", stored=True)
    return sb.build()


def norm_value(v: Any) -> str:
    """How channel/speaker values are stored: stripped and lower-cased."""
    if isinstance(v, str):
        return v.strip().lower()
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return str(v).strip().lower()


@dataclass
class Filters:
    """Scope filters applied inside the search query. ``None`` means no filter."""

    account_ids: set[str] | None = None
    contact_ids: set[str] | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    channels: set[str] | None = None
    speakers: set[str] | None = None

    def is_empty_set(self) -> bool:
        return any(s is not None and len(s) == 0 for s in (self.account_ids, self.contact_ids))


@dataclass
class Hit:
    score: float
    passage_id: str
    source_id: str
    account_id: str
    contact_id: str
    channel: str
    speaker: str
    day: int | None
    start: int
    end: int
    text: str

    @property
    def date(self) -> date | None:
        return from_day_number(self.day)


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int


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


class PassageIndex:
    """A tantivy index of passages at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.schema = _schema()
        self.path.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)

    # -- writing -------------------------------------------------------------
    def writer(self, heap_size: int = 256_000_000, threads: int = 0) -> tantivy.IndexWriter:
        return self.index.writer(heap_size=heap_size, num_threads=threads)

    @staticmethod
    def document(
        *,
        passage_id: str,
        source_id: str,
        text: str,
        start: int,
        end: int,
        account_id: str = "",
        contact_id: str = "",
        channel: str = "",
        speaker: str = "",
        day: int | None = None,
    ) -> tantivy.Document:
        doc = tantivy.Document(
            text=text,
            passage_id=passage_id,
            source_id=source_id,
            account_id=account_id,
            contact_id=contact_id,
            channel=channel,
            speaker=speaker,
            start=int(start),
            end=int(end),
        )
        if day is not None:
            doc.add_integer("day", int(day))
        return doc

    def reload(self) -> None:
        self.index.reload()

    def num_docs(self) -> int:
        self.index.reload()
        return int(self.index.searcher().num_docs)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    # -- querying ------------------------------------------------------------
    def text_query(self, topic: str) -> tantivy.Query | None:
        """BM25 disjunction over the topic's words (tokenised like the index)."""
        words = _QUERY_TOKEN.findall(topic or "")
        if not words:
            return None
        safe = " ".join(w.replace("'", "").replace("-", " ") for w in words)
        safe = re.sub(r"[^A-Za-z0-9_ ]", " ", safe).strip()
        if not safe:
            return None
        q, _errors = self.index.parse_query_lenient(safe, ["text"])
        subs: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Should, q)]
        # Reward passages that keep the words together.
        toks = safe.lower().split()
        if 1 < len(toks) <= 6:
            phrase, _ = self.index.parse_query_lenient(f'"{" ".join(toks)}"~3', ["text"])
            subs.append((tantivy.Occur.Should, tantivy.Query.boost_query(phrase, 0.5)))
        return tantivy.Query.boolean_query(subs) if len(subs) > 1 else q

    def filter_clauses(self, f: Filters) -> list[tantivy.Query]:
        s = self.schema
        out: list[tantivy.Query] = []
        if f.account_ids is not None:
            out.append(
                tantivy.Query.term_set_query(s, "account_id", sorted(map(str, f.account_ids)))
            )
        if f.contact_ids is not None:
            out.append(
                tantivy.Query.term_set_query(s, "contact_id", sorted(map(str, f.contact_ids)))
            )
        if f.channels:
            out.append(
                tantivy.Query.term_set_query(s, "channel", sorted(map(norm_value, f.channels)))
            )
        if f.speakers:
            out.append(
                tantivy.Query.term_set_query(s, "speaker", sorted(map(norm_value, f.speakers)))
            )
        if f.since is not None or f.until is not None:
            out.append(
                tantivy.Query.range_query(
                    s,
                    "day",
                    tantivy.FieldType.Integer,
                    day_number(f.since) if f.since is not None else None,
                    day_number(f.until) if f.until is not None else None,
                )
            )
        return out

    def build_query(self, topic: str | None, filters: Filters | None) -> tantivy.Query:
        filters = filters or Filters()
        tq = self.text_query(topic or "")
        clauses = [(tantivy.Occur.Must, tq)] if tq is not None else []
        for fq in self.filter_clauses(filters):
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(fq, 0.0)))
        if not clauses:
            return tantivy.Query.all_query()
        if tq is None:
            clauses.insert(0, (tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def count(self, topic: str | None = None, filters: Filters | None = None) -> int:
        if filters is not None and filters.is_empty_set():
            return 0
        searcher = self.index.searcher()
        return int(searcher.search(self.build_query(topic, filters), 1, count=True).count)  # type: ignore[attr-defined]

    def search(
        self,
        topic: str | None,
        filters: Filters | None = None,
        *,
        limit: int = 20,
        with_text: bool = True,
    ) -> SearchResult:
        """Top passages for ``topic`` within ``filters``.

        With an empty topic the newest passages in scope come first.
        """
        if filters is not None and filters.is_empty_set():
            return SearchResult([], 0)
        searcher = self.index.searcher()
        query = self.build_query(topic, filters)
        has_topic = self.text_query(topic or "") is not None
        if has_topic:
            res = searcher.search(query, max(int(limit), 1), count=True)
        else:
            res = searcher.search(query, max(int(limit), 1), count=True, order_by_field="day")
        hits: list[Hit] = []
        for key, addr in res.hits[: max(int(limit), 0)]:
            d = searcher.doc(addr).to_dict()

            def one(name: str, default: Any = "", d: dict[str, Any] = d) -> Any:
                v = d.get(name)
                return v[0] if v else default

            hits.append(
                Hit(
                    score=float(key) if has_topic else 0.0,
                    passage_id=one("passage_id"),
                    source_id=one("source_id"),
                    account_id=one("account_id"),
                    contact_id=one("contact_id"),
                    channel=one("channel"),
                    speaker=one("speaker"),
                    day=one("day", None),
                    start=int(one("start", 0)),
                    end=int(one("end", 0)),
                    text=one("text") if with_text else "",
                )
            )
        return SearchResult(hits, int(res.count))  # type: ignore[attr-defined]


# -- workspace integration ---------------------------------------------------------
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
    with ws._lock:
        rows = ws.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND database_name = current_database() AND table_name = 'conversations'"
        ).fetchall()
    return {r[0] for r in rows}


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
    with ws._lock:
        con = ws.con
        if not all_rows:
            con.register("_voc_ids", pd.DataFrame({"id": list(source_ids)}))
        try:
            reader = con.sql(sql).to_arrow_reader(_BATCH)
            for batch in reader:
                yield batch.to_pydict()
        finally:
            if not all_rows:
                con.unregister("_voc_ids")


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
    with ws._lock:
        n, h = ws.con.execute(
            f"SELECT count(*), bit_xor(hash({key})) FROM conversations"
        ).fetchone()  # type: ignore[misc]
    return f"{int(n)}:{h}"


def _meta(ws: Workspace) -> dict[str, str]:
    """What ask() reads back without scanning: schema, fingerprint, channel and speaker values."""
    cols = _conv_columns(ws)
    out = {"voc_index_schema": SCHEMA_VERSION, "voc_index_fingerprint": fingerprint(ws)}
    for col in ("channel", "speaker"):
        if col in cols:
            with ws._lock:
                rows = ws.con.execute(
                    f'SELECT DISTINCT lower(trim(CAST("{col}" AS VARCHAR))) FROM conversations LIMIT 200'
                ).fetchall()
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
