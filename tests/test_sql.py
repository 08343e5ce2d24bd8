"""The compiled SQL scores every row exactly as the Python reference scorer does."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from icpkit.errors import IcpkitError, InputError
from icpkit.icpfile import ICP, Feature
from icpkit.schema import FAMILIES
from icpkit.scoring import clean
from icpkit.scoring.clean import WHITESPACE
from icpkit.scoring.scorer import score_accounts
from icpkit.scoring.sql import DIALECTS, UnsupportedDialect, build_query, compile_sql

OUT = ["account_id", "score", "tier", "route", "reasons"]


def make_icp(**parts: object) -> ICP:
    data: dict[str, object] = {
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
        "tiers": [],
        "scorecard": {"base": 50},
    }
    data.update(parts)
    return ICP.model_validate(data)


def sample_icp() -> ICP:
    return make_icp(
        routing={"high_touch": 70, "nurture": 45},
        tiers=[
            {
                "tier": 1,
                "name": "A",
                "min_score": 70,
                "criteria": {
                    "firmographic": [{"attribute": "industry", "in": ["Logistics"], "pinned": True}]
                },
            },
            {"tier": 2, "name": "B", "min_score": 55},
            {"tier": 3, "name": "C", "min_score": 40},
        ],
        disqualifiers=[
            {"attribute": "country", "in": ["north korea"], "reason": "sanctions"},
            {"attribute": "country", "in": ["atlantis"], "enabled": False},
        ],
        veto_score=5,
        scorecard={
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
                        {
                            "attribute": "industry",
                            "other": True,
                            "points": -4,
                            "label": "other's \\ industry",
                        },
                    ],
                },
                {
                    "attribute": "tech",
                    "kind": "flag",
                    "bins": [{"attribute": "tech", "has": "Salesforce", "points": 7}],
                },
                {
                    "attribute": "stack",
                    "kind": "flag",
                    "bins": [{"attribute": "stack", "lacks": "hubspot", "points": -2}],
                },
            ],
        },
    )


def sample_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e", "f", "g"],
            "employees": [" 1,200 ", None, "abc", "49", "inf", "  ", "50"],
            "industry": ["LOGISTICS ", "freight", None, " ", "retail", "Logistics", "x"],
            "tech": [
                "Salesforce | HubSpot",
                "salesforce;x",
                None,
                "",
                "hubspot",
                ";",
                "a,SALESFORCE",
            ],
            "stack": [["HubSpot ", "x"], ["salesforce"], None, [], ["  "], ["a", "b"], ["hubspot"]],
            "country": ["US", "North Korea", None, "x", "atlantis", "z", "us"],
        }
    )


def python_scores(icp: ICP, frame: pd.DataFrame) -> pd.DataFrame:
    out = score_accounts(icp, frame).frame[OUT]
    return _tidy(out)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    df = df[OUT].copy()
    df["account_id"] = df["account_id"].astype(str)
    df["score"] = df["score"].astype(int)
    for c in ("tier", "route", "reasons"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.sort_values("account_id").reset_index(drop=True)


def duckdb_scores(icp: ICP, frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register("accounts", frame)
        types = {name: typ for name, typ, *_ in con.execute("DESCRIBE accounts").fetchall()}
        kwargs.setdefault("columns", types)
        sql = compile_sql(icp, **kwargs)  # type: ignore[arg-type]
        return _tidy(con.execute(sql).df())
    finally:
        con.close()


def assert_same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == OUT
    assert len(got) == len(expected)
    for i in range(len(expected)):
        e, g = expected.iloc[i].to_dict(), got.iloc[i].to_dict()
        assert e == g, f"row {i}: python {e} != sql {g}"


# -- fixed examples ------------------------------------------------------------------


def test_sample_matches_python() -> None:
    icp, rows = sample_icp(), sample_rows()
    assert_same(python_scores(icp, rows), duckdb_scores(icp, rows))


def test_list_columns_argument_and_view() -> None:
    icp, rows = sample_icp(), sample_rows()
    con = duckdb.connect()
    con.register("crm_accounts", rows)
    sql = compile_sql(icp, table="crm_accounts", view="icp_scores", list_columns={"stack"})
    assert sql.startswith("CREATE VIEW")
    con.execute(sql)
    got = _tidy(con.execute("SELECT * FROM icp_scores").df())
    assert_same(python_scores(icp, rows), got)
    replaced = compile_sql(
        icp, table="crm_accounts", view="icp_scores", list_columns={"stack"}, replace=True
    )
    con.execute(replaced)  # CREATE OR REPLACE works over the existing view


def test_float_column_compares_as_python_text() -> None:
    icp = make_icp(
        scorecard={
            "base": 50,
            "features": [
                {
                    "attribute": "size",
                    "kind": "categorical",
                    "bins": [
                        {"attribute": "size", "in": ["5"], "points": 10},
                        {"attribute": "size", "in": ["2.5"], "points": 5},
                        {"attribute": "size", "missing": True, "points": -1},
                    ],
                }
            ],
        }
    )
    rows = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "size": [5.0, 2.5, np.nan, 7.0]})
    assert_same(python_scores(icp, rows), duckdb_scores(icp, rows))


def test_absent_attribute_scores_neutral_when_columns_are_given() -> None:
    icp = sample_icp()
    rows = sample_rows().drop(columns=["tech", "employees"])
    # the Python scorer scores an absent attribute neutral; so does the SQL given the columns
    expected = python_scores(icp, rows)
    assert_same(expected, duckdb_scores(icp, rows))
    # neutral, not unknown: the employees "missing" bin (-3) is not applied
    assert not expected["reasons"].str.contains("employees|tech", regex=True).any()
    # a plain list of names is enough for that, and so is naming the absent ones
    got = duckdb_scores(icp, rows, columns=list(rows.columns), list_columns={"stack"})
    assert_same(expected, got)
    con = duckdb.connect()
    con.register("accounts", rows)
    sql = compile_sql(icp, list_columns={"stack"}, absent=["tech", "employees"])
    assert_same(expected, _tidy(con.execute(sql).df()))


def test_absent_column_is_neutral_but_a_blank_cell_is_missing() -> None:
    icp = sample_icp()
    icp.disqualifiers[0].attribute = "employees"
    icp.disqualifiers[0].in_ = None
    icp.disqualifiers[0].missing = True  # veto unknown sizes
    rows = sample_rows().head(1).drop(columns=["employees"])
    res = score_accounts(icp, rows)
    assert res.frame.loc[0, "tier"] != "excluded" and res.frame.loc[0, "points_employees"] == 0
    assert res.warnings == [
        "employees absent: scored neutral (its points range -10..+15; "
        "its disqualifiers do not apply)"
    ]
    rows["employees"] = None  # present but blank: missing, so vetoed
    assert score_accounts(icp, rows).frame.loc[0, "tier"] == "excluded"


def test_absent_attribute_without_columns_is_a_database_error() -> None:
    icp = sample_icp()
    rows = sample_rows().drop(columns=["tech"])
    con = duckdb.connect()
    con.register("accounts", rows)
    sql = compile_sql(icp, list_columns={"stack"})
    with pytest.raises(duckdb.BinderException, match="tech"):
        con.execute(sql)


def test_column_headers_match_by_normalised_name() -> None:
    icp = sample_icp()
    rows = sample_rows().rename(columns={"employees": "Employees", "account_id": "Account ID"})
    assert_same(python_scores(icp, rows), duckdb_scores(icp, rows))


def test_reserved_words_and_odd_names_are_quoted() -> None:
    feature = {
        "attribute": "order",
        "kind": "categorical",
        "bins": [{"attribute": "order", "in": ["big"], "points": 9}],
    }
    icp = make_icp(scorecard={"base": 50, "features": [feature]})
    rows = pd.DataFrame({"Account ID": ["a", "b"], "order": ["BIG ", "small"]})
    assert_same(python_scores(icp, rows), duckdb_scores(icp, rows))
    assert '"order"' in compile_sql(icp, dialect="postgres")
    assert '"ORDER"' in compile_sql(icp, dialect="snowflake")
    assert "`order`" in compile_sql(icp, dialect="spark")
    assert '"Account ID"' in compile_sql(icp, dialect="postgres", columns=["Account ID", "order"])


def test_missing_id_column_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="id column 'account_id'"):
        compile_sql(sample_icp(), columns=["employees", "industry"])


def test_unknown_dialect_lists_the_supported_ones() -> None:
    with pytest.raises(UnsupportedDialect) as info:
        compile_sql(sample_icp(), dialect="oracle")
    assert isinstance(info.value, IcpkitError)
    for d in DIALECTS:
        assert d in str(info.value)


def test_lookups_are_the_duckdb_engines_form_only() -> None:
    """The exported SQL never depends on a file's values: lookups are for DuckDB alone."""
    with pytest.raises(UnsupportedDialect, match="DuckDB"):
        build_query(sample_icp(), dialect="postgres", lookups={"industry": ["Logistics"]})
    exported = compile_sql(sample_icp(), dialect="duckdb")
    assert "ENUM" not in exported and "list_extract" not in exported.lower()


