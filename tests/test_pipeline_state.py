"""State: one ICP version per run, drift against the previous run, atomic `icp run`."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import icpkit
from icpkit import icpfile
from icpkit.cli import app
from icpkit.errors import IcpFileError
from icpkit.ingest import ingest
from icpkit.pipeline import (
    KILL_ENV,
    STEPS,
    recover,
    run_all,
    settings,
    staging_dir,
    step_build,
)
from icpkit.sample import write_sample
from icpkit.workspace import Workspace

SRC = Path(icpkit.__file__).resolve().parents[1]
OUTPUTS = ("icp.yaml", "scores.csv", "segments.csv", "health.csv", "report.html", "report.md")
TABLES = ("accounts", "deals", "contacts", "scores", "segments", "health")


def _no_stamp(text: str) -> str:
    return re.sub(r"(?m)^generated_at:.*$", "", text)


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small sample company, and a copy of its deals where a third of the outcomes flip."""
    d = tmp_path_factory.mktemp("company")
    files = write_sample(d / "sample", n_accounts=100)
    paths = {k: files[k] for k in ("accounts", "deals", "contacts", "revenue", "conversations")}
    deals = pd.read_csv(files["deals"])
    flip = deals.index[::3]
    closed = deals.loc[flip, "outcome"].isin(["won", "lost"])
    flip = flip[closed.to_numpy()]
    deals.loc[flip, "outcome"] = deals.loc[flip, "outcome"].map({"won": "lost", "lost": "won"})
    deals.to_csv(d / "deals_changed.csv", index=False)
    market = pd.read_csv(files["accounts"])
    market["account_id"] = "M-" + market["account_id"].astype(str)
    market.to_csv(d / "market.csv", index=False)
    return {**paths, "deals_changed": d / "deals_changed.csv", "market": d / "market.csv"}


def _first(company: dict[str, Path]) -> dict[str, Path]:
    return {k: v for k, v in company.items() if k not in ("deals_changed", "market")}


def _changed(company: dict[str, Path], *, market: bool = False) -> dict[str, Path]:
    files = {**_first(company), "deals": company["deals_changed"]}
    return {**files, "market": company["market"]} if market else files


@pytest.fixture(scope="session")
def first_run(company: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first") / "out"
    run_all(_first(company), out)
    return out


def _state(out: Path) -> dict[str, object]:
    """What a run leaves: the output files' bytes, the ICP versions and the tables' contents."""
    state: dict[str, object] = {n: (out / n).read_bytes() for n in OUTPUTS}
    with Workspace(out, read_only=True) as ws:
        state["versions"] = ws.icp_versions()["version"].tolist()
        state["current"] = ws.icp_version()
        for t in TABLES:
            df = ws.table(t)
            state[t] = (len(df), hashlib.sha256(df.to_csv(index=False).encode()).hexdigest())
    return state


def test_a_run_saves_exactly_one_icp_version(first_run: Path) -> None:
    with Workspace(first_run, read_only=True) as ws:
        versions = ws.icp_versions()
        assert versions["version"].tolist() == [1]
        assert (first_run / "icp.yaml").read_text(encoding="utf-8") == ws.icp_version(1)
        icp = ws.current_icp()
    assert icp is not None and icp.personas is not None  # the personas step shaped it
    text = (first_run / "icp.yaml").read_text(encoding="utf-8")
    assert icpfile.dumps(icpfile.loads(text)) == text  # the typed sections keep the YAML's shape
    validation = json.loads((first_run / "validation.json").read_text(encoding="utf-8"))
    assert validation["drift"] is None  # nothing before the first run to drift from
    assert not staging_dir(first_run).exists()


def test_build_gives_the_icp_run_gives(company: dict[str, Path], first_run: Path, tmp_path) -> None:
    files = _first(company)
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, files)
        built = step_build(ws)
        assert ws.icp_versions()["version"].tolist() == [1]
        assert ws.icp_version() == icpfile.dumps(built.icp)
    run_text = (first_run / "icp.yaml").read_text(encoding="utf-8")
    assert _no_stamp(icpfile.dumps(built.icp)) == _no_stamp(run_text)


