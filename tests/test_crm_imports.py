"""Writing what CRMs import: HubSpot and Salesforce files, their property definitions, and
the changed-only mode, from the library, `icp score` and `icp run`'s export step."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from icpkit import crm, icpfile
from icpkit.cli import app
from icpkit.errors import InputError
from icpkit.ingest import read_table
from icpkit.pipeline import crm_exports
from icpkit.workspace import Workspace

SCORED = pd.DataFrame(
    {
        "account_id": ["5814021000", "5814021037", "0015g0000000002AAZ", "x,=1"],
        "score": [81, 64, 40, 55],
        "tier": ["1", "3", "none", "3"],
        "route": ["high_touch", "nurture", "deprioritize", "nurture"],
        "reasons": ["industry=logistics +31", "employees 50-199 +4; country=DE -2", "", "x +1"],
        "why_now": ["funding_round 12 days ago", "", "", ""],
    }
)


@pytest.mark.parametrize("fmt", ["hubspot", "salesforce"])
def test_import_file_round_trip(tmp_path: Path, fmt: str) -> None:
    files = crm.write_import(
        SCORED, tmp_path / f"{fmt}.csv", fmt, version="abc123", scored_at="2026-12-01T10:00:00Z"
    )
    assert (files.rows, files.total) == (4, 4)
    # "x,=1" is neither a HubSpot nor a Salesforce id; one of the others is not the CRM's either
    what = {
        "hubspot": "2 of 4 account ids do not look like HubSpot Record IDs (numbers), "
        "e.g. '0015g0000000002AAZ'",
        "salesforce": "3 of 4 account ids do not look like Salesforce Ids (15 or 18 characters), "
        "e.g. '5814021000'",
    }[fmt]
    assert files.notes == [
        f"{what}: the CRM will not find those records. "
        f"Score an export that has the {crm.KEY_COLUMN[fmt]} column"
    ]
    header = files.path.read_text(encoding="utf-8").splitlines()[0].split(",")
    key = {"hubspot": "Record ID", "salesforce": "Id"}[fmt]
    assert header == [key, *(getattr(p, fmt) for p in crm.PROPERTIES)]
    back = crm.read_export(files.path)
    assert back["account_id"].tolist() == SCORED["account_id"].tolist()
    assert back["score"].tolist() == SCORED["score"].tolist()
    for col in ("tier", "route", "why_now"):
        assert back[col].fillna("").tolist() == SCORED[col].tolist()
    assert set(back["version"]) == {"abc123"} and set(back["scored_at"]) == {"2026-12-01T10:00:00Z"}
    # the CRM's key is the account id when the file is read as accounts
    accounts, _, _ = read_table("accounts", files.path)
    assert accounts["account_id"].tolist() == SCORED["account_id"].tolist()


def test_property_definitions_name_every_property() -> None:
    name, text = crm.property_definitions("hubspot")
    body = json.loads(text)
    assert name == "hubspot-properties.json"
    assert [p["name"] for p in body["inputs"]] == [
        "icp_score",
        "icp_tier",
        "icp_route",
        "icp_reasons",
        "icp_why_now",
        "icp_version",
        "icp_scored_at",
    ]
    assert {p["type"] for p in body["inputs"]} == {"number", "string", "datetime"}
    name, text = crm.property_definitions("salesforce")
    fields = pd.read_csv(pd.io.common.StringIO(text))
    assert name == "salesforce-fields.csv"
    assert fields["API Name"].tolist() == [p.salesforce for p in crm.PROPERTIES]
    assert fields["API Name"].str.endswith("__c").all() and set(fields["Object"]) == {"Account"}
    with pytest.raises(InputError, match="unknown export format 'pipedrive'"):
        crm.property_definitions("pipedrive")


def test_changed_rows_are_tier_or_route_changes_and_new_accounts() -> None:
    previous = pd.DataFrame(
        {
            "account_id": ["5814021000", "5814021037", "0015g0000000002AAZ"],
            "tier": ["1", "2", "none"],  # the second account was tier 2
            "route": ["high_touch", "nurture", "nurture"],  # the third was nurtured
        }
    )
    changed = crm.changed_rows(SCORED, previous)
    # unchanged, tier changed, route changed, new
    assert changed.tolist() == [False, True, True, True]


def test_cli_score_writes_crm_files_and_only_the_changes(
    small_crm_run: Path, small_crm: dict[str, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    icp_yaml = small_crm_run / "icp.yaml"
    first = tmp_path / "hubspot-import.csv"
    args = ["score", "--icp", icp_yaml, "--accounts", small_crm["accounts"], "--crm", "hubspot"]
    r = runner.invoke(app, [str(a) for a in [*args, "--out", first]])
    assert r.exit_code == 0, r.output
    full = crm.read_export(first)
    assert len(full) == 600
    assert set(full["version"]) == {crm.icp_fingerprint(icpfile.load(icp_yaml))}
    assert (tmp_path / "hubspot-properties.json").exists()
    # move 40 accounts into the vetoed industry: only they (at most) are exported again
    accounts = pd.read_csv(small_crm["accounts"], dtype=str)
    moved = accounts["industry"] != "government"
    target = accounts.index[moved][:40]
    accounts.loc[target, "industry"] = "government"
    accounts.to_csv(small_crm["accounts"], index=False)
    second = tmp_path / "changed.csv"
    r = runner.invoke(app, [str(a) for a in [*args, "--changed-since", first, "--out", second]])
    assert r.exit_code == 0, r.output
    changed = crm.read_export(second)
    assert 0 < len(changed) <= 40
    assert set(changed["account_id"]) <= set(accounts.loc[target, "account_id"])
    before = full.set_index("account_id")
    for row in changed.itertuples():
        assert (row.tier, row.route) != (
            before.at[row.account_id, "tier"],
            before.at[row.account_id, "route"],
        )
    assert f"{len(changed)} of 600 accounts changed tier or route" in r.output.replace(",", "")
    # the small CRM's ids (A0, A1 …) are not HubSpot Record IDs: the file would match nothing
    assert "600 of 600 account ids do not look like HubSpot Record IDs" in r.output.replace(",", "")


def test_cli_score_crm_option_errors(
    small_crm_run: Path, small_crm: dict[str, Path], tmp_path: Path
) -> None:
    base = [
        "score",
        "--icp",
        small_crm_run / "icp.yaml",
        "--accounts",
        small_crm["accounts"],
        "--out",
        tmp_path / "o.csv",
    ]
    r = CliRunner().invoke(app, [str(a) for a in [*base, "--changed-since", small_crm["accounts"]]])
    assert r.exit_code != 0 and "--changed-since needs --crm" in r.output
    r = CliRunner().invoke(app, [str(a) for a in [*base, "--crm", "pipedrive"]])
    assert r.exit_code != 0 and "unknown CRM" in r.output
    r = CliRunner().invoke(
        app, [str(a) for a in [*base, "--crm", "hubspot", "--changed-since", small_crm["accounts"]]]
    )
    assert r.exit_code != 0 and "not an ICP export" in r.output


def test_run_export_step_writes_full_and_changed_files(small_crm_run: Path, tmp_path: Path) -> None:
    with Workspace(small_crm_run, read_only=True) as ws:
        scores = ws.table("scores")
        previous = scores[["account_id", "tier", "route"]].copy()
        previous.loc[:9, "route"] = "other"  # ten accounts routed differently last time
        previous = previous.iloc[5:]  # and five it did not hold
        notes: list[str] = []
        files = crm_exports(ws, tmp_path, ["hubspot", "salesforce"], previous, notes)
        version = crm.icp_fingerprint(ws.current_icp())
    assert set(files) == {
        "hubspot-import.csv",
        "hubspot-properties.json",
        "hubspot-import-changed.csv",
        "salesforce-import.csv",
        "salesforce-fields.csv",
        "salesforce-import-changed.csv",
    }
    full = crm.read_export(files["salesforce-import.csv"])
    assert len(full) == len(scores) and set(full["version"]) == {version}
    changed = crm.read_export(files["hubspot-import-changed.csv"])
    assert changed["account_id"].tolist() == scores["account_id"].astype(str).head(10).tolist()
    n = len(scores)
    assert [x for x in notes if "changed" in x] == [
        f"hubspot: 10 of {n} accounts changed tier or route since the previous run",
        f"salesforce: 10 of {n} accounts changed tier or route since the previous run",
    ]
    # the small CRM's ids (A0 …) are neither CRM's record ids: said once per CRM
    assert [x.split(" (")[0] for x in notes if "changed" not in x] == [
        f"hubspot: {n} of {n} account ids do not look like HubSpot Record IDs",
        f"salesforce: {n} of {n} account ids do not look like Salesforce Ids",
    ]


def test_score_a_salesforce_report_skips_its_footer(small_crm_run: Path, tmp_path: Path) -> None:
    report = Path(__file__).parent / "data" / "crm" / "salesforce_accounts_report.csv"
    out = tmp_path / "sf.csv"
    args = ["score", "--icp", small_crm_run / "icp.yaml", "--accounts", report, "--out", out]
    r = CliRunner().invoke(app, [str(a) for a in [*args, "--crm", "salesforce"]])
    assert r.exit_code == 0, r.output
    assert "report footer: scoring with the python engine" in r.output
    scored = crm.read_export(out)
    assert len(scored) == 16 and "Northwind Freight" in set(scored["account_id"])
    assert not scored["account_id"].str.contains("Confidential|Copyright").any()
