"""Core commands: run, demo, sample, ingest, health, patterns, build, report, export, score."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .common import JobsOpt, console, handle_errors, loading, out, steps, warn_all, writing

if TYPE_CHECKING:
    from ..icpfile import ICP
    from ..workspace import Workspace

# The library (pandas, DuckDB, scikit-learn, ...) is imported inside each command,
# so that `icp --help` and `icp COMMAND --help` do not load it (tests/test_startup.py).

PathOpt = Annotated[
    Path | None, typer.Option(dir_okay=False, help="CSV, Parquet or Excel (.xlsx) file")
]
WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="workspace folder (holds workspace.duckdb)")
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="YAML mapping file for unusual column names")
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="text encoding of CSV files (default: UTF-8, then Windows-1252)"
    ),
]
MinSupportOpt = Annotated[
    int | None,
    typer.Option(
        "--min-support",
        min=1,
        help="minimum closed deals behind a criterion (default 30, or 5% of deals for small data)",
    ),
]
KeepColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--keep-column",
        metavar="COLUMN",
        help="learn from this accounts column even if it looks like the outcome (known before the deal); repeatable",
    ),
]


MaxExcludedOpt = Annotated[
    float,
    typer.Option(
        "--max-excluded",
        min=0.0,
        max=1.0,
        help="most of the accounts the disqualifiers may veto together (0-1); weaker "
        "disqualifiers stay as warning signs",
    ),
]


def _paths(**kw: Path | None) -> dict[str, Path | None]:
    return {k: v for k, v in kw.items() if v is not None}


def excluded_text(icp: ICP) -> str:
    """The summary's "excluded" cell: every enabled disqualifier, in icp.yaml's order, none other."""
    return "; ".join(d.text() for d in icp.disqualifiers if d.enabled) or "-"


def _summary(ws: Workspace, icp: ICP | None = None) -> None:
    from ..pipeline import current_icp

    icp = icp or current_icp(ws)
    ev = icp.evidence
    console.print(f"[bold]Evidence:[/] {ev.strength} — {ev.message}", soft_wrap=True)
    t = Table(title="Accounts by tier", show_edge=False)
    t.add_column("tier")
    t.add_column("min score", justify="right")
    t.add_column("accounts", justify="right")
    t.add_column("criteria")
    counts = ws.query("SELECT tier, count(*) AS n FROM scores GROUP BY tier")
    by = dict(zip(counts["tier"].astype(str), counts["n"], strict=True))
    for tier in icp.tiers:
        crit = [c.text() for cs in tier.criteria.values() for c in cs]
        crit += [f"({s.text()})" for s in tier.segments[: max(0, 3 - len(crit))]]
        t.add_row(
            f"{tier.tier} {tier.name}",
            str(tier.min_score),
            str(by.get(str(tier.tier), 0)),
            "; ".join(crit[:4]) or "-",
        )
    t.add_row("excluded", "-", str(by.get("excluded", 0)), excluded_text(icp))
    t.add_row("none", "-", str(by.get("none", 0)), "")
    console.print(t)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def run(
        accounts: Annotated[
            Path, typer.Option(dir_okay=False, help="accounts file (CSV, Parquet or .xlsx)")
        ],
        deals: Annotated[
            Path, typer.Option(dir_okay=False, help="deals file (CSV, Parquet or .xlsx)")
        ],
        out_dir: Annotated[Path, typer.Option("--out", help="output folder")],
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
        min_support: MinSupportOpt = None,
        keep_column: KeepColumnOpt = None,
        product: Annotated[
            str | None,
            typer.Option(
                help="learn from the deals of this product line only (one ICP per product line: "
                "one output folder each)"
            ),
        ] = None,
        max_excluded: MaxExcludedOpt = 0.2,
        validate: Annotated[
            bool,
            typer.Option(
                "--validate/--no-validate",
                help="backtest the ICP on held-out deals (skip it for quick iterations; the "
                "report says it was skipped)",
            ),
        ] = True,
        jobs: JobsOpt = None,
        crm: Annotated[
            list[str] | None,
            typer.Option(
                "--crm",
                metavar="CRM",
                help="also write the scores as a CRM import file: hubspot or salesforce "
                "(repeatable), with the property definitions and, after a previous run, "
                "a file of the accounts whose tier or route changed",
            ),
        ] = None,
    ) -> None:
        """Run the whole chain: ingest, health, patterns, tiered ICP, scores, report.

        Writes icp.yaml, report.html, report.md, scores.csv, segments.csv,
        health.csv and workspace.duckdb into the output folder.

        Example:

            icp run --accounts accounts.csv --deals deals.csv --out icp-out
            icp run --accounts accounts.csv --deals deals.csv --product "Connector Pack" --out icp-connector
            icp run --accounts companies.xlsx --deals deals.xlsx --crm hubspot --out icp-out
        """
        with loading("icpkit.ingest", "icpkit.report"):
            from ..pipeline import run_all
            from ..workspace import Workspace

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
        started = time.perf_counter()
        with steps(3 + 4) as advance:
            result = run_all(
                paths,
                out_dir,
                mapping=mapping,
                encoding=encoding,
                min_support=min_support,
                progress=advance,
                keep_columns=keep_column or (),
                product=product,
                max_excluded_share=max_excluded,
                validate=validate,
                jobs=jobs,
                crm=crm or (),
            )
        warn_all(result.warnings)
        with Workspace(out_dir, read_only=True) as ws:
            _summary(ws)
        for _name, p in sorted(result.files.items()):
            out.print(f"wrote {p}")
        console.print(
            f"[green]done[/] in {time.perf_counter() - started:.1f}s — open {out_dir / 'report.html'}"
        )

    @app.command()
    @handle_errors
    def demo(
        out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path("icp-demo"),
    ) -> None:
        """Run the whole chain on the bundled sample company and print where the report is.

        Example:

            icp demo --out icp-demo
        """
        with loading("icpkit.ingest", "icpkit.report"):
            from ..pipeline import run_all
            from ..sample import write_sample
            from ..workspace import Workspace

        started = time.perf_counter()
        files = write_sample(out_dir / "sample")
        paths: dict[str, Path | None] = {
            k: files.get(k)
            for k in (
                "accounts",
                "deals",
                "contacts",
                "revenue",
                "events",
                "tickets",
                "conversations",
            )
        }
        with steps(3 + 4) as advance:
            result = run_all(paths, out_dir, progress=advance)
        warn_all(result.warnings)
        with Workspace(out_dir, read_only=True) as ws:
            _summary(ws)
        out.print(f"Report: {(out_dir / 'report.html').resolve()}")
        console.print(f"[green]done[/] in {time.perf_counter() - started:.1f}s")

    @app.command()
    @handle_errors
    def sample(
        out_dir: Annotated[Path, typer.Option("--out", help="folder for the CSV files")] = Path(
            "icp-sample"
        ),
        seed: int = 7,
        accounts: Annotated[int, typer.Option(min=50, help="number of accounts")] = 3000,
    ) -> None:
        """Write the bundled sample company as CSV files, to show the expected input shape.

        Example:

            icp sample --out sample && icp run --accounts sample/accounts.csv --deals sample/deals.csv --out out
        """
        from ..sample import write_sample

        for name, p in write_sample(out_dir, seed=seed, n_accounts=accounts).items():
            out.print(f"{name:14s} {p}")

    @app.command()
    @handle_errors
    def ingest(
        workspace: WorkspaceOpt,
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
    ) -> None:
        """Validate input files and store them in the workspace (atomically; re-running with the same files changes nothing).

        Example:

            icp ingest --workspace ws --accounts accounts.csv --deals deals.csv
        """
        from ..ingest import ingest as ingest_files

        with writing(workspace) as ws:
            res = ingest_files(
                ws,
                _paths(
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
                ),
                mapping_path=mapping,
                encoding=encoding,
            )
            if not res.unchanged:
                ws.write({}, artifacts={"ingest_warnings": "\n".join(res.warnings)})
        warn_all(res.warnings)
        for name, n in res.tables.items():
            out.print(f"{name:14s} {n:>9,} rows")

    @app.command()
    @handle_errors
    def health(
        workspace: WorkspaceOpt,
        out_csv: Annotated[Path | None, typer.Option("--out", help="write health.csv here")] = None,
        churn_source: Annotated[
            str | None,
            typer.Option(
                "--churn-source",
                help="which churn statement wins when sources disagree: revenue, events or flag (default: health.churn_source of the workspace's ICP, else revenue)",
            ),
        ] = None,
    ) -> None:
        """Score every customer 0-100 by health and name the best and worst 20%.

        Example:

            icp health --workspace ws --out health.csv
        """
        from ..pipeline import Settings, settings, step_health

        with writing(workspace) as ws:
            conf = settings(ws, workspace / "icp.yaml")
            res = step_health(ws, Settings(conf.weights, churn_source or conf.churn_source))
        warn_all(res.warnings)
        t = res.table
        out.print(
            f"{len(t)} customers; weights: "
            + ", ".join(f"{k} {v:.0%}" for k, v in res.weights.items())
        )
        for label, part in (("best 20%", res.best()), ("worst 20%", res.worst())):
            names = (
                (part["name"] if "name" in part.columns else part["account_id"])
                .astype(str)
                .head(10)
                .tolist()
            )
            out.print(f"{label} ({len(part)}): {', '.join(names)}{' …' if len(part) > 10 else ''}")
        if out_csv:
            from ..csvsafe import write_csv

            write_csv(t, out_csv)
            out.print(f"wrote {out_csv}")

    @app.command()
    @handle_errors
    def patterns(
        workspace: WorkspaceOpt,
        out_csv: Annotated[
            Path | None, typer.Option("--out", help="write segments.csv here")
        ] = None,
        top: int = 20,
        min_support: MinSupportOpt = None,
    ) -> None:
        """Find the attributes and segments that separate won from lost deals (with n, intervals and q-values).

        Example:

            icp patterns --workspace ws --out segments.csv
        """
        from ..pipeline import export_outputs, settings, step_build

        with writing(workspace) as ws:  # a build: its ICP version is exported like `icp build`'s
            build = step_build(ws, settings(ws, workspace / "icp.yaml"), min_support=min_support)
            export_outputs(ws, workspace)
        seg = build.segments
        t = Table(show_edge=False)
        for c in ("segment", "n", "win_rate", "ci", "lift", "q_value", "tier"):
            t.add_column(c, justify="left" if c == "segment" else "right")
        for r in seg.head(top).itertuples():
            t.add_row(
                str(r.segment),
                str(r.n),
                f"{r.win_rate:.0%}",
                f"{r.ci_low:.0%}-{r.ci_high:.0%}",
                f"{r.lift:.2f}",
                f"{r.q_value:.2g}",
                str(r.tier),
            )
        out.print(t)
        out.print(build.icp.evidence.message, soft_wrap=True)
        if out_csv:
            from ..csvsafe import write_csv

            write_csv(seg, out_csv)
            out.print(f"wrote {out_csv}")

    @app.command()
    @handle_errors
    def build(
        workspace: WorkspaceOpt,
        min_support: MinSupportOpt = None,
        keep_column: KeepColumnOpt = None,
        max_excluded: MaxExcludedOpt = 0.2,
    ) -> None:
        """Learn the tiered ICP, negative ICP and scorecard; write icp.yaml, scores.csv, segments.csv, health.csv into the workspace folder.

        Example:

            icp build --workspace ws
        """
        with loading():
            from ..pipeline import export_outputs, settings, step_build

        with writing(workspace) as ws:
            res = step_build(
                ws,
                settings(ws, workspace / "icp.yaml"),
                min_support=min_support,
                keep_columns=keep_column or (),
                max_excluded_share=max_excluded,
            )
            files = export_outputs(ws, workspace)
            _summary(ws)
        warn_all(res.warnings)
        for p in files.values():
            out.print(f"wrote {p}")

    @app.command()
    @handle_errors
    def report(
        workspace: WorkspaceOpt,
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out", help="folder for report.html and report.md (default: the workspace)"
            ),
        ] = None,
        pdf: Annotated[
            bool,
            typer.Option(
                "--pdf", help="also print report.pdf with the installed Chromium (headless)"
            ),
        ] = False,
    ) -> None:
        """Write the self-contained HTML report and its Markdown twin (and a PDF with --pdf).

        Example:

            icp report --workspace ws --pdf
        """
        from ..report import collect, write_report
        from ..report.pdf import html_to_pdf

        with writing(workspace, out_dir) as ws:
            files = write_report(collect(ws), out_dir or workspace)
            if pdf:
                files["report.pdf"] = html_to_pdf(
                    files["report.html"], files["report.html"].with_suffix(".pdf")
                )
        for p in files.values():
            out.print(f"wrote {p}")

    @app.command()
    @handle_errors
    def export(
        workspace: WorkspaceOpt,
        out_dir: Annotated[
            Path | None,
            typer.Option("--out", help="folder for the cards (default: WORKSPACE/export)"),
        ] = None,
        pdf: Annotated[
            bool | None,
            typer.Option(
                "--pdf/--no-pdf",
                help="also print each card to PDF (default: when Chromium is installed)",
            ),
        ] = None,
    ) -> None:
        """Write one-pagers for the teams downstream: sales, personas, negative ICP, interviews.

        The ICP one-pager for sales, one persona card per buying role per tier,
        the negative-ICP card with its evidence and the interview plan, each as
        Markdown and a self-contained HTML page (and PDF with Chromium).

        Example:

            icp export --workspace out --out cards
        """
        from ..export import write
        from ..report.pdf import find_browser

        if pdf is None:
            pdf = find_browser() is not None
        with writing(workspace, out_dir, read_only=True) as ws:
            files = write(ws, out_dir or workspace / "export", pdf=pdf)
        shown = sorted({p.parent for p in files.values()})
        out.print(f"wrote {len(files)} files into {', '.join(str(p) for p in shown)}")

    @app.command()
    @handle_errors
    def score(
        icp_path: Annotated[
            Path, typer.Option("--icp", help="icp.yaml (or the folder holding it)")
        ],
        accounts: Annotated[
            Path,
            typer.Option(
                dir_okay=False,
                help="accounts to score (CSV or Parquet; .xlsx with the python engine)",
            ),
        ],
        out_csv: Annotated[Path, typer.Option("--out", help="output CSV")],
        events: Annotated[
            Path | None,
            typer.Option(
                dir_okay=False,
                help="recent events (account_id, occurred_at, type, detail) for the timing score",
            ),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="date the timing is measured at (default: today)"),
        ] = None,
        engine: Annotated[
            str,
            typer.Option(
                help="duckdb (default: the compiled SQL, out of core, CSV/Parquet), spark (Parquet, local or --master) or python (pandas; the engine that adds timing, used automatically with --events)"
            ),
        ] = "duckdb",
        master: Annotated[
            str | None, typer.Option(help="Spark master URL for --engine spark (default: local)")
        ] = None,
        mapping: MappingOpt = None,
        encoding: EncodingOpt = None,
        crm: Annotated[
            str | None,
            typer.Option(
                "--crm",
                help="write --out as a CRM import file: hubspot (keyed on Record ID) or "
                "salesforce (Data Loader, keyed on Id), with the property definitions to "
                "create first beside it",
            ),
        ] = None,
        changed_since: Annotated[
            Path | None,
            typer.Option(
                "--changed-since",
                dir_okay=False,
                help="with --crm: write only the accounts whose tier or route changed since "
                "this previous export (or scores file), and the accounts it did not hold",
            ),
        ] = None,
        no_reasons: Annotated[
            bool,
            typer.Option(
                "--no-reasons",
                help="leave out the reasons column (score, tier and route only; about a third faster)",
            ),
        ] = False,
    ) -> None:
        """Score accounts with an ICP: score 0-100, tier, route and reasons, as CSV for CRM import.

        With --events and an ICP that has timing triggers, the CSV gains fit,
        timing, priority, why_now and route_note columns (score stays the fit
        score; an active trigger may raise the route by timing.route_rules in
        icp.yaml). Warns when the ICP is older than its refresh.interval_days.
        An output path ending in .parquet writes Parquet. With --crm the file is
        a HubSpot or Salesforce import file (icp_score, icp_tier, icp_route,
        icp_reasons, icp_why_now, icp_version, icp_scored_at).

        Example:

            icp score --icp out/icp.yaml --accounts prospects.csv --out scored.csv
            icp score --icp out/icp.yaml --accounts companies.csv --crm hubspot --out hubspot-import.csv
            icp score --icp out/icp.yaml --accounts companies.csv --crm hubspot --changed-since last-import.csv --out changed.csv
        """
        with loading():
            from .. import crm as crm_files
            from .. import icpfile
            from ..errors import InputError
            from ..scoring.engines import score_with_engine

        if changed_since is not None and crm is None:
            raise InputError(
                "--changed-since needs --crm", hint="Add --crm hubspot or --crm salesforce"
            )
        if crm is not None and no_reasons:
            raise InputError(
                "--no-reasons cannot be used with --crm: the import file carries the reasons",
                hint="Drop --no-reasons (or --crm)",
            )
        if crm is not None and crm.strip().lower() not in crm_files.CRMS:
            raise InputError(
                f"--crm {crm}: unknown CRM", hint=f"Use one of {', '.join(crm_files.CRMS)}"
            )
        icp = icpfile.load(icp_path)
        res = score_with_engine(
            icp,
            accounts,
            None if crm else out_csv,
            engine,
            events=events,
            as_of=as_of,
            mapping=mapping,
            encoding=encoding,
            master=master,
            reasons=not no_reasons,
        )
        files = None
        if crm is not None and res.frame is not None:
            files = crm_files.write_import(
                res.frame,
                out_csv,
                crm,
                version=crm_files.icp_fingerprint(icp),
                changed_since=changed_since,
            )
            res.path = files.path
            res.notes += files.notes
        for note in res.notes:
            console.print(f"[dim]{note}[/]")
        warn_all(res.warnings)
        for line in res.summary():
            out.print(line)
        if files is not None:
            out.print(
                f"wrote {files.rows:,} rows to import → {files.path}; "
                f"create the properties first: {files.definitions}"
            )