def test_unsupported_construct_is_named() -> None:
    from unittest import mock

    from sqlglot.errors import UnsupportedError

    with mock.patch.object(
        sqlglot.exp.Select, "sql", side_effect=UnsupportedError("FOO is not supported")
    ):
        with pytest.raises(UnsupportedDialect, match=r"bigquery.*FOO is not supported"):
            compile_sql(sample_icp(), dialect="bigquery")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_dialect_compiles(dialect: str) -> None:
    icp = sample_icp()
    for kwargs in (
        {},
        {"list_columns": {"stack"}},
        {"view": "analytics.icp_scores", "table": "crm.accounts", "list_columns": {"stack"}},
        {"columns": {"account_id": "text", "employees": "double", "stack": "array<string>"}},
    ):
        sql = compile_sql(icp, dialect=dialect, **kwargs)  # type: ignore[arg-type]
        tree = sqlglot.parse_one(sql, read=dialect)
        if "view" in kwargs:
            assert isinstance(tree, sqlglot.exp.Create)
            tree = tree.expression
        assert isinstance(tree, sqlglot.exp.Select)
        assert tree.named_selects == OUT


def test_dialect_specific_safe_casts() -> None:
    icp = sample_icp()
    assert "SAFE_CAST" in compile_sql(icp, dialect="bigquery")
    assert "TRY_CAST" not in compile_sql(icp, dialect="postgres")
    for d in ("duckdb", "snowflake", "spark"):
        assert "TRY_CAST" in compile_sql(icp, dialect=d)


