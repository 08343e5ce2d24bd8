"""Benchmark small runs, whole process: ``icp run`` on ~450 deals x 22 attributes, ``icp demo``.

    python benchmarks/run.py                 # 3 runs of each, best kept
    python benchmarks/run.py --repeat 5 --deals 450
    python benchmarks/run.py --mixed --deals 78000 --repeat 1 --only "icp run" "icp run --no-validate"

Writes a synthetic CRM (``--deals`` accounts with one closed deal each,
22 categorical attributes, a planted pattern) and times, each as its own
process from the outside (start-up, imports, work, writing):

- ``icp run``: the whole chain (ingest, build, personas, validation, report);
- ``icp run --no-validate``: the same without the backtest;
- ``icp demo``: the chain on the bundled sample company (3,000 accounts);
- ``import floor``: ``python -c "import pandas, sklearn.linear_model, scipy.stats"``,
  the libraries any Python tool doing this work loads before it starts.

Targets: ``icp run`` under 5 s, ``icp demo`` under 15 s (wall time, idle machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLI = "import sys; from icpkit.cli import main; sys.argv[0] = 'icp'; main()"


def write_crm(folder: Path, n: int) -> dict[str, Path]:
    """``n`` accounts x 22 categorical attributes, one closed deal each; two attributes matter."""
    import numpy as np
    import pandas as pd

    r = np.random.default_rng(11)
    cols = {
        f"attr_{k:02d}": r.choice([f"v{k}_{j}" for j in range(3 + k % 6)], n) for k in range(22)
    }
    acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "name": [f"Co {i}" for i in range(n)], **cols})  # fmt: skip
    p = 0.2 + 0.4 * (acc["attr_00"] == "v0_0") + 0.2 * (acc["attr_05"] == "v5_1")
    won = r.random(n) < p
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 500, n), unit="D")
    closed = created + pd.to_timedelta(r.integers(10, 120, n), unit="D")
    amount = r.integers(1000, 50000, n)
    return _save(folder, acc, acc["account_id"].to_numpy(), won, created, closed, amount)


def write_mixed_crm(folder: Path, n: int) -> dict[str, Path]:
    """``n`` dated opportunities on ``n // 2`` accounts, as a real CRM export looks.

    20 categorical attributes (3 to 60 levels, skewed, some blanks, a long
    tail on a few), 4 zero-heavy numbers (seats, usage, tickets, spend: mostly
    0), a win rate near 25%, and signal spread over several attributes and one
    number, plus noise.
    """
    import numpy as np
    import pandas as pd

    r = np.random.default_rng(12)
    n_acc = max(10, n // 2)
    cols: dict[str, np.ndarray] = {}
    for k in range(20):
        levels = [3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60][k % 13]
        w = r.zipf(1.6, levels).astype(float) + r.random(levels)
        w /= w.sum()
        v = r.choice([f"c{k}_{j}" for j in range(levels)], n_acc, p=w).astype(object)
        v[r.random(n_acc) < (0.02 + 0.03 * (k % 4))] = ""
        cols[f"cat_{k:02d}"] = v
    for k, name in enumerate(("seats", "monthly_usage", "tickets", "spend")):
        x = r.lognormal(2 + k, 1.2, n_acc).round()
        x[r.random(n_acc) < (0.55 + 0.1 * k)] = 0
        cols[name] = x
    acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n_acc)], "name": [f"Co {i}" for i in range(n_acc)], **cols})  # fmt: skip
    logit = (
        -1.6
        + 0.9 * (acc["cat_00"] == "c0_1")
        + 0.6 * (acc["cat_03"] == "c3_0")
        - 0.7 * (acc["cat_07"] == "c7_2")
        + 0.5 * (acc["cat_11"] == "c11_3")
        + 0.35 * np.log1p(acc["monthly_usage"]) / 3
        + r.normal(0, 0.6, n_acc)  # what the attributes do not explain
    )
    who = r.integers(0, n_acc, n)
    p = 1 / (1 + np.exp(-logit.to_numpy()[who]))
    won = r.random(n) < p
    created = pd.Timestamp("2022-01-01") + pd.to_timedelta(r.integers(0, 900, n), unit="D")
    closed = created + pd.to_timedelta(r.integers(5, 180, n), unit="D")
    amount = r.integers(1000, 80000, n)
    return _save(folder, acc, acc["account_id"].to_numpy()[who], won, created, closed, amount)


def _save(
    folder: Path,
    acc: pd.DataFrame,
    account_ids: np.ndarray,
    won: np.ndarray,
    created: pd.DatetimeIndex,
    closed: pd.DatetimeIndex,
    amount: np.ndarray,
) -> dict[str, Path]:
    """Write the accounts and one closed deal per row of the other arguments, as CSV files."""
    import numpy as np
    import pandas as pd

    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(len(won))],
            "account_id": account_ids,
            "created_at": created.strftime("%Y-%m-%d"),
            "closed_at": closed.strftime("%Y-%m-%d"),
            "outcome": np.where(won, "Closed Won", "Closed Lost"),
            "amount": amount,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    acc.to_csv(folder / "accounts.csv", index=False)
    deals.to_csv(folder / "deals.csv", index=False)
    return {"accounts": folder / "accounts.csv", "deals": folder / "deals.csv"}


def timed(cmd: list[str], out: Path | None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one process; ``out`` is removed first."""
    if out is not None and out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[3:])} failed:\n{err[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--deals", type=int, default=450)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/icpkit-bench-run"))
    ap.add_argument(
        "--mixed",
        action="store_true",
        help="the mixed CRM (dated opportunities on half as many accounts, 20 categorical "
        "attributes, 4 zero-heavy numbers) instead of 22 categorical attributes",
    )
    ap.add_argument("--only", nargs="*", default=None, help="run only these cases, e.g. 'icp run'")
    a = ap.parse_args()
    files = (write_mixed_crm if a.mixed else write_crm)(a.workdir / "crm", a.deals)
    out = a.workdir / "out"
    py = sys.executable
    run = [py, "-c", CLI, "run", "--accounts", str(files["accounts"]), "--deals", str(files["deals"]), "--out", str(out)]  # fmt: skip
    cases = {
        "icp run": (run, out),
        "icp run --no-validate": ([*run, "--no-validate"], out),
        "icp demo": ([py, "-c", CLI, "demo", "--out", str(a.workdir / "demo")], a.workdir / "demo"),
        "import floor": ([py, "-c", "import pandas, sklearn.linear_model, scipy.stats"], None),
    }
    if a.only is not None:
        cases = {k: v for k, v in cases.items() if k in a.only}
    best: dict[str, tuple[float, float]] = {}
    for rep in range(a.repeat):
        for name, (cmd, target) in cases.items():
            wall, cpu = timed(cmd, target)
            print(
                f"{rep + 1}/{a.repeat} {name:>22}: {wall:6.2f} s wall  {cpu:6.2f} s CPU", flush=True
            )
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
    shape = "mixed CRM, 24 attributes" if a.mixed else "22 attributes"
    print(f"\nbest of {a.repeat} ({a.deals} deals, {shape}, for icp run):")
    print("| command | wall time | CPU time (user + system) |\n|---|---:|---:|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s |")


if __name__ == "__main__":
    main()
