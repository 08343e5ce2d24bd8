"""Job-title normalisation: a free-text title -> business function and seniority.

The rules are data (``title_rules.yaml`` beside this module): abbreviation
expansions, keyword -> function and keyword -> seniority with priorities. The
code only cleans the text, tolerates typos (``difflib``) and applies the rules.

>>> normalize_title("Sr. Director, Product Marketing")
TitleInfo(title='senior director product marketing', function='marketing', seniority='director', confidence=1.0)
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

FUNCTIONS: tuple[str, ...] = (
    "finance",
    "engineering",
    "it",
    "data",
    "operations",
    "procurement",
    "sales",
    "marketing",
    "hr",
    "legal",
    "product",
    "customer_success",
    "security",
    "executive",
    "other",
    "unknown",
)
SENIORITIES: tuple[str, ...] = (
    "c_level",
    "vp",
    "director",
    "manager",
    "individual_contributor",
    "unknown",
)
# Higher is more senior; used to pick among several seniority words in one role.
SENIORITY_RANK: dict[str, int] = {
    "c_level": 5,
    "vp": 4,
    "director": 3,
    "manager": 2,
    "individual_contributor": 1,
    "unknown": 0,
}

RULES_PATH = Path(__file__).with_name("title_rules.yaml")
DEFAULT_PRIORITY = 10
_MIN_TYPO_LEN = 5
_TYPO_CUTOFF = 0.8
_LONG_WORD = 9
_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi"})


@dataclass(frozen=True)
class TitleInfo:
    """A normalised title.

    ``title`` is the cleaned, expanded, typo-corrected text (roles joined by
    " & "); ``confidence`` is in [0, 1] and is 0 when nothing was recognised.
    """

    title: str
    function: str
    seniority: str
    confidence: float


@dataclass(frozen=True)
class _Phrase:
    label: str
    priority: int = DEFAULT_PRIORITY
    last_only: bool = False


@dataclass
class TitleRules:
    """Title rules loaded from YAML (see ``title_rules.yaml`` for the format)."""

    truncate_at: tuple[str, ...] = ()
    split_re: re.Pattern[str] | None = None
    replace_re: re.Pattern[str] | None = None
    replacements: dict[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    abbreviations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    function_phrases: dict[tuple[str, ...], list[_Phrase]] = field(default_factory=dict)
    function_fragments: list[tuple[str, _Phrase]] = field(default_factory=list)
    seniority_phrases: dict[tuple[str, ...], list[_Phrase]] = field(default_factory=dict)
    seniority_fragments: list[tuple[str, _Phrase]] = field(default_factory=list)
    vocabulary: tuple[str, ...] = ()
    max_phrase_len: int = 1

    def __hash__(self) -> int:  # rules are used as a cache key by identity
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def _fold(text: str) -> str:
    """Lower-case and strip accents: ``"Geschäftsführer"`` -> ``"geschaftsfuhrer"``."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def _words(text: str, stopwords: frozenset[str]) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", _fold(text)) if w and w not in stopwords]


def _alternation(items: Iterable[str], boundaries: bool) -> re.Pattern[str] | None:
    items = sorted({i for i in items if i}, key=len, reverse=True)
    if not items:
        return None
    body = "|".join(re.escape(i) for i in items)
    if boundaries:
        body = rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])"
    return re.compile(body)


def load_title_rules(path: str | Path | None = None) -> TitleRules:
    """Load title rules from a YAML file (the packaged ``title_rules.yaml`` by default)."""
    text = Path(path or RULES_PATH).read_text(encoding="utf-8")
    raw: dict[str, Any] = yaml.safe_load(text) or {}
    return _build_rules(raw)


