from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from filelock import FileLock

# The real public datasets (read-only); ICP_DATASETS points elsewhere.
DATASETS = Path(
    os.environ.get("ICP_DATASETS") or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")

# the sample tables that `icp demo` feeds to the chain
SAMPLE_TABLES = ("accounts", "deals", "contacts", "revenue", "events", "tickets", "conversations")


def dataset(*parts: str) -> Path:
    """A file or folder of a real dataset; skipped when it is missing, but a failure in CI."""
    p = DATASETS.joinpath(*parts)
    if not p.exists():
        message = f"dataset missing: {p} (set ICP_DATASETS to the datasets folder)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return p


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread_per_worker() -> Any:
    """Under pytest-xdist each worker is a process of its own on a core of its own: one BLAS
    and OpenMP thread each keeps the workers from competing for the same cores."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dataset(*parts): needs a real dataset file (skipped when missing, fails in CI)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the tests for ``--dist worksteal``, which first hands each of the W workers one
    contiguous W-th of the list, then moves tests from the end of a busy worker's queue to an
    idle one. The tests using Spark go first, so that one worker runs them all and starts one
    JVM (about 20 s of start-up and warm-up) instead of each worker starting its own. The
    files holding tests marked slow go first in the other workers' shares, whole (so their
    module fixtures are built once), so that no worker is left with a long test at the end.
    Without xdist only the Spark tests move, to the front."""
    spark = [i for i in items if "spark" in getattr(i, "fixturenames", ())]
    moved = {id(i) for i in spark}
    files: dict[str, list[pytest.Item]] = {}
    for i in items:
        if id(i) not in moved:
            files.setdefault(str(i.path), []).append(i)
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1), 1)
    if workers == 1:
        items[:] = spark + [i for f in files.values() for i in f]
        return
    slow: list[list[pytest.Item]] = []
    light: list[pytest.Item] = []
    for f in files.values():
        if any(i.get_closest_marker("slow") for i in f):
            slow.append(f)
        else:
            light.extend(f)
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    shares[0] = spark
    for k, f in enumerate(slow):
        shares[1 + k % (workers - 1)].extend(f)
    fill = iter(light)
    share = len(items) // workers
    for s in shares:
        s.extend(islice(fill, max(share - len(s), 0)))
    shares[-1].extend(fill)
    items[:] = [i for s in shares for i in s]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("dataset"):
        dataset(*mark.args)


# one-line skip summary: the reason's kind, first match wins
SKIP_KINDS = (
    ("dataset missing", re.compile(r"\bdataset\b", re.I)),
    ("no java", re.compile(r"\bjava\b", re.I)),
    ("no browser", re.compile(r"chromium|browser", re.I)),
    ("doctest +SKIP", re.compile(r"\+SKIP")),
    ("package missing", re.compile(r"not installed|could not import|no module named", re.I)),
)


def skip_kind(reason: str) -> str:
    """The short kind of a skip reason, for the summary line.

    >>> skip_kind("Skipped: dataset missing: /data/maven_crm/accounts.csv")
    'dataset missing'
    >>> skip_kind("Skipped: could not import 'fastapi': No module named 'fastapi'")
    'package missing'
    """
    reason = reason.removeprefix("Skipped: ")
    for kind, pattern in SKIP_KINDS:
        if pattern.search(reason):
            return kind
    return reason if len(reason) <= 60 else reason[:57] + "..."


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Any:
    """One line after the short test summary: how many tests were skipped, by kind."""
    result = yield
    reports = terminalreporter.stats.get("skipped", [])
    if not reports:
        return result
    kinds: Counter[str] = Counter()
    for rep in reports:
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        kinds[skip_kind(reason)] += 1
    detail = ", ".join(f"{k}: {n}" for k, n in kinds.most_common())
    terminalreporter.write_line(f"skipped: {sum(kinds.values())} ({detail})")
    return result


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


