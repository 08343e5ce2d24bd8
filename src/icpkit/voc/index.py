"""The passage search index: tantivy BM25 with filter fields.

The index lives in ``<workspace>/voc_index/``. Keeping it in step with the
workspace's conversations is the job of :mod:`icpkit.voc.sync`.

Scope filters (account ids, contact ids, date range, channel, speaker) are
clauses of the tantivy query itself, so BM25 ranks only passages in scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import tantivy

SCHEMA_VERSION = "1"
_EPOCH = date(1970, 1, 1)
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
                tantivy.Query.term_set_query(s, "account_id", [str(a) for a in f.account_ids])
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
