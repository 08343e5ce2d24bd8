"""Every CSV icpkit writes is safe to open in a spreadsheet (no formula injection), numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.csvsafe import csv_text, neutralise, safe_frame, sql_expression
from icpkit.pipeline import export_outputs
from icpkit.scoring.engines import score_duckdb, score_spark
from icpkit.workspace import Workspace

from .test_engines import make_icp

RISKY = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
SAFE_NUMBERS = ["-5", "+1.5", "-0.25e3", ".5"]
SRC = Path(__file__).resolve().parents[1] / "src" / "icpkit"


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_safe(text: str) -> None:
    """No cell starts with a formula trigger unless it is a plain number."""
    for row in cells(text):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell), (cell, row)


def test_a_carriage_return_stays_inside_its_cell() -> None:
    text = csv_text(pd.DataFrame({"a": ["x\ry", "\rz"], "n": [1, 2]}))
    assert cells(text) == [["a", "n"], ["x\ry", "1"], ["'\rz", "2"]]


def test_the_rule() -> None:
    for v in RISKY:
        assert neutralise(v) == "'" + v
    for v in SAFE_NUMBERS + ["plain", "", "a=b", "'=already"]:
        assert neutralise(v) == v
    assert neutralise(-5) == -5 and neutralise(None) is None
    frame = pd.DataFrame({"id": RISKY + ["ok"], "n": range(-3, len(RISKY) - 2)})
    safe = safe_frame(frame)
    assert safe["id"].tolist() == ["'" + v for v in RISKY] + ["ok"]
    assert safe["n"].tolist() == frame["n"].tolist() and safe["n"].dtype == frame["n"].dtype
    assert frame["id"].iloc[0] == RISKY[0]  # the caller's frame is left alone
    assert_safe(csv_text(frame))
    assert_safe(csv_text(pd.DataFrame({"=cmd": [1]})))  # header cells too


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=6), st.sampled_from(RISKY + SAFE_NUMBERS)),
        min_size=1,
        max_size=20,
    )
)
def test_the_sql_expression_is_the_same_rule(values: list[str]) -> None:
    """DuckDB's COPY writer applies exactly the Python rule."""
    values = [v.replace("\x00", "") for v in values]
    query = f"SELECT list_transform(?, lambda x: {sql_expression('x')})"
    got = _CON.execute(query.replace('"x"', "x"), [values]).fetchone()[0]
    assert got == [neutralise(v) for v in values]


_CON = duckdb.connect()


def test_no_csv_is_written_around_the_kernel() -> None:
    """Every CSV the project writes goes through icpkit.csvsafe: no other module calls to_csv."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "csvsafe.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # crm.to_csv is the kernel's; rows.to_csv is the Score page's example text, not a file
            if ".to_csv(" in line and "rows.to_csv" not in line and "crm.to_csv" not in line:
                offenders.append(f"{path.relative_to(SRC)}:{i}")
    assert not offenders, offenders


@pytest.fixture
def risky_accounts(tmp_path: Path) -> Path:
    p = tmp_path / "accounts.csv"
    pd.DataFrame(
        {
            "account_id": RISKY[:4] + ["-7", "A1"],
            "industry": ["Logistics", "retail", "=cmd", "Logistics", "x", "y"],
            "employees": [10, 600, -3, 120, 5, 1000],
            "country": ["us"] * 6,
        }
    ).to_csv(p, index=False)
    return p


def _check_scores(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert_safe(text)
    got = pd.read_csv(path, dtype={"account_id": str})
    assert "'" + RISKY[0] in set(got["account_id"]) and "-7" in set(got["account_id"])
    assert pd.api.types.is_integer_dtype(got["score"])  # numbers stay numbers


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_icp_score_output_is_safe(engine: str, risky_accounts: Path, tmp_path: Path) -> None:
    icp_path = icpfile.save(make_icp(), tmp_path / "icp.yaml")
    out = tmp_path / f"scored-{engine}.csv"
    r = CliRunner().invoke(app, ["score", "--icp", str(icp_path), "--accounts", str(risky_accounts),
                                 "--out", str(out), "--engine", engine])  # fmt: skip
    assert r.exit_code == 0, r.output
    _check_scores(out)


def test_duckdb_engine_parquet_keeps_the_values(risky_accounts: Path, tmp_path: Path) -> None:
    """Only CSV is neutralised: Parquet is not opened by spreadsheets and keeps the exact ids."""
    out = tmp_path / "scored.parquet"
    score_duckdb(make_icp(), risky_accounts, out=out)
    assert RISKY[0] in set(pd.read_parquet(out)["account_id"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_csv_output_is_safe(spark, risky_accounts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    parquet = tmp_path / "accounts.parquet"
    pd.read_csv(risky_accounts, dtype={"account_id": str}).to_parquet(parquet)
    out = tmp_path / "scored.csv"
    score_spark(make_icp(), parquet, out=out)
    _check_scores(out)


def test_workspace_exports_are_safe(tmp_path: Path) -> None:
    """scores.csv, segments.csv and health.csv as `icp run` and the server write them."""
    with Workspace(tmp_path / "ws") as ws:
        ws.write(
            {
                "scores": pd.DataFrame({"account_id": RISKY, "score": [-1, 2, 3, 4, 5, 6]}),
                "segments": pd.DataFrame({"segment": ["@evil", "industry = x"], "n": [3, -4]}),
                "health": pd.DataFrame({"account_id": ["=1+1"], "name": ["-2+3"], "health": [0.5]}),
            }
        )
        files = export_outputs(ws, tmp_path / "out")
    for name in ("scores.csv", "segments.csv", "health.csv"):
        assert_safe(files[name].read_bytes().decode("utf-8"))
    rows = cells(files["scores.csv"].read_bytes().decode("utf-8"))
    assert [r[1] for r in rows[1:]] == ["-1", "2", "3", "4", "5", "6"]  # numbers stay numbers
    assert [r[0] for r in rows[1:]] == ["'" + v for v in RISKY]
