"""Persona commands: ``icp titles`` (titles -> function, seniority, role) and ``icp personas``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..errors import WorkspaceError
from .common import console, handle_errors, out, warn_all, writing

if TYPE_CHECKING:
    import pandas as pd

TITLE_COLUMNS = ["contact_id", "title", "function", "seniority", "dmu_role"]


class GroupChoice(StrEnum):
    tier_1 = "tier_1"
    tier_2 = "tier_2"
    tier_3 = "tier_3"
    negative = "negative"
    all = "all"


def _pct(v: Any) -> str:
    return "" if v is None else f"{float(v):.0%}"


def titles_table(roles: pd.DataFrame) -> pd.DataFrame:
    """The ``icp titles`` CSV: one row per contact, ``TITLE_COLUMNS`` first."""
    import pandas as pd

    frame = pd.DataFrame(index=roles.index)
    for col in TITLE_COLUMNS:
        frame[col] = roles[col] if col in roles.columns else None
    frame["title_normalized"] = roles.get("title_normalized")
    frame["dmu_role_source"] = roles.get("dmu_role_source")
    return frame


def show_profiles(data: dict[str, Any], group: str | None = None) -> None:
    """Print the primary persona and a table of roles per group."""
    from ..personas.profiles import fmt_q, function_label, q_is, role_label, seniority_label

    p = data.get("primary")
    if p:
        out.print(f"[bold]Primary persona:[/] {p['sentence']}", soft_wrap=True, markup=True)
        out.print(f"[dim]chosen as {p['reason']}[/]", soft_wrap=True)
    else:
        out.print("Primary persona: to be confirmed in interviews (no contact on a won deal)")
    for g in data["groups"]:
        if group and g["key"] != group:
            continue
        title = f"{g['label']}: {g['deals']} closed deals, {g['wins']} won ({_pct(g['win_rate'])})"
        if not g["deals"] or not g["roles"]:
            out.print(f"{title} — {g.get('note') or 'no contact with a known role'}")
            continue
        t = Table(title=title, show_edge=False, title_justify="left")
        for c in ("role", "on won", "win rate with/without", "lift", "n", "q", "mostly", "titles"):
            t.add_column(c, justify="left" if c in ("role", "mostly", "titles") else "right")
        for r in g["roles"]:
            s = r.get("stat") or {}
            lift = "" if s.get("lift") is None else f"{s['lift']:.2f}x"
            if s.get("significant"):
                lift = f"[green]{lift} ↑[/]" if s["lift"] > 1 else f"[red]{lift} ↓[/]"
            elif s.get("flag"):
                lift += " (small n)"
            mostly = ", ".join(
                x
                for x in (
                    function_label(r["function"]) if r["function"] != "unknown" else "",
                    seniority_label(r["seniority"]) if r["seniority"] != "unknown" else "",
                )
                if x
            )
            t.add_row(
                role_label(r["role"]),
                _pct(r["share_of_won"]),
                f"{_pct(s.get('win_rate'))} / {_pct(s.get('rate_without'))}" if s else "",
                lift,
                str(s.get("n", "")),
                fmt_q(s["q_value"]) if s else "",
                mostly,
                ", ".join(t for t, _ in r["titles"][:3]),
            )
        out.print(t)
        for r in g["roles"]:
            for s in r["by_function"]:
                if s.get("significant") and s.get("lift") is not None:
                    out.print(
                        f"  {role_label(r['role'])} ({function_label(s['function'])}): lift "
                        f"{s['lift']:.2f}x, n={s['n']}, {q_is(s['q_value'])}"
                    )
            for pain in r["pains"][:2]:
                out.print(
                    f"  {role_label(r['role'])} says: “{pain['quote']}”",
                    soft_wrap=True,
                    markup=False,
                )


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def titles(
        contacts: Annotated[
            Path, typer.Option(dir_okay=False, help="contacts file (CSV or Parquet)")
        ],
        out_csv: Annotated[Path, typer.Option("--out", dir_okay=False, help="output CSV")],
        deals: Annotated[
            Path | None,
            typer.Option(
                dir_okay=False,
                help="deals file: roles also use deal involvement (a contact only on lost deals is a blocker signal)",
            ),
        ] = None,
        mapping: Annotated[
            Path | None,
            typer.Option("--mapping", help="YAML mapping file for unusual column names"),
        ] = None,
        encoding: Annotated[
            str | None, typer.Option("--encoding", help="text encoding of CSV files")
        ] = None,
    ) -> None:
        """Normalise every contact's job title into function and seniority, and infer their deal role.

        Writes contact_id, title, function, seniority and dmu_role for every
        contact (then title_normalized and dmu_role_source), so the
        normalisation can be checked and reused. The rules are data:
        title_rules.yaml and dmu_rules.yaml in icpkit.personas.

        Example:

            icp titles --contacts contacts.csv --deals deals.csv --out titles.csv
        """
        from ..ingest import load_mapping, read_table
        from ..personas.hooks import contact_roles

        maps = load_mapping(mapping)
        frame, _, warnings = read_table(
            "contacts", contacts, maps.get("contacts"), encoding=encoding
        )
        deal_frame = None
        if deals is not None:
            deal_frame, _, w = read_table("deals", deals, maps.get("deals"), encoding=encoding)
            warnings += w
        if "contact_id" not in frame.columns:
            warnings.append(
                f"{contacts}: no contact_id column, so contact_id is empty and rows keep the file's order"
            )
        roles, w = contact_roles(frame, deal_frame)
        warn_all(warnings + w)
        table = titles_table(roles)
        from ..csvsafe import write_csv

        write_csv(table, out_csv)
        out.print(f"wrote {len(table):,} contacts → {out_csv}")
        for col in ("function", "seniority", "dmu_role"):
            counts = table[col].value_counts()
            out.print(f"{col}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    @app.command()
    @handle_errors
    def personas(
        workspace: Annotated[
            Path,
            typer.Option("--workspace", "-w", help="workspace folder (holds workspace.duckdb)"),
        ],
        tier: Annotated[
            GroupChoice | None, typer.Option("--tier", help="show one group only")
        ] = None,
    ) -> None:
        """Profile the buying committee per ICP tier: roles on won deals, their win-rate lift, titles and pains.

        Infers every contact's role, stores the profiles in the workspace,
        records the primary persona in icp.yaml (personas section and the
        statement) and prints a table per tier. Needs contacts in the
        workspace (`icp ingest --contacts`) and an ICP (`icp build`) for tiers.

        Example:

            icp personas --workspace ws
        """
        from ..personas.hooks import update_personas
        from ..pipeline import export_outputs

        with writing(workspace) as ws:
            if not ws.has("contacts"):
                raise WorkspaceError(
                    "The workspace has no contacts. Ingest them with "
                    "`icp ingest --workspace DIR --contacts PATH`."
                )
            res = update_personas(ws)
            if res.icp_version is not None:
                export_outputs(ws, workspace)
        warn_all(res.warnings)
        if res.profiles is None:
            return
        show_profiles(res.profiles.to_dict(), tier.value if tier else None)
        if res.icp_version is not None:
            console.print(f"icp.yaml version {res.icp_version} records the primary persona")
