"""Benchmark the ICP's quality on held-out deals, on every dataset with outcomes.

    python benchmarks/quality.py                 # print the table
    python benchmarks/quality.py --write docs/quality.md

Runs ``icp validate`` (the library call behind it, default settings: time
split when dated, up to 20 null-control shuffles, stopped once more cannot change the answer) on the shared datasets that have
won/lost outcomes — Maven CRM and the Olist marketing funnel — and on the
shipped sample company, then prints one table: dataset, closed deals, split,
held-out AUC of icpkit next to peers fitted on the raw account columns
(logistic regression, gradient boosting, random forest) and a logistic
regression on icpkit's own bins, the gap to the best peer, the share of
accounts vetoed, the in-ICP / out-of-ICP win-rate ratio and the score
threshold that reaches 3x (if any), whether the tiers are in order held out,
the ICP's share of won revenue against its share of accounts, Tier 1's share
of held-out wins, and the null control's false discoveries.

Two diagnostics refit the first repeat's folds (the same split ``icp validate``
uses): an Explainable Boosting Machine on the same raw columns as the peers,
additive and with 10 pairwise terms (the explainable frontier; needs
``pip install interpret-core==0.7.8``, else the column reads n/a), and the gap
to the best raw peer split by whether a held-out deal's account also has
training deals (a peer that recognises an account recalls its earlier
outcomes, which no account-fit score can).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parents[1] / "shared" / "datasets"


def olist(tmp: Path) -> dict[str, Path] | None:
    """Olist MQLs as accounts, one deal per lead: won when it signed (as the real-data tests build it)."""
    d = DATASETS / "olist_marketing_funnel"
    if not d.exists():
        return None
    mql = pd.read_csv(d / "olist_marketing_qualified_leads_dataset.csv")
    won = pd.read_csv(d / "olist_closed_deals_dataset.csv")
    accounts = mql[["mql_id", "origin", "landing_page_id"]].rename(columns={"mql_id": "account_id"})
    deals = mql[["mql_id", "first_contact_date"]].merge(
        won[["mql_id", "won_date"]], on="mql_id", how="left"
    )
    deals = pd.DataFrame(
        {
            "deal_id": deals["mql_id"],
            "account_id": deals["mql_id"],
            "created_at": deals["first_contact_date"],
            "closed_at": deals["won_date"].str[:10],
            "outcome": deals["won_date"].notna().map({True: "won", False: "lost"}),
        }
    )
    a, dl = tmp / "olist_accounts.csv", tmp / "olist_deals.csv"
    accounts.to_csv(a, index=False)
    deals.to_csv(dl, index=False)
    return {"accounts": a, "deals": dl}


def maven(_tmp: Path) -> dict[str, Path] | None:
    d = DATASETS / "maven_crm"
    if not d.exists():
        return None
    return {"accounts": d / "accounts.csv", "deals": d / "sales_pipeline.csv"}


def sample(tmp: Path) -> dict[str, Path] | None:
    from icpkit.sample import write_sample

    files = write_sample(tmp / "sample")
    return {"accounts": files["accounts"], "deals": files["deals"]}


DATASET_BUILDERS = {
    "maven_crm": maven,
    "olist_marketing_funnel": olist,
    "icpkit sample": sample,
}


def _f(v: float | None, fmt: str = "{:.3f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def ebm_peers(files: dict[str, Path]) -> str:
    """EBM peers (additive / 10 pairs) on the raw columns, on the first repeat's folds of the
    default split; "n/a" when interpret is not installed."""
    try:
        from interpret.glassbox import ExplainableBoostingClassifier
    except ImportError:
        return "n/a"
    import numpy as np
    from threadpoolctl import threadpool_limits

    from icpkit.mining.segments import training_frame
    from icpkit.validation import load_inputs
    from icpkit.validation.backtest import closed_deals, plan_splits, run_fold
    from icpkit.validation.metrics import auc
    from icpkit.validation.peers import RawEncoder

    acc, dl, kinds, families, _ = load_inputs(files["accounts"], files["deals"])
    closed = closed_deals(dl)
    plan = plan_splits(closed)
    won: list[np.ndarray] = []
    ebm: dict[int, list[np.ndarray]] = {0: [], 10: []}
    for split in (s for s in plan.splits if s.repeat == 0):
        with threadpool_limits(limits=1):
            fold = run_fold(acc, closed, split, kinds=kinds, families=families)
        won.append(fold.scored["won"].to_numpy(dtype=bool))
        left_out = {e.column for e in fold.build.icp.excluded_columns}
        allowed = {c: k for c, k in kinds.items() if c not in left_out}
        raw = training_frame(acc, closed.iloc[split.train].reset_index(drop=True))
        enc = RawEncoder().fit(raw.frame, allowed)
        Xtr, cat = enc.native(raw.frame)
        Xte, _ = enc.native(fold.rows)
        types = ["nominal" if c else "continuous" for c in cat]
        for pairs in ebm:
            model = ExplainableBoostingClassifier(
                feature_types=types, interactions=pairs, n_jobs=1, random_state=0
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # interpret's note on missing values in plots
                model.fit(Xtr, raw.won.astype(int))
            ebm[pairs].append(model.predict_proba(Xte)[:, 1])
    w = np.concatenate(won)
    return " / ".join(_f(auc(w, np.concatenate(ebm[k]))) for k in ebm)


def by_history(peers: dict) -> str:
    """The validation's gap to the best peer on held-out deals of accounts new to the training
    deals and of accounts seen there (``peers["by_history"]``), with n."""
    hist = peers.get("by_history")
    if not hist:
        return "n/a"
    return ", ".join(
        f"{label} " + ("n/a" if h["gap"] is None else f"{h['gap']:+.3f}") + f" (n={h['n']:,})"
        for label, h in hist.items()
    )


def row(name: str, files: dict[str, Path], permutations: int) -> dict[str, str]:
    from icpkit.validation import validate_files

    t0 = time.perf_counter()
    r = validate_files(files["accounts"], files["deals"], permutations=permutations)
    seconds = time.perf_counter() - t0
    auc = r["peers"]["auc"]
    io = r["heldout"]["in_vs_out"]
    n = r["null_control"]
    split = r["split"]
    rec = r["recommendation"]
    mono = r["heldout"]["monotonicity"]
    value = r["heldout"]["value"]
    excl = r["accounts_by_tier"]["excluded"]["share"]
    if rec["action"] in ("narrow", "widen"):
        rec_txt = (
            f"{rec['action']} to >= {rec['min_score']}: {rec['in_out']:.2f}x held out (n={rec['n_in']:,})"
            + ("" if rec.get("confirmed", True) else ", not confirmed")
        )
    elif rec["action"] == "keep":
        rec_txt = "keep"
    else:
        best = rec.get("best_supported")
        rec_txt = "none reaches 3x" + (
            f" (best {best['ratio']:.2f}x at >= {best['threshold']:.0f})" if best else ""
        )
    icp_value = value["groups"][3] if value else None
    return {
        "dataset": name,
        "n": f"{r['data']['closed_deals']:,}",
        "split": f"time ({split['test_deals']:,} held out)"
        if split["method"] == "time"
        else f"{split['folds']}-fold CV x {split['repeats']}",
        "AUC icpkit": _f(auc.get("icpkit")),
        "AUC logistic (raw)": _f(auc.get("logistic")),
        "AUC boosting (raw)": _f(auc.get("boosting")),
        "AUC forest (raw)": _f(auc.get("forest")),
        "AUC logistic (bins)": _f(auc.get("logistic_bins")),
        "gap to best (95% CI)": "n/a"
        if r["peers"]["gap"] is None
        else f"{r['peers']['gap']:+.3f}"
        + (
            f" ({r['peers']['gap_ci'][0]:+.3f} to {r['peers']['gap_ci'][1]:+.3f})"
            if r["peers"]["gap_ci"]
            else ""
        ),
        "AUC EBM additive / pairs (raw)": ebm_peers(files),
        "gap to best on accounts new / seen in training": by_history(r["peers"]),
        "AUC icpkit before vetoes": _f(r["peers"].get("icpkit_unvetoed_auc")),
        "excluded share": _f(excl, "{:.1%}"),
        "in/out ratio": _f(io["ratio"], "{:.2f}x")
        + ("" if io["ratio"] is None else f" ({io['ratio_ci_low']:.2f}-{io['ratio_ci_high']:.2f})"),
        "recommended in/out": rec_txt,
        "tiers monotone": "pass"
        if mono["monotone"]
        else "fail" + (" (significant)" if mono["significant_violation"] else ""),
        "ICP value capture": "n/a"
        if icp_value is None or icp_value["won_revenue_share"] is None
        else f"{icp_value['won_revenue_share']:.0%} of won revenue / {icp_value['account_share']:.0%} of accounts",
        "Tier 1 share of wins": _f(r["heldout"]["tier_share_of_wins"]["1"], "{:.1%}"),
        "null FD (mean / max)": f"{n['false_discoveries_mean']:.1f} / {n['false_discoveries_max']} "
        f"({n['permutations']} of {n['permutations_planned']} shuffles)",
        "real significant": str(n["real"]["significant"]),
        "verdict": r["verdict"]["strength"],
        "seconds": f"{seconds:.0f}",
    }


def table(rows: list[dict[str, str]]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--permutations", type=int, default=20)
    ap.add_argument("--write", type=Path, help="also write the table into this Markdown file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in DATASET_BUILDERS.items():
            files = build(Path(tmp))
            if files is None:
                print(f"skipped {name}: dataset not available", file=sys.stderr)
                continue
            print(f"validating {name} …", file=sys.stderr, flush=True)
            rows.append(row(name, files, args.permutations))
    text = table(rows)
    print(text)
    if args.write:
        write_doc(args.write, text)
        print(f"wrote {args.write}", file=sys.stderr)


def write_doc(path: Path, text: str) -> None:
    """Replace the measured table between the markers in ``path`` (or create the file)."""
    start, end = "<!-- quality-table:start -->", "<!-- quality-table:end -->"
    block = f"{start}\n{text}\n{end}"
    if path.exists() and start in (old := path.read_text(encoding="utf-8")):
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) :]
    else:
        new = f"# Quality on held-out deals\n\n{block}\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
