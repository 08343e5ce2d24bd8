"""Every scorer reads raw cells by the same rules and gives the same score, tier, route and
reasons: the python engine, DuckDB over CSV and Parquet, Spark, the API (batch and one
account) and the SQL ``icp sql`` prints, run in DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.icpfile import ICP
from icpkit.schema import FAMILIES
from icpkit.scoring import duckdb_engine
from icpkit.scoring.engines import score_duckdb, score_spark, score_with_engine
from icpkit.scoring.sql import build_query
from icpkit.web.rowscore import RowScorer, score_records

from .test_engines import tidy
from .test_sql import make_icp

NUMBERS = ["employees", "annual_revenue"]  # canonical number columns
TEXTS = ["industry", "country"]
LISTS = ["tech_stack"]
COLUMNS = NUMBERS + TEXTS + LISTS

NUMBER_CELLS = ["$1,200", "1.2e3", " 300 ", "N/A", "n/a", "", None, "12%", "$5,850,000.00",
                "-", "null", "0", "49.5", "1 200", "€50", "5.", "na", "inf", "+7", "£0.5"]  # fmt: skip
TEXT_CELLS = ["Logistics", " retail ", "LOGISTICS", "N/A", "", None, "none", "Évian", "東京",
              "\u00a0software\u3000", "1,200", "-", "x|y", "Null", "  "]  # fmt: skip
LIST_CELLS = ["sap;aws", "AWS | gcp", "n/a", "", None, "sap", "hubspot,  Snowflake", "N/A|x",
              " ; ", "Évian;東京", "none", "aws"]  # fmt: skip
WORDS = ["logistics", "Retail", "évian", "東京", "software", "1200", "300", "n/a", "x|y", "none"]
ITEMS = ["sap", "AWS", "gcp", "hubspot", "snowflake", "x", "évian", "n/a"]
BOUNDS = [0.0, 1.0, 12.0, 49.5, 300.0, 1000.0, 1200.0, 1e6]


@st.composite
def conditions(draw: st.DrawFn, attribute: str) -> dict[str, object]:
    if attribute in NUMBERS:
        ops = ["between", "between", "missing", "other", "in", "not_in"]
    elif attribute in LISTS:
        ops = ["has", "has", "lacks", "missing", "other"]
    else:
        ops = ["in", "in", "not_in", "missing", "other", "has", "lacks", "between"]
    op = draw(st.sampled_from(ops))
    c: dict[str, object] = {"attribute": attribute}
    if op in ("in", "not_in"):
        c[op] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    elif op == "between":
        lo, hi = sorted(
            draw(st.lists(st.sampled_from(BOUNDS), min_size=2, max_size=2, unique=True))
        )
        which = draw(st.sampled_from(["both", "low", "high"]))
        c["between"] = [lo if which != "high" else None, hi if which != "low" else None]
    elif op in ("has", "lacks"):
        c[op] = draw(st.sampled_from(ITEMS))
    else:
        c[op] = True
    return c


def attribute(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(COLUMNS + ["absent_col"]))


@st.composite
def icps(draw: st.DrawFn) -> ICP:
    features = []
    for attr in draw(st.lists(st.sampled_from(COLUMNS + ["absent_col"]), max_size=5, unique=True)):
        bins = []
        for _ in range(draw(st.integers(1, 3))):
            b = draw(conditions(attr))
            b["points"] = draw(st.sampled_from([0, 2, 5, 8, 12, 25, -3, -8, -20]))
            bins.append(b)
        features.append({"attribute": attr, "kind": "categorical", "bins": bins})
    disqualifiers = []
    for _ in range(draw(st.integers(0, 2))):
        d = draw(conditions(attribute(draw)))
        if d.pop("other", None):  # "other" is for bins; the same test as a disqualifier:
            d["missing"] = False
        d["reason"] = draw(st.sampled_from(["", "too small"]))
        disqualifiers.append(d)
    numbers = sorted(
        draw(st.lists(st.sampled_from([1, 2, 3]), unique=True, min_size=1, max_size=3))
    )
    mins = sorted(draw(st.lists(st.integers(0, 90), min_size=len(numbers), max_size=len(numbers))))
    tiers = []
    for n, m in zip(numbers, reversed(mins), strict=True):
        criteria: dict[str, list[dict[str, object]]] = {}
        for _ in range(draw(st.integers(0, 2))):
            c = draw(conditions(attribute(draw)))
            c["pinned"] = draw(st.integers(0, 4)) == 0
            criteria.setdefault(draw(st.sampled_from(FAMILIES)), []).append(c)
        segments = [
            {
                "conditions": [
                    draw(conditions(attribute(draw))) for _ in range(draw(st.integers(1, 2)))
                ],
                "evidence": {"n": 40},
            }
            for _ in range(draw(st.integers(0, 1)))
        ]
        tiers.append(
            {
                "tier": n,
                "name": f"T{n}",
                "min_score": m,
                "criteria": criteria,
                "segments": segments,
                "match": draw(st.sampled_from(["definition", "definition", "score"])),
            }
        )
    nurture, high = sorted(draw(st.lists(st.integers(20, 90), min_size=2, max_size=2)))
    return make_icp(
        routing={"high_touch": high, "nurture": nurture},
        tiers=tiers,
        disqualifiers=disqualifiers,
        scorecard={"base": draw(st.integers(30, 70)), "features": features},
    )


@st.composite
def raw_rows(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    data: dict[str, list[object]] = {"account_id": [f"acc{i:02d}" for i in range(n)]}
    for col in NUMBERS:
        data[col] = [draw(st.sampled_from(NUMBER_CELLS)) for _ in range(n)]
    for col in TEXTS:
        data[col] = [draw(st.sampled_from(TEXT_CELLS)) for _ in range(n)]
    for col in LISTS:
        data[col] = [draw(st.sampled_from(LIST_CELLS)) for _ in range(n)]
    return pd.DataFrame(data, dtype=object)


def write_inputs(rows: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    csv, parquet = folder / "accounts.csv", folder / "accounts.parquet"
    rows.to_csv(csv, index=False)
    rows.astype("string").to_parquet(parquet, index=False)
    return csv, parquet


def records(rows: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")]


def api_single(icp: ICP, rows: pd.DataFrame) -> pd.DataFrame:
    """One account per call, as ``POST /api/v1/score`` answers it (fast path, else reference)."""
    scorer = RowScorer(icp)
    out = []
    for rec in records(rows):
        fast = scorer.score(rec)
        out.append(fast if fast is not None else score_records(icp, [rec]).iloc[0].to_dict())
    return pd.DataFrame(out)


def icp_sql_in_duckdb(icp: ICP, rows: pd.DataFrame, folder: Path) -> pd.DataFrame:
    path = folder / "icp.yaml"
    icpfile.save(icp, path)
    res = CliRunner().invoke(
        app,
        ["sql", "--icp", str(path), "--columns", ",".join(rows.columns)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    sql = res.stdout.strip().rstrip(";")
    con = duckdb.connect()
    try:
        con.register("accounts_raw", rows.astype("string"))
        con.execute("CREATE TABLE accounts AS SELECT * FROM accounts_raw")
        return con.execute(sql).df()
    finally:
        con.close()


def assert_same(name: str, expected: pd.DataFrame, got: pd.DataFrame, rows: pd.DataFrame) -> None:
    e, g = tidy(expected), tidy(got)
    assert len(e) == len(g), name
    for i in range(len(e)):
        a, b = e.iloc[i].to_dict(), g.iloc[i].to_dict()
        row = records(rows.set_index(rows["account_id"]).loc[[a["account_id"]]])[0]
        assert a == b, f"{name} differs on {json.dumps(row, ensure_ascii=False)}:\n{a}\n{b}"


def all_but_spark(
    icp: ICP, rows: pd.DataFrame, folder: Path, per_cell_from: str = "both"
) -> pd.DataFrame:
    """Every scorer but Spark on ``rows``, compared with the Python engine. The DuckDB engine
    reads a text value by a lookup (once per distinct value) where it is among the first
    rows' values, else by the SQL per cell; ``per_cell_from`` (csv, parquet or both) is the
    input it reads with almost every cell per cell (lookups from the first two rows only).
    With csv or parquet the other input is read with lookups only, so that each example
    runs the engine twice while the examples together cover both ways for both inputs."""
    csv, parquet = write_inputs(rows, folder)
    python = score_with_engine(icp, csv, engine="python").frame
    assert python is not None
    got = {
        "API batch": score_records(icp, records(rows)),
        "API single account": api_single(icp, rows),
        "icp sql in DuckDB": icp_sql_in_duckdb(icp, rows, folder),
    }
    for kind, path in (("CSV", csv), ("Parquet", parquet)):
        if per_cell_from != kind.lower():
            got[f"duckdb over {kind}"] = score_with_engine(icp, path, engine="duckdb").frame
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(duckdb_engine, "LOOKUP_ROWS", 2)
        for kind, path in (("CSV", csv), ("Parquet", parquet)):
            if per_cell_from in (kind.lower(), "both"):
                got[f"duckdb over {kind}, values after row 2 per cell"] = score_duckdb(
                    icp, path
                ).frame
    for name, frame in got.items():
        assert frame is not None
        assert_same(name, python, frame, rows)
    return python


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(icp=icps(), rows=raw_rows(), per_cell_from=st.sampled_from(["csv", "parquet"]))
def test_every_scorer_reads_raw_cells_alike(
    icp: ICP, rows: pd.DataFrame, per_cell_from: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    all_but_spark(icp, rows, tmp_path_factory.mktemp("parity"), per_cell_from)


def test_the_reported_cells_score_alike(tmp_path: Path) -> None:
    """ "1,200" employees and "$50,000,000" revenue, and a CRM's "$5,850,000.00"."""
    icp = make_icp(
        tiers=[{"tier": 1, "name": "A", "min_score": 50, "match": "score"}],
        scorecard={
            "base": 40,
            "features": [
                {"attribute": "employees", "kind": "numeric", "bins": [
                    {"attribute": "employees", "missing": True, "points": -5},
                    {"attribute": "employees", "between": [1000, None], "points": 6}]},
                {"attribute": "annual_revenue", "kind": "numeric", "bins": [
                    {"attribute": "annual_revenue", "between": [5e6, None], "points": 8}]},
            ],
        },
    )  # fmt: skip
    rows = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "employees": ["1,200", "N/A", " 300 "],
            "annual_revenue": ["$50,000,000", "$5,850,000.00", "1.2e3"],
        },
        dtype=object,
    )
    python = all_but_spark(icp, rows, tmp_path)
    assert python.set_index("account_id")["score"].to_dict() == {"a": 54, "b": 43, "c": 40}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark's notice about pandas 3