def test_a_second_run_reports_drift_against_the_first(
    company: dict[str, Path], first_run: Path, tmp_path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    junk = staging_dir(out)  # as a crash would leave it
    junk.mkdir()
    (junk / "workspace.duckdb").write_bytes(b"half written")
    run_all(_changed(company), out)
    assert not junk.exists()
    with Workspace(out, read_only=True) as ws:
        assert ws.icp_versions()["version"].tolist() == [1, 2]
        v1 = icpfile.loads(ws.icp_version(1) or "")
        assert (out / "icp.yaml").read_text(encoding="utf-8") == ws.icp_version(2)
    drift = json.loads((out / "validation.json").read_text(encoding="utf-8"))["drift"]
    assert drift["previous_version"] == 1
    assert drift["previous_generated_at"] == v1.generated_at
    assert drift["psi"] > 0  # the outcomes changed, so did the scores


def _run_and_die(files: dict[str, Path], out: Path, step: str) -> None:
    """In a child process: ``icp run`` that kills itself (SIGKILL) when it reaches ``step``."""
    from icpkit import pipeline
    from icpkit.validation.hooks import ValidationResult

    os.environ[KILL_ENV] = step
    # validation is not what is tested here: keep the run short
    pipeline.validation_step = lambda ws, icp, **kw: ValidationResult(None)  # type: ignore[assignment]
    pipeline.run_all(files, out)


@pytest.fixture(scope="session")
def processes():  # type: ignore[no-untyped-def]
    """Child processes forked from one server that imported icpkit once (each is a new process)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["icpkit.pipeline"])
    return ctx


def _killed_run(processes, files: dict[str, Path], out: Path, step: str) -> int | None:  # type: ignore[no-untyped-def]
    p = processes.Process(target=_run_and_die, args=(files, out, step))
    p.start()
    p.join(600)
    return p.exitcode  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", list(STEPS))
def test_a_run_killed_at_any_step_leaves_the_previous_run(
    company: dict[str, Path], first_run: Path, processes, tmp_path, step: str
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    before = _state(out)
    assert _killed_run(processes, _changed(company, market=True), out, step) == -signal.SIGKILL
    assert staging_dir(out).exists()  # the half-done run, beside the output
    assert _state(out) == before
    assert recover(out) == "removed"
    assert not staging_dir(out).exists()
    assert _state(out) == before


def test_a_run_killed_while_swapping_in_is_finished_at_the_next_start(
    company: dict[str, Path], first_run: Path, processes, tmp_path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    assert _killed_run(processes, _changed(company), out, "commit") == -signal.SIGKILL
    assert recover(out) == "finished"
    assert not staging_dir(out).exists()
    with Workspace(out, read_only=True) as ws:
        assert ws.icp_versions()["version"].tolist() == [1, 2]
        assert (out / "icp.yaml").read_text(encoding="utf-8") == ws.icp_version(2)
        scores = ws.table("scores").to_csv(index=False)
    assert (out / "scores.csv").read_text(encoding="utf-8") == scores


@pytest.fixture(scope="session")
def half_swapped(
    company: dict[str, Path], first_run: Path, processes, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A folder holding ``out``, a second run killed while swapping in, and its stage beside it."""
    parent = tmp_path_factory.mktemp("half")
    out = parent / "out"
    shutil.copytree(first_run, out)
    assert _killed_run(processes, _changed(company), out, "commit") == -signal.SIGKILL
    assert staging_dir(out).exists()
    with Workspace(out, read_only=True) as ws:  # the workspace is in, the files not yet
        assert ws.icp_versions()["version"].tolist() == [1, 2]
        assert (out / "icp.yaml").read_text(encoding="utf-8") == ws.icp_version(1)
    return parent


# Every command that writes into an output folder, with its arguments after the folder.
WRITERS = {
    "ingest": lambda out, c: [
        "ingest",
        "-w",
        out,
        "--accounts",
        c["accounts"],
        "--deals",
        c["deals_changed"],
    ],
    "health": lambda out, c: ["health", "-w", out],
    "patterns": lambda out, c: ["patterns", "-w", out],
    "build": lambda out, c: ["build", "-w", out],
    "report": lambda out, c: ["report", "-w", out],
    "export": lambda out, c: ["export", "-w", out, "--no-pdf"],
    "personas": lambda out, c: ["personas", "-w", out],
    "validate": lambda out, c: [
        *("validate", "--accounts", c["accounts"], "--deals", c["deals"], "--out", out),
        *("--folds", 2, "--repeats", 1, "--permutations", 1),
    ],
    "refresh --restore": lambda out, c: ["refresh", "--out", out, "--restore", "1"],
    "refresh": lambda out, c: [
        "refresh",
        "--out",
        out,
        "--accounts",
        c["accounts"],
        "--deals",
        c["deals"],
    ],
    "audit": lambda out, c: ["audit", "-w", out],
    "token create": lambda out, c: ["token", "create", "-w", out, "--name", "crm"],
}


@pytest.mark.parametrize("command", list(WRITERS))
def test_every_writing_command_finishes_a_run_killed_while_swapping_in(
    company: dict[str, Path], half_swapped: Path, tmp_path, command: str
) -> None:
    shutil.copytree(half_swapped, tmp_path / "p")
    out = tmp_path / "p" / "out"
    args = [str(a) for a in WRITERS[command](out, company)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert not staging_dir(out).exists()  # nothing stale left to be swapped in over the command
    assert recover(out) is None
    with Workspace(out, read_only=True) as ws:
        versions = ws.icp_versions()["version"].tolist()
        # the killed run's version 2 was finished before the command did its work
        assert versions[:2] == [1, 2]
        exported = (out / "icp.yaml").read_text(encoding="utf-8")
        assert exported in [ws.icp_version(v) for v in versions[1:]]
        if command == "refresh":  # compared with the finished run's version, not the first
            assert json.loads(ws.artifact("refresh.json") or "{}")["previous_version"] == 2
        if command == "build":
            assert versions == [1, 2, 3] and exported == ws.icp_version(3)
            assert (out / "scores.csv").read_text(encoding="utf-8") == ws.table("scores").to_csv(
                index=False
            )
    assert (out / "report.html").exists()  # the run's report, moved in with the rest


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_a_broken_icp_yaml_is_a_clear_error_and_changes_nothing(
    company: dict[str, Path], first_run: Path, tmp_path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)

    def bad_window(d: dict) -> None:  # type: ignore[type-arg]
        d["timing"] = {"triggers": [{"type": "funding", "window_days": "ninety", "points": 10}]}

    _edit(out / "icp.yaml", bad_window)
    before = _state(out)
    with pytest.raises(IcpFileError, match=r"timing\.triggers\[0\]\.window_days"):
        icpfile.load(out / "icp.yaml")
    files = _changed(company)
    r = CliRunner().invoke(
        app,
        ["run", "--out", str(out), *[a for k, v in files.items() for a in (f"--{k}", str(v))]],
    )
    assert r.exit_code != 0
    assert "timing.triggers[0].window_days" in r.output
    assert "Traceback" not in r.output
    assert _state(out) == before
    assert not staging_dir(out).exists()


def test_settings_come_from_the_workspace_icp_and_hand_edits_are_imported(
    first_run: Path, tmp_path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    with Workspace(out) as ws:
        learned = settings(ws, out / "icp.yaml")
        current = ws.current_icp()
        assert current is not None and current.health is not None
        assert learned.weights == current.health.weights
        (out / "icp.yaml").unlink()  # the exported file is a copy, not the source
        assert settings(ws, out / "icp.yaml") == learned

        def by_hand(d: dict) -> None:  # type: ignore[type-arg]
            d["health"]["churn_source"] = "flag"
            d["health"]["weights"] = {k: 1.0 for k in d["health"]["weights"]}

        (out / "icp.yaml").write_text(ws.icp_version() or "", encoding="utf-8")
        _edit(out / "icp.yaml", by_hand)
        edited = settings(ws, out / "icp.yaml")
        assert edited.churn_source == "flag"
        assert edited.weights is not None and set(edited.weights.values()) == {1.0}

        def bad_source(d: dict) -> None:  # type: ignore[type-arg]
            d["health"]["churn_source"] = "gut feeling"

        _edit(out / "icp.yaml", bad_source)
        with pytest.raises(IcpFileError, match=r"health\.churn_source"):
            settings(ws, out / "icp.yaml")


def test_build_honours_the_churn_source_set_by_hand(first_run: Path, tmp_path) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)

    def by_hand(d: dict) -> None:  # type: ignore[type-arg]
        d["health"]["churn_source"] = "flag"

    _edit(out / "icp.yaml", by_hand)
    r = CliRunner().invoke(app, ["build", "--workspace", str(out)])
    assert r.exit_code == 0, r.output
    with Workspace(out, read_only=True) as ws:
        assert ws.icp_versions()["version"].tolist() == [1, 2]
        icp = ws.current_icp()
    assert icp is not None and icp.health is not None and icp.health.churn_source == "flag"


def test_only_the_workspace_touches_the_connection() -> None:
    pattern = re.compile(r"\.con\b|_lock")
    found = [
        f"{p.relative_to(SRC)}:{i}"
        for p in sorted((SRC / "icpkit").rglob("*.py"))
        if p.name != "workspace.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
