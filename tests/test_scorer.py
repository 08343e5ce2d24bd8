from __future__ import annotations

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from icpkit import icpfile
from icpkit.errors import IcpFileError
from icpkit.scoring.scorer import score_accounts

BASE_YAML = """
version: 1
evidence: {strength: strong, message: test, closed_deals: 100, wins: 30, base_win_rate: 0.3}
statement: {text: t, entity: e, trait: t, pain: p, workaround: w, budget: b}
tiers:
  - tier: 1
    name: Perfect fit
    min_score: 75
    criteria: {firmographic: [{attribute: industry, in: [logistics]}]}
  - {tier: 2, name: Good fit, min_score: 65}
  - tier: 3
    name: Acceptable fit
    min_score: 55
    segments:
      - conditions: [{attribute: employees, between: [1000, null]}]
        evidence: {n: 40}
scorecard:
  base: 50
  features:
    - attribute: industry
      kind: categorical
      bins:
        - {attribute: industry, in: [logistics], points: 18}
        - {attribute: industry, in: [retail], points: -5}
        - {attribute: industry, other: true, points: 0}
        - {attribute: industry, missing: true, points: -3}
    - attribute: employees
      kind: numeric
      bins:
        - {attribute: employees, between: [null, 50], points: -10}
        - {attribute: employees, between: [50, 500], points: 8}
        - {attribute: employees, between: [500, null], points: 2}
    - attribute: tech_stack
      kind: flag
      bins:
        - {attribute: tech_stack, has: snowflake, points: 9}
        - {attribute: tech_stack, lacks: snowflake, points: -4}
"""


def icp_from(text: str = BASE_YAML) -> icpfile.ICP:
    return icpfile.loads(text)


ROWS = pd.DataFrame(
    {
        "account_id": ["a", "b", "c", "d"],
        "industry": ["Logistics ", "retail", None, "mining"],
        "employees": [120, 10, None, 5000],
        "tech_stack": ["aws;Snowflake", "aws", None, ["snowflake"]],
    }
)


def test_reference_semantics():
    res = score_accounts(icp_from(), ROWS).frame
    assert res["score"].tolist() == [85, 31, 47, 61]
    assert res["tier"].tolist() == ["1", "none", "none", "3"]
    assert res["route"].tolist() == ["high_touch", "deprioritize", "deprioritize", "nurture"]
    assert (
        res["reasons"][0]
        == "industry=logistics +18; tech_stack has snowflake +9; employees 50 to <500 +8"
    )
    assert res["reasons"][2] == "industry (blank) -3"


def test_hand_added_disqualifier_vetoes():
    data = yaml.safe_load(BASE_YAML)
    data["disqualifiers"] = [
        {
            "attribute": "industry",
            "in": ["logistics"],
            "reason": "we stopped serving it",
            "source": "manual",
        }
    ]
    res = score_accounts(icpfile.from_dict(data), ROWS).frame
    assert (
        res.loc[0, "tier"] == "excluded"
        and res.loc[0, "score"] == 0
        and res.loc[0, "route"] == "deprioritize"
    )
    assert res.loc[0, "reasons"].startswith("VETO industry=logistics (we stopped serving it)")


def test_pinned_criterion_is_required_for_the_tier():
    data = yaml.safe_load(BASE_YAML)
    data["tiers"][0]["criteria"]["technographic"] = [
        {"attribute": "tech_stack", "has": "aws", "pinned": True, "source": "manual"}
    ]
    rows = ROWS.copy()
    rows.loc[0, "tech_stack"] = "snowflake"
    res = score_accounts(icpfile.from_dict(data), rows).frame
    assert res.loc[0, "score"] == 85 and res.loc[0, "tier"] == "2"


def test_tier_needs_a_definition_of_itself_or_a_better_tier():
    data = yaml.safe_load(BASE_YAML)
    data["tiers"][0]["min_score"] = 90  # a (85, logistics) misses tier 1 on score
    res = score_accounts(icpfile.from_dict(data), ROWS).frame
    # tier 2 has no definition of its own: tier 1's (industry=logistics) admits a
    assert res["tier"].tolist() == ["2", "none", "none", "3"]
    rows = ROWS.copy()
    rows.loc[3, "employees"] = 600  # d leaves tier 3's segment (employees >= 1000)
    rows.loc[3, "industry"] = "mining"
    res = score_accounts(icpfile.from_dict(data), rows).frame
    assert res.loc[3, "score"] == 61 and res.loc[3, "tier"] == "none"
    data["tiers"][2]["match"] = "score"  # the score alone decides tier 3
    res = score_accounts(icpfile.from_dict(data), rows).frame
    assert res.loc[3, "tier"] == "3"
    for t in data["tiers"]:  # no definitions anywhere: no account is tiered
        t.pop("criteria", None)
        t.pop("segments", None)
        t["match"] = "definition"
    res = score_accounts(icpfile.from_dict(data), ROWS).frame
    assert set(res["tier"]) == {"none"} and res["score"].tolist() == [85, 31, 47, 61]