def _build_rules(raw: dict[str, Any]) -> TitleRules:
    stop = frozenset(_fold(w) for w in raw.get("stopwords") or ())
    rules = TitleRules(stopwords=stop)
    rules.truncate_at = tuple(_fold(t) for t in raw.get("truncate_at") or ())
    # separators made of letters are written with spaces (" and "), so they stand as words
    rules.split_re = _alternation((_fold(s) for s in raw.get("split_roles") or ()), False)
    rules.replacements = {_fold(k): _fold(v) for k, v in (raw.get("replacements") or {}).items()}
    rules.replace_re = _alternation(rules.replacements, boundaries=True)
    rules.abbreviations = {
        _fold(k): tuple(_words(str(v), stop)) for k, v in (raw.get("abbreviations") or {}).items()
    }
    vocab: set[str] = set(rules.abbreviations)
    for words in rules.abbreviations.values():
        vocab.update(words)

    def add(table: dict[tuple[str, ...], list[_Phrase]], keyword: str, phrase: _Phrase) -> None:
        key = tuple(_words(str(keyword), stop))
        if key:
            table.setdefault(key, []).append(phrase)
            vocab.update(key)

    for kw in raw.get("function_neutral") or ():
        add(rules.function_phrases, kw, _Phrase("", priority=0))
    for entry in raw.get("functions") or ():
        label = entry["function"]
        if label not in FUNCTIONS:
            raise ValueError(f"title rules: unknown function {label!r}")
        phrase = _Phrase(label, int(entry.get("priority", DEFAULT_PRIORITY)))
        for kw in entry.get("keywords") or ():
            add(rules.function_phrases, kw, phrase)
        for frag in entry.get("fragments") or ():
            rules.function_fragments.append((_fold(frag), phrase))
    for entry in raw.get("seniority") or ():
        label = entry["seniority"]
        if label not in SENIORITIES:
            raise ValueError(f"title rules: unknown seniority {label!r}")
        phrase = _Phrase(label, SENIORITY_RANK[label], bool(entry.get("last", False)))
        for kw in entry.get("keywords") or ():
            add(rules.seniority_phrases, kw, phrase)
        for frag in entry.get("fragments") or ():
            rules.seniority_fragments.append((_fold(frag), phrase))
    for table in (rules.function_phrases, rules.seniority_phrases):
        for phrases in table.values():  # strongest reading of a keyword first
            phrases.sort(key=lambda p: (p.last_only, -p.priority))
    for frags in (rules.function_fragments, rules.seniority_fragments):
        frags.sort(key=lambda fp: len(fp[0]), reverse=True)
    rules.vocabulary = tuple(sorted(w for w in vocab if w.isalpha()))
    rules.max_phrase_len = max(
        (len(k) for t in (rules.function_phrases, rules.seniority_phrases) for k in t), default=1
    )
    return rules


@lru_cache(maxsize=1)
def default_rules() -> TitleRules:
    """The packaged rules, loaded once."""
    return load_title_rules()


# --- text preparation -------------------------------------------------------------------------


def _has_fragment(token: str, rules: TitleRules) -> bool:
    return any(frag in token for frag, _ in (*rules.function_fragments, *rules.seniority_fragments))


@lru_cache(maxsize=16384)
def _correct(token: str, rules: TitleRules) -> str:
    """Map a misspelt word to the closest rule word (``"finanace"`` -> ``"finance"``)."""
    if (
        len(token) < _MIN_TYPO_LEN
        or not token.isalpha()
        or token in rules.abbreviations
        or _has_fragment(token, rules)
    ):
        return token
    vocab_set = _vocab_set(rules)
    if token in vocab_set:
        return token
    matches = difflib.get_close_matches(token, rules.vocabulary, n=4, cutoff=_TYPO_CUTOFF)
    # a typo is one edit away (two in long words): "medical" is no typo of "media"; short
    # words have many real neighbours ("grand", "brand"), so there only a swap counts
    limit = 1 if len(token) < _LONG_WORD else 2
    scored = [(_edit_distance(token, m), m) for m in matches]
    scored = [
        (d, m)
        for d, m in scored
        if d <= limit and (len(token) > _MIN_TYPO_LEN or sorted(m) == sorted(token))
    ]
    if not scored:
        return token
    # fewest edits first; among equals prefer a swap of letters ("cheif" -> "chief", not "chef")
    return min(
        scored, key=lambda dm: (dm[0], sorted(dm[1]) != sorted(token), matches.index(dm[1]))
    )[1]


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=8)
def _vocab_set(rules: TitleRules) -> frozenset[str]:
    return frozenset(rules.vocabulary)


def _segments(text: str, rules: TitleRules) -> tuple[list[list[str]], int]:
    """Clean ``text`` into roles of expanded words; also count corrected typos."""
    folded = _fold(text)
    for marker in rules.truncate_at:
        cut = folded.find(marker)
        if cut > 0:
            folded = folded[:cut]
    folded = re.sub(r"\s+", " ", folded).strip()
    if rules.replace_re is not None:
        folded = rules.replace_re.sub(lambda m: rules.replacements[m.group(0)], folded)
    parts = rules.split_re.split(folded) if rules.split_re is not None else [folded]
    segments: list[list[str]] = []
    typos = 0
    for part in parts:
        words: list[str] = []
        for raw in re.split(r"[^a-z0-9]+", part):
            if not raw or raw in rules.stopwords or raw in _ROMAN or any(c.isdigit() for c in raw):
                continue
            word = _correct(raw, rules)
            typos += word != raw
            words.extend(rules.abbreviations.get(word, (word,)))
        words = [w for w in words if w not in rules.stopwords]
        if words:
            segments.append(words)
    return segments, typos


