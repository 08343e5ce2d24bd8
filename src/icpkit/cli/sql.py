"""``icp sql``: the ICP as one SQL query, for scoring inside a warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .common import handle_errors, out, warn_all

# The same names as icpkit.scoring.sql.DIALECTS (a test keeps them equal), spelled out
# here so that `icp --help` need not import the compiler and pandas behind it.
DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark")


def parse_columns(text: str | None) -> list[str] | dict[str, str] | None:
    """``"a,b:double,c:array<string>"`` -> names, or name -> type when any type is given.

    Commas inside ``<>``, ``()`` or ``[]`` belong to the type (``decimal(10,2)``).
    """
    if text is None or not text.strip():
        return None
    parts: list[str] = []
    depth, current = 0, ""
    for ch in text:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    pairs: list[tuple[str, str | None]] = []
    for part in parts:
        name, sep, typ = part.partition(":")
        name = name.strip()
        if not name:
            raise InputError(
                f"--columns has an empty column name in {text!r}",
                hint="Give names separated by commas, e.g. --columns account_id,industry,employees:double",
            )
        pairs.append((name, typ.strip() if sep and typ.strip() else None))
    if any(t for _, t in pairs):
        return {n: (t or "text") for n, t in pairs}
    return [n for n, _ in pairs]


def register(app: typer.Typer) -> None:
    @app.command("sql")
    @handle_errors
    def sql(
        icp_path: Annotated[
            Path, typer.Option("--icp", help="icp.yaml (or the folder holding it)")
        ],
        dialect: Annotated[
            str, typer.Option(help=f"SQL dialect: {', '.join(DIALECTS)}")
        ] = "duckdb",
        table: Annotated[
            str, typer.Option(help="table or view holding the accounts (may be schema.table)")
        ] = "accounts",
        view: Annotated[
            str | None,
            typer.Option(help="print CREATE VIEW NAME AS ... instead of a bare SELECT"),
        ] = None,
        replace: Annotated[
            bool, typer.Option("--replace", help="with --view: CREATE OR REPLACE VIEW")
        ] = False,
        columns: Annotated[
            str | None,
            typer.Option(
                help="the table's columns, comma-separated, each optionally name:type "
                "(e.g. account_id,industry,employees:double,tech:array<string>); attributes "
                "not listed score neutral (0 points, no veto), array types are read as lists. "
                "Without --columns or --absent the table must have every attribute the ICP uses",
            ),
        ] = None,
        list_columns: Annotated[
            str | None,
            typer.Option(
                "--list-columns",
                help="attributes stored as native array columns, comma-separated "
                "(others are read as |, ; or , separated text)",
            ),
        ] = None,
        id_column: Annotated[
            str, typer.Option("--id-column", help="the table's account id column")
        ] = "account_id",
        absent: Annotated[
            str | None,
            typer.Option(
                "--absent",
                help="attributes the table does not have, comma-separated: they score "
                "neutral (0 points, no veto, no tier definition)",
            ),
        ] = None,
    ) -> None:
        """Print the ICP as one SQL query: account_id, score, tier, route, reasons per row.

        The query gives the same numbers as `icp score`, row for row. Run it in
        DuckDB, PostgreSQL, Snowflake, BigQuery or Spark SQL, or keep it as a view.

        Example:

            icp sql --icp out/icp.yaml --dialect snowflake --table crm.accounts --view crm.icp_scores
        """
        from .. import icpfile
        from ..schema import normalize_name
        from ..scoring.scorer import absent_warnings
        from ..scoring.sql import compile_sql

        icp = icpfile.load(icp_path)
        lists = {c.strip() for c in (list_columns or "").split(",") if c.strip()}
        missing = [c.strip() for c in (absent or "").split(",") if c.strip()]
        cols = parse_columns(columns)
        used = icp.used_attributes()
        gone = {normalize_name(c) for c in missing}
        if cols is not None:
            have = {normalize_name(c) for c in cols} | set(cols)
            gone |= {a for a in used if a not in have}
        warn_all(absent_warnings(icp, [a for a in used if a in gone]))
        text = compile_sql(
            icp,
            table=table,
            dialect=dialect,
            view=view,
            id_column=id_column,
            list_columns=lists or None,
            columns=cols,
            absent=missing or None,
            replace=replace,
        )
        out.print(text + ";", markup=False, highlight=False, soft_wrap=True)