# -- property test -------------------------------------------------------------------

# Table columns by the form their values take; "absent" is never in the table.
ATTRIBUTES = ["cat", "num_text", "num_float", "count", "list_text", "list_native", "flag", "absent"]
WORDS = ["alpha", "Beta", "gamma ray", "5", "2.5", "x|y", "a;b", "true", "none", "Évian", "it's"]
SPACES = ["", "", " ", "  ", "\t", " \n"]


@st.composite
def cased(draw: st.DrawFn, words: list[str]) -> str:
    w = draw(st.sampled_from(words))
    style = draw(st.sampled_from(["same", "upper", "lower", "title"]))
    w = {"same": w, "upper": w.upper(), "lower": w.lower(), "title": w.title()}[style]
    return draw(st.sampled_from(SPACES)) + w + draw(st.sampled_from(SPACES))


BOUNDS = [-5.0, 0.0, 1.0, 2.5, 5.0, 49.5, 50.0, 1000.0, 1e6]


@st.composite
def conditions(draw: st.DrawFn, attribute: str, allow_other: bool = True) -> dict[str, object]:
    ops = ["in", "not_in", "between", "has", "lacks", "missing"] + (
        ["other"] if allow_other else []
    )
    op = draw(st.sampled_from(ops))
    c: dict[str, object] = {"attribute": attribute}
    if op in ("in", "not_in"):
        c[op] = draw(st.lists(cased(WORDS + ["", " "]), min_size=1, max_size=3))
    elif op == "between":
        lo, hi = sorted(
            draw(st.lists(st.sampled_from(BOUNDS), min_size=2, max_size=2, unique=True))
        )
        which = draw(st.sampled_from(["both", "low", "high"]))
        c["between"] = [lo if which != "high" else None, hi if which != "low" else None]
    elif op in ("has", "lacks"):
        c[op] = draw(cased(WORDS))
    elif op == "missing":
        c["missing"] = draw(st.booleans())
    else:
        c["other"] = True
    if draw(st.integers(0, 5)) == 0:
        c["label"] = draw(st.sampled_from(["it's \\ odd", "a; b", "plain"]))
    return c


