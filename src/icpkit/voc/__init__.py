"""Voice of the customer: search and summarise conversations, scoped by ICP.

Public API
----------
* :func:`ask` — answer a plain-English question with quotes, grouped by account,
  plus a theme summary and helpful messages (``Answer.to_json/to_markdown/to_table``).
* :func:`parse_question` — read a question into a :class:`Scope` (who, when, topic).
* :func:`update_index` — add new conversations to ``<workspace>/voc_index`` incrementally.
* :func:`pain_themes` — recurring themes per account group and the best-vs-worst contrast.
* :func:`split_passages`, :func:`read_text` — passage splitting with source offsets.
* ``ask(..., rerank=True)`` — optional hybrid ranking (extra ``voc-rerank``, see :mod:`.rerank`).
"""

from .ask import (
    AccountGroup,
    Answer,
    AnswerPassage,
    ScopeError,
    ask,
    build_vocabulary,
    resolve_accounts,
)
from .index import Filters, Hit, PassageIndex
from .passages import Passage, SplitStats, read_text, split_passages, split_text
from .rerank import RerankUnavailable, rerank_available
from .scope import Scope, Vocabulary, apply_overrides, parse_question
from .sync import IndexReport, open_index, update_index
from .themes import Theme, key_phrases, log_odds, pain_themes

__all__ = [
    "AccountGroup",
    "Answer",
    "AnswerPassage",
    "Filters",
    "Hit",
    "IndexReport",
    "Passage",
    "PassageIndex",
    "RerankUnavailable",
    "Scope",
    "ScopeError",
    "SplitStats",
    "Theme",
    "Vocabulary",
    "apply_overrides",
    "ask",
    "build_vocabulary",
    "key_phrases",
    "log_odds",
    "open_index",
    "pain_themes",
    "parse_question",
    "read_text",
    "rerank_available",
    "resolve_accounts",
    "split_passages",
    "split_text",
    "update_index",
]