def _match(
    words: list[str],
    phrases: dict[tuple[str, ...], list[_Phrase]],
    fragments: list[tuple[str, _Phrase]],
    max_len: int,
) -> list[tuple[int, _Phrase]]:
    """Greedy longest-phrase matches as (position, phrase); fragments match inside a word."""
    found: list[tuple[int, _Phrase]] = []
    i, n = 0, len(words)
    while i < n:
        for size in range(min(max_len, n - i), 0, -1):
            candidates = phrases.get(tuple(words[i : i + size]))
            hit = next((p for p in candidates or () if not p.last_only or i + size == n), None)
            if hit is not None:
                found.append((i, hit))
                i += size
                break
        else:
            frag = next((p for f, p in fragments if f in words[i]), None)
            if frag is not None:
                found.append((i, frag))
            i += 1
    return found


# --- public API -------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, str) else False
    except (TypeError, ValueError):
        return False


_UNKNOWN = TitleInfo("", "unknown", "unknown", 0.0)


def normalize_title(title: Any, rules: TitleRules | None = None) -> TitleInfo:
    """Normalise one job title into function, seniority and a confidence.

    Never raises on text input; blanks and garbage give ``unknown``/``unknown``
    with confidence 0. With several roles ("CFO & COO") the first one that names
    a function wins.
    """
    if _is_missing(title):
        return _UNKNOWN
    text = title if isinstance(title, str) else str(title)
    return _normalize_cached(text[:300], rules or default_rules())


@lru_cache(maxsize=65536)
def _normalize_cached(text: str, rules: TitleRules) -> TitleInfo:
    segments, typos = _segments(text, rules)
    if not segments:
        return _UNKNOWN
    clean = " & ".join(" ".join(words) for words in segments)

    best_fn: tuple[int, int, int, str] | None = None  # (priority, -segment, -position, label)
    seniority, sen_defaulted = "unknown", False
    for s_idx, words in enumerate(segments):
        for pos, p in _match(
            words, rules.function_phrases, rules.function_fragments, rules.max_phrase_len
        ):
            if p.label and p.priority > 0:
                key = (p.priority, -s_idx, -pos, p.label)
                if best_fn is None or key[:3] > best_fn[:3]:
                    best_fn = key
        if seniority == "unknown":
            hits = _match(
                words, rules.seniority_phrases, rules.seniority_fragments, rules.max_phrase_len
            )
            if hits:
                seniority = max(hits, key=lambda h: SENIORITY_RANK[h[1].label])[1].label

    function = best_fn[3] if best_fn else "unknown"
    if seniority == "unknown" and function != "unknown":
        seniority, sen_defaulted = "individual_contributor", True
    if function == "unknown" and seniority == "unknown":
        return TitleInfo(clean, "unknown", "unknown", 0.0)

    confidence = 1.0
    if function == "unknown":
        confidence *= 0.5
    elif best_fn is not None and best_fn[0] < DEFAULT_PRIORITY:
        confidence *= 0.8
    if sen_defaulted:
        confidence *= 0.85
    confidence *= 0.9**typos
    return TitleInfo(clean, function, seniority, round(confidence, 3))


def normalize_titles(titles: Iterable[Any], rules: TitleRules | None = None) -> pd.DataFrame:
    """Normalise many titles; one row per input with columns
    ``title`` (normalised text), ``function``, ``seniority`` and ``confidence``.

    A pandas Series keeps its index. Each distinct title is parsed once.
    """
    series = titles if isinstance(titles, pd.Series) else pd.Series(list(titles), dtype=object)
    cache: dict[Any, TitleInfo] = {}
    rows = []
    for value in series.tolist():
        key = None if _is_missing(value) else str(value)
        info = cache.get(key)
        if info is None:
            info = normalize_title(key, rules)
            cache[key] = info
        rows.append((info.title, info.function, info.seniority, info.confidence))
    return pd.DataFrame(
        rows, index=series.index, columns=["title", "function", "seniority", "confidence"]
    )