@st.composite
def icps(draw: st.DrawFn) -> ICP:
    features = []
    for _ in range(draw(st.integers(0, 7))):
        attr = draw(st.sampled_from(ATTRIBUTES))
        bins = []
        for _ in range(draw(st.integers(1, 4))):
            b = draw(conditions(attr))
            b["points"] = draw(st.sampled_from([0, 1, 2, 3, 5, 5, 8, 12, 25, -1, -3, -5, -8, -40]))
            bins.append(b)
        features.append(
            {
                "attribute": attr,
                "kind": draw(st.sampled_from(["numeric", "categorical", "flag"])),
                "bins": bins,
            }
        )
    disqualifiers = []
    for _ in range(draw(st.integers(0, 2))):
        d = draw(conditions(draw(st.sampled_from(ATTRIBUTES)), allow_other=False))
        d["reason"] = draw(st.sampled_from(["", "too small", "it's a competitor"]))
        d["enabled"] = draw(st.booleans())
        disqualifiers.append(d)
    numbers = draw(st.lists(st.sampled_from([1, 2, 3]), unique=True, max_size=3))
    mins = sorted(
        draw(st.lists(st.integers(0, 100), min_size=len(numbers), max_size=len(numbers))),
        reverse=True,
    )
    tiers = []
    for n, m in zip(sorted(numbers), mins, strict=True):
        criteria: dict[str, list[dict[str, object]]] = {}
        for _ in range(draw(st.integers(0, 2))):
            c = draw(conditions(draw(st.sampled_from(ATTRIBUTES))))
            c["pinned"] = draw(st.booleans())
            criteria.setdefault(draw(st.sampled_from(FAMILIES)), []).append(c)
        segments = [
            {
                "conditions": draw(
                    st.lists(conditions(draw(st.sampled_from(ATTRIBUTES))), max_size=3)
                ),
                "evidence": {"n": 40},
            }
            for _ in range(draw(st.integers(0, 2)))
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
    nurture, high = sorted(draw(st.lists(st.integers(0, 100), min_size=2, max_size=2)))
    return make_icp(
        routing={"high_touch": high, "nurture": nurture},
        tiers=tiers,
        disqualifiers=disqualifiers,
        veto_score=draw(st.integers(0, 100)),
        scorecard={"base": draw(st.integers(-30, 130)), "features": features},
    )


NUM_TEXT = [
    " 1,200 ",
    "5",
    "-3.5",
    "abc",
    "",
    "  ",
    "1e3",
    ".5",
    "inf",
    "-INF",
    "12,5",
    "5.",
    "0",
    "49.5",
    "1e6",
    "nan",
    "1.234.567,89 €",
    "USD 12,000.00",
    "(1,200)",
    "12,50",
    "1 234,5",
    "CHF 1'250.00",
    "1.234",
    "R$ 49,5",
]


@st.composite
def list_text(draw: st.DrawFn) -> str:
    items = draw(st.lists(cased(WORDS + [""]), max_size=4))
    sep = draw(st.sampled_from(["|", ";", ",", " | ", "; "]))
    return draw(st.sampled_from(SPACES)) + sep.join(items)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))

    def column(values: st.SearchStrategy[object]) -> list[object]:
        return [draw(values) for _ in range(n)]

    maybe = st.none()
    return pd.DataFrame(
        {
            "account_id": [f"acc{i:02d}" for i in range(n)],
            "cat": column(maybe | cased(WORDS) | st.sampled_from(["", "  "])),
            "num_text": column(maybe | st.sampled_from(NUM_TEXT)),
            "num_float": pd.Series(
                column(
                    st.sampled_from([0.0, 1.0, 5.0, 2.5, -3.0, 49.5, 50.0, 1200.0, 1e6, math.nan])
                ),
                dtype=float,
            ),
            "count": column(st.integers(-10, 2000)),
            "list_text": column(maybe | list_text()),
            "list_native": pd.Series(
                column(maybe | st.lists(cased(WORDS + [""]), max_size=4)), dtype=object
            ),
            "flag": pd.Series(column(maybe | st.booleans()), dtype=object),
        }
    )


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(icp=icps(), rows=frames())
def test_duckdb_sql_matches_python_scorer(icp: ICP, rows: pd.DataFrame) -> None:
    assert_same(python_scores(icp, rows), duckdb_scores(icp, rows))


# -- Spark ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark's notice about pandas 3
def test_spark_sql_matches_python_scorer(spark) -> None:  # type: ignore[no-untyped-def]
    icp, rows = sample_icp(), sample_rows()
    rows["revenue"] = [5.0, 2.5, math.nan, 1e6, 0.0, 49.5, 7.0]
    icp.scorecard.features.append(
        Feature.model_validate(
            {
                "attribute": "revenue",
                "kind": "categorical",
                "bins": [
                    {"attribute": "revenue", "in": ["5", "1000000"], "points": 4},
                    {"attribute": "revenue", "between": [0, 10], "points": 2},
                    {"attribute": "revenue", "missing": True, "points": -6},
                ],
            }
        )
    )
    # text NaN becomes NULL; the double column keeps its NaN, which must count as missing
    records = [
        tuple(
            None if (isinstance(v, float) and math.isnan(v) and k != "revenue") else v
            for k, v in r.items()
        )
        for r in rows.astype(object).to_dict("records")
    ]
    schema = (
        "account_id string, employees string, industry string, tech string, "
        "stack array<string>, country string, revenue double"
    )
    sdf = spark.createDataFrame(records, schema=schema)
    sdf.createOrReplaceTempView("accounts")
    sql = compile_sql(icp, dialect="spark", columns=dict(sdf.dtypes))
    got = pd.DataFrame([r.asDict() for r in spark.sql(sql).collect()], columns=OUT)
    assert_same(python_scores(icp, rows), _tidy(got))


_TRIM_DB = duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "B", " ", "\u0301", "é", "|"]), max_size=8)
)
def test_trim_removes_what_str_strip_removes(text: str) -> None:
    """The SQL trim (one regular expression) gives str.strip() for any mix of whitespace."""
    q = exp.select(clean.sql_trim(exp.Literal.string(text))).sql("duckdb")
    assert _TRIM_DB.execute(q).fetchone()[0] == text.strip()
