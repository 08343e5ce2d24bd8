"""Validation on several threads: the same figures as one part after the other."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from icpkit.errors import InputError, InsufficientData
from icpkit.profile import fit_icp
from icpkit.validation import backtest, load_inputs, to_json, validate, validate_files
from icpkit.validation.tasks import MAX_AUTO_JOBS, PARALLEL_MIN_DEALS, cores, workers

from .conftest import dataset
from .test_validation import FAMILIES, KINDS, make_crm

WORKER = "icpkit-validate"


def _same(a: dict[str, Any], b: dict[str, Any]) -> str:
    """The result as validation.json has it, without the time it was made."""
    return to_json({k: v for k, v in a.items() if k != "generated_at"}) == to_json(
        {k: v for k, v in b.items() if k != "generated_at"}
    )


class ThreadSpy:
    """The fitting function, noting the thread each fit ran on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, accounts: Any, deals: Any, **kw: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        return fit_icp(accounts, deals, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("split", ["time", "cv"])
def test_maven_figures_are_the_same_on_two_threads(split):
    """Maven's 6,711 closed deals, below the automatic threshold: forced onto two threads.
    With the time split the ICP is given (as `icp run` gives it), so the raw peers start
    beside the fold's fit; with cross-validation it is learned at the end."""
    files = (dataset("maven_crm", "accounts.csv"), dataset("maven_crm", "sales_pipeline.csv"))
    options: dict[str, Any] = {}
    if split == "time":
        acc, dl, kinds, families, _w = load_inputs(*files)
        options["icp"] = fit_icp(acc, dl, kinds=kinds, families=families).icp
    runs = {}
    for jobs in (1, 2):
        spy = ThreadSpy()
        runs[jobs] = validate_files(
            *files, split=split, repeats=1, permutations=5, jobs=jobs, fit=spy, **options
        )
        # the fold fits (and, without an ICP given, the one on all deals) ran where expected
        folds = 1 if split == "time" else 5
        assert len(spy.threads) == folds + (0 if options else 1)
        on_workers = [t.startswith(WORKER) for t in spy.threads[:folds]]
        assert on_workers == [jobs > 1] * folds, spy.threads
    assert _same(runs[1], runs[2])
    assert runs[2]["peers"]["auc"].keys() == {
        "icpkit",
        "logistic",
        "boosting",
        "forest",
        "logistic_bins",
    }
    assert runs[2]["heldout"]["n"] == (1679 if split == "time" else 6711)


@pytest.mark.slow
def test_icp_run_figures_are_the_same_on_two_threads(sample_run, tmp_path):
    """Inside `icp run` each fold reads retention from the workspace as of its cutoff
    (the value objective): from a worker thread, the same figures."""
    from icpkit.validation.hooks import validation_step
    from icpkit.workspace import Workspace

    figures = {}
    with Workspace(sample_run.copy(tmp_path / "out")) as ws:
        icp = ws.current_icp()
        assert icp.training is not None and icp.training.objective == "value"
        for jobs in (1, 2):
            checked = validation_step(ws, icp, churn_source="revenue", jobs=jobs)
            assert checked.figures is not None
            figures[jobs] = checked.figures
    assert figures[2]["split"]["objective"] == "value"
    assert _same(figures[1], figures[2])


def _with_planted_failures(acc: Any, deals: Any, jobs: int, monkeypatch: Any) -> dict[str, Any]:
    """Validate with the second fold's fit and the first fold's held-out scoring failing."""
    builds: list[Any] = []
    real_score = backtest.score_heldout

    def fit(accounts: Any, d: Any, **kw: Any) -> Any:
        # fits start in the plan's order, one at a time, with any number of jobs
        builds.append(None if len(builds) == 1 else fit_icp(accounts, d, **kw))
        if builds[-1] is None:
            raise InsufficientData("planted: too few deals")
        return builds[-1]

    def score(build: Any, *a: Any, **kw: Any) -> Any:
        if build is builds[0]:
            raise InsufficientData("planted: cannot score")
        return real_score(build, *a, **kw)

    with monkeypatch.context() as m:
        m.setattr(backtest, "score_heldout", score)
        return validate(
            acc,
            deals,
            kinds=KINDS,
            families=FAMILIES,
            repeats=1,
            permutations=3,
            fit=fit,
            jobs=jobs,
        )


def test_a_fold_that_fails_is_skipped_with_the_same_note_on_two_threads(monkeypatch):
    """The second fold's fit runs out of deals; the first fold's held-out scoring fails after
    the null control was already started on its model: both skipped, as one after the other."""
    acc, deals = make_crm(900, dates=False, seed=3)
    results = {jobs: _with_planted_failures(acc, deals, jobs, monkeypatch) for jobs in (1, 2)}
    skipped = [w for w in results[2]["warnings"] if "skipped" in w]
    assert len(skipped) == 2 and "planted: cannot score" in skipped[0], skipped
    assert "planted: too few deals" in skipped[1]
    unscored = sum(int(w.split("its ")[1].split()[0]) for w in skipped)
    assert results[2]["heldout"]["n"] == 900 - unscored
    assert _same(results[1], results[2])


def test_an_unexpected_error_in_a_worker_reaches_the_caller():
    acc, deals = make_crm(600, seed=5)

    def fit(*a: Any, **kw: Any) -> Any:
        raise RuntimeError("planted bug")

    with pytest.raises(RuntimeError, match="planted bug"):
        validate(acc, deals, kinds=KINDS, families=FAMILIES, permutations=2, fit=fit, jobs=2)


def test_automatic_jobs_start_at_the_threshold_and_bad_jobs_are_refused():
    assert workers(None, PARALLEL_MIN_DEALS - 1) == 1
    assert workers(None, PARALLEL_MIN_DEALS) == max(1, min(cores(), MAX_AUTO_JOBS))
    assert workers(1, 10**6) == 1 and workers(3, 10) == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError):
            workers(bad, 100)  # type: ignore[arg-type]


