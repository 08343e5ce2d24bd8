"""Split conversation texts into quotable passages.

A passage is a run of whole sentences of about 50-120 words. Each keeps the
character offsets ``[start, end)`` of its span in the *source* text, so a quote
can always be traced back to the exact place it came from:

* for plain text, ``source[start:end] == passage.text``;
* for HTML (emails), tags, scripts and styles are removed and entities decoded;
  the passage text is the cleaned text and the offsets still point into the
  original HTML.

Long transcripts (megabytes) are handled in one linear pass; sentences longer
than the maximum are cut at word boundaries.
"""

from __future__ import annotations

import codecs
import html
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MIN_WORDS = 50
MAX_WORDS = 120
MAX_CHARS = 50_000_000  # texts beyond this are truncated (and counted)

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]»”’]*(?=\s)|\n")
_WORD = re.compile(r"\S+")
_HTML_HINT = re.compile(
    r"<\s*(?:html|body|head|div|p|br|span|table|tr|td|a\s|b|i|u|ul|ol|li|strong|em|font|blockquote|"
    r"h[1-6]|style|script|meta|img|hr)\b[^>]*>|&(?:nbsp|amp|lt|gt|quot|#\d+);",
    re.IGNORECASE,
)
_HTML_TOKEN = re.compile(
    r"(?P<drop><(?P<dropname>script|style|head)\b[^>]*>.*?</(?P=dropname)\s*>)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<tag></?(?P<tagname>[a-zA-Z][a-zA-Z0-9]*)\b[^>]*>)"
    r"|(?P<entity>&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});)",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "blockquote", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "section", "article", "header", "footer", "pre",
}  # fmt: skip


@dataclass(frozen=True)
class Passage:
    """One quotable span of a conversation."""

    source_id: str
    start: int
    end: int
    text: str
    words: int

    @property
    def passage_id(self) -> str:
        return f"{self.source_id}:{self.start}"


@dataclass
class SplitStats:
    """What happened while splitting a batch of texts."""

    sources: int = 0
    passages: int = 0
    empty_skipped: int = 0
    html_stripped: int = 0
    truncated: int = 0
    decoded_with_replacement: int = 0
    replaced_chars: int = 0
    skipped_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "sources": self.sources,
            "passages": self.passages,
            "empty_skipped": self.empty_skipped,
            "html_stripped": self.html_stripped,
            "truncated": self.truncated,
            "decoded_with_replacement": self.decoded_with_replacement,
            "replaced_chars": self.replaced_chars,
        }


# -- decoding ---------------------------------------------------------------
def read_text(data: bytes | str | float | None, stats: SplitStats | None = None) -> str:
    """Decode bytes to text, never failing.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are decoded exactly; any
    other bytes are decoded as UTF-8 with U+FFFD replacement characters, and
    the replacements are counted in ``stats``. ``str`` passes through and
    ``None`` becomes ``""``.
    """
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    if not isinstance(data, bytes | bytearray | memoryview):
        return "" if data != data else str(data)  # NaN (a missing value) is empty
    raw = bytes(data)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        if stats is not None:
            stats.decoded_with_replacement += 1
            stats.replaced_chars += text.count("\ufffd")
        return text


# -- HTML ---------------------------------------------------------------------
def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:20000]))


class _OffsetMap:
    """Maps positions in a cleaned text back to the original text.

    Stored as runs ``(clean_start, orig_start, orig_end)``: a kept chunk maps
    one to one; a replacement (an entity, or a tag turned into a space) maps
    as a whole onto the original span it replaced.
    """

    def __init__(self) -> None:
        self.clean_starts: list[int] = []
        self.orig_starts: list[int] = []
        self.orig_ends: list[int] = []
        self.clean_len = 0

    def add(self, clean_pos: int, orig_start: int, orig_end: int, clean_len: int) -> None:
        self.clean_starts.append(clean_pos)
        self.orig_starts.append(orig_start)
        self.orig_ends.append(orig_end)
        self.clean_len = clean_pos + clean_len

    def _run(self, i: int) -> tuple[int, int, int, int]:
        nxt = self.clean_starts[i + 1] if i + 1 < len(self.clean_starts) else self.clean_len
        return self.clean_starts[i], nxt, self.orig_starts[i], self.orig_ends[i]

    def to_orig(self, clean_pos: int) -> int:
        """Original position of the character at ``clean_pos``."""
        i = bisect_right(self.clean_starts, clean_pos) - 1
        if i < 0:
            return clean_pos
        cs, ce, os_, oe = self._run(i)
        if oe - os_ != ce - cs:  # a replacement maps onto its whole source
            return os_
        return os_ + (clean_pos - cs)

    def to_orig_end(self, clean_end: int) -> int:
        """Original end (exclusive) of a span ending before ``clean_end``."""
        i = bisect_right(self.clean_starts, max(clean_end - 1, 0)) - 1
        if i < 0:
            return clean_end
        cs, ce, os_, oe = self._run(i)
        if oe - os_ != ce - cs or clean_end >= ce:
            return oe
        return os_ + (clean_end - cs)


