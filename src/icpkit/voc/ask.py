"""Answer a question over the conversations: scope, search, quotes, themes.

>>> ans = ask(ws, "what do tier 1 accounts say about onboarding last quarter?")  # doctest: +SKIP
>>> print(ans.to_markdown())                                                     # doctest: +SKIP
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from .answer import AccountGroup, Answer, AnswerPassage
from .dates import parse_date
from .index import Filters, Hit, PassageIndex
from .scope import Scope, Vocabulary, apply_overrides, parse_question, topic_words
from .sync import ensure_index, index_path, open_index
from .themes import key_phrases

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = [
    "AccountGroup",
    "Answer",
    "AnswerPassage",
    "ScopeError",
    "archive_as_of",
    "ask",
    "build_vocabulary",
    "resolve_accounts",
    "speaker_side",
]

_SKIP_ATTR = {"account_id", "name", "domain", "website", "description"}
# speaker values that are our own side of a conversation; every other value is the customer's
OUR_SPEAKERS = frozenset(
    "us we our vendor seller sales rep sales_rep ae sdr bdr csm support agent internal "
    "employee owner staff account_executive account_manager customer_success".split()
)
SPEAKER_SIDES = ("customer", "us", "all")


def speaker_side(value: str) -> str:
    """``us`` for our own reps' words (rep, ae, csm, support, ...), else ``customer``.

    >>> speaker_side("Sales Rep"), speaker_side("customer"), speaker_side("prospect")
    ('us', 'customer', 'customer')
    """
    v = "_".join(str(value).strip().lower().split())
    return "us" if v in OUR_SPEAKERS or v.replace("_", " ") in OUR_SPEAKERS else "customer"


def archive_as_of(ws: Workspace) -> date | None:
    """The latest conversation date in the archive (the default 'today' of :func:`ask`)."""
    if "occurred_at" not in ws.columns("conversations").get("conversations", {}):
        return None
    row = ws.one("SELECT max(CAST(occurred_at AS DATE)) FROM conversations")
    return row[0] if row and row[0] is not None else None


_MAX_VALUES = 500
THEME_POOL = 100


# -- vocabulary and scope resolution ----------------------------------------------------
Catalog = dict[str, dict[str, str]]


def catalog(ws: Workspace) -> Catalog:
    """{table: {column: type}} for the workspace's user tables, in one query."""
    return ws.columns()


