"""`icp ask`: question the conversation archive, scoped by the ICP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import handle_errors, out


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def ask(
        question: Annotated[
            str,
            typer.Argument(
                help='plain English, e.g. "what did our best 20 customers say about pricing last month"'
            ),
        ],
        workspace: Annotated[
            Path,
            typer.Option("--workspace", "-w", help="workspace folder (holds workspace.duckdb)"),
        ] = Path("."),
        top: Annotated[
            int | None, typer.Option(help="best N customers by health (negative: worst N)")
        ] = None,
        tier: Annotated[
            list[str] | None, typer.Option(help="ICP tier: 1, 2, 3, none or excluded (repeatable)")
        ] = None,
        since: Annotated[str | None, typer.Option(help="from this date (YYYY-MM-DD)")] = None,
        until: Annotated[str | None, typer.Option(help="up to this date (YYYY-MM-DD)")] = None,
        where: Annotated[
            list[str] | None,
            typer.Option(help="attribute filter such as industry=logistics (repeatable)"),
        ] = None,
        limit: Annotated[int, typer.Option(min=1, max=500, help="passages to show")] = 20,
        fmt: Annotated[str, typer.Option("--format", help="table, json or markdown")] = "table",
        rerank: Annotated[
            bool, typer.Option(help="re-rank with the offline embedding model (optional extra)")
        ] = False,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="the day 'last month' counts from (default: the archive's latest date; echoed in the scope)",
            ),
        ] = None,
        speaker: Annotated[
            str,
            typer.Option(
                help="customer (default): what customers said; us: our own reps and support; all"
            ),
        ] = "customer",
    ) -> None:
        """Answer a question from the conversation archive with quotes and sources.

        The scope (who, when, topic) is read from the question; flags override it,
        and the understood scope is echoed back. Relative windows ("last month")
        count from --as-of, by default the archive's latest date; only customers'
        words are searched unless --speaker says otherwise.

        Example:

            icp ask "what did our best 20 customers say about pricing last month" -w out
        """
        from ..errors import InputError
        from ..voc import ask as voc_ask
        from ..workspace import Workspace

        if fmt not in ("table", "json", "markdown"):
            raise InputError(f"--format must be table, json or markdown; got {fmt!r}")
        if speaker not in ("customer", "us", "all"):
            raise InputError(f"--speaker must be customer, us or all; got {speaker!r}")
        when = None
        if as_of is not None:
            from ..voc.dates import parse_date

            when = parse_date(as_of)
            if when is None:
                raise InputError(f"--as-of {as_of!r} is not a date", hint="Use YYYY-MM-DD")
        filters = {}
        for w in where or []:
            if "=" not in w:
                raise InputError(
                    f"--where {w!r} is not attribute=value",
                    hint="For example --where industry=logistics",
                )
            k, v = w.split("=", 1)
            filters[k.strip()] = v.strip()
        with Workspace(workspace, read_only=True) as ws:
            if not ws.has("conversations"):
                raise InputError(
                    "the workspace has no conversations",
                    hint="Ingest them with `icp ingest --conversations PATH` or pass --conversations to `icp run`",
                )
            tiers: str | list[str | int] | None = (
                None if tier is None else (tier[0] if len(tier) == 1 else list(tier))
            )
            ans = voc_ask(
                ws,
                question,
                top=top,
                tier=tiers,
                since=since,
                until=until,
                where=filters or None,
                limit=limit,
                rerank=rerank,
                as_of=when,
                speaker=speaker,
            )
        if fmt == "json":
            out.print(ans.to_json(), markup=False, highlight=False, soft_wrap=True)
        elif fmt == "markdown":
            out.print(ans.to_markdown(), markup=False, highlight=False, soft_wrap=True)
        else:
            for line in ans.summary():
                out.print(line, markup=False, highlight=False, soft_wrap=True)
            out.print(ans.to_table(width=min(100, out.width)))
