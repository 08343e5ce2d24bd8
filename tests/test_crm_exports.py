"""Reading what CRMs export: HubSpot and Salesforce files as they come, without a mapping."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from icpkit.errors import InputError
from icpkit.ingest import ingest, read_table
from icpkit.ingest.canonical import plausible_columns
from icpkit.ingest.read import read_frame
from icpkit.scoring import clean
from icpkit.workspace import Workspace

DATA = Path(__file__).parent / "data" / "crm"
# the 22 deals of the fixtures: 8 won, 8 lost, 6 open (Contract sent, Appointment scheduled)
OUTCOMES = {"won": 8, "lost": 8, "open": 6}


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- HubSpot -----------------------------------------------------------------------------


def test_hubspot_companies_read_without_a_mapping() -> None:
    df, kinds, warnings = read_table("accounts", DATA / "hubspot_companies.csv")
    assert len(df) == 16
    assert df["account_id"].iloc[0] == "5814021000"
    assert df["name"].iloc[0] == "Northwind Freight"
    assert {"industry", "employees", "annual_revenue", "country", "domain"} <= set(df.columns)
    assert df["employees"].iloc[1] == 320.0 and df["annual_revenue"].iloc[1] == 38e6
    # the owner is who sells to the company, not a trait of it
    assert "company_owner" not in df.columns
    assert any("left out 'Company owner'" in w for w in warnings)


def test_hubspot_deals_read_associations_dates_stages_and_owner() -> None:
    df, _, warnings = read_table("deals", DATA / "hubspot_deals.csv")
    assert len(df) == 22
    # "Associated Company IDs (Primary)" is the account; "Record ID" the deal
    assert df["account_id"].iloc[0] == "5814021000" and df["deal_id"].iloc[0] == "9120450000"
    assert df["outcome"].value_counts().to_dict() == OUTCOMES
    assert df["created_at"].notna().all() and str(df["created_at"].dtype).startswith("datetime64")
    assert df["created_at"].iloc[0] == pd.Timestamp("2023-02-08")
    assert df["closed_at"].iloc[1] == pd.Timestamp("2023-03-21 01:07")
    assert "deal_owner" in df.columns  # a deal column: the deal-context analysis leaves it out
    assert not any("several companies" in w for w in warnings)


def test_hubspot_deals_xlsx_reads_as_the_csv() -> None:
    pytest.importorskip("python_calamine")
    csv, _, _ = read_table("deals", DATA / "hubspot_deals.csv")
    xlsx, _, warnings = read_table("deals", DATA / "hubspot_deals.xlsx")
    cols = ["deal_id", "account_id", "outcome", "amount", "created_at", "closed_at", "deal_owner"]
    pd.testing.assert_frame_equal(xlsx[cols], csv[cols])
    assert warnings == []
    acc, _, _ = read_table("accounts", DATA / "hubspot_companies.xlsx")
    assert acc["account_id"].iloc[0] == "5814021000"  # a number cell, read as its digits
    assert acc["annual_revenue"].iloc[4] == 410e6


def test_hubspot_contacts_read_their_company_association() -> None:
    df, _, _ = read_table("contacts", DATA / "hubspot_contacts.csv")
    assert len(df) == 20
    assert df["account_id"].iloc[1] == "5814021037" and df["title"].iloc[0] == "VP Operations"
    assert "contact_owner" not in df.columns


def test_hubspot_deals_named_by_company_match_the_accounts(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        res = ingest(
            ws,
            {
                "accounts": DATA / "hubspot_companies.csv",
                "deals": DATA / "hubspot_deals_by_name.csv",
            },
        )
        deals = ws.table("deals")
    assert res.tables == {"accounts": 16, "deals": 22}
    assert deals["account_id"].iloc[0] == "5814021000"
    assert any("22 of 22 row(s) matched to the accounts file by name" in w for w in res.warnings)


def test_several_associated_companies_take_the_first(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "deals.csv",
        "Record ID,Deal Stage,Associated Company IDs\n1,Closed won,101;102\n2,Closed lost,103\n",
    )
    df, _, warnings = read_table("deals", p)
    assert df["account_id"].tolist() == ["101", "103"]
    assert any("1 row(s) of 'Associated Company IDs' name several companies" in w for w in warnings)


# -- Salesforce --------------------------------------------------------------------------


def test_salesforce_report_footer_is_skipped_and_named() -> None:
    df, _, warnings = read_table("deals", DATA / "salesforce_opportunities_report.csv")
    assert len(df) == 22
    assert df["outcome"].value_counts().to_dict() == OUTCOMES
    note = next(w for w in warnings if "footer" in w)
    assert "skipped 3 report footer line(s)" in note and "line 24 on" in note
    for line in ("'Total'", "Confidential Information", "Copyright (c) 2000-2026 salesforce.com"):
        assert line in note
    # report headers: "Created Date", "Close Date", "Stage", "Account Name", "Lead Source"
    assert df["created_at"].iloc[0] == pd.Timestamp("2023-02-08")
    assert df["closed_at"].iloc[0] == pd.Timestamp("2023-02-28")
    assert df["source"].iloc[1] == "Partner Referral"
    # amounts in the org's currencies: "USD 12,000.00" and "EUR 48.600,00"
    assert df["amount"].iloc[:2].tolist() == [12000.0, 48600.0]


def test_salesforce_reports_ingest_together(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        res = ingest(
            ws,
            {
                "accounts": DATA / "salesforce_accounts_report.csv",
                "deals": DATA / "salesforce_opportunities_report.csv",
            },
        )
        accounts = ws.table("accounts")
    assert res.tables == {"accounts": 16, "deals": 22}
    # a report without ids: the account name is the id, and the deals name it
    assert accounts["account_id"].iloc[0] == "Northwind Freight"
    assert (
        accounts.set_index("name")["annual_revenue"]["Brightpath Health"] == 38e6
    )  # EUR 38.000.000,00
    assert "account_owner" not in accounts.columns


def test_salesforce_data_loader_exports_read_without_a_mapping(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        res = ingest(
            ws,
            {
                "accounts": DATA / "dataloader_account.csv",
                "deals": DATA / "dataloader_opportunity.csv",
            },
        )
        accounts, deals = ws.table("accounts"), ws.table("deals")
    assert res.tables == {"accounts": 16, "deals": 22}
    assert accounts["account_id"].iloc[0] == "0015g0000000000AAZ"
    assert accounts["country"].iloc[1] == "Germany" and accounts["employees"].iloc[1] == 320
    assert "ownerid" not in accounts.columns
    assert deals["outcome"].value_counts().to_dict() == OUTCOMES  # from ISWON / ISCLOSED
    assert deals["created_at"].iloc[1] == pd.Timestamp("2023-02-26 01:07")


def test_a_report_row_is_not_a_footer_because_of_its_name(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "a.csv",
        "Account Name,Industry\nAcme,retail\nTotal Wine & More,retail\nCopyright Clearance Co,media\n"
        "Total,retail\n",
    )
    df, _, warnings = read_table("accounts", p)
    assert df["name"].tolist() == ["Acme", "Total Wine & More", "Copyright Clearance Co", "Total"]
    assert not any("footer" in w for w in warnings)


def test_excel_without_its_reader_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(InputError, match=r"hubspot_deals\.xlsx.*python-calamine") as exc:
        read_table("deals", DATA / "hubspot_deals.xlsx")
    assert "pip install 'icpkit[excel]'" in str(exc.value)


# -- suggestions for a missing column ----------------------------------------------------


def test_missing_account_column_does_not_suggest_amount(tmp_path: Path) -> None:
    p = write(tmp_path, "d.csv", "Deal Name,Amount,Deal Stage\nX,100,Closed won\n")
    with pytest.raises(InputError) as exc:
        read_table("deals", p)
    assert "required column 'account_id' is missing" in str(exc.value)
    assert "Did you mean" not in str(exc.value)


def test_missing_account_column_suggests_a_near_spelling(tmp_path: Path) -> None:
    p = write(tmp_path, "d.csv", "Deal Name,Amount,Acount Id,Deal Stage\nX,100,A1,Closed won\n")
    with pytest.raises(InputError, match=r"Did you mean 'Acount Id'\?"):
        read_table("deals", p)


@pytest.mark.parametrize(
    ("target", "headers", "expected"),
    [
        ("account_id", ["Amount", "Stage", "Owner"], []),
        ("account_id", ["Amount", "Client Company Ref"], ["Client Company Ref"]),
        ("outcome", ["Amount", "Pipeline Stage Label"], ["Pipeline Stage Label"]),
        ("outcome", ["Account", "Amount"], []),
    ],
)
def test_plausible_columns(target: str, headers: list[str], expected: list[str]) -> None:
    from icpkit.schema import TABLES

    aliases = TABLES["deals"].column(target).aliases
    assert plausible_columns(target, aliases, headers) == expected


# -- numbers in currency and locale formats ----------------------------------------------


def _formats(x: float) -> list[str]:
    us = f"{x:,.2f}"
    eu = us.replace(",", "X").replace(".", ",").replace("X", ".")
    swiss = us.replace(",", "'")
    return [
        us,
        f"${us}",
        f"USD {us}",
        f"{eu} €",
        f"EUR {eu}",
        f"CHF {swiss}",
        eu.replace(".", " "),
        f"({us})" if x else us,
    ]


@settings(max_examples=80, deadline=None)
@given(cents=st.integers(0, 10**11))
def test_currency_and_locale_numbers(cents: int) -> None:
    x = cents / 100
    texts = _formats(x)
    expected = [x] * (len(texts) - 1) + [-x]
    scalar = [clean.parse_number(t)[0] for t in texts]
    vector = clean.numbers(pd.Series(texts, dtype=object)).tolist()
    for want, a, b in zip(expected, scalar, vector, strict=True):
        assert math.isclose(a, want, abs_tol=1e-9) and a == b


def test_currency_and_locale_numbers_in_sql_as_in_python() -> None:
    values = [0, 7, 12.5, 999.99, 1234.5, 1e6, 98765432.1, 5850000]
    texts = [t for x in values for t in _formats(x)] + ["1.234", "12,5", "1,2,3", "(1)2)", "abc"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[t] for t in texts])
    query = exp.select(exp.column("x"), clean.sql_number(exp.column("x"))).from_("t")
    got = dict(con.execute(query.sql("duckdb")).fetchall())
    for t in texts:
        want = clean.parse_number(t)[0]
        assert (got[t] is None and math.isnan(want)) or got[t] == want, t


FOOTERS = [
    '"Total","","USD 1,200.00"',
    '"Grand Total (12 records)"',
    '""',
    '"Confidential Information - Do Not Distribute"',
    '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
    '"Generated By:  Dana Whitfield  3/15/2026 10:12 AM"',
]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.from_regex(r"[a-z][a-z0-9 ]{0,8}", fullmatch=True), st.integers(0, 10**6)),
        min_size=1,
        max_size=8,
    ),
    footer=st.lists(st.sampled_from(FOOTERS), max_size=5),
)
def test_footer_lines_are_dropped_and_data_rows_kept(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]], footer: list[str]
) -> None:
    lines = ['"Account Name","Industry","Annual Revenue"']
    lines += [f'"{name}","retail","USD {x:,}.00"' for name, x in rows]
    p = tmp_path_factory.mktemp("footer") / "report.csv"
    p.write_text("\n".join(lines + footer) + "\n", encoding="utf-8")
    df, warnings = read_frame(p)
    assert df["Account Name"].tolist() == [name for name, _ in rows]
    noted = [w for w in warnings if "footer" in w]
    if any(f != '""' for f in footer):
        assert len(noted) == 1 and f"line {len(rows) + 2} on" in noted[0]
    else:
        assert noted == []
