"""The result of :func:`icpkit.voc.ask` and its renderers (JSON, Markdown, rich table)."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from .scope import Scope
from .themes import Theme

if TYPE_CHECKING:
    from rich.table import Table


@dataclass
class AnswerPassage:
    quote: str
    account_id: str
    account_name: str | None
    tier: str | None
    health: float | None
    date: date | None
    channel: str
    speaker: str
    source_id: str
    passage_id: str
    start: int
    end: int
    score: float

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["date"] = self.date.isoformat() if self.date else None
        return d


@dataclass
class AccountGroup:
    account_id: str
    name: str | None
    tier: str | None
    health: float | None
    passages: list[AnswerPassage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "name": self.name, "tier": self.tier, "health": self.health,
                "passages": [p.passage_id for p in self.passages]}  # fmt: skip


@dataclass
class Answer:
    """What :func:`ask` found. Render with :meth:`to_json`, :meth:`to_markdown` or :meth:`to_table`."""

    question: str
    scope: Scope
    passages: list[AnswerPassage] = field(default_factory=list)
    total_matches: int = 0
    accounts_in_scope: int | None = None
    themes: list[Theme] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def by_account(self) -> list[AccountGroup]:
        groups: OrderedDict[str, AccountGroup] = OrderedDict()
        for p in self.passages:
            g = groups.get(p.account_id)
            if g is None:
                g = groups[p.account_id] = AccountGroup(
                    p.account_id, p.account_name, p.tier, p.health
                )
            g.passages.append(p)
        return list(groups.values())

    @property
    def empty(self) -> bool:
        return not self.passages

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "scope": self.scope.to_dict(),
            "total_matches": self.total_matches,
            "accounts_in_scope": self.accounts_in_scope,
            "messages": self.messages,
            "summary": self.summary(),
            "themes": [t.as_dict() for t in self.themes],
            "passages": [p.as_dict() for p in self.passages],
            "accounts": [g.as_dict() for g in self.by_account],
        }

    def summary(self) -> list[str]:
        """Two lines above the quotes: what was found, and the themes in it."""
        if not self.passages:
            return []
        accounts = {p.account_id for p in self.passages}
        speakers = "/".join(self.scope.speakers) if self.scope.speakers else "every speaker"
        first = (
            f"{self.total_matches} matching passage(s); the best {len(self.passages)} come from "
            f"{len(accounts)} account(s) ({speakers})."
        )
        recurring = [t for t in self.themes if t.passages >= 2][:3]
        if recurring:
            second = "Themes: " + "; ".join(
                f"{t.phrase} ({t.passages} passages, {t.accounts} accounts)" for t in recurring
            )
        else:
            second = "Themes: no phrase recurs in more than one passage."
        return [first, second]

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_markdown(self, quote_chars: int = 600) -> str:
        lines = [
            f"## {self.question.strip() or '(no question)'}",
            "",
            f"*Scope:* {self.scope.describe()}",
        ]
        lines += [f"*Matches:* {self.total_matches} passage(s); showing {len(self.passages)}", ""]
        lines += [f"> **Note:** {m}" for m in self.messages] + ([""] if self.messages else [])
        summary = self.summary()
        if summary:
            lines += [summary[0] + "  ", summary[1], ""]
        for g in self.by_account:
            meta = ", ".join(
                x for x in (f"tier {g.tier}" if g.tier else "", _fmt_health(g.health)) if x
            )
            title = f"{g.name} ({g.account_id})" if g.name else g.account_id
            lines.append(f"### {title}" + (f" — {meta}" if meta else ""))
            for p in g.passages:
                q = " ".join(p.quote.split())
                q = q if len(q) <= quote_chars else q[: quote_chars - 1] + "…"
                lines.append(f"> {q}")
                src = ", ".join(x for x in (str(p.date or ""), p.channel, p.speaker) if x)
                lines.append(f"> — {src} · source `{p.source_id}` chars {p.start}–{p.end}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_table(self, quote_chars: int = 220, width: int = 100) -> Table:
        """The quotes as a table at most ``width`` columns wide: the quote column gets
        what the others leave; the account name is cut to fit, never wrapped."""
        from rich import box
        from rich.table import Table

        table = Table(
            title=f"{self.scope.describe()} — {self.total_matches} match(es)",
            caption="\n".join(self.messages) or None,
            box=box.SIMPLE_HEAD,
            width=width,
            title_justify="left",
        )
        table.add_column("#", justify="right", no_wrap=True, width=2)
        table.add_column("account", no_wrap=True, overflow="ellipsis", max_width=20)
        table.add_column("tier", no_wrap=True, width=4)
        table.add_column("date", no_wrap=True, width=10)
        table.add_column("from", no_wrap=True, overflow="ellipsis", max_width=16)
        table.add_column("quote", ratio=1, overflow="fold")
        for i, p in enumerate(self.passages, 1):
            q = " ".join(p.quote.split())
            q = q if len(q) <= quote_chars else q[: quote_chars - 1] + "…"
            who = " · ".join(x for x in (p.speaker, p.channel) if x)
            table.add_row(str(i), p.account_name or p.account_id, p.tier or "",
                          str(p.date or ""), who, q)  # fmt: skip
        return table


def _fmt_health(h: float | None, bare: bool = False) -> str:
    if h is None or pd.isna(h):
        return ""
    return f"{h:.0f}" if bare else f"health {h:.0f}"