def _rows(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return ws.rows(sql, params)


def build_vocabulary(ws: Workspace, cat: Catalog | None = None) -> Vocabulary:
    """Known attribute values, channels, speakers and roles in the workspace."""
    cat = catalog(ws) if cat is None else cat
    v = Vocabulary()
    parts = []
    for col, typ in cat.get("accounts", {}).items():
        if col in _SKIP_ATTR or col.endswith("_id") or typ not in ("VARCHAR", "VARCHAR[]"):
            continue
        val = f'unnest("{col}")' if typ == "VARCHAR[]" else f'CAST("{col}" AS VARCHAR)'
        lit = col.replace("'", "''")
        parts.append(
            f"(SELECT DISTINCT '{lit}' AS c, {val} AS v FROM accounts LIMIT {_MAX_VALUES + 1})"
        )
    if parts:
        found: dict[str, list[str]] = {}
        for c, val in _rows(ws, " UNION ALL ".join(parts)):
            if isinstance(val, str) and val.strip():
                found.setdefault(c, []).append(val)
        for c, vals in found.items():
            if len(vals) <= _MAX_VALUES:
                v.attributes[c] = {x.strip().lower(): x for x in vals}
    conv = cat.get("conversations", {})
    for col, target in (("channel", v.channels), ("speaker", v.speakers)):
        if col not in conv:
            continue
        known = ws.meta(f"voc_{col}s")  # recorded by update_index
        if known is not None:
            vals = json.loads(known)
        else:
            sql = f'SELECT DISTINCT lower(trim(CAST("{col}" AS VARCHAR))) FROM conversations LIMIT 200'
            vals = [r[0] for r in _rows(ws, sql)]
        target.update({x: x for x in vals if x})
    if "dmu_role" in cat.get("contacts", {}):
        sql = "SELECT DISTINCT CAST(dmu_role AS VARCHAR) FROM contacts WHERE dmu_role IS NOT NULL LIMIT 200"
        v.roles = {
            r[0].strip().lower(): r[0]
            for r in _rows(ws, sql)
            if isinstance(r[0], str) and r[0].strip()
        }
    return v


class ScopeError(Exception):
    """A scope could not be resolved (a table it needs is missing)."""


def _ids(ws: Workspace, sql: str, params: list[Any] | None = None) -> set[str]:
    return {str(r[0]) for r in _rows(ws, sql, params) if r[0] is not None}


def resolve_accounts(ws: Workspace, scope: Scope, cat: Catalog | None = None) -> set[str] | None:
    """The account ids in scope, or ``None`` when the scope does not restrict accounts.

    Raises :class:`ScopeError` with a helpful message when a needed table is missing.
    """
    if not scope.needs_accounts:
        return None
    cat = catalog(ws) if cat is None else cat
    tables = set(cat)
    sets: list[set[str]] = []

    def need(table: str, what: str) -> None:
        if table not in tables:
            raise ScopeError(
                f"'{what}' needs the {table} table, which this workspace does not have yet; "
                "build the ICP first so accounts get health and tier scores"
            )

    if scope.best or scope.worst:
        need("health", f"best {scope.best}" if scope.best else f"worst {scope.worst}")
        if scope.best:
            sets.append(
                _ids(
                    ws,
                    "SELECT account_id FROM health ORDER BY health_rank ASC NULLS LAST LIMIT ?",
                    [scope.best],
                )
            )
        if scope.worst:
            sets.append(
                _ids(
                    ws,
                    "SELECT account_id FROM health ORDER BY health_rank DESC NULLS LAST LIMIT ?",
                    [scope.worst],
                )
            )
    if scope.health_tier:
        need("health", f"{scope.health_tier} customers")
        sets.append(
            _ids(
                ws,
                "SELECT account_id FROM health WHERE lower(health_tier) = ?",
                [scope.health_tier.lower()],
            )
        )
    if scope.tiers:
        need("scores", "tier " + "/".join(scope.tiers))
        sets.append(_ids(ws, "SELECT account_id FROM scores WHERE lower(CAST(tier AS VARCHAR)) IN (SELECT unnest(?))",
                         [[t.lower() for t in scope.tiers]]))  # fmt: skip
    if scope.outcome:
        sets.append(_outcome_accounts(ws, scope.outcome, cat))
    if scope.where:
        need("accounts", "attribute filters")
        cols = cat["accounts"]
        for col, vals in scope.where.items():
            if col not in cols:
                raise ScopeError(
                    f"accounts have no attribute '{col}' (known: {', '.join(sorted(cols))})"
                )
            low = [str(x).lower() for x in vals]
            if cols[col].endswith("[]"):
                sql = f'SELECT account_id FROM accounts WHERE list_has_any(list_transform("{col}", x -> lower(x)), ?)'
            else:
                sql = f'SELECT account_id FROM accounts WHERE lower(trim(CAST("{col}" AS VARCHAR))) IN (SELECT unnest(?))'
            sets.append(_ids(ws, sql, [low]))
    out = sets[0]
    for s in sets[1:]:
        out &= s
    return out


def _outcome_accounts(ws: Workspace, outcome: str, cat: Catalog) -> set[str]:
    tables = set(cat)
    if outcome == "churned":
        if "revenue" in tables and "churned" in cat["revenue"]:
            return _ids(
                ws, "SELECT DISTINCT account_id FROM revenue WHERE TRY_CAST(churned AS BOOLEAN)"
            )
        if "accounts" in tables and "churned" in cat["accounts"]:
            return _ids(ws, "SELECT account_id FROM accounts WHERE TRY_CAST(churned AS BOOLEAN)")
        raise ScopeError(
            "'churned customers' needs churn data (a revenue table with a churned column)"
        )
    if "deals" not in tables:
        raise ScopeError(f"'{outcome} accounts' needs the deals table")
    if outcome == "won":
        return _ids(ws, "SELECT DISTINCT account_id FROM deals WHERE outcome = 'won'")
    if outcome == "lost":
        return _ids(ws, "SELECT DISTINCT account_id FROM deals WHERE outcome = 'lost' "
                        "AND account_id NOT IN (SELECT account_id FROM deals WHERE outcome = 'won')")  # fmt: skip
    return _ids(ws, "SELECT DISTINCT account_id FROM deals WHERE outcome = 'open'")


def resolve_contacts(ws: Workspace, scope: Scope, cat: Catalog | None = None) -> set[str] | None:
    if not scope.roles:
        return None
    cat = catalog(ws) if cat is None else cat
    if "dmu_role" not in cat.get("contacts", {}):
        raise ScopeError("role filters need a contacts table with a dmu_role column")
    df = ws.query("SELECT contact_id FROM contacts WHERE lower(CAST(dmu_role AS VARCHAR)) IN (SELECT unnest(?))",
                  [[r.lower() for r in scope.roles]])  # fmt: skip
    return {str(x) for x in df["contact_id"].dropna()}


def scope_filters(scope: Scope, accounts: set[str] | None, contacts: set[str] | None) -> Filters:
    return Filters(
        account_ids=accounts,
        contact_ids=contacts,
        since=scope.since,
        until=scope.until,
        channels=set(scope.channels) or None,
        speakers=set(scope.speakers) or None,
    )


# -- the answer ---------------------------------------------------------------------------
def _account_info(ws: Workspace, ids: list[str], cat: Catalog) -> dict[str, dict[str, Any]]:
    """Name, tier and health of ``ids``, in one query."""
    info: dict[str, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return info
    cols, joins = [], []
    for alias, (table, col) in enumerate(
        (("accounts", "name"), ("scores", "tier"), ("health", "health"))
    ):
        if col in cat.get(table, {}) and "account_id" in cat[table]:
            t = f"t{alias}"
            cols.append(f'any_value({t}."{col}") AS {col}')
            joins.append(f"LEFT JOIN {table} {t} ON CAST({t}.account_id AS VARCHAR) = i.a")
        else:
            cols.append(f"NULL AS {col}")
    sql = f"SELECT i.a, {', '.join(cols)} FROM (SELECT unnest(?) AS a) i {' '.join(joins)} GROUP BY i.a"
    for a, name, tier, health in _rows(ws, sql, [ids]):
        info[a] = {
            "name": name,
            "tier": tier,
            "health": None if health is None or pd.isna(health) else health,
        }
    return info


def _open(ws: Workspace) -> PassageIndex | None:
    if ws.read_only:
        return open_index(ws) if index_path(ws).exists() else None
    return ensure_index(ws)[0]


def ask(
    ws: Workspace,
    question: str,
    *,
    top: int | None = None,
    tier: str | int | list[str | int] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    where: dict[str, Any] | None = None,
    limit: int = 20,
    today: date | None = None,
    rerank: bool = False,
    as_of: date | str | None = None,
    speaker: str = "customer",
) -> Answer:
    """Answer ``question`` from the workspace's conversations.

    Parameters
    ----------
    ws : Workspace
        Needs a ``conversations`` table; ``health``/``scores``/``deals`` are used
        when the question names best/worst customers, tiers or outcomes.
    question : str
        Plain English, e.g. ``"what do our best 10 customers say about pricing last quarter?"``.
    top : int, optional
        Best N customers by health rank (``-N``: worst N). Overrides the question.
    tier : str or list, optional
        ``"1"``, ``["1", "2"]``, ``"excluded"``, ... Overrides the question.
    since, until : date or ISO string, optional
        Inclusive date window. Overrides the question.
    where : dict, optional
        Account attribute filters, e.g. ``{"industry": "Logistics"}``.
    limit : int
        Passages to return.
    today, as_of : date, optional
        Reference day for relative windows ("last month"); ``as_of`` wins.
        Default: the latest conversation date in the archive, so that an
        archive exported months ago still answers "last month". Echoed in
        the scope.
    speaker : str
        ``customer`` (default): only what customers said; ``us``: only our
        own side (reps, support; see :func:`speaker_side`); ``all``. A
        speaker named in the question wins.
    rerank : bool
        Hybrid ranking: re-order the top 30 BM25 passages by semantic
        similarity (needs the optional ``voc-rerank`` extra; see
        :mod:`icpkit.voc.rerank`). Default off.
    """
    if speaker not in SPEAKER_SIDES:
        raise ValueError(
            f"The 'speaker' parameter of ask must be one of {', '.join(SPEAKER_SIDES)}. Got {speaker!r} instead."
        )
    cat = catalog(ws)
    if as_of is not None:
        today = as_of if isinstance(as_of, date) else parse_date(str(as_of))
        if today is None:
            raise ValueError(f"as_of {as_of!r} is not a date; use YYYY-MM-DD")
    if today is None and "conversations" in cat:
        today = archive_as_of(ws)
    today = today or date.today()
    vocab = build_vocabulary(ws, cat)
    scope = parse_question(question or "", today, vocabulary=vocab)
    scope = apply_overrides(scope, top=top, tier=tier, since=since, until=until, where=where)
    scope.as_of = today
    if not scope.speakers and speaker != "all" and vocab.speakers:
        scope.speakers = sorted(v for v in vocab.speakers.values() if speaker_side(v) == speaker)
        if not scope.speakers:
            scope.notes.append(f"no conversation has a {speaker} speaker; showing every speaker")
    answer = Answer(question=question or "", scope=scope, messages=list(scope.notes))
    if "conversations" not in cat:
        answer.messages.append(
            "this workspace has no conversations yet; ingest calls, emails or notes first"
        )
        return answer
    try:
        accounts = resolve_accounts(ws, scope, cat)
        contacts = resolve_contacts(ws, scope, cat)
    except ScopeError as exc:
        answer.messages.append(str(exc))
        return answer
    answer.accounts_in_scope = None if accounts is None else len(accounts)
    if accounts is not None and not accounts:
        answer.messages.append(f"no accounts match {scope.who()}")
        return answer
    idx = _open(ws)
    if idx is None:
        answer.messages.append(
            "the conversation index has not been built yet (the workspace is read-only)"
        )
        return answer
    filters = scope_filters(scope, accounts, contacts)
    res = idx.search(scope.topic, filters, limit=max(limit, THEME_POOL if scope.topic else limit))
    answer.total_matches = res.total
    hits = res.hits
    if rerank and scope.topic:
        from .rerank import rerank as semantic_rerank

        hits = semantic_rerank(scope.topic, hits, k=max(30, limit))
    info = _account_info(ws, sorted({h.account_id for h in hits[:limit]}), cat)
    answer.passages = [_passage(h, info.get(h.account_id, {})) for h in hits[:limit]]
    if hits:
        answer.themes = key_phrases(
            [h.text for h in hits],
            top=8,
            exclude=topic_words(scope.topic),
            accounts=[h.account_id for h in hits],
        )
    else:
        answer.messages += explain_empty(idx, scope, filters, today)
    return answer


def _passage(h: Hit, info: dict[str, Any]) -> AnswerPassage:
    tier = info.get("tier")
    health = info.get("health")
    return AnswerPassage(
        quote=h.text, account_id=h.account_id, account_name=info.get("name"),
        tier=None if tier is None else str(tier), health=None if health is None else float(health),
        date=h.date, channel=h.channel, speaker=h.speaker, source_id=h.source_id, passage_id=h.passage_id,
        start=h.start, end=h.end, score=round(h.score, 4),
    )  # fmt: skip


def explain_empty(idx: PassageIndex, scope: Scope, filters: Filters, today: date) -> list[str]:
    """Why nothing matched, and where matches do exist."""
    who = scope.who()
    when = f"in {scope.when()}" if (scope.since or scope.until) else ""
    what = f" mentioning {scope.topic!r}" if scope.topic else ""
    msgs: list[str] = []
    in_scope = idx.count(None, filters)
    if in_scope == 0:
        base = f"no conversations from {who}" + (f" {when}" if when else "")
        if scope.since or scope.until:
            for label, wider in _wider_windows(scope, today):
                n = idx.count(None, _with_window(filters, *wider))
                if n:
                    return [f"{base}; {n} exist {label}"]
            return [f"{base}; there are none from them at any time either"]
        if scope.channels or scope.speakers:
            n = idx.count(
                None, Filters(account_ids=filters.account_ids, contact_ids=filters.contact_ids)
            )
            return [
                f"{base} in channel/speaker {'/'.join(scope.channels + scope.speakers)}; {n} exist in other channels"
            ]
        return [f"{base}; their accounts have no conversations in the index"]
    msgs.append(
        f"{in_scope} conversation passage(s) from {who}"
        + (f" {when}" if when else "")
        + f", but none{what}"
    )
    if scope.topic:
        anywhere = idx.count(scope.topic, Filters())
        if anywhere:
            msgs.append(
                f"{anywhere} passage(s) mention {scope.topic!r} across all accounts and dates"
            )
    return msgs


def _with_window(f: Filters, since: date | None, until: date | None) -> Filters:
    return Filters(f.account_ids, f.contact_ids, since, until, f.channels, f.speakers)


def _wider_windows(scope: Scope, today: date) -> list[tuple[str, tuple[date | None, date | None]]]:
    out: list[tuple[str, tuple[date | None, date | None]]] = []
    end = max(scope.until or today, today)
    span = ((scope.until or today) - (scope.since or today)).days if scope.since else 0
    for days, label in ((92, "in the last 3 months"), (366, "in the last 12 months")):
        if span < days - 2:
            out.append((label, (today - timedelta(days=days - 1), end)))
    out.append(("at other times", (None, None)))
    return out
