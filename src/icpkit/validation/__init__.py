"""Validation: test the ICP on deals it has not seen.

``validate`` composes the pieces, each in its own module: the hold-out split
and backtest (``backtest``), held-out figures (``metrics``), peer models
(``peers``), the null control (``null``), market sizing (``sizing``) and
drift against a previous ICP (``drift``). The result is one JSON-ready dict,
written as ``validation.json`` and shown in the report's Validation section.

Example
-------
>>> from icpkit.validation import validate_files          # doctest: +SKIP
>>> result = validate_files("accounts.csv", "deals.csv", out_dir="val")  # doctest: +SKIP
>>> result["verdict"]["strength"]                           # doctest: +SKIP
'strong'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .. import __version__, icpfile
from ..errors import InputError
from ..icpfile import ICP, now_iso
from ..ingest import infer_family, load_mapping, read_table
from ..profile import BuildResult, fit_icp
from ..scoring.scorer import score_accounts
from . import breadth as breadth_mod
from . import drift as drift_mod
from . import null as null_mod
from . import peers as peer_mod
from .backtest import (
    Backtest,
    FitFn,
    SplitMethod,
    closed_deals,
    date_column,
    plan_splits,
    run_backtest,
    training_scores,
)
from .metrics import (
    auc,
    brier,
    heldout_figures,
    minimum_evidence,
    monotonicity,
    pr_auc,
    sharpness,
    value_capture,
)
from .sizing import read_market, size_icp
from .tasks import BESIDE, Tasks, workers

__all__ = ["validate", "validate_files", "load_inputs", "write_result", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
SMALL_DATA = 50
BIG_CV = 20_000  # closed deals above which cross-validation runs one repeat


def _num(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, pd.Timestamp):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _finite(obj: Any) -> Any:
    """NaN and infinities become null, so the JSON stays strict."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(_finite(result), indent=2, default=_num, allow_nan=False)


def _check_params(**params: int) -> None:
    lows = {"folds": 2, "repeats": 1, "permutations": 1}
    for name, value in params.items():
        if not isinstance(value, int) or value < lows[name]:
            raise InputError(
                f"The '{name}' parameter of validate must be an int >= {lows[name]}. Got {value!r} instead"
            )


def _repeat_stats(bt: Backtest) -> list[dict[str, Any]]:
    rows = []
    for r in bt.repeats:
        h = bt.repeat(r)
        won = h["won"].to_numpy(dtype=bool)
        rows.append(
            {
                "repeat": r + 1,
                "deals": int(len(h)),
                "roc_auc": auc(won, h["score"].to_numpy()),
                "pr_auc": pr_auc(won, h["score"].to_numpy()),
                "brier": brier(won, h["predicted"].to_numpy(), float(won.mean()))["brier"],
            }
        )
    return rows


def _retained(
    accounts: pd.DataFrame,
    revenue: pd.DataFrame | None,
    account_ids: np.ndarray,
    warnings: list[str],
) -> np.ndarray | None:
    """Current recurring revenue of each held-out deal's account, from the revenue table."""
    if revenue is None or not len(revenue):
        return None
    from ..retention import compute_retention

    try:
        comps = compute_retention(accounts, revenue=revenue).components
    except (KeyError, ValueError, TypeError) as exc:
        warnings.append(f"retained revenue not measured: {exc}")
        return None
    if "mrr_now" not in comps.columns or comps.empty:
        return None
    mrr = comps.set_index(comps["account_id"].astype(str))["mrr_now"]
    return pd.Series(account_ids).map(mrr).to_numpy(dtype=float)


def _shortcuts(null: dict[str, Any], sampling: dict[str, Any]) -> list[str]:
    """Where validation did less than its full work to stay proportionate, with the sizes."""
    out = []
    if null.get("stopped_early"):
        out.append(
            f"null control: {null['permutations']} of {null['permutations_planned']} shuffles "
            f"(stopped early: {null['stopped_early']})"
        )
    if null.get("note"):
        out.append(f"null control: {null['note']}")
    if sampling.get("note"):
        out.append(f"peers: {sampling['note']}")
    if sampling.get("forest_capped"):
        out.append(
            f"peers: each random-forest tree drew {sampling['forest_tree_deals']:,} of the "
            f"{sampling['peer_training_deals']:,} deals it learns from (at most "
            f"{peer_mod.FOREST_TREE_ROWS:,})"
        )
    return out