def test_threshold_edit_is_honoured():
    data = yaml.safe_load(BASE_YAML)
    data["tiers"][0]["min_score"] = 90
    data["routing"] = {"high_touch": 90, "nurture": 40}
    res = score_accounts(icpfile.from_dict(data), ROWS).frame
    assert res.loc[0, "tier"] == "2" and res.loc[0, "route"] == "nurture"
    assert res.loc[2, "route"] == "nurture"


@pytest.mark.parametrize(
    "edit, path",
    [
        (lambda d: d["tiers"][0].update(min_score=150), "tiers[0].min_score"),
        (
            lambda d: d["scorecard"]["features"][0]["bins"][0].pop("in"),
            "scorecard.features[0].bins[0]",
        ),
        (
            lambda d: d["scorecard"]["features"][1]["bins"][0].update(between=[500, 10]),
            "scorecard.features[1].bins[0]",
        ),
        (lambda d: d.update(routing={"high_touch": 40, "nurture": 60}), "routing"),
        (lambda d: d.update(tierz=[]), "tierz"),
    ],
)
def test_invalid_hand_edits_name_the_field(edit, path):
    data = yaml.safe_load(BASE_YAML)
    edit(data)
    with pytest.raises(IcpFileError) as exc:
        icpfile.from_dict(data)
    assert path in str(exc.value)


def test_yaml_round_trip():
    icp = icp_from()
    again = icpfile.loads(icpfile.dumps(icp))
    assert again == icp
    # an ICP without tiers (every tier dropped by hand) round-trips too and tiers nobody
    icp.tiers = []
    again = icpfile.loads(icpfile.dumps(icp))
    assert again == icp
    assert set(score_accounts(again, pd.DataFrame({"account_id": ["a"]})).frame["tier"]) == {"none"}


def test_unsupported_version():
    with pytest.raises(IcpFileError, match="version 2 is not supported"):
        icpfile.loads(BASE_YAML.replace("version: 1", "version: 2"))


values = st.one_of(st.none(), st.sampled_from(["logistics", "Retail", "mining", "", "LOGISTICS"]))
numbers = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e7, allow_nan=False))
stacks = st.one_of(
    st.none(), st.lists(st.sampled_from(["aws", "snowflake", "gcp"]), max_size=3).map(";".join)
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(values, numbers, stacks), min_size=1, max_size=30),
    st.integers(-200, 200),
    st.integers(-80, 80),
)
def test_scores_stay_in_range(rows, base, shift):
    data = yaml.safe_load(BASE_YAML)
    data["scorecard"]["base"] = base
    data["scorecard"]["features"][0]["bins"][0]["points"] = shift
    frame = pd.DataFrame(rows, columns=["industry", "employees", "tech_stack"]).assign(
        account_id=lambda d: [str(i) for i in range(len(d))]
    )
    res = score_accounts(icpfile.from_dict(data), frame).frame
    assert res["score"].between(0, 100).all()
    assert set(res["tier"]) <= {"1", "2", "3", "none", "excluded"}


@settings(max_examples=100, deadline=None)
@given(st.integers(-30, 30), st.integers(0, 30), values, numbers, stacks)
def test_a_better_bin_never_lowers_a_score(points, bonus, industry, employees, stack):
    """Raising one bin's points never lowers any account's score."""
    lo = yaml.safe_load(BASE_YAML)
    lo["scorecard"]["features"][0]["bins"][0]["points"] = points
    hi = yaml.safe_load(BASE_YAML)
    hi["scorecard"]["features"][0]["bins"][0]["points"] = points + bonus
    frame = pd.DataFrame(
        [{"account_id": "x", "industry": industry, "employees": employees, "tech_stack": stack}]
    )
    a = score_accounts(icpfile.from_dict(lo), frame).frame["score"][0]
    b = score_accounts(icpfile.from_dict(hi), frame).frame["score"][0]
    assert b >= a


def test_whitespace_is_what_str_strip_removes():
    """The written-out WHITESPACE is exactly the characters str.isspace() accepts."""
    from icpkit.scoring.clean import WHITESPACE

    assert WHITESPACE == "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
