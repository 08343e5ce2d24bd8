"""Benchmark `icp build` cost as data grows: time and peak memory of fitting an ICP.

    python benchmarks/build.py --accounts 100000 1000000

Each size runs in a fresh subprocess so peak memory (ru_maxrss) is its own. The
frames generated for the workspace are dropped before the build, which reads
everything from the workspace as `icp build` does.
The peer is the cost of merely loading the same frames into the workspace.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one(n: int, workdir: Path) -> dict:
    import resource

    sys.path.insert(0, str(HERE))
    from _data import accounts, deals

    from icpkit.pipeline import step_build
    from icpkit.workspace import Workspace

    acc = accounts(n)
    dl = deals(acc)
    kinds = {
        c: ("num" if acc[c].dtype.kind == "f" else "list" if c == "tech_stack" else "str")
        for c in acc.columns
        if c != "account_id"
    }
    acc["tech_stack"] = acc["tech_stack"].str.split(";")
    ws = Workspace(workdir / f"ws{n}")
    t0 = time.perf_counter()
    from icpkit.ingest import infer_family

    ws.record_ingest(
        {"accounts": acc, "deals": dl},
        {"accounts": ("synthetic", "a"), "deals": ("synthetic", "d")},
        {"accounts": kinds},
        {"accounts": {c: infer_family(c) for c in kinds}},
    )
    t_load = time.perf_counter() - t0
    # `icp build` reads everything from the workspace: the generated frames go first
    n_deals = len(dl)
    del acc, dl
    gc.collect()
    t1 = time.perf_counter()
    build = step_build(ws)
    t_build = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        "accounts": n,
        "deals": n_deals,
        "load_s": round(t_load, 2),
        "build_s": round(t_build, 2),
        "peak_gib": round(peak, 2),
        "auc": round(build.model.cv_auc_, 3),
        "load_avg": round(os.getloadavg()[0], 1),  # other work on the machine, 1-minute
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/icpkit-bench-build"))
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        a.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(one(a.one, a.workdir)))
        return
    rows = []
    for n in a.accounts:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--workdir", str(a.workdir)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            print(out.stderr[-3000:])
            raise SystemExit(out.returncode)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print(
        f"\n{'accounts':>10} {'deals':>10} {'load s':>8} {'build s':>8} {'peak GiB':>9} {'AUC':>6} {'load avg':>9}"
    )
    for r in rows:
        print(
            f"{r['accounts']:>10,} {r['deals']:>10,} {r['load_s']:>8} {r['build_s']:>8} {r['peak_gib']:>9} {r['auc']:>6} {r['load_avg']:>9}"
        )
    if len(rows) > 1:
        a0, a1 = rows[0], rows[-1]
        growth = (a1["build_s"] / a0["build_s"]) / (a1["accounts"] / a0["accounts"])
        print(f"\ncost growth vs linear: {growth:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()