def _verdict(result: dict[str, Any]) -> dict[str, Any]:
    h = result["heldout"]
    io = h["in_vs_out"]
    a = h["roc_auc"] if h["roc_auc"] is not None else 0.5
    ratio = io["ratio"]
    beats = result["null_control"]["beats_noise"]
    sig = io["significant"]
    mono = h["monotonicity"]
    rec = result["recommendation"]
    # a threshold chosen on the training deals counts once the held-out deals confirm it
    reachable = rec["action"] == "keep" or (
        rec["action"] in ("narrow", "widen") and rec.get("confirmed", True)
    )
    checks = [
        {"check": "held-out AUC >= 0.60", "ok": a >= 0.60, "value": h["roc_auc"]},
        {
            "check": "in-ICP win rate >= 3x out-of-ICP",
            "ok": bool(io["meets_target"]),
            "value": ratio,
        },
        {
            "check": "a supported score threshold reaches 3x held out (narrow or widen)",
            "ok": reachable,
            "value": rec["in_out"] if reachable else None,
        },
        {
            "check": "tiers in order held out (Tier 1 >= Tier 2 >= Tier 3 > out of ICP)",
            "ok": bool(mono["monotone"]),
            "value": len(mono["violations"]),
        },
        {
            "check": "patterns beat shuffled outcomes",
            "ok": bool(beats),
            "value": result["null_control"]["real"]["significant"],
        },
        {
            "check": "scorecard within 0.02 AUC of the best peer on raw columns",
            "ok": result["peers"]["within_tolerance"],
            "value": result["peers"]["gap"],
        },
        {
            "check": "no Tier 1 criterion under the minimum support",
            "ok": result["minimum_evidence"]["tier1_violations"] == 0,
            "value": result["minimum_evidence"]["tier1_violations"],
        },
    ]
    if result.get("sizing"):
        checks.append(
            {
                "check": "ICP size in range",
                "ok": result["sizing"]["verdict"] == "in_range",
                "value": result["sizing"]["levels"][-1]["accounts"],
            }
        )
    r_txt = (
        f"the in-ICP win rate is {ratio:.2f}x the out-of-ICP rate"
        if ratio is not None
        else "no held-out deal falls in the ICP (Tiers 1-3)"
    )
    mono_txt = "" if mono["monotone"] else " " + mono["message"]
    todo = "" if rec["action"] == "keep" else " " + rec["message"]
    if a >= 0.70 and reachable and sig and beats and mono["monotone"]:
        strength = "strong"
        msg = (
            f"Strong evidence: on {h['n']} held-out deals {r_txt} (target 3x), the score "
            f"separates won from lost (AUC {a:.2f}), the tiers are in order and the patterns "
            f"are more than noise.{todo}"
        )
    elif a >= 0.60 and beats and sig:
        strength = "moderate"
        below = not io["meets_target"]
        msg = (
            f"Moderate evidence: on {h['n']} held-out deals the score separates won from lost "
            f"(AUC {a:.2f}) and {r_txt}"
            + (" — below the 3x floor practitioners use" if below else "")
            + "."
            + mono_txt
            + todo
        )
    else:
        strength = "weak"
        msg = (
            f"The evidence for an ICP is weak: on {h['n']} held-out deals the score reaches AUC {a:.2f} "
            f"and {r_txt}. "
            f"{result['null_control']['verdict']} "
            + (
                "The score is held back by its disqualifier vetoes (see the peer comparison). "
                if result["peers"].get("vetoes_explain_gap")
                else ""
            )
            + (mono["message"] + " " if not mono["monotone"] else "")
            + "Treat the ICP as a hypothesis, not a targeting rule."
        )
    return {"strength": strength, "message": msg, "checks": checks}