def write_small_crm(folder: Path) -> dict[str, Path]:
    """A small CRM with a planted pattern: logistics wins, government loses."""
    import numpy as np

    r = np.random.default_rng(3)
    n = 600
    industries = r.choice(
        ["logistics", "retail", "government", "software"], size=n, p=[0.3, 0.3, 0.15, 0.25]
    )
    employees = r.integers(5, 5000, size=n)
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": [f"Co {i}" for i in range(n)],
            "industry": industries,
            "employees": employees,
        }
    )
    p = np.where(industries == "logistics", 0.7, np.where(industries == "government", 0.05, 0.3))
    won = r.random(n) < p
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 500, n), unit="D")
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": accounts["account_id"],
            "created_at": created.strftime("%Y-%m-%d"),
            "closed_at": (created + pd.to_timedelta(r.integers(10, 120, n), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "outcome": np.where(won, "Closed Won", "Closed Lost"),
            "amount": r.integers(1000, 50000, n),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    a, d = folder / "accounts.csv", folder / "deals.csv"
    accounts.to_csv(a, index=False)
    deals.to_csv(d, index=False)
    return {"accounts": a, "deals": d}


@pytest.fixture
def small_crm(tmp_path: Path) -> dict[str, Path]:
    """``write_small_crm`` in this test's own folder (free to change)."""
    return write_small_crm(tmp_path)


@pytest.fixture(scope="session")
def small_crm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`icp run` on the small CRM, once per session: the output folder. Read only."""
    from typer.testing import CliRunner

    from icpkit.cli import app

    root = tmp_path_factory.mktemp("small_crm_run")
    files = write_small_crm(root / "in")
    out = root / "out"
    args = ["run", "--accounts", files["accounts"], "--deals", files["deals"], "--out", out]
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return out


@dataclass(frozen=True)
class SampleRun:
    """The chain run once on the bundled sample company (as `icp demo` runs it)."""

    inputs: dict[str, Path]  # the sample's CSV files, by table
    out: Path  # the output folder: icp.yaml, scores.csv, report.html, workspace.duckdb, ...
    result: Any  # pipeline.StepResult

    def copy(self, dest: Path) -> Path:
        """A private copy of the output folder, for a test that changes it."""
        return Path(shutil.copytree(self.out, dest))


@pytest.fixture(scope="session")
def sample_frames() -> dict[str, pd.DataFrame]:
    """The bundled sample company (seed 7, 3000 accounts) as DataFrames. Do not change them."""
    from icpkit.sample import generate

    return generate()


def _built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder that ``build(folder)`` fills once for the whole test run: under pytest-xdist the
    workers share it (the first one builds it while the others wait on a file lock). Read only."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder every worker's own temporary folder sits in
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not done.exists():
            if folder.exists():
                shutil.rmtree(folder)  # left by a build that failed
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled sample company (seed 7, 3000 accounts) as CSV files. Read only."""
    return _sample_csvs(tmp_path_factory, "sample_files", 3000)


def _sample_csvs(
    tmp_path_factory: pytest.TempPathFactory, name: str, n_accounts: int
) -> dict[str, Path]:
    """The sample company's CSV files by table, written once for the whole test run."""
    from icpkit.sample import write_sample

    folder = _built_once(tmp_path_factory, name, lambda f: write_sample(f, n_accounts=n_accounts))
    return {p.stem: p for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, sample_files) -> SampleRun:
    """The whole chain on the sample, once per session. Read only: use ``.copy()`` to change it.

    Under pytest-xdist the first worker to need it runs the chain; every worker then works on
    its own copy of the output folder (a workspace file is opened by one process at a time)."""
    from icpkit.pipeline import StepResult, run_all

    def build(folder: Path) -> None:
        result = run_all({k: sample_files[k] for k in SAMPLE_TABLES}, folder / "out")
        files = {k: str(Path(v).relative_to(folder / "out")) for k, v in result.files.items()}
        (folder / "result.json").write_text(
            json.dumps({"warnings": result.warnings, "files": files}), encoding="utf-8"
        )

    built = _built_once(tmp_path_factory, "sample_run", build)
    out = Path(shutil.copytree(built / "out", tmp_path_factory.mktemp("sample_run") / "out"))
    saved = json.loads((built / "result.json").read_text(encoding="utf-8"))
    files = {k: out / v for k, v in saved["files"].items()}
    return SampleRun(inputs=sample_files, out=out, result=StepResult(saved["warnings"], files))


@pytest.fixture(scope="session")
def small_sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample company at 1000 accounts as CSV files, for uploads and builds. Read only."""
    return _sample_csvs(tmp_path_factory, "small_sample_files", 1000)


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """One small local-mode Spark session for every test that needs it (one JVM start)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("PySpark is not installed (pip install 'icpkit[spark]')")
    from icpkit.scoring.engines import _java

    if _java() is None:
        pytest.skip("Spark needs a Java runtime: no `java` on PATH and JAVA_HOME is not set")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("icpkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
