"""The operating loop: `icp audit` (monthly) and `icp refresh` (quarterly)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .common import console, handle_errors, out, steps, warn_all, writing
from .core import EncodingOpt, MappingOpt, PathOpt, WorkspaceOpt, _paths

if TYPE_CHECKING:
    from ..audit import Audit


def _money(v: float) -> str:
    return f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _signed(v: float, pct: bool = False) -> str:
    return f"{100 * v:+.1f} pts" if pct else f"{v:+,.1f}".replace(".0", "")


def print_audit(a: Audit, top: int = 15) -> None:
    s = a.summary
    out.print(
        f"[bold]Pipeline audit as of {a.as_of}[/] (ICP version {s['icp_version']}): "
        f"{s['open_deals']} open deals, value {_money(s['pipeline_value'])}",
        soft_wrap=True,
    )
    out.print(
        f"Outside the ICP: {s['deals_outside_icp']} deals, {_pct(s['share_value_outside_icp'])} "
        f"of value; in disqualified accounts: {s['deals_disqualified']} deals, "
        f"{_pct(s['share_value_disqualified'])} of value. Expected wins {s['expected_wins']} "
        f"(value {_money(s['expected_value'])}).",
        soft_wrap=True,
    )
    t = Table(title="Open deals by tier", show_edge=False)
    for col in ("tier", "deals", "value", "value %", "win rate (n)", "expected wins"):
        t.add_column(col, justify="left" if col == "tier" else "right")
    for r in a.by_tier.to_dict("records"):
        rate = r.get("win_rate")
        n = r.get("rate_n")
        t.add_row(
            str(r["tier"]),
            str(r["deals"]),
            _money(r["value"]),
            _pct(r["share_of_value"]),
            "-" if rate is None or rate != rate else f"{100 * rate:.0f}% ({int(n)})",
            f"{r['expected_wins']:.1f}",
        )
    out.print(t)
    out.print(f"[dim]win rates: {a.rates_source}[/]")
    t = Table(title="Open deals by route", show_edge=False)
    for col in ("route", "deals", "value", "value %", "expected wins"):
        t.add_column(col, justify="left" if col == "route" else "right")
    for r in a.by_route.to_dict("records"):
        t.add_row(
            str(r["route"]),
            str(r["deals"]),
            _money(r["value"]),
            _pct(r["share_of_value"]),
            f"{r['expected_wins']:.1f}",
        )
    out.print(t)
    rq = a.requalify
    if len(rq):
        t = Table(title=f"Deals to re-qualify ({len(rq)}; largest {min(top, len(rq))})")
        for col in ("deal", "account", "value", "tier", "why"):
            t.add_column(col, justify="right" if col == "value" else "left")
        for r in rq.head(top).to_dict("records"):
            t.add_row(
                str(r["deal_id"]),
                str(r["account_id"]),
                _money(r["amount"]),
                str(r["tier"]),
                r["requalify"],
            )
        out.print(t)
    if a.previous is not None:
        tr = a.trend
        out.print(
            f"Since the audit of {a.previous.get('as_of')}: open deals {_signed(tr.get('open_deals', 0))}, "
            f"value outside the ICP {_signed(tr.get('share_value_outside_icp', 0), pct=True)}, "
            f"in disqualified accounts {_signed(tr.get('share_value_disqualified', 0), pct=True)}, "
            f"expected wins {_signed(tr.get('expected_wins', 0))}.",
            soft_wrap=True,
        )
    else:
        out.print("[dim]First audit stored in this workspace: the next one shows the trend.[/]")


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def audit(
        workspace: WorkspaceOpt = Path("."),
        deals: Annotated[
            Path | None,
            typer.Option(
                dir_okay=False,
                help="the open pipeline (a deals export; its open deals are audited). Default: the workspace's open deals",
            ),
        ] = None,
        accounts: Annotated[
            Path | None,
            typer.Option(
                dir_okay=False,
                help="accounts of open deals the workspace does not hold (scored with its ICP)",
            ),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="the audit's date, for deal ages (default: the newest of the workspace's data and the deals)",
            ),
        ] = None,
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out", help="folder for audit.csv (one row per open deal) and audit.json"
            ),
        ] = None,
        save: Annotated[
            bool,
            typer.Option(
                "--save/--no-save", help="store the audit in the workspace for the next trend"
            ),
        ] = True,
        mapping: MappingOpt = None,
        encoding: EncodingOpt = None,
    ) -> None:
        """Audit the open pipeline against the ICP (monthly): deals and value by tier and
        route, the share outside the ICP or in disqualified accounts, expected wins by
        tier, deals to re-qualify, and the trend since the previous audit.

        Example:

            icp audit -w out --deals open_pipeline.csv --out audit-2026-07
        """
        import pandas as pd

        from ..audit import audit_pipeline, save_audit
        from ..csvsafe import write_csv
        from ..errors import InputError, NoWorkspaceData
        from ..ingest import load_mapping, read_table
        from ..workspace import Workspace

        maps = load_mapping(mapping)
        frame = acc = None
        warnings: list[str] = []
        if deals is not None:
            frame, _, w = read_table("deals", deals, maps.get("deals"), encoding=encoding)
            warnings += w
        if accounts is not None:
            acc, _, w = read_table("accounts", accounts, maps.get("accounts"), encoding=encoding)
            warnings += w
        when = None
        if as_of:
            try:
                when = pd.Timestamp(as_of)
            except ValueError:
                raise InputError(
                    f"--as-of {as_of!r} is not a date", hint="Use YYYY-MM-DD"
                ) from None
        if not Workspace(workspace).file.exists():
            raise NoWorkspaceData()
        held = writing(workspace) if save else Workspace(workspace, read_only=True)
        with held as ws:
            a = audit_pipeline(ws, frame, accounts=acc, as_of=when)
            if save:
                save_audit(ws, a)
        warn_all(warnings + a.warnings)
        print_audit(a)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            write_csv(a.deals, out_dir / "audit.csv")
            import json

            (out_dir / "audit.json").write_text(
                json.dumps(a.as_dict(), indent=2, default=str), encoding="utf-8"
            )
            out.print(f"wrote {out_dir / 'audit.csv'}")
            out.print(f"wrote {out_dir / 'audit.json'}")

    @app.command()
    @handle_errors
    def refresh(
        out_dir: Annotated[
            Path, typer.Option("--out", "--workspace", "-w", help="the folder of the previous run")
        ],
        accounts: PathOpt = None,
        deals: PathOpt = None,
        contacts: PathOpt = None,
        revenue: PathOpt = None,
        events: PathOpt = None,
        tickets: PathOpt = None,
        usage: PathOpt = None,
        churn: PathOpt = None,
        conversations: PathOpt = None,
        market: PathOpt = None,
        mapping: MappingOpt = None,
        encoding: EncodingOpt = None,
        restore: Annotated[
            int | None,
            typer.Option(
                "--restore",
                metavar="VERSION",
                help="make this earlier ICP version current again (as a new version) and rescore",
            ),
        ] = None,
        versions: Annotated[
            bool, typer.Option("--versions", help="list the ICP versions kept in the workspace")
        ] = False,
    ) -> None:
        """Re-learn the ICP on fresh exports (quarterly) and compare with the previous run:
        criteria added, dropped, strengthened and weakened, vetoes, score PSI, held-out
        quality then and now, and whether the triggers still qualify. Every version stays
        restorable.

        Example:

            icp refresh --out out --accounts accounts.csv --deals deals.csv --events events.csv
            icp refresh --out out --restore 3
        """
        from ..errors import InputError, NoWorkspaceData
        from ..refresh import refresh as run_refresh
        from ..refresh import restore as restore_version
        from ..workspace import Workspace

        if versions or restore is not None:
            if not Workspace(out_dir).file.exists():
                raise NoWorkspaceData()
            held = writing(out_dir) if restore is not None else Workspace(out_dir, read_only=True)
            with held as ws:
                if restore is not None:
                    new = restore_version(ws, restore, out_dir)
                    out.print(
                        f"restored version {restore} as version {new}; rescored and rewrote {out_dir}"
                    )
                    return
                t = Table(title="ICP versions", show_edge=False)
                for col in ("version", "created", "note"):
                    t.add_column(col)
                for r in ws.icp_versions().to_dict("records"):
                    t.add_row(str(r["version"]), str(r["created_at"])[:19], str(r["note"] or ""))
                out.print(t)
                return
        if accounts is None or deals is None:
            raise InputError(
                "icp refresh needs the fresh exports: --accounts and --deals at least",
                hint="Or --restore VERSION to go back to an earlier ICP, --versions to list them",
            )
        paths = _paths(
            accounts=accounts,
            deals=deals,
            contacts=contacts,
            revenue=revenue,
            events=events,
            tickets=tickets,
            usage=usage,
            churn=churn,
            conversations=conversations,
            market=market,
        )
        with steps(3 + 4) as advance:
            result, report = run_refresh(
                paths, out_dir, mapping=mapping, encoding=encoding, progress=advance
            )
        warn_all(result.warnings)
        out.print(report.to_markdown(), markup=False, highlight=False, soft_wrap=True)
        console.print(f"[green]wrote[/] {out_dir / 'refresh.md'}")
