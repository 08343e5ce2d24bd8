"""``icp validate``: test the ICP on deals it has not seen."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .common import JobsOpt, console, handle_errors, out, steps, warn_all


class SplitChoice(StrEnum):
    time = "time"
    cv = "cv"


def _pct(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0%}" if v == 0 or abs(v) >= 0.1 else f"{v:.1%}"


def _f(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def show(result: dict[str, Any]) -> None:
    """Print the headline tables of a validation result."""
    h = result["heldout"]
    s = result["split"]
    if s["method"] == "time":
        verb = "closed" if s["date_column"] == "closed_at" else "created"
        console.print(
            f"Held out the {s['test_deals']} deals {verb} from {s['cutoff']}; learned from the "
            f"{s['train_deals']} {verb} before.",
            soft_wrap=True,
        )
    else:
        console.print(
            f"{s['folds']}-fold cross-validation x {s['repeats']} repeat(s)"
            + (", grouped by account" if s.get("grouped_by_account") else ""),
            soft_wrap=True,
        )
    t = Table(title="Held-out win rate by tier", show_edge=False)
    for c in ("group", "deals", "win rate", "95% CI", "vs out of ICP"):
        t.add_column(c, justify="left" if c == "group" else "right")
    for r in h["tiers"]:
        if not r["n"]:
            continue
        t.add_row(
            r["group"],
            str(r["n"]),
            _pct(r["win_rate"]),
            f"{_pct(r['ci_low'])}-{_pct(r['ci_high'])}",
            "" if r["ratio"] is None else f"{r['ratio']:.2f}x",
        )
    console.print(t)
    mono = h.get("monotonicity")
    if mono:
        color = "green" if mono["monotone"] else "red"
        console.print(f"[bold {color}]Tier order:[/] {mono['message']}", soft_wrap=True)
    br = h.get("breadth") or {}
    if br.get("icpkit"):
        b = Table(title="Held-out in/out by ICP breadth (icpkit score)", show_edge=False)
        for c in ("breadth", "score >=", "in (n)", "out (n)", "in/out"):
            b.add_column(c, justify="right")
        for r in br["icpkit"]:
            b.add_row(
                _pct(r["breadth"]),
                f"{r['threshold']:.0f}",
                f"{_pct(r['in']['win_rate'])} ({r['in']['n']:,})",
                f"{_pct(r['out']['win_rate'])} ({r['out']['n']:,})",
                "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            )
        console.print(b)
    rec = result.get("recommendation")
    if rec:
        console.print(f"[bold]3x rule:[/] {rec['message']}", soft_wrap=True)
    if h.get("value"):
        console.print(f"[bold]Value:[/] {h['value']['message']}", soft_wrap=True)
    p = result["peers"]
    a = Table(title="Held-out discrimination", show_edge=False)
    for c in ("figure", "value"):
        a.add_column(c)
    for k, v in p["auc"].items():
        a.add_row(f"ROC AUC ({k})", _f(v))
    if p.get("veto_cost"):
        a.add_row("ROC AUC (icpkit before vetoes)", _f(p["icpkit_unvetoed_auc"]))
    a.add_row("PR AUC (icpkit)", _f(h["pr_auc"]))
    a.add_row("Brier (reference)", f"{_f(h['brier'])} ({_f(h['brier_reference'])})")
    for c in h["capture"]:
        a.add_row(f"won deals in top {int(c['top'] * 100)}%", _pct(c["won_share"]))
    a.add_row("Tier 1 share of wins", _pct(h["tier_share_of_wins"]["1"]))
    n = result["null_control"]
    a.add_row(
        "null control: significant on noise",
        f"{n['false_discoveries_mean']} (max {n['false_discoveries_max']})",
    )
    a.add_row("significant on real outcomes", str(n["real"]["significant"]))
    console.print(a)
    console.print(p["message"], soft_wrap=True)
    if result.get("sizing"):
        console.print(f"[bold]Size:[/] {result['sizing']['message']}", soft_wrap=True)
    if result.get("drift"):
        d = result["drift"]
        console.print(f"[bold]Drift:[/] PSI {d['psi']:.3f} ({d['psi_label']})", soft_wrap=True)
    console.print(result["minimum_evidence"]["message"], soft_wrap=True)
    for note in result["not_checked"]:
        console.print(f"[dim]not checked:[/] {note}", soft_wrap=True)
    for note in result.get("shortcuts", []):
        console.print(f"[dim]shortened to scale:[/] {note}", soft_wrap=True)
    v = result["verdict"]
    color = {"strong": "green", "moderate": "yellow"}.get(v["strength"], "red")
    console.print(f"[bold {color}]{v['message']}[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def init(
        out_path: Annotated[
            Path, typer.Option("--out", dir_okay=False, help="the hypothesis file to write")
        ] = Path("hypothesis.yaml"),
        accounts: Annotated[
            Path | None,
            typer.Option(
                dir_okay=False, help="accounts file: list its columns and values in a comment"
            ),
        ] = None,
        force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
    ) -> None:
        """Write a short, hand-editable ICP hypothesis to test with `icp validate --icp`.

        The ICP as you believe it today, in the template's words and fields:
        entity, firmographic / technographic / behavioral criteria, trigger,
        disqualifiers and persona. Edit it, then test it on your closed deals.

        Example:

            icp init --accounts accounts.csv --out hypothesis.yaml
        """
        from .. import hypothesis as hyp_mod
        from ..errors import IcpkitError

        if out_path.exists() and not force:
            raise IcpkitError(f"{out_path} exists: edit it, or pass --force to start over")
        columns = None
        if accounts is not None:
            from ..ingest import read_table

            acc, _kinds, _w = read_table("accounts", accounts, None)
            columns = {
                c: hyp_mod.column_values(acc[c])
                for c in acc.columns
                if c not in ("account_id", "name", "domain")
            }
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_suffix(out_path.suffix + ".tmp")
        tmp.write_text(hyp_mod.template(columns), encoding="utf-8")
        tmp.replace(out_path)
        out.print(f"wrote {out_path}: edit it, then run `icp validate --icp {out_path} ...`")

    @app.command()
    @handle_errors
    def validate(
        accounts: Annotated[
            Path, typer.Option(dir_okay=False, help="accounts file (CSV or Parquet)")
        ],
        deals: Annotated[Path, typer.Option(dir_okay=False, help="deals file (CSV or Parquet)")],
        out_dir: Annotated[Path, typer.Option("--out", help="output folder for validation.json")],
        market: Annotated[
            Path | None, typer.Option(dir_okay=False, help="market list to size the ICP on")
        ] = None,
        previous: Annotated[
            Path | None, typer.Option(dir_okay=False, help="previous icp.yaml, for drift")
        ] = None,
        split: Annotated[
            SplitChoice | None,
            typer.Option(help="time (needs dates) or cv; default: time when deals are dated"),
        ] = None,
        cutoff: Annotated[
            str | None,
            typer.Option(
                help="train on deals closed before this date (default: 75% of closed deals)"
            ),
        ] = None,
        folds: Annotated[int, typer.Option(min=2, help="cross-validation folds")] = 5,
        repeats: Annotated[int, typer.Option(min=1, help="cross-validation repeats (seeds)")] = 2,
        permutations: Annotated[
            int, typer.Option(min=1, help="null-control shuffles, at most (see --all-shuffles)")
        ] = 20,
        all_shuffles: Annotated[
            bool,
            typer.Option(
                "--all-shuffles",
                help="run every null-control shuffle, even once more cannot change the answer",
            ),
        ] = False,
        min_support: Annotated[
            int | None,
            typer.Option(
                min=1, help="minimum closed deals behind a criterion (default 30, or 5% of deals)"
            ),
        ] = None,
        mapping: Annotated[
            Path | None,
            typer.Option("--mapping", help="YAML mapping file for unusual column names"),
        ] = None,
        hypothesis: Annotated[
            Path | None,
            typer.Option(
                "--icp",
                dir_okay=False,
                help="a hand-written ICP (from `icp init`) to test against the closed deals "
                "instead of learning one",
            ),
        ] = None,
        events: Annotated[
            Path | None,
            typer.Option(dir_okay=False, help="events file, to test the hypothesis' trigger"),
        ] = None,
        jobs: JobsOpt = None,
    ) -> None:
        """Test the ICP on deals it has not seen: backtest, peers, null control, size, drift.

        Learns the ICP from the earlier deals (or k-1 folds) only, scores the
        held-out ones and reports in-ICP vs out-of-ICP win rates, capture,
        AUC and calibration, the in/out ratio by ICP breadth with what to do
        about the 3x rule, held-out tier order, value capture, three peer
        models on the raw account columns, a null control on shuffled
        outcomes, and with --market / --previous the ICP's size and drift.
        Writes validation.json and validation.md into the output folder.

        Example:

            icp validate --accounts accounts.csv --deals deals.csv --market market.csv --out val

        With --icp, tests a hand-written ICP (see `icp init`) instead: which stated
        criteria the deals support, contradict or cannot judge, its in/out ratio
        and coverage, beside the ICP learned from the same deals; writes
        hypothesis.json and hypothesis.md.

            icp validate --icp hypothesis.yaml --accounts accounts.csv --deals deals.csv --out test
        """
        from ..pipeline import output_folder
        from ..validation import validate_files

        if hypothesis is not None:
            with output_folder(out_dir):
                _test_hypothesis(hypothesis, accounts, deals, out_dir, events, mapping)
            return
        with output_folder(out_dir), steps(4) as advance:
            result = validate_files(
                accounts,
                deals,
                out_dir=out_dir,
                market=market,
                previous=previous,
                mapping=mapping,
                split=split.value if split else None,
                cutoff=cutoff,
                folds=folds,
                repeats=repeats,
                permutations=permutations,
                sequential=not all_shuffles,
                min_support=min_support,
                progress=advance,
                jobs=jobs,
            )
        warn_all(result["warnings"])
        show(result)
        out.print(f"wrote {out_dir / 'validation.json'}")


def _test_hypothesis(
    path: Path,
    accounts: Path,
    deals: Path,
    out_dir: Path,
    events: Path | None,
    mapping: Path | None,
) -> None:
    import json

    from .. import hypothesis as hyp_mod
    from ..ingest import load_mapping, read_table
    from ..profile import fit_icp
    from ..validation import load_inputs

    hyp = hyp_mod.load(path)
    acc, dl, kinds, families, warnings = load_inputs(accounts, deals, mapping=mapping)
    ev = None
    if events is not None:
        ev, _k, w = read_table("events", events, load_mapping(mapping).get("events"))
        warnings += w
    with steps(2) as advance:
        advance("learning the ICP from the same deals, to compare")
        learned = fit_icp(acc, dl, kinds=kinds, families=families, events=ev).icp
        advance("testing each stated criterion")
        result = hyp_mod.test(hyp, acc, dl, events=ev, learned=learned)
    warn_all(warnings)
    t = Table(title="Your ICP hypothesis on the closed deals", show_edge=False)
    for col, just in (("criterion", "left"), ("verdict", "left"), ("n", "right"), ("why", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    color = {"supported": "green", "contradicted": "red"}
    for c in result["criteria"]:
        v = c["verdict"]
        t.add_row(
            f"{c['family']}: {c['criterion']}",
            f"[{color.get(v, 'yellow')}]{v}[/]",
            f"{c['n']:,}",
            c["why"],
        )
    console.print(t)
    w = result["whole"]
    ratio = f"{w['ratio']:.2f}x" if w["ratio"] is not None else "n/a"
    console.print(
        f"[bold]As a whole:[/] {w['in']['n']:,} deals inside, in/out ratio {ratio} "
        f"({'meets' if w['meets_3x'] else 'short of'} 3x); covers "
        f"{(w['coverage_wins'] or 0):.0%} of won deals.",
        soft_wrap=True,
    )
    lr = result["learned"]
    if lr and lr["ratio"] is not None:
        console.print(
            f"[bold]Learned from the data:[/] {lr['in']['n']:,} deals inside, in/out ratio "
            f"{lr['ratio']:.2f}x; covers {(lr['coverage_wins'] or 0):.0%} of won deals.",
            soft_wrap=True,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("hypothesis.json", json.dumps(result, indent=1, default=str)),
        ("hypothesis.md", hyp_mod.markdown(result)),
    ):
        p = out_dir / name
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        out.print(f"wrote {p}")
