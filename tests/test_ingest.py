from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from icpkit.errors import InputError, InputErrors
from icpkit.ingest import ingest, read_table
from icpkit.workspace import Workspace


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


ACC = "account_id,name,industry,employees\nA1,Acme,logistics,120\nA2,Beta,retail,40\nA3,Gamma,retail,\n"
DEALS = "deal_id,account_id,outcome,amount,created_at,closed_at\nD1,A1,won,100,2024-01-01,2024-02-01\nD2,A2,lost,50,2024-01-05,2024-03-01\nD3,A3,open,,2024-04-01,\n"


def test_ingest_roundtrip_and_types(tmp_path):
    ws = Workspace(tmp_path / "ws")
    res = ingest(
        ws, {"accounts": write(tmp_path, "a.csv", ACC), "deals": write(tmp_path, "d.csv", DEALS)}
    )
    assert res.tables == {"accounts": 3, "deals": 3}
    acc = ws.table("accounts")
    assert acc["employees"].tolist()[:2] == [120.0, 40.0] and pd.isna(acc["employees"][2])
    deals = ws.table("deals")
    assert deals["outcome"].tolist() == ["won", "lost", "open"]
    assert str(deals["closed_at"].dtype).startswith("datetime64")


def test_missing_required_column_names_file_and_hint(tmp_path):
    p = write(tmp_path, "d.csv", "deal_id,acct,outcome\nD1,A1,won\n")
    with pytest.raises(
        InputError,
        match=r"d\.csv, row 1, column 'account_id': required column 'account_id' is missing",
    ) as exc:
        read_table("deals", p)
    assert "mapping" in str(exc.value)


def test_unknown_outcome_label(tmp_path):
    p = write(tmp_path, "d.csv", "deal_id,account_id,stage\nD1,A1,Closed Won\nD2,A1,Maybe Later\n")
    with pytest.raises(InputErrors) as exc:
        read_table("deals", p)
    msg = str(exc.value)
    assert "row 3" in msg and "'stage'" in msg and "Maybe Later" in msg and "outcomes" in msg


def test_duplicate_ids(tmp_path):
    p = write(tmp_path, "a.csv", "account_id,name\nA1,x\nA2,y\nA1,z\n")
    with pytest.raises(
        InputErrors,
        match=r"row 2, column 'account_id': 1 id\(s\) appear more than once, e\.g\. \['A1'\]",
    ):
        read_table("accounts", p)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(InputError, match="the file is empty"):
        read_table("accounts", write(tmp_path, "e.csv", ""))
    with pytest.raises(InputError, match="header but no data rows"):
        read_table("accounts", write(tmp_path, "h.csv", "account_id,name\n"))


def test_semicolon_delimiter_and_latin1(tmp_path):
    text = "account_id;name;industry;employees\nA1;Müller GmbH;logistics;1.200\n"
    df, kinds, warnings = read_table("accounts", write(tmp_path, "a.csv", text, "cp1252"))
    assert df["name"][0] == "Müller GmbH"
    assert any("cp1252" in w for w in warnings) and any("';'" in w for w in warnings)


def test_non_numeric_and_bad_dates_report_rows(tmp_path):
    acc = write(tmp_path, "a.csv", "account_id,employees\nA1,12\nA2,twelve\n")
    with pytest.raises(
        InputErrors,
        match=r"row 3, column 'employees': 1 value\(s\) are not numbers \(row 3: 'twelve'\)",
    ):
        read_table("accounts", acc)
    d = write(tmp_path, "d.csv", "deal_id,account_id,outcome,close_date\nD1,A1,won,2024-13-45\n")
    with pytest.raises(
        InputErrors, match=r"row 2, column 'close_date': 1 date\(s\) could not be parsed"
    ):
        read_table("deals", d)