def validate(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    kinds: dict[str, str],
    families: dict[str, str],
    icp: ICP | None = None,
    market: pd.DataFrame | None = None,
    previous: ICP | None = None,
    revenue: pd.DataFrame | None = None,
    split: SplitMethod | None = None,
    cutoff: str | None = None,
    folds: int = 5,
    repeats: int = 2,
    permutations: int = 20,
    sequential: bool = True,
    min_support: int | None = None,
    seed: int = 0,
    fit: FitFn = fit_icp,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Backtest, compare, control and size the ICP learned from ``accounts`` and ``deals``.

    Parameters
    ----------
    accounts, deals : DataFrame
        Canonical tables (as ingest produces them).
    kinds, families : dict
        Attribute kind and family per account column.
    icp : ICP, optional
        The ICP learned from all deals (as ``icp build`` made it); fitted here when absent.
        Sizing, the minimum-evidence check and drift use it.
    market : DataFrame, optional
        Canonical market list to size the ICP on.
    previous : ICP, optional
        The previous ICP, for drift.
    revenue : DataFrame, optional
        Canonical revenue table: the won accounts' retained revenue per tier.
    split : {"time", "cv"}, optional
        Default: in time when deals are dated, else cross-validation.
    permutations : int
        Null-control shuffles, at most: with ``sequential`` they stop once more
        cannot change the answer (``shortcuts`` in the result says so).
    fit : callable
        The fitting function; it only ever receives training deals. With
        several jobs it runs in a worker thread (one fit at a time).
    jobs : int, optional
        Threads for the independent parts (folds' peers and scoring beside the
        next fit, the null control); 1 runs them one after the other. Default:
        automatic, several only from ``tasks.PARALLEL_MIN_DEALS`` closed deals.
        The figures are the same either way.

    Returns
    -------
    dict
        Every figure, JSON-ready (see ``validation.json``).
    """
    _check_params(folds=folds, repeats=repeats, permutations=permutations)
    closed = closed_deals(deals)
    # many small fits: one BLAS/OpenMP thread each is several times faster than
    # oversubscribed threads, and no slower on an idle machine
    with threadpool_limits(limits=1), Tasks(workers(jobs, len(closed))) as tasks:
        return _validate_with(
            accounts,
            deals,
            closed,
            kinds=kinds,
            families=families,
            icp=icp,
            market=market,
            previous=previous,
            revenue=revenue,
            split=split,
            cutoff=cutoff,
            folds=folds,
            repeats=repeats,
            permutations=permutations,
            sequential=sequential,
            min_support=min_support,
            seed=seed,
            fit=fit,
            progress=progress,
            tasks=tasks,
        )


def _by_tier(icp: ICP, accounts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Accounts per tier under the ICP learned from all deals."""
    tiers_all = score_accounts(icp, accounts).frame["tier"].astype(str)
    counts = tiers_all.value_counts()
    return {
        t: {
            "accounts": int(counts.get(t, 0)),
            "share": round(int(counts.get(t, 0)) / len(tiers_all), 4) if len(tiers_all) else None,
        }
        for t in ("1", "2", "3", "none", "excluded")
    }


def _validate_with(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    closed: pd.DataFrame,
    *,
    kinds: dict[str, str],
    families: dict[str, str],
    icp: ICP | None,
    market: pd.DataFrame | None,
    previous: ICP | None,
    revenue: pd.DataFrame | None,
    split: SplitMethod | None,
    cutoff: str | None,
    folds: int,
    repeats: int,
    permutations: int,
    sequential: bool,
    min_support: int | None,
    seed: int,
    fit: FitFn,
    progress: Callable[[str], None] | None,
    tasks: Tasks,
) -> dict[str, Any]:
    say = progress or (lambda _s: None)
    warnings: list[str] = []
    not_checked: list[str] = []
    won_all = closed["outcome"].eq("won").to_numpy()
    amounts = (
        "amount" in closed.columns
        and pd.to_numeric(closed.loc[won_all, "amount"], errors="coerce").gt(0).any()
    )
    # with several jobs, what needs only the ICP starts at once, beside the split and the fits
    early: dict[str, Any] = {}
    if tasks.parallel and icp is not None:
        early["by_tier"] = tasks.submit(BESIDE, _by_tier, icp, accounts)
    say("validate: choosing the hold-out split")
    # on a large table every deal is still held out once: a second seed only re-measures
    reps = 1 if len(closed) > BIG_CV else repeats
    plan = plan_splits(closed, split=split, cutoff=cutoff, folds=folds, repeats=reps, seed=seed)
    not_checked += plan.notes
    cut: list[str] = []
    if plan.method == "cv" and reps < repeats:
        cut.append(
            f"cross-validation: 1 of {repeats} repeats, as there are {len(closed):,} closed deals "
            f"(more than {BIG_CV:,}); every deal is still held out once"
        )

    def null_control(build: BuildResult) -> dict[str, Any]:
        return null_mod.null_control(
            build.space,
            build.training,
            min_support=build.icp.evidence.min_support,
            permutations=permutations,
            seed=seed,
            real=build.miner,
            sequential=sequential,
        )

    # with several jobs, what needs only the first fold's model starts once it is fitted,
    # beside the next fits
    def first_fit(build: BuildResult) -> None:
        say(f"validate: null control (up to {permutations} shuffles), beside the backtest")
        early["build"] = build
        early["null"] = tasks.submit(BESIDE, null_control, build)
        early["train"] = tasks.submit(BESIDE, training_scores, build)

    bt = run_backtest(
        accounts,
        closed,
        plan,
        fit=fit,
        kinds=kinds,
        families=families,
        min_support=min_support,
        seed=seed,
        progress=say,
        tasks=tasks,
        first_fit=first_fit if tasks.parallel else None,
        # the folds usually exclude what the ICP learned from all deals excluded
        excluded_hint={e.column for e in icp.excluded_columns} if icp is not None else None,
    )
    warnings += bt.notes
    held = bt.repeat(0)
    first = bt.folds[0].build
    routing = first.icp.routing
    figures = heldout_figures(
        held["won"].to_numpy(dtype=bool),
        held["score"].to_numpy(),
        held["tier"].to_numpy(),
        held["predicted"].to_numpy(),
        amount=held["amount"].to_numpy(),
        train_rate=float(
            np.mean([f.build.icp.evidence.base_win_rate for f in bt.folds if f.split.repeat == 0])
        ),
        high=routing.high_touch,
        low=routing.nurture,
    )
    if not amounts:
        not_checked.append("won revenue capture: the deals have no amounts")
    if len(closed) < SMALL_DATA:
        not_checked.append(
            f"reliable tier win rates and calibration: only {len(closed)} closed deals "
            f"(fewer than {SMALL_DATA}); every held-out figure has a wide interval"
        )
    peer_cols = {"icpkit": held["score"].to_numpy(dtype=float)}
    peer_cols.update({c[2:]: held[c].to_numpy() for c in held.columns if c.startswith("p_")})
    peers = peer_mod.compare(
        held["won"].to_numpy(dtype=bool),
        peer_cols,
        held["score_unvetoed"].to_numpy(dtype=float),
        seen=held["seen"].to_numpy(dtype=bool) if "seen" in held else None,
    )
    won_h = held["won"].to_numpy(dtype=bool)
    score_h = held["score"].to_numpy(dtype=float)
    tier_h = held["tier"].to_numpy()
    acc_h = held["account_id"].astype(str).to_numpy()
    figures["monotonicity"] = monotonicity(won_h, tier_h)
    figures["sharpness"] = sharpness(won_h, score_h, tier_h)
    retained = _retained(accounts, revenue, acc_h, warnings)
    figures["value"] = value_capture(
        won_h, tier_h, acc_h, held["amount"].to_numpy(dtype=float), retained
    )
    best_peer = peers.get("best")
    figures["breadth"] = {
        "icpkit": breadth_mod.curve(won_h, score_h, account=acc_h),
        "best_peer": breadth_mod.curve(won_h, held[f"p_{best_peer}"].to_numpy(), account=acc_h)
        if best_peer and f"p_{best_peer}" in held.columns
        else [],
        "best_peer_name": best_peer,
    }
    # the early start used the first fold fitted; the first fold kept is that one unless
    # its held-out part failed, and then the work is done again on the one kept
    started = early.get("build") is first
    if started:
        null = early["null"].result()
    else:
        say(f"validate: null control (up to {permutations} shuffles)")
        null = null_control(first)
    peers["sampling"] = peer_mod.sampling(len(bt.folds[0].split.train))
    shortcuts = cut + _shortcuts(null, peers["sampling"])
    if icp is None:
        say("validate: learning the ICP from all deals")
        icp = fit(accounts, deals, kinds=kinds, families=families, min_support=min_support).icp
    by_tier = early["by_tier"].result() if "by_tier" in early else _by_tier(icp, accounts)
    # the threshold is chosen on the first fold's training deals, scored out of fold, and
    # only checked on the held-out deals
    rec = breadth_mod.recommend(
        won_h,
        score_h,
        tier_h,
        account=acc_h,
        tier_min={t.tier: t.min_score for t in icp.tiers},
        train=early["train"].result() if started else training_scores(first),
    )
    result: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "generated_at": now_iso(),
        "generator": f"icpkit {__version__}",
        "data": {
            "accounts": int(len(accounts)),
            "deals": int(len(deals)),
            "closed_deals": int(len(closed)),
            "wins": int(won_all.sum()),
            "open_deals": int(deals["outcome"].eq("open").sum()),
            "dated": date_column(closed)[0] is not None,
            "amounts": bool(amounts),
        },
        "split": {
            **plan.info,
            "objective": first.icp.training.objective if first.icp.training else "win",
        },
        "heldout": figures,
        "repeats": _repeat_stats(bt) if plan.method == "cv" else [],
        "peers": peers,
        "null_control": null,
        "minimum_evidence": minimum_evidence(icp, min_support),
        "icp_evidence": {"strength": icp.evidence.strength, "message": icp.evidence.message},
        "recommendation": rec,
        "accounts_by_tier": by_tier,
        "sizing": None,
        "drift": None,
    }
    if market is not None:
        say("validate: sizing the ICP on the market list")
        result["sizing"] = size_icp(
            icp,
            market,
            accounts=accounts,
            min_scores=[rec["min_score"]] if rec["min_score"] is not None else (),
        )
        warnings += result["sizing"]["warnings"]
        at = result["sizing"].get("at_scores") or []
        if at and rec["min_score"] is not None:
            rec = breadth_mod.with_market(
                rec, at[0]["accounts"], result["sizing"]["market_accounts"]
            )
            result["recommendation"] = rec
    else:
        not_checked.append("ICP size: no market list (--market)")
    if previous is not None:
        say("validate: drift against the previous ICP")
        result["drift"] = drift_mod.compare(
            previous,
            icp,
            accounts,
            heldout_rows=bt.repeat_rows(0),
            heldout=held,
            heldout_from=plan.info.get("test_from") if plan.method == "time" else None,
        )
    else:
        not_checked.append("drift: no previous ICP (--previous)")
    result["verdict"] = _verdict(result)
    result["shortcuts"] = shortcuts
    result["not_checked"] = not_checked
    result["warnings"] = warnings
    return result