def test_spark_reads_raw_cells_alike(spark, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(icp=icps(), rows=raw_rows())
    def check(icp: ICP, rows: pd.DataFrame) -> None:
        folder = tmp_path_factory.mktemp("spark")
        python = all_but_spark(icp, rows, folder)
        got = score_spark(icp, folder / "accounts.parquet").frame
        assert got is not None
        assert_same("spark", python, got, rows)

    check()


def spy_on_lookups(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, list[str]]]:
    """What each DuckDB engine run looks up, one entry per run, in order."""
    seen: list[dict[str, list[str]]] = []
    lookups = duckdb_engine._lookups

    def spy(*args: object, **kwargs: object) -> dict[str, list[str]]:
        out = lookups(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(out)
        return out

    monkeypatch.setattr(duckdb_engine, "_lookups", spy)
    return seen


def test_lookups_and_the_per_cell_sql_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DuckDB engine reads a text column's values once each (a lookup) where the first
    rows hold few of them, and per cell by the SQL otherwise: a value first seen after
    those rows, or a column with many values (numbers held as text). Every way gives the
    python engine's scores and reasons, and the rows come out in the input's order."""
    n = 600
    rows = pd.DataFrame(
        {
            "account_id": [f"a{i:04d}" for i in range(n)],
            # many distinct values: amounts written in several ways, among the raw cells
            "employees": [
                NUMBER_CELLS[i % len(NUMBER_CELLS)] if i % 3 else f"${i * 7:,}" for i in range(n)
            ],
            "annual_revenue": [f"{i * 1.5e4:.0f}" if i % 5 else "n/a" for i in range(n)],
            "industry": [
                TEXT_CELLS[i % len(TEXT_CELLS)] if i < n // 2 else f" Retail{i % 40} "
                for i in range(n)
            ],
            "country": [TEXT_CELLS[(i * 7) % len(TEXT_CELLS)] for i in range(n)],
            "tech_stack": [
                LIST_CELLS[i % len(LIST_CELLS)] if i % 4 else f"sap; x{i}|AWS" for i in range(n)
            ],
        },
        dtype=object,
    )
    icp = make_icp(
        routing={"high_touch": 60, "nurture": 45},
        tiers=[
            {"tier": 1, "name": "A", "min_score": 55, "criteria": {"firmographic": [
                {"attribute": "industry", "in": ["retail7", "logistics"], "pinned": True}]}},
            {"tier": 2, "name": "B", "min_score": 40, "segments": [{"conditions": [
                {"attribute": "tech_stack", "has": "aws"},
                {"attribute": "employees", "between": [100, None]}], "evidence": {"n": 40}}]},
        ],
        disqualifiers=[{"attribute": "country", "in": ["東京"], "reason": "test"}],
        scorecard={"base": 45, "features": [
            {"attribute": "employees", "kind": "numeric", "bins": [
                {"attribute": "employees", "missing": True, "points": -5},
                {"attribute": "employees", "between": [None, 300], "points": -3},
                {"attribute": "employees", "between": [300, 2000], "points": 6},
                {"attribute": "employees", "in": ["2100"], "points": 9}]},
            {"attribute": "annual_revenue", "kind": "numeric", "bins": [
                {"attribute": "annual_revenue", "between": [1e6, None], "points": 4}]},
            {"attribute": "industry", "kind": "categorical", "bins": [
                {"attribute": "industry", "in": ["retail", "retail3", "logistics"], "points": 8},
                {"attribute": "industry", "not_in": ["évian"], "points": -2},
                {"attribute": "industry", "missing": True, "points": -4}]},
            {"attribute": "country", "kind": "categorical", "bins": [
                {"attribute": "country", "in": ["1,200", "software"], "points": 3},
                {"attribute": "country", "other": True, "points": 1}]},
            {"attribute": "tech_stack", "kind": "flag", "bins": [
                {"attribute": "tech_stack", "has": "sap", "points": 5}]},
            {"attribute": "tech_stack", "kind": "flag", "bins": [
                {"attribute": "tech_stack", "lacks": "aws", "points": -6}]},
        ]},
    )  # fmt: skip
    csv, parquet = write_inputs(rows, tmp_path)
    python = score_with_engine(icp, csv, engine="python").frame
    assert python is not None
    seen = spy_on_lookups(monkeypatch)
    for first_rows, most in ((100_000, 5_000), (250, 5_000), (100_000, 30)):
        monkeypatch.setattr(duckdb_engine, "LOOKUP_ROWS", first_rows)
        monkeypatch.setattr(duckdb_engine, "LOOKUP_VALUES", most)
        for path in (csv, parquet):
            got = score_duckdb(icp, path).frame
            assert got is not None
            assert list(got["account_id"]) == list(rows["account_id"])  # the input's order
            assert_same(f"duckdb, {first_rows} rows, {most} values, {path.name}", python, got, rows)
    # what each setting looked up (CSV): every text column in full; the first 250 rows'
    # values; only the columns with at most 30 values
    full, first, few = seen[0], seen[2], seen[4]
    assert set(full) == set(COLUMNS)
    assert len(full["industry"]) > len(first["industry"])
    assert set(few) == {"country"}


def test_a_parquet_column_of_many_values_is_looked_up_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Parquet column whose first rows hold more values than comparisons code (an ENUM
    cast) is looked up with every value of the file, where they are few enough, so no cell
    fails the cast or is read per cell. Either way the scores are the python engine's, in
    the input's order."""
    n = 400
    rows = pd.DataFrame(
        {
            "account_id": [f"a{i:04d}" for i in range(n)],
            # 300 values, 100 of them in the first 100 rows; written in several ways
            "industry": [
                [f" Retail{i % 300} ", f"LOGISTICS{i % 300}", None, "n/a"][i % 4]
                if i % 7
                else f"retail{i % 300}"
                for i in range(n)
            ],
            "employees": [str(i * 13) for i in range(n)],
        },
        dtype=object,
    )
    icp = make_icp(
        tiers=[{"tier": 1, "name": "A", "min_score": 50, "criteria": {"firmographic": [
            {"attribute": "industry", "in": ["retail7", "retail250"], "pinned": True}]}}],
        disqualifiers=[{"attribute": "industry", "in": ["logistics299"], "reason": "test"}],
        scorecard={"base": 45, "features": [
            {"attribute": "industry", "kind": "categorical", "bins": [
                {"attribute": "industry", "in": ["retail7", "retail250", "logistics1"], "points": 8},
                {"attribute": "industry", "missing": True, "points": -4},
                {"attribute": "industry", "other": True, "points": -1}]},
            {"attribute": "employees", "kind": "numeric", "bins": [
                {"attribute": "employees", "between": [None, 2000], "points": -3},
                {"attribute": "employees", "between": [2000, None], "points": 6}]},
        ]},
    )  # fmt: skip
    csv, parquet = write_inputs(rows, tmp_path)
    python = score_with_engine(icp, csv, engine="python").frame
    assert python is not None
    seen = spy_on_lookups(monkeypatch)
    monkeypatch.setattr(duckdb_engine, "LOOKUP_ROWS", 100)
    distinct = rows["industry"].dropna().nunique()
    for whole, expected in ((4_096, distinct), (distinct - 1, None)):
        monkeypatch.setattr(duckdb_engine, "WHOLE_FILE_VALUES", whole)
        for path in (csv, parquet):
            got = score_duckdb(icp, path).frame
            assert got is not None
            assert list(got["account_id"]) == list(rows["account_id"])
            assert_same(f"duckdb, {whole} whole-file values, {path.name}", python, got, rows)
        in_csv, in_parquet = seen[-2], seen[-1]
        # the first 100 rows show values most of them once: a CSV reads the column per cell
        assert "industry" not in in_csv
        # ... as does a Parquet file holding more values than WHOLE_FILE_VALUES
        assert len(in_parquet.get("industry", [])) == (expected or 0)


def test_a_lookup_whose_values_keep_coming_is_read_per_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed ENUM cast costs DuckDB far more than reading the cell per cell. Where the
    first rows of a CSV show many values, most of them once (Good-Turing: values not yet
    seen are common), the column is read per cell; a column whose few values repeat
    keeps its lookup, and so does every column of a file the first rows cover whole.
    A Parquet input looks the first column up with every value of the file. The scores
    are the python engine's either way."""
    n = 600
    rows = pd.DataFrame(
        {
            "account_id": [f"a{i:04d}" for i in range(n)],
            "industry": [f"Sector {i}" if i % 9 else None for i in range(n)],  # new each row
            "country": [f"c{i % 30}" for i in range(n)],  # 30 values, each repeated
        },
        dtype=object,
    )
    icp = make_icp(
        tiers=[{"tier": 1, "name": "A", "min_score": 50, "match": "score"}],
        scorecard={"base": 45, "features": [
            {"attribute": "industry", "kind": "categorical", "bins": [
                {"attribute": "industry", "in": ["sector 1", "sector 500"], "points": 8},
                {"attribute": "industry", "missing": True, "points": -4}]},
            {"attribute": "country", "kind": "categorical", "bins": [
                {"attribute": "country", "in": ["c3", "c29"], "points": 5},
                {"attribute": "country", "other": True, "points": -1}]},
        ]},
    )  # fmt: skip
    csv, parquet = write_inputs(rows, tmp_path)
    python = score_with_engine(icp, csv, engine="python").frame
    assert python is not None
    seen = spy_on_lookups(monkeypatch)
    for first_rows in (200, n):
        monkeypatch.setattr(duckdb_engine, "LOOKUP_ROWS", first_rows)
        for path in (csv, parquet):
            got = score_duckdb(icp, path).frame
            assert got is not None
            assert_same(f"duckdb, first {first_rows} rows, {path.name}", python, got, rows)
    in_csv, in_parquet, csv_whole, parquet_whole = seen
    assert "industry" not in in_csv and len(in_csv["country"]) == 30
    assert len(in_parquet["industry"]) == rows["industry"].nunique()
    assert (
        len(csv_whole["industry"]) == len(parquet_whole["industry"]) == rows["industry"].nunique()
    )


@st.composite
def ladders(draw: st.DrawFn, attribute: str) -> list[dict[str, object]]:
    """A number feature's bins as a ladder (contiguous ``between`` bins, open or closed at
    either end, a missing bin before, after or not at all) or, now and then, not quite one
    (a gap, an overlap, a bin of another kind), which must be read bin by bin."""
    bounds = sorted(draw(st.lists(st.sampled_from(BOUNDS), min_size=2, max_size=5, unique=True)))
    edges: list[float | None] = list(bounds)
    if draw(st.booleans()):
        edges[0] = None
    if draw(st.booleans()):
        edges[-1] = None
    bins: list[dict[str, object]] = [
        {"attribute": attribute, "between": [lo, hi]}
        for lo, hi in zip(edges, edges[1:], strict=False)
    ]
    broken = draw(st.sampled_from(["none", "none", "gap", "overlap", "other"]))
    if broken == "gap" and len(bins) > 1:
        bins.pop(len(bins) // 2)
    elif broken == "overlap" and len(bins) > 1:
        bins[1]["between"] = [bounds[0] - 1, bins[1]["between"][1]]  # type: ignore[index]
    elif broken == "other":
        bins.append({"attribute": attribute, "other": True})
    where = draw(st.sampled_from(["first", "last", "none"]))
    if where == "first":
        bins.insert(0, {"attribute": attribute, "missing": True})
    elif where == "last":
        bins.append({"attribute": attribute, "missing": True})
    for b in bins:
        b["points"] = draw(st.sampled_from([2, 5, -3, -8, 12]))
    return bins


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    bins=st.tuples(ladders("employees"), ladders("annual_revenue")),
    cells=st.lists(
        st.sampled_from([*BOUNDS, None, float("nan"), -5.0, 0.5, 48.0, 2e6, 999.999]),
        min_size=4,
        max_size=40,
    ),
)
def test_number_ladders_pick_the_python_bins(
    bins: tuple[list[dict[str, object]], list[dict[str, object]]],
    cells: list[float | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Number columns (typed, not text) binned by a ladder are read by counting the bounds
    each number reaches (``sql._number_steps``); every bin, reason and tier is the
    Python engine's, for a CSV and a Parquet input, and for bins that are not a ladder."""
    rows = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(len(cells))],
            "employees": pd.array(cells, dtype="Float64"),
            "annual_revenue": pd.array(cells[::-1], dtype="Float64"),
        }
    )
    icp = make_icp(
        tiers=[{"tier": 1, "name": "A", "min_score": 50, "match": "score"}],
        scorecard={"base": 45, "features": [
            {"attribute": a, "kind": "numeric", "bins": b}
            for a, b in zip(NUMBERS, bins, strict=True)
        ]},
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("ladder")
    parquet = folder / "accounts.parquet"
    rows.to_parquet(parquet, index=False)
    csv = folder / "accounts.csv"
    rows.to_csv(csv, index=False)
    python = score_with_engine(icp, parquet, engine="python").frame
    assert python is not None
    for path in (csv, parquet):
        got = score_duckdb(icp, path).frame
        assert got is not None
        assert_same(f"duckdb over {path.name}", python, got, rows)


def test_number_steps_take_only_ladders() -> None:
    """The counted form is used for ladders and nothing else."""
    from icpkit.icpfile import Condition
    from icpkit.scoring.sql import _TEXT, _Attr, _number_steps

    a = _Attr("x", 0, exp.column("x"), _TEXT)
    a.number = True

    def steps(*spans: object) -> bool:
        return _number_steps([Condition.model_validate({"attribute": "x", **s}) for s in spans], a) is not None  # type: ignore[arg-type]  # fmt: skip

    m = {"missing": True}
    assert steps({"between": [None, 10]}, {"between": [10, 50]}, {"between": [50, None]})
    assert steps(m, {"between": [1, 10]}, {"between": [10, 50]})
    assert steps({"between": [1, 10]}, m)
    assert not steps({"between": [None, 10]}, {"between": [20, None]})  # a gap
    assert not steps({"between": [None, 10]}, {"between": [5, None]})  # an overlap
    assert not steps({"between": [10, None]}, {"between": [None, 10]})  # descending
    assert not steps({"between": [None, 10]}, m, {"between": [10, None]})  # not consecutive
    assert not steps({"between": [None, 10]}, {"other": True})
    assert not steps(m)
    a.number = False
    assert not steps({"between": [None, 10]})


def test_more_contributions_than_bits_rank_alike(tmp_path: Path) -> None:
    """Past 62 (feature, bin) contributions the DuckDB engine ranks them by passes, not
    by one number's bits: the same reasons, in the same order."""
    features = [
        {"attribute": attr, "kind": "categorical", "bins": [
            {"attribute": attr, "in": [WORDS[k % len(WORDS)]], "points": 1 + k % 7},
            {"attribute": attr, "missing": True, "points": -(1 + k % 5)},
            {"attribute": attr, "other": True, "points": 2 + k % 3}]}
        for k, attr in enumerate(["industry", "country"] * 12)
    ]  # fmt: skip
    icp = make_icp(
        tiers=[{"tier": 1, "name": "A", "min_score": 50, "match": "score"}],
        scorecard={"base": 40, "features": features},
    )
    rows = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(len(TEXT_CELLS))],
            "industry": TEXT_CELLS,
            "country": TEXT_CELLS[::-1],
        },
        dtype=object,
    )
    engine_form = build_query(icp, lookups={}).sql("duckdb").lower()
    assert "greatest" in engine_form and "log2" not in engine_form  # 72 contributions: passes
    all_but_spark(icp, rows, tmp_path)