def test_future_close_date_is_an_error_but_open_deal_may_have_one(tmp_path):
    d = write(
        tmp_path,
        "d.csv",
        "deal_id,account_id,outcome,close_date\nD1,A1,won,2999-01-01\nD2,A1,open,2999-01-01\n",
    )
    with pytest.raises(
        InputErrors, match=r"row 2, column 'close_date': 1 date\(s\) are in the future"
    ):
        read_table("deals", d)


def test_hubspot_and_salesforce_headers(tmp_path):
    acc = write(
        tmp_path,
        "companies.csv",
        "Record ID,Company name,Number of Employees,Annual Revenue,Industry,Country/Region\n1,Acme,50,1000000,Logistics,US\n",
    )
    df, _, _ = read_table("accounts", acc)
    assert {"account_id", "name", "employees", "annual_revenue", "industry", "country"} <= set(
        df.columns
    )
    opp = write(
        tmp_path,
        "opps.csv",
        "Id,AccountId,StageName,IsWon,IsClosed,Amount,CloseDate,CreatedDate\nO1,1,Closed Won,true,true,10,2024-02-01,2024-01-01\nO2,1,Negotiation/Review,false,false,5,2024-09-01,2024-01-01\n",
    )
    df, _, _ = read_table("deals", opp)
    assert df["outcome"].tolist() == ["won", "open"]
    assert df["deal_id"].tolist() == ["O1", "O2"]


def test_failed_ingest_keeps_previous_workspace(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest(
        ws, {"accounts": write(tmp_path, "a.csv", ACC), "deals": write(tmp_path, "d.csv", DEALS)}
    )
    before = ws.table("deals")
    bad = write(tmp_path, "bad.csv", "deal_id,account_id,outcome\nD1,A1,won\nD1,A2,lost\n")
    with pytest.raises(InputErrors):
        ingest(ws, {"accounts": tmp_path / "a.csv", "deals": bad})
    pd.testing.assert_frame_equal(ws.table("deals"), before)


def test_reingest_same_files_is_a_no_op(tmp_path):
    ws = Workspace(tmp_path / "ws")
    paths = {"accounts": write(tmp_path, "a.csv", ACC), "deals": write(tmp_path, "d.csv", DEALS)}
    first = ingest(ws, paths)
    assert not first.unchanged
    second = ingest(ws, paths)
    assert second.unchanged and second.tables == first.tables


def test_deals_for_unknown_accounts_are_counted(tmp_path):
    ws = Workspace(tmp_path / "ws")
    deals = DEALS + "D4,ZZ,won,1,2024-01-01,2024-02-02\n"
    res = ingest(
        ws, {"accounts": write(tmp_path, "a.csv", ACC), "deals": write(tmp_path, "d.csv", deals)}
    )
    assert res.tables["deals"] == 3
    assert any("1 row(s) point to accounts not in the accounts file" in w for w in res.warnings)


def test_list_attribute_detected(tmp_path):
    acc = write(
        tmp_path,
        "a.csv",
        "account_id,tech_stack,tools_used\n"
        + "".join(f"A{i},aws;Snowflake,slack|jira\n" for i in range(10)),
    )
    df, kinds, _ = read_table("accounts", acc)
    assert kinds["tech_stack"] == "list" and df["tech_stack"][0] == ["aws", "snowflake"]
    assert kinds["tools_used"] == "list"


def test_mapping_file(tmp_path):
    from icpkit.ingest import load_mapping

    m = write(
        tmp_path,
        "m.yaml",
        "deals:\n  columns: {Opp: deal_id, Firm: account_id}\n  outcomes: {Signed: won, 'No Decision': lost}\n",
    )
    d = write(tmp_path, "d.csv", "Opp,Firm,Result\nO1,A1,Signed\nO2,A1,No Decision\n")
    df, _, _ = read_table("deals", d, load_mapping(m)["deals"])
    assert df["outcome"].tolist() == ["won", "lost"]
    bad = write(tmp_path, "bad.yaml", "deals:\n  outcomes: {Signed: yes-please}\n")
    with pytest.raises(InputError, match="outcomes must map to won, lost or open"):
        load_mapping(bad)