def load_inputs(
    accounts: str | Path,
    deals: str | Path,
    *,
    mapping: str | Path | None = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], dict[str, str], list[str]]:
    """Read and validate accounts and deals as ingest does, without a workspace.

    Returns (accounts, deals, kinds, families, warnings).
    """
    maps = load_mapping(mapping)
    acc, kinds, w1 = read_table("accounts", accounts, maps.get("accounts"), encoding=encoding)
    dl, _k, w2 = read_table("deals", deals, maps.get("deals"), encoding=encoding)
    fam_map = maps["accounts"].families if "accounts" in maps else {}
    families = {
        c: fam_map.get(c) or infer_family(c) for c in acc.columns if c not in ("account_id", "name")
    }
    warnings = w1 + w2
    known = set(acc["account_id"].astype(str))
    orphan = ~dl["account_id"].astype(str).isin(known)
    if orphan.any():
        warnings.append(
            f"{deals}: {int(orphan.sum())} deal(s) point to accounts not in the accounts file; skipped"
        )
        dl = dl[~orphan].reset_index(drop=True)
    return acc, dl, kinds, families, warnings


def write_result(result: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``validation.json`` and ``validation.md`` into ``out_dir`` (atomically each)."""
    from .report import render_markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, text in (
        ("validation.json", to_json(result)),
        ("validation.md", "# Validation\n\n" + render_markdown(result, level=2)),
    ):
        p = out / name
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        files[name] = p
    return files


def validate_files(
    accounts: str | Path,
    deals: str | Path,
    *,
    out_dir: str | Path | None = None,
    market: str | Path | None = None,
    previous: str | Path | None = None,
    mapping: str | Path | None = None,
    encoding: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``icp validate``: read the files, validate, and write ``validation.json`` into ``out_dir``."""
    acc, dl, kinds, families, warnings = load_inputs(
        accounts, deals, mapping=mapping, encoding=encoding
    )
    mk = None
    if market is not None:
        maps = load_mapping(mapping)
        mk, w = read_market(market, maps.get("market"), encoding=encoding)
        warnings += w
    prev = icpfile.load(previous) if previous is not None else None
    result = validate(acc, dl, kinds=kinds, families=families, market=mk, previous=prev, **options)
    result["warnings"] = warnings + result["warnings"]
    if out_dir is not None:
        write_result(result, out_dir)
    return result
