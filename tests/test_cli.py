from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.workspace import Workspace

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_run_then_score_unseen_accounts(small_crm_run, tmp_path):
    out = small_crm_run
    for name in (
        "icp.yaml",
        "report.html",
        "report.md",
        "scores.csv",
        "segments.csv",
        "health.csv",
        "workspace.duckdb",
    ):
        assert (out / name).exists(), name
    prospects = tmp_path / "prospects.csv"
    pd.DataFrame(
        {
            "Record ID": ["p1", "p2", "p3"],
            "Industry": ["Logistics", "Government", "retail"],
            "Number of Employees": [300, 40, None],
        }
    ).to_csv(prospects, index=False)
    scored = tmp_path / "scored.csv"
    r = invoke("score", "--icp", out / "icp.yaml", "--accounts", prospects, "--out", scored)
    assert r.exit_code == 0, r.output
    df = pd.read_csv(scored, dtype={"tier": str})
    assert list(df.columns[:5]) == ["account_id", "score", "tier", "route", "reasons"]
    by = df.set_index("account_id")
    assert by.loc["p1", "score"] > by.loc["p3", "score"]
    assert by.loc["p2", "tier"] == "excluded" and by.loc["p2", "route"] == "deprioritize"
    assert "industry=logistics +" in by.loc["p1", "reasons"]


@pytest.mark.slow
def test_hand_edited_icp_is_honoured_and_validated(small_crm, small_crm_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(small_crm_run / "icp.yaml", out / "icp.yaml")
    data = yaml.safe_load((out / "icp.yaml").read_text())
    data["disqualifiers"].append(
        {"attribute": "industry", "in": ["retail"], "reason": "no retail team", "source": "manual"}
    )
    (out / "icp.yaml").write_text(yaml.safe_dump(data))
    scored = tmp_path / "s.csv"
    assert (
        invoke(
            "score", "--icp", out, "--accounts", small_crm["accounts"], "--out", scored
        ).exit_code
        == 0
    )
    df = pd.read_csv(scored, dtype={"tier": str})
    acc = pd.read_csv(small_crm["accounts"])
    retail = df["account_id"].isin(acc.loc[acc["industry"] == "retail", "account_id"])
    assert (df.loc[retail, "tier"] == "excluded").all()
    data["tiers"][0]["min_score"] = "high"
    (out / "icp.yaml").write_text(yaml.safe_dump(data))
    r = invoke(
        "score", "--icp", out / "icp.yaml", "--accounts", small_crm["accounts"], "--out", scored
    )
    assert r.exit_code == 2
    assert "tiers[0].min_score" in r.output


def test_bad_input_exits_non_zero_and_names_the_problem(small_crm, tmp_path):
    bad = tmp_path / "deals.csv"
    bad.write_text("deal_id,account_id,outcome\nD1,A1,maybe\n")
    r = invoke("run", "--accounts", small_crm["accounts"], "--deals", bad, "--out", tmp_path / "o")
    assert r.exit_code == 2
    assert "deals.csv, row 2, column 'outcome'" in r.output and "maybe" in r.output


@pytest.mark.slow
def test_step_commands_compose(small_crm, tmp_path):
    ws = tmp_path / "ws"
    assert (
        invoke(
            "ingest",
            "--workspace",
            ws,
            "--accounts",
            small_crm["accounts"],
            "--deals",
            small_crm["deals"],
        ).exit_code
        == 0
    )
    r = invoke("health", "--workspace", ws, "--out", tmp_path / "h.csv")
    assert r.exit_code == 0 and "best 20%" in r.output
    r = invoke("patterns", "--workspace", ws, "--out", tmp_path / "seg.csv")
    assert r.exit_code == 0 and "industry=government" in r.output
    # the ICP version `icp patterns` learned is the one icp.yaml holds (no stale file to re-import)
    with Workspace(ws, read_only=True) as w:
        learned = w.icp_version()
    assert learned is not None and (ws / "icp.yaml").read_text(encoding="utf-8") == learned
    assert invoke("build", "--workspace", ws).exit_code == 0
    assert invoke("report", "--workspace", ws).exit_code == 0
    assert (ws / "report.html").exists() and (ws / "icp.yaml").exists()


def test_step_command_without_data_says_what_to_do(tmp_path):
    r = invoke("build", "--workspace", tmp_path / "empty")
    assert r.exit_code != 0
    assert "icp ingest" in r.output


def test_every_command_has_help_and_is_documented():
    from typer.main import get_command

    from icpkit.clidocs import generate

    group = get_command(app)
    for name, sub in group.commands.items():
        assert sub.help and "Example:" in sub.help, f"{name} has no help text with an example"
    docs = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    assert docs == generate(), "docs/cli.md is out of date: run `python -m icpkit.clidocs`"


@pytest.mark.slow
def test_parquet_inputs_and_market_scoring(small_crm, tmp_path):
    acc = pd.read_csv(small_crm["accounts"])
    acc.to_parquet(tmp_path / "accounts.parquet")
    pd.read_csv(small_crm["deals"]).to_parquet(tmp_path / "deals.parquet")
    market = acc.head(50).assign(account_id=lambda d: "M" + d["account_id"])
    market.to_csv(tmp_path / "market.csv", index=False)
    out = tmp_path / "out"
    r = invoke(
        "run",
        "--accounts",
        tmp_path / "accounts.parquet",
        "--deals",
        tmp_path / "deals.parquet",
        "--market",
        tmp_path / "market.csv",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    ms = pd.read_csv(out / "market_scores.csv")
    assert len(ms) == 50 and ms["account_id"].str.startswith("M").all()
    own = pd.read_csv(out / "scores.csv").set_index("account_id")
    assert (
        ms.set_index("account_id")["score"].to_numpy()
        == own.loc[acc.head(50)["account_id"], "score"].to_numpy()
    ).all()
