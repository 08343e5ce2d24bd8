"""The DuckDB and Spark engines score files exactly as the Python scorer scores the same rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
import yaml
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.errors import InputError
from icpkit.icpfile import ICP
from icpkit.scoring import engines
from icpkit.scoring.engines import (
    EngineUnavailable,
    score_duckdb,
    score_spark,
    score_with_engine,
)
from icpkit.scoring.scorer import score_accounts
from icpkit.scoring.sql import DIALECTS

OUT = ["account_id", "score", "tier", "route", "reasons"]


def make_icp() -> ICP:
    return ICP.model_validate(
        {
            "evidence": {
                "strength": "moderate",
                "message": "test",
                "closed_deals": 100,
                "wins": 30,
                "base_win_rate": 0.3,
            },
            "statement": {
                "text": "t",
                "entity": "e",
                "trait": "t",
                "pain": "p",
                "workaround": "w",
                "budget": "b",
            },
            "routing": {"high_touch": 70, "nurture": 45},
            "tiers": [
                {
                    "tier": 1,
                    "name": "A",
                    "min_score": 70,
                    "criteria": {
                        "firmographic": [
                            {"attribute": "industry", "in": ["Logistics"], "pinned": True}
                        ]
                    },
                },
                {"tier": 2, "name": "B", "min_score": 55},
                {"tier": 3, "name": "C", "min_score": 40},
            ],
            "disqualifiers": [
                {"attribute": "country", "in": ["north korea"], "reason": "sanctions"},
            ],
            "veto_score": 5,
            "scorecard": {
                "base": 50,
                "features": [
                    {
                        "attribute": "employees",
                        "kind": "numeric",
                        "bins": [
                            {"attribute": "employees", "missing": True, "points": -3},
                            {"attribute": "employees", "between": [None, 50], "points": -10},
                            {"attribute": "employees", "between": [50, 500], "points": 8},
                            {"attribute": "employees", "between": [500, None], "points": 15},
                        ],
                    },
                    {
                        "attribute": "industry",
                        "kind": "categorical",
                        "bins": [
                            {"attribute": "industry", "in": ["logistics", "Freight"], "points": 12},
                            {"attribute": "industry", "other": True, "points": -4},
                        ],
                    },
                    {
                        "attribute": "arr_usd",
                        "kind": "numeric",
                        "bins": [
                            {"attribute": "arr_usd", "in": ["5"], "points": 4},
                            {"attribute": "arr_usd", "between": [0, 10], "points": 2},
                            {"attribute": "arr_usd", "missing": True, "points": -6},
                        ],
                    },
                    {
                        "attribute": "seats",
                        "kind": "numeric",
                        "bins": [{"attribute": "seats", "between": [100, None], "points": 5}],
                    },
                    {
                        "attribute": "partner",
                        "kind": "categorical",
                        "bins": [{"attribute": "partner", "in": ["true"], "points": 3}],
                    },
                    {
                        "attribute": "tech",
                        "kind": "flag",
                        "bins": [{"attribute": "tech", "has": "Salesforce", "points": 7}],
                    },
                    {
                        "attribute": "tech",
                        "kind": "flag",
                        "bins": [{"attribute": "tech", "lacks": "hubspot", "points": -2}],
                    },
                    {
                        "attribute": "intent",  # no market file has it: unknown everywhere
                        "kind": "categorical",
                        "bins": [
                            {"attribute": "intent", "in": ["high"], "points": 9},
                            {"attribute": "intent", "missing": True, "points": -1},
                        ],
                    },
                ],
            },
        }
    )


def market() -> pd.DataFrame:
    """Market rows as a CRM export holds them: text numbers with junk, blanks, odd case."""
    return pd.DataFrame(
        {
            "account_id": ["007", "b", "c", "d", "e", "f", "g", "h"],
            "employees": [" 1,200 ", None, "abc", "49", "inf", "  ", "50", "n/a"],
            "industry": ["LOGISTICS ", "freight", None, " ", "retail", "Logistics", "x", "Freight"],
            "arr_usd": [5.0, 2.5, np.nan, 1e6, 0.0, 49.5, 7.0, 5.0],
            "seats": [100, 5, 250, 0, 99, 100, 1000, 3],
            "partner": [True, False, True, True, False, False, True, False],
            "tech": [
                "Salesforce | HubSpot",
                "salesforce;x",
                None,
                "",
                "hubspot",
                ";",
                "a,SALESFORCE",
                "Snowflake; Salesforce",
            ],
            "country": ["US", "North Korea", None, "x", "atlantis", "z", "us", "DE"],
        }
    )


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    df = df[OUT].copy()
    df["account_id"] = df["account_id"].astype(str)
    df["score"] = df["score"].astype(int)
    for c in ("tier", "route", "reasons"):
        df[c] = df[c].astype(object).where(df[c].notna(), "")
    return df.sort_values("account_id").reset_index(drop=True)


def expected(icp: ICP, frame: pd.DataFrame) -> pd.DataFrame:
    """The Python scorer on the rows as the engines read them (one cleaner for both)."""
    return tidy(score_accounts(icp, frame).frame)


def assert_same(want: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == OUT
    assert len(got) == len(want)
    for i in range(len(want)):
        w, g = want.iloc[i].to_dict(), got.iloc[i].to_dict()
        assert w == g, f"row {i}: python {w} != engine {g}"


def read_scores(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return tidy(pd.read_parquet(path))
    return tidy(
        pd.read_csv(
            path, dtype={"account_id": str, "tier": str}, keep_default_na=False, na_values=[]
        )
    )


@pytest.fixture
def icp() -> ICP:
    return make_icp()


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    p = tmp_path / "market.parquet"
    market().to_parquet(p, index=False)
    return p


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    p = tmp_path / "market.csv"
    market().to_csv(p, index=False)
    return p


def csv_as_pandas_reads_it(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"account_id": str})


# -- DuckDB ---------------------------------------------------------------------------


def test_duckdb_over_parquet_matches_python(icp: ICP, parquet: Path) -> None:
    res = score_duckdb(icp, parquet)
    assert res.engine == "duckdb" and res.rows == 8
    assert_same(expected(icp, market()), tidy(res.frame))
    # the problems are counted and warned, never fatal
    assert res.unknown_attributes == ["intent"]
    assert res.bad_values == {"employees": 1}  # "abc"; blanks, "n/a" and "inf" are not errors
    assert any(w.startswith("intent absent: scored neutral (its points") for w in res.warnings)
    assert any(
        "1 value(s) of 'employees' are not numbers" in w and "'abc'" in w for w in res.warnings
    )
    assert sum(res.tiers.values()) == 8 and sum(res.routes.values()) == 8


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_duckdb_over_csv_streams_to_a_file(
    icp: ICP, csv: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"scored{suffix}"
    res = score_duckdb(icp, csv, out=out)
    assert res.path == out and res.frame is None and res.rows == 8
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert_same(expected(icp, csv_as_pandas_reads_it(csv)), read_scores(out))
    # the id is read as text, as the python engine reads it
    assert "007" in set(read_scores(out)["account_id"])
    assert res.bad_values == {"employees": 1}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_no_reasons_leaves_out_only_the_reasons(icp: ICP, tmp_path: Path, engine: str) -> None:
    """--no-reasons: the same score, tier and route, and no reasons column."""
    csv = tmp_path / "clean.csv"  # the python engine refuses the market's bad values
    market().assign(employees=["1200", None, "12", "49", "8000", "", "50", "70"]).to_csv(
        csv, index=False
    )
    full = score_with_engine(icp, csv, tmp_path / "full.csv", engine)
    bare = score_with_engine(icp, csv, tmp_path / "bare.csv", engine, reasons=False)
    want = read_scores(tmp_path / "full.csv").drop(columns=["reasons"])
    want["tier"] = want["tier"].astype(str)
    got = pd.read_csv(tmp_path / "bare.csv", dtype={"account_id": str, "tier": str})
    assert "reasons" not in got.columns  # the python engine also writes its points_* columns
    got = got[["account_id", "score", "tier", "route"]].sort_values("account_id")
    got = got.reset_index(drop=True)
    assert got.to_dict("records") == want.to_dict("records")
    assert (bare.tiers, bare.routes) == (full.tiers, full.routes)
    r = CliRunner().invoke(
        app,
        ["score", "--icp", str(write_icp(icp, tmp_path)), "--accounts", str(csv),
         "--out", str(tmp_path / "cli.csv"), "--no-reasons"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "cli.csv").columns.tolist() == ["account_id", "score", "tier", "route"]  # fmt: skip


def write_icp(icp: ICP, folder: Path) -> Path:
    path = folder / "icp.yaml"
    icpfile.save(icp, path)
    return path


def test_text_late_in_a_numeric_csv_column_is_counted_not_fatal(icp: ICP, tmp_path: Path) -> None:
    n = 30_000  # past DuckDB's type-detection sample
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "employees": rng.integers(1, 2000, n).astype(str).astype(object),
            "industry": rng.choice(["logistics", "retail", "Freight"], n),
            "seats": rng.integers(0, 300, n).astype(str).astype(object),
        }
    )
    frame.loc[n - 1, "employees"] = "twelve"
    frame.loc[n - 2, "seats"] = "many"
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False)
    res = score_duckdb(icp, path)
    assert res.bad_values == {"employees": 1, "seats": 1}
    assert any("read as text" in n and "employees" in n for n in res.notes)
    assert_same(expected(icp, csv_as_pandas_reads_it(path)), tidy(res.frame))


def test_a_csv_is_sniffed_once_and_every_read_names_its_dialect_and_types(
    icp: ICP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # semicolons between fields, a quoted cell holding one, a number column: the
    # dialect and the types are found once, and every later read is told them
    path = tmp_path / "semi.csv"
    market().to_csv(path, index=False, sep=";")
    statements: list[str] = []
    connect = duckdb.connect

    class Recording:
        def __init__(self) -> None:
            self.con = connect()

        def execute(self, sql: str, *args: object) -> object:
            statements.append(sql)
            return self.con.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.con, name)

    monkeypatch.setattr(duckdb, "connect", Recording)
    out = tmp_path / "scored.csv"
    res = score_duckdb(icp, path, out=out)
    want = expected(icp, pd.read_csv(path, sep=";", dtype={"account_id": str}))
    assert_same(want, read_scores(out))
    assert res.bad_values == {"employees": 1}
    assert sum("SNIFF_CSV" in s.upper() for s in statements) == 1
    reads = [s for s in statements if str(path) in s and "SNIFF_CSV" not in s.upper()]
    # the column names, and the view the lookups' sample and the scoring read
    assert any(s.startswith("DESCRIBE") for s in reads)
    assert any(s.startswith("CREATE") for s in reads)
    for s in reads:
        assert "auto_detect = FALSE" in s and "delim = ';'" in s, s
    # the written file is read back for the counts with its dialect named too
    back = [s for s in statements if str(out) in s and "read_csv" in s.lower()]
    assert back and all("auto_detect = FALSE" in s for s in back)
    assert sum(res.tiers.values()) == sum(res.routes.values()) == 8


def test_several_files_are_matched_by_column_name(icp: ICP, tmp_path: Path) -> None:
    rows = market()
    a, b = rows.iloc[:4], rows.iloc[4:].drop(columns=["tech", "arr_usd"])
    a.to_parquet(tmp_path / "part-1.parquet", index=False)
    b[list(reversed(b.columns))].to_parquet(tmp_path / "part-2.parquet", index=False)
    res = score_duckdb(icp, tmp_path)  # a folder: all its Parquet files
    want = expected(icp, pd.concat([a, b], ignore_index=True))
    assert_same(want, tidy(res.frame))


def test_headers_are_matched_as_the_python_engine_matches_them(icp: ICP, tmp_path: Path) -> None:
    frame = market().rename(columns={"account_id": "Record ID", "tech": "Tech Stack Used"})
    frame = frame.drop(columns=["employees"])
    frame["Number of Employees"] = ["1200", None, "12", "49", "8000", "", "50", "70"]
    frame["Tech Stack Used"] = frame["Tech Stack Used"].replace({";": "jira"})
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("market:\n  columns:\n    Tech Stack Used: tech\n")
    py = score_with_engine(icp, path, engine="python", mapping=mapping)
    db = score_with_engine(icp, path, engine="duckdb", mapping=mapping)
    assert_same(tidy(py.frame), tidy(db.frame))
    assert db.unknown_attributes == py.unknown_attributes == ["intent"]
    assert "employees=" not in " ".join(db.frame["reasons"])  # it was found, not unknown
    assert (db.frame["reasons"].str.contains("tech has Salesforce")).any()


def test_company_name_serves_as_the_id_and_no_id_is_a_clear_error(icp: ICP, tmp_path: Path) -> None:
    named = market().drop(columns=["account_id"]).assign(company=[f"Co {i}" for i in range(8)])
    path = tmp_path / "named.parquet"
    named.to_parquet(path, index=False)
    res = score_duckdb(icp, path)
    assert sorted(res.frame["account_id"]) == sorted(named["company"])
    assert any("company name is used as the account id" in w for w in res.warnings)
    bare = tmp_path / "bare.csv"
    market().drop(columns=["account_id"]).to_csv(bare, index=False)
    with pytest.raises(InputError, match=r"bare\.csv.*required column 'account_id' is missing"):
        score_duckdb(icp, bare)


def test_bad_inputs_name_the_file(icp: ICP, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.parquet.*file not found"):
        score_duckdb(icp, tmp_path / "nope.parquet")
    odd = tmp_path / "market.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(InputError, match="CSV .* or Parquet"):
        score_duckdb(icp, odd)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("account_id,industry\nA1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="--encoding"):
        score_duckdb(icp, latin)
    assert score_duckdb(icp, latin, encoding="latin-1").rows == 1


def test_progress_is_reported(icp: ICP, parquet: Path) -> None:
    seen: list[float] = []
    score_duckdb(icp, parquet, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)


def test_engine_dispatch(icp: ICP, tmp_path: Path) -> None:
    csv = tmp_path / "clean.csv"
    market().assign(employees=["1200", None, "12", "49", "8000", "", "50", "70"]).to_csv(
        csv, index=False
    )
    events = tmp_path / "events.csv"
    events.write_text("account_id,occurred_at,type\n007,2026-01-01,funding\n")
    res = score_with_engine(icp, csv, tmp_path / "s.csv", "duckdb", events=events)
    assert res.engine == "python"
    assert any("python engine" in n for n in res.notes)
    with pytest.raises(InputError, match="--events needs --engine python"):
        score_with_engine(icp, csv, None, "spark", events=events)
    with pytest.raises(InputError, match="unknown engine 'polars'"):
        score_with_engine(icp, csv, None, "polars")
    res = score_with_engine(icp, csv, tmp_path / "s.parquet", "python")
    assert pd.read_parquet(tmp_path / "s.parquet")["account_id"].tolist()[0] == "007"
    assert res.summary()[0].startswith("scored 8 accounts → ")


def test_spark_engine_errors_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineUnavailable, match=r"pip install 'icpkit\[spark\]'"):
        engines._pyspark()
    monkeypatch.undo()
    pytest.importorskip("pyspark")
    from icpkit.scoring import spark

    monkeypatch.setattr(spark, "_java", lambda: None)
    with pytest.raises(EngineUnavailable, match="needs Java 17"):
        engines.spark_session(master="local[1]")


# -- Spark ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark's notice about pandas 3
def test_spark_over_parquet_matches_python(spark, icp: ICP, parquet: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    want = expected(icp, market())
    res = score_spark(icp, parquet)
    assert res.engine == "spark"
    assert_same(want, tidy(res.frame))
    assert res.unknown_attributes == ["intent"] and res.bad_values == {"employees": 1}
    # one CSV file for a local path; Spark's Parquet folder otherwise
    out = tmp_path / "scored.csv"
    res = score_spark(icp, parquet, out=out)
    assert res.path == out and res.rows == 8 and out.is_file()
    assert_same(want, read_scores(out))
    folder = tmp_path / "scored.parquet"
    res = score_spark(icp, [parquet], out=folder)
    assert res.rows == 8 and folder.is_dir()
    assert_same(want, tidy(pd.read_parquet(folder)))
    assert spark.sparkContext._jsc is not None  # the shared session was not stopped


def test_spark_reads_parquet_only(icp: ICP, csv: Path) -> None:
    with pytest.raises(InputError, match="the spark engine reads Parquet"):
        score_spark(icp, csv)


# -- icp sql --------------------------------------------------------------------------


runner = CliRunner()


@pytest.fixture
def icp_file(tmp_path: Path) -> Path:
    return icpfile.save(make_icp(), tmp_path / "icp.yaml")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_icp_sql_prints_a_query_for_each_dialect(icp_file: Path, dialect: str) -> None:
    r = runner.invoke(app, ["sql", "--icp", str(icp_file), "--dialect", dialect])
    assert r.exit_code == 0, r.output
    tree = sqlglot.parse_one(r.stdout.strip().rstrip(";"), read=dialect)
    assert tree.named_selects == OUT
    r = runner.invoke(
        app,
        ["sql", "--icp", str(icp_file), "--dialect", dialect, "--table", "crm.accounts",
         "--view", "crm.icp_scores", "--columns", "account_id,employees:double,tech,industry"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    tree = sqlglot.parse_one(r.stdout.strip().rstrip(";"), read=dialect)
    assert isinstance(tree, sqlglot.exp.Create)
    assert tree.expression.named_selects == OUT


def test_icp_sql_runs_in_duckdb_with_python_numbers(icp_file: Path, icp: ICP) -> None:
    r = runner.invoke(
        app, ["sql", "--icp", str(icp_file), "--table", "market", "--columns",
              "account_id,employees,industry,arr_usd:double,seats:bigint,partner:boolean,tech,country"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    con = duckdb.connect()
    frame = market()
    con.register("market", frame)
    got = tidy(con.execute(r.stdout.strip().rstrip(";")).df())
    assert_same(tidy(score_accounts(icp, frame).frame), got)  # the bare query: no reading rules


def test_icp_sql_bad_dialect_and_invalid_icp_are_named(icp_file: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["sql", "--icp", str(icp_file), "--dialect", "oracle"])
    assert r.exit_code == 2
    assert "unknown SQL dialect 'oracle'" in r.output
    for d in DIALECTS:
        assert d in r.output
    data = yaml.safe_load(icp_file.read_text())
    data["scorecard"]["features"][0]["bins"][1]["between"] = [500, 50]
    data["routing"]["nurture"] = "half"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    r = runner.invoke(app, ["sql", "--icp", str(bad)])
    assert r.exit_code == 2
    assert "routing.nurture" in r.output
    assert "scorecard.features[0].bins[1]" in r.output
    r = runner.invoke(app, ["sql", "--icp", str(icp_file), "--columns", "a,,b"])
    assert r.exit_code == 2 and "empty column name" in r.output


def test_spark_sql_from_the_cli_parses_with_array_columns(icp_file: Path) -> None:
    r = runner.invoke(
        app, ["sql", "--icp", str(icp_file), "--dialect", "spark", "--columns",
              "account_id,tech:array<string>,arr_usd:decimal(10,2)"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "ARRAY_JOIN(" in r.stdout.upper()
