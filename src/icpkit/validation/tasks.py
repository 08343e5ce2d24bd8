"""Validation's independent parts on a few threads, or inline when there is one job.

What overlaps and what does not (measured on two cores, 58,000 training
deals): the ICP's fit is mostly Python and holds the interpreter lock, so two
fits side by side take as long as one after the other; the peers' tree
building (random forest, gradient boosting) runs in compiled code that
releases it. The backtest therefore fits one fold at a time and runs the
rest beside the fits: each fold's peers and held-out scoring, the null
control, scoring every account.

Threads, not processes: inside ``icp run`` the fitting function reads the
workspace's DuckDB file (retention as of each fold's cutoff), whose
connection and lock stay in the process; the workspace serialises its reads
with a lock of its own.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

from ..errors import InputError

T = TypeVar("T")

# closed deals from which automatic jobs (``jobs=None``) run validation on several threads.
# Two threads side by side each take about a third more CPU time than alone (they contend
# for the interpreter lock, the caches and memory), so the overlap must be long to pay: on
# the mixed CRM of benchmarks/run.py, 10,000 deals took 5.7 s on two threads and 5.0 s on
# one, 30,000 deals 10.3 s and 11.4 s (docs/performance.md)
PARALLEL_MIN_DEALS = 20_000
MAX_AUTO_JOBS = 4  # the parts that can overlap are about this many wide


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers(jobs: int | None, closed_deals: int) -> int:
    """Threads for validation: ``jobs`` when given, else automatic (see ``PARALLEL_MIN_DEALS``)."""
    if jobs is None:
        if closed_deals < PARALLEL_MIN_DEALS:
            return 1
        return max(1, min(cores(), MAX_AUTO_JOBS))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(f"--jobs must be an int >= 1; got {jobs!r}")
    return jobs


# the order in which waiting tasks start (lowest first), so the parts that hold up the end
# of the run start first
CHAIN = 0  # the folds' fits, one after the other, and each fold's held-out part the peers wait on
LONGEST = 1  # the random forest, the longest peer: not left running alone at the end
PEER = 2  # the other peers
BESIDE = 3  # what no fold waits on: the null control, out-of-fold scores, accounts by tier


def _one_thread() -> None:
    # OpenMP's thread count is set per thread, so each worker limits its own
    # (gradient boosting in a worker otherwise starts one OpenMP thread per core,
    # and two workers oversubscribe the cores); the BLAS limit is process-wide and
    # is already one under ``validate``
    threadpool_limits(limits=1)


_Job = tuple[
    int, int, "tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None"
]


class Tasks:
    """Run functions on ``jobs`` threads, or at once in the caller when ``jobs`` is 1.

    Either way ``submit`` returns a :class:`~concurrent.futures.Future`, so the
    caller reads results (and their exceptions) the same way. Waiting tasks
    start in the order of their ``priority`` (``CHAIN`` first), then of
    submission. A task may submit further tasks but never waits on one (which
    could deadlock the threads): the caller's thread collects the results.

    While the threads run, the warning filters are saved once and library
    warnings are ignored: the fits silence theirs with
    ``warnings.catch_warnings``, which swaps the process-wide filter list and is
    not safe across threads; the filters are restored when the threads stop.
    """

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs
        self._queue: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._filters: warnings.catch_warnings | None = None

    @property
    def parallel(self) -> bool:
        return self.jobs > 1

    def __enter__(self) -> Tasks:
        if self.parallel:
            self._filters = warnings.catch_warnings()
            self._filters.__enter__()
            warnings.simplefilter("ignore")
            self._threads = [
                threading.Thread(target=self._work, name=f"icpkit-validate-{i}", daemon=True)
                for i in range(self.jobs)
            ]
            for t in self._threads:
                t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._threads:
            # after an error the waiting tasks are dropped; running ones finish
            while True:
                try:
                    _p, _n, job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
            for _ in self._threads:
                self._queue.put((sys.maxsize, next(self._order), None))
            for t in self._threads:
                t.join()
            self._threads = []
        if self._filters is not None:
            self._filters.__exit__(None, None, None)
            self._filters = None

    def _work(self) -> None:
        _one_thread()
        while True:
            _p, _n, job = self._queue.get()
            if job is None:
                return
            done, fn, args, kwargs = job
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # read back by .result() in the caller's thread
                done.set_exception(exc)

    def submit(
        self, priority: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> Future[T]:
        done: Future[T] = Future()
        if self._threads:
            self._queue.put((priority, next(self._order), (done, fn, args, kwargs)))
            return done
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:  # read back by .result(), as from a thread
            done.set_exception(exc)
        return done
