"""`icp init` writes a hand-editable ICP; `icp validate --icp` tests it on the closed deals.

The sample company has planted truth (icpkit.sample.truth.PLANTED): industry
(logistics, manufacturing) and Snowflake raise the win rate, government and
fewer than 20 employees lower it, and country is noise. A hypothesis stating
a planted-true and a planted-false criterion must come out supported and
contradicted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from icpkit import hypothesis as hyp_mod
from icpkit.cli import app
from icpkit.errors import IcpFileError
from icpkit.sample.truth import PLANTED

runner = CliRunner()


def _init(tmp_path: Path, sample_files, *extra: str) -> Path:
    path = tmp_path / "hypothesis.yaml"
    r = runner.invoke(
        app, ["init", "--out", str(path), "--accounts", str(sample_files["accounts"]), *extra]
    )
    assert r.exit_code == 0, r.output
    return path


def test_init_writes_an_editable_hypothesis_in_the_template_fields(tmp_path, sample_files):
    path = _init(tmp_path, sample_files)
    raw = yaml.safe_load(path.read_text())
    assert {"entity", "firmographic", "technographic", "behavioral", "trigger"} <= set(raw)
    assert {"disqualifiers", "persona"} <= set(raw)
    hyp = hyp_mod.load(path)
    assert hyp.firmographic and hyp.persona is not None
    text = path.read_text()
    assert "#   country: US" in text  # the data's own columns and values, as a comment
    assert "employees: 5 to" in text  # a number column as its range
    # a second init does not overwrite the edited file
    r = runner.invoke(app, ["init", "--out", str(path)])
    assert r.exit_code != 0 and "exists" in r.output


def test_validate_icp_judges_a_planted_true_and_a_planted_false_criterion(tmp_path, sample_files):
    path = _init(tmp_path, sample_files)
    raw = yaml.safe_load(path.read_text())
    # the founder believes in US companies (planted noise) and in the planted industries
    raw["firmographic"] = [{"industry": PLANTED["icp"]["industry"]}, {"country": ["US"]}]
    raw["technographic"] = [{"tech_stack": {"has": "snowflake"}}]
    raw["behavioral"] = [{"crm_vendor": ["salesforce"]}]  # no such column
    raw["disqualifiers"] = [{"industry": PLANTED["negative"]["industry"]}]
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "test"
    r = runner.invoke(
        app,
        [
            "validate", "--icp", str(path), "--accounts", str(sample_files["accounts"]),
            "--deals", str(sample_files["deals"]), "--events", str(sample_files["events"]),
            "--out", str(out),
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    res = json.loads((out / "hypothesis.json").read_text())
    by = {c["column"] + ":" + c["family"]: c for c in res["criteria"]}
    assert by["industry:firmographic"]["verdict"] == "supported"
    assert by["country:firmographic"]["verdict"] == "contradicted"
    assert by["tech_stack:technographic"]["verdict"] == "supported"
    assert by["crm_vendor:behavioral"]["verdict"] == "cannot judge"
    assert "no column 'crm_vendor'" in by["crm_vendor:behavioral"]["why"]
    assert by["industry:disqualifiers"]["verdict"] == "supported"
    assert by["events:trigger"]["verdict"] == "supported"  # funding_round is a planted trigger
    for c in res["criteria"]:
        if c["verdict"] != "cannot judge":
            assert c["n"] >= 30 and c["n_without"] >= 30
    w = res["whole"]
    assert w["in"]["n"] + w["out"]["n"] == res["closed_deals"]
    assert 0 < w["coverage_wins"] < 1 and w["ratio"] > 1
    assert res["learned"]["ratio"] > 1 and res["learned"]["recognize"]  # side by side
    md = (out / "hypothesis.md").read_text()
    assert "Side by side with the ICP learned from the data" in md
    assert "**contradicted**" in md and "**supported**" in md


def test_a_small_group_cannot_be_judged():
    frame = pd.DataFrame(
        {"account_id": [f"a{i}" for i in range(200)], "plan": ["rare"] * 5 + ["common"] * 195}
    )
    deals = pd.DataFrame({"account_id": frame["account_id"], "outcome": ["won", "lost"] * 100})
    hyp = hyp_mod.Hypothesis(firmographic=[{"plan": ["rare"]}])
    res = hyp_mod.test(hyp, frame, deals)
    (c,) = res["criteria"]
    assert c["verdict"] == "cannot judge" and c["n"] == 5 and "at least 30" in c["why"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("firmographic:\n  - employees: {around: 5}\n", "unknown operator 'around'"),
        ("firmographic:\n  - {employees: 5, industry: x}\n", "one 'column: value' pair"),
        ("firmographic:\n  - employees: {between: [500, 100]}\n", "firmographic[0] (employees)"),
        ("entity: x\n", "states no criterion"),
        ("firmographic: []\npersona: {role: champion, mood: happy}\n", "persona.mood"),
    ],
)
def test_a_bad_hypothesis_names_the_file_and_field(tmp_path, body, needle):
    p = tmp_path / "h.yaml"
    p.write_text(body)
    with pytest.raises(IcpFileError) as e:
        hyp_mod.load(p)
    assert needle in str(e.value) and str(p) in str(e.value)