def test_cli_help_states_the_threshold():
    from icpkit.cli.common import JobsOpt

    help_text = JobsOpt.__metadata__[0].help
    assert f"{PARALLEL_MIN_DEALS:,} closed deals" in help_text


@pytest.mark.parametrize("hint", [set(), {"country"}], ids=["expected", "other"])
def test_peers_started_beside_the_fit_give_the_serial_backtest(hint, monkeypatch):
    """The raw peers start on the columns the fold is expected to keep, before its fit is
    back; used when the fold kept exactly those (it excludes none here), else learned again."""
    import pandas as pd

    from icpkit.validation import peers
    from icpkit.validation.tasks import Tasks

    acc, deals = make_crm(2000, seed=7)
    closed = backtest.closed_deals(deals)
    plan = backtest.plan_splits(closed)
    serial = backtest.run_backtest(acc, closed, plan, kinds=KINDS, families=FAMILIES)
    events: list[str] = []
    real = peers.raw_training

    def fit(accounts: Any, d: Any, **kw: Any) -> Any:
        build = fit_icp(accounts, d, **kw)
        assert not build.icp.excluded_columns
        events.append("fit returned")
        return build

    def training(*a: Any, **kw: Any) -> Any:
        events.append("peers started")
        return real(*a, **kw)

    monkeypatch.setattr(peers, "raw_training", training)
    with Tasks(2) as tasks:
        par = backtest.run_backtest(
            acc,
            closed,
            plan,
            fit=fit,
            kinds=KINDS,
            families=FAMILIES,
            tasks=tasks,
            excluded_hint=hint,
        )
    pd.testing.assert_frame_equal(serial.repeat(0), par.repeat(0))
    pd.testing.assert_frame_equal(serial.repeat_rows(0), par.repeat_rows(0))
    assert [c for c in par.repeat(0) if c.startswith("p_")] == [
        "p_logistic",
        "p_boosting",
        "p_forest",
        "p_logistic_bins",
    ]
    if hint:
        # learned again on the fold's own columns once its fit was back
        assert events[-1] == "peers started" and events.index("fit returned") < len(events) - 1
    else:
        assert events.count("peers started") == 1  # what started beside the fit was used


def test_jobs_option_on_the_commands_that_validate(small_crm, tmp_path):
    from typer.testing import CliRunner

    from icpkit.cli import app

    files = ["--accounts", str(small_crm["accounts"]), "--deals", str(small_crm["deals"])]
    for command in ("validate", "run"):
        bad = CliRunner().invoke(
            app, [command, *files, "--out", str(tmp_path / "x"), "--jobs", "0"]
        )
        assert bad.exit_code == 2 and "--jobs" in bad.output, bad.output
    out = tmp_path / "val"
    r = CliRunner().invoke(app, ["validate", *files, "--out", str(out), "--jobs", "2"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "validation.json").read_text())["heldout"]["n"] > 0