def strip_html(text: str) -> tuple[str, _OffsetMap]:
    """Remove tags, scripts, styles and comments; decode entities.

    Block-level tags become newlines so that paragraphs stay sentence breaks.
    Returns the cleaned text and a map from its positions to ``text``.
    """
    out: list[str] = []
    omap = _OffsetMap()
    clean_len = 0
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        if m.start() > pos:
            chunk = text[pos : m.start()]
            omap.add(clean_len, pos, m.start(), len(chunk))
            out.append(chunk)
            clean_len += len(chunk)
        repl = ""
        if m.group("tag"):
            name = (m.group("tagname") or "").lower()
            repl = "\n" if name in _BLOCK_TAGS else " "
        elif m.group("entity"):
            repl = html.unescape(m.group("entity"))
        if repl:
            omap.add(clean_len, m.start(), m.end(), len(repl))
            out.append(repl)
            clean_len += len(repl)
        pos = m.end()
    if pos < len(text):
        omap.add(clean_len, pos, len(text), len(text) - pos)
        out.append(text[pos:])
    return "".join(out), omap


# -- splitting ------------------------------------------------------------------
def _sentences(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of sentences, whitespace trimmed, in one pass."""
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        yield from _trim(text, pos, end)
        pos = end
    if pos < len(text):
        yield from _trim(text, pos, len(text))


def _trim(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def _word_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]


def split_text(
    text: str, *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[tuple[int, int, int]]:
    """Split ``text`` into ``(start, end, words)`` spans of whole sentences.

    Sentences are packed greedily until a span has at least ``min_words``
    words; a span never exceeds ``max_words`` unless one sentence alone does,
    in which case that sentence is cut at word boundaries. A short tail is
    merged into the previous span when the result stays within 1.25x the
    maximum.
    """
    spans: list[tuple[int, int, int]] = []
    cur_start = cur_end = -1
    cur_words = 0
    for s, e in _sentences(text):
        n = len(_WORD.findall(text, s, e))
        if n == 0:
            continue
        if n > max_words:
            if cur_words:
                spans.append((cur_start, cur_end, cur_words))
                cur_words = 0
            words = _word_spans(text, s, e)
            for i in range(0, len(words), max_words):
                chunk = words[i : i + max_words]
                spans.append((chunk[0][0], chunk[-1][1], len(chunk)))
            continue
        if cur_words and (cur_words >= min_words or cur_words + n > max_words):
            spans.append((cur_start, cur_end, cur_words))
            cur_words = 0
        if not cur_words:
            cur_start = s
        cur_end = e
        cur_words += n
    if cur_words:
        if (
            spans
            and cur_words < min_words // 2
            and spans[-1][2] + cur_words <= int(max_words * 1.25)
            and spans[-1][1] <= cur_start
        ):
            ps, _, pw = spans.pop()
            spans.append((ps, cur_end, pw + cur_words))
        else:
            spans.append((cur_start, cur_end, cur_words))
    return spans


_WS_RUN = re.compile(r"[ \t\r\f\v\u00a0]+")
_NL_RUN = re.compile(r"\s*\n\s*")


def _tidy(text: str) -> str:
    return _NL_RUN.sub("\n", _WS_RUN.sub(" ", text)).strip()


def split_passages(
    source_id: str,
    text: str | bytes | None,
    *,
    channel: str | None = None,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    stats: SplitStats | None = None,
) -> list[Passage]:
    """Split one conversation into passages with offsets into ``text``.

    Empty or whitespace-only texts give no passages (counted in
    ``stats.empty_skipped``). HTML is stripped when the text looks like HTML
    (or the channel is an email and it contains tags).
    """
    stats = stats if stats is not None else SplitStats()
    stats.sources += 1
    text = read_text(text, stats)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        stats.truncated += 1
    if not text or text.isspace():
        stats.empty_skipped += 1
        stats.skipped_ids.append(str(source_id))
        return []
    is_email = isinstance(channel, str) and channel.lower().startswith(("email", "e-mail", "mail"))
    omap: _OffsetMap | None = None
    work = text
    if looks_like_html(text) or (is_email and "<" in text and ">" in text):
        work, omap = strip_html(text)
        stats.html_stripped += 1
    out: list[Passage] = []
    if omap is None and len(work) < max_words * 30:
        n = len(work.split())
        if 0 < n <= max_words:  # fast path: the whole (short) text is one passage
            s, e = next(_trim(work, 0, len(work)))
            stats.passages += 1
            return [Passage(str(source_id), s, e, work[s:e], n)]
    for s, e, n in split_text(work, min_words=min_words, max_words=max_words):
        quote = work[s:e]
        if omap is not None:
            quote = _tidy(quote)
            s, e = omap.to_orig(s), omap.to_orig_end(e)
        out.append(Passage(str(source_id), s, e, quote, n))
    if not out:
        stats.empty_skipped += 1
        stats.skipped_ids.append(str(source_id))
    stats.passages += len(out)
    return out


def split_many(
    rows: Iterable[tuple[str, str | bytes | None, str | None]],
    *,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    stats: SplitStats | None = None,
) -> Iterator[Passage]:
    """Split ``(source_id, text, channel)`` rows lazily."""
    stats = stats if stats is not None else SplitStats()
    for source_id, text, channel in rows:
        yield from split_passages(
            source_id, text, channel=channel, min_words=min_words, max_words=max_words, stats=stats
        )
