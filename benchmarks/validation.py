"""Where validation's CPU goes, part by part, on a large table (in process).

    python benchmarks/validation.py --deals 78000
    python benchmarks/validation.py --deals 78000 --profile /tmp/val.prof
    python benchmarks/validation.py --deals 78000 --jobs 1 2   # serial, then on 2 threads

Writes the mixed CRM of ``benchmarks/run.py`` (``--deals`` dated
opportunities on half as many accounts, 20 categorical attributes and 4
zero-heavy numbers), reads it as ``icp validate`` does, learns the ICP once
(as ``icp run`` has by the time it validates) and then times ``validate``,
with the CPU seconds (user + system, this process and its threads) of each
part: the refits of the ICP per fold, the raw-column peers, the peer on
icpkit's bins, scoring the held-out deals, the null control, the breadth
curves and the 3x recommendation, the training deals' out-of-fold scores, the
peer comparison's bootstrap and scoring every account. ``--profile`` also
writes a cProfile file of the validation.

``--idle`` waits before each validation until two threads of compiled work
get two cores (on a machine shared with other jobs, where another busy
process leaves this one a single core and threads cannot overlap), and prints
the cores found free before and after each run.

``--jobs`` runs the validation once per value, in this order, in the same
process (1: one part after the other; more: the parts that can overlap run on
that many threads), prints the wall and CPU time of each and checks that the
results are the same apart from their timestamps. A part's CPU time is that of
the thread it ran on, so with several jobs the parts add up to the process's
CPU time only roughly (the waiting main thread, the threads' start).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import write_mixed_crm  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def free_cores(seconds: float = 0.3) -> float:
    """Cores two threads of hashing (compiled, without the interpreter lock) get: about 2 on
    an idle two-core machine, about 1 when another busy process shares it."""
    data = b"x" * 4_000_000
    stop = time.perf_counter() + seconds

    def spin() -> None:
        while time.perf_counter() < stop:
            hashlib.sha256(data).digest()

    t0, w0 = cpu(), time.perf_counter()
    threads = [threading.Thread(target=spin) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (cpu() - t0) / (time.perf_counter() - w0)


def wait_idle(limit: float = 900.0) -> float:
    """Wait (at most ``limit`` seconds) until two cores are free; the cores found."""
    end = time.perf_counter() + limit
    while (free := free_cores()) < 1.7 and time.perf_counter() < end:
        time.sleep(5)
    return free


SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timer(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its CPU seconds (of the thread it runs on) added to ``SPENT[name]``."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.thread_time() - t0
            CALLS[name] += 1

    return wrapped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--deals", type=int, default=78_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/icpkit-bench-validation"))
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--split", choices=("time", "cv"), default=None, help="default: time (dated)")
    ap.add_argument("--repeats", type=int, default=2, help="cross-validation repeats")
    ap.add_argument("--idle", action="store_true", help="wait for two free cores before each run")
    ap.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=[None],
        help="threads, one run per value (default: automatic)",
    )
    a = ap.parse_args()

    from icpkit import validation as v
    from icpkit.profile import fit_icp
    from icpkit.validation import backtest as bt
    from icpkit.validation import breadth, null, peers

    folder = a.workdir / f"mixed-{a.deals}"
    if not (folder / "deals.csv").exists():
        write_mixed_crm(folder, a.deals)
    t0 = cpu()
    acc, dl, kinds, families, _w = v.load_inputs(folder / "accounts.csv", folder / "deals.csv")
    t_read = cpu() - t0
    t0 = cpu()
    icp = fit_icp(acc, dl, kinds=kinds, families=families).icp
    t_build = cpu() - t0

    # the peers' encoding, fits and predictions (fit_predict_peer calls the last two)
    for step in ("raw_training", "raw_test", "fit_peer", "predict_peer"):
        setattr(bt.peer_models, step, timer("peers on raw columns", getattr(peers, step)))
    bt.peer_models.fit_predict_bins = timer(
        "peer on icpkit's bins", bt.peer_models.fit_predict_bins
    )
    bt.score_heldout = timer("scoring held-out deals", bt.score_heldout)
    v.null_mod.null_control = timer("null control", null.null_control)
    v.breadth_mod.curve = timer("breadth curves", breadth.curve)
    v.breadth_mod.recommend = timer("3x recommendation", breadth.recommend)
    v.training_scores = timer("training out-of-fold scores", v.training_scores)
    v.peer_mod.compare = timer("peer comparison (bootstrap)", peers.compare)
    v.score_accounts = timer("scoring every account", v.score_accounts)
    fit = timer("refits per fold (the ICP)", fit_icp)

    results = {}
    for jobs in a.jobs:
        SPENT.clear()
        CALLS.clear()
        result = run(a, v, acc, dl, kinds, families, icp, fit, jobs)
        result.pop("generated_at")
        results[jobs] = v.to_json(result)
    if len(results) > 1:
        same = len(set(results.values())) == 1
        print(
            f"results of jobs {' and '.join(map(str, results))}: {'identical' if same else 'DIFFERENT'}"
        )
    print(f"read {t_read:.1f} s CPU, build {t_build:.1f} s CPU (before validating)")


def run(
    a: argparse.Namespace,
    v: Any,
    acc: Any,
    dl: Any,
    kinds: dict[str, str],
    families: dict[str, str],
    icp: Any,
    fit: Callable[..., Any],
    jobs: int | None,
) -> dict[str, Any]:
    options: dict[str, Any] = {"split": a.split, "repeats": a.repeats, "jobs": jobs}
    prof = cProfile.Profile() if a.profile else None
    before = wait_idle() if a.idle else None
    w0 = time.perf_counter()
    t0 = cpu()
    if prof:
        prof.enable()
    result: dict[str, Any] = v.validate(
        acc,
        dl,
        kinds=kinds,
        families=families,
        icp=icp,
        fit=fit,
        min_support=icp.evidence.min_support,
        **options,
    )
    if prof:
        prof.disable()
        prof.dump_stats(a.profile)
    total = cpu() - t0
    wall = time.perf_counter() - w0

    closed = result["data"]["closed_deals"]
    print(
        f"\n{a.deals:,} deals ({closed:,} closed) on {len(acc):,} accounts; split {result['split']['method']}"
    )
    print(f"validate, jobs {jobs or 'automatic'}: {total:.1f} s CPU, {wall:.1f} s wall")
    if before is not None:
        print(f"cores free before and after: {before:.1f}, {free_cores():.1f}")
    print()
    print("| part | calls | CPU time | share of validate |\n|---|---:|---:|---:|")
    # the peers and held-out scoring run inside the refit timer's fold loop, not inside fit
    for name, s in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {CALLS[name]} | {s:.1f} s | {s / total:.0%} |")
    rest = total - sum(SPENT.values())
    print(f"| everything else | | {rest:.1f} s | {rest / total:.0%} |")
    h, p, n = result["heldout"], result["peers"], result["null_control"]
    print(f"\nheld-out AUC {h['roc_auc']}, n {h['n']}; peers {p['auc']}")
    print(f"null control: {n['permutations']} shuffles, false discoveries {n['null_significant']}")
    for r in result["repeats"]:
        print(f"repeat {r['repeat']}: AUC {r['roc_auc']}, n {r['deals']}")
    print(f"verdict: {result['verdict']['strength']}")
    for line in result.get("shortcuts", []):
        print(f"shortened to scale: {line}")
    for line in result["not_checked"]:
        print(f"not checked: {line}")
    return result


if __name__ == "__main__":
    main()
