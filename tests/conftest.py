from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def dataset(*parts: str) -> Path:
    p = DATASETS.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"dataset {p.name} is not available")
    return p


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


@pytest.fixture
def small_crm(tmp_path: Path) -> dict[str, Path]:
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
    a, d = tmp_path / "accounts.csv", tmp_path / "deals.csv"
    accounts.to_csv(a, index=False)
    deals.to_csv(d, index=False)
    return {"accounts": a, "deals": d}


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
