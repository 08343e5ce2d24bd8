"""The ICP statement: plain words, 3-5 ranked signals, one ICP per coherent sub-segment."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpkit.icpfile import (
    ICP,
    Condition,
    Criterion,
    Disqualifier,
    Evidence,
    EvidenceSummary,
    Scorecard,
    SegmentRef,
    Tier,
)
from icpkit.labels import label, noun_phrase, words
from icpkit.mining.segments import Training
from icpkit.scoring.scorer import evaluate
from icpkit.statement import make_statement, merge_conditions

FAMILIES = {
    "industry": "firmographic",
    "employees": "firmographic",
    "annual_revenue": "firmographic",
    "country": "firmographic",
    "tech_stack": "technographic",
    "partner_program": "behavioral",
}


def cond(attr: str, **op) -> Condition:
    if "in_" in op:
        op["in"] = op.pop("in_")
    return Condition.model_validate({"attribute": attr, **op})


# -- readable labels ----------------------------------------------------------------


def test_labels_read_as_a_person_writes_them():
    assert label(cond("employees", between=(250, 580))) == "250-580 employees"
    # integer bins keep the inclusive form the binning wrote
    assert label(cond("employees", between=(250, 580), label="employees 250-579")) == (
        "250-579 employees"
    )
    assert label(cond("employees", between=(None, 45))) == "fewer than 45 employees"
    assert label(cond("employees", between=(580, None))) == "580+ employees"
    assert label(cond("annual_revenue", between=(61e6, 160e6))) == "annual revenue $61M-160M"
    assert label(cond("annual_revenue", between=(None, 9.4e6)), currency="€") == (
        "annual revenue under €9.4M"
    )
    assert label(cond("arr", between=(1e5, None))) == "arr $100k+"
    assert label(cond("tech_stack", has="snowflake")) == "uses Snowflake"
    assert label(cond("tech_stack", has="snowflake"), plural=True) == "use Snowflake"
    assert label(cond("tech_stack", lacks="aws")) == "does not use AWS"
    assert label(cond("industry", in_=["Logistics", "Manufacturing"])) == (
        "logistics or manufacturing companies"
    )
    assert label(cond("current_solution", in_=["spreadsheets"])) == "currently uses spreadsheets"
    assert label(cond("funding_stage", in_=["series_b"])) == "funding stage: series b"
    # a hand-written label wins over the generated words
    assert label(cond("employees", between=(200, 2000), label="mid-market")) == "mid-market"


def test_yes_no_columns_read_as_their_header():
    assert label(cond("has_partner_program", in_=["true"])) == "has partner program"
    assert label(cond("has_partner_program", in_=["false"])) == "has no partner program"
    assert label(cond("partner_program", in_=["false"])) == "no partner program"
    assert label(cond("partner_program", not_in=["true"])) == "no partner program"
    assert label(cond("is_enterprise", in_=["no"])) == "is not enterprise"
    # the source header, as the user wrote it, names the column
    heads = {"erp_system": "ERP System", "num_locations": "# of Locations"}
    assert label(cond("erp_system", in_=["sap"]), heads) == "ERP system: sap"
    assert label(cond("num_locations", between=(3, None)), heads) == "# of locations 3+"
    # canonical columns read as the user named them too
    assert label(cond("annual_revenue", between=(1e6, None)), {"annual_revenue": "Revenue"}) == (
        "revenue $1M+"
    )
    assert (
        noun_phrase(cond("partner_program", in_=["true"])) == "companies that have partner program"
    )
    assert noun_phrase(cond("tech_stack", has="sap")) == "companies that use SAP"
    assert noun_phrase(cond("industry", in_=["government"])) == "government companies"
    assert noun_phrase(cond("employees", between=(None, 45))) == (
        "companies with fewer than 45 employees"
    )
    assert words("AnnualRecurringRevenue") == "annual recurring revenue"
    assert words("ANNUAL_REVENUE") == "annual revenue"
    assert label(cond("churn_flag", in_=["False"])) == "no churn"
    assert label(cond("seats", between=(10, 50))) == "10-50 seats"
    assert noun_phrase(cond("office_location", in_=["United States"])) == (
        "companies based in United States"
    )


_word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8).filter(
    lambda w: w not in ("true", "false", "yes")
)
_attr = st.lists(_word, min_size=2, max_size=3).map("_".join)
_value = st.sampled_from(["true", "false", "True", "FALSE", "yes", "no"])


@settings(max_examples=200, deadline=None)
@given(
    attr=_attr,
    value=_value,
    op=st.sampled_from(["in", "not_in", "between", "has", "lacks", "missing"]),
    heads=st.booleans(),
)
def test_no_label_shows_snake_case_or_a_raw_boolean(attr, value, op, heads):
    c = {
        "in": cond(attr, in_=[value]),
        "not_in": cond(attr, not_in=[value]),
        "between": cond(attr, between=(3.0, 1234.5678)),
        "has": cond(attr, has="big_query"),
        "lacks": cond(attr, lacks="big_query"),
        "missing": cond(attr, missing=True),
    }[op]
    labels = {attr: attr.replace("_", " ").title()} if heads else None
    for text in (label(c, labels), label(c, labels, plural=True), noun_phrase(c, labels)):
        assert attr not in text and "_" not in text
        assert not {"true", "false"} & set(re.findall(r"[a-z]+", text.lower()))
        assert "1234.5678" not in text  # numbers go through fmt_number


# -- a hand-made CRM ------------------------------------------------------------------


def crm(n: int = 3000, *, split: bool, seed: int = 7) -> Training:
    """Deals with account attributes; logistics and manufacturing win.

    ``split=True``: logistics wins among small companies and manufacturing among
    large ones (two different ICPs); else both win at 250-2000 employees (one ICP).
    """
    r = np.random.default_rng(seed)
    ind = r.choice(
        ["logistics", "manufacturing", "retail", "government"], n, p=[0.3, 0.3, 0.3, 0.1]
    )
    emp = np.round(np.exp(r.uniform(np.log(10), np.log(5000), n)))
    rev = emp * r.uniform(1.5e5, 2.5e5, n)
    snow = r.random(n) < 0.3
    partner = r.random(n) < 0.4
    p = np.full(n, 0.2)
    if split:
        p[(ind == "logistics") & (emp >= 20) & (emp < 100)] = 0.7
        p[(ind == "logistics") & (emp >= 1000)] = 0.05
        p[(ind == "manufacturing") & (emp >= 1000)] = 0.75
        p[(ind == "manufacturing") & (emp < 100)] = 0.05
    else:
        p[np.isin(ind, ["logistics", "manufacturing"]) & (emp >= 250) & (emp < 2000)] = 0.65
    p = np.where(snow, np.minimum(p + 0.1, 0.95), p)
    p = np.where(~partner, np.minimum(p + 0.12, 0.95), p)
    p[ind == "government"] = 0.03
    won = r.random(n) < p
    amount = np.where(ind == "manufacturing", 30000.0, 12000.0)
    frame = pd.DataFrame(
        {
            "industry": ind,
            "employees": emp,
            "annual_revenue": rev,
            "country": r.choice(["US", "DE"], n),
            "tech_stack": [["snowflake", "aws"] if s else ["aws"] for s in snow],
            "partner_program": partner,
        }
    )
    return Training(
        frame=frame,
        won=won,
        amount=amount,
        cycle=np.full(n, np.nan),
        account=np.arange(n).astype(str),
        assigned=np.zeros((n, 0), dtype=np.int16),
    )


def ev(data: Training, conds: list[Condition]) -> Evidence:
    m = np.ones(len(data.won), dtype=bool)
    for c in conds:
        m &= evaluate(c, data.frame)
    n, w = int(m.sum()), int((m & data.won).sum())
    rate = w / n if n else 0.0
    base = data.base_rate
    amt = data.amount[m & data.won].sum() / data.amount[data.won].sum()
    return Evidence(n=n, wins=w, win_rate=rate, lift=rate / base, revenue_share=float(amt))


def seg(data: Training, *conds: Condition) -> SegmentRef:
    return SegmentRef(conditions=list(conds), evidence=ev(data, list(conds)))


def crit(data: Training, c: Condition) -> Criterion:
    return Criterion(
        **c.model_dump(by_alias=True, exclude_none=True),
        family=FAMILIES[c.attribute],
        evidence=ev(data, [c]),
    )


def tiers_for(data: Training, segments: list[SegmentRef], crits: list[Condition]) -> list[Tier]:
    by: dict[str, list[Criterion]] = {}
    for c in crits:
        cr = crit(data, c)
        by.setdefault(cr.family, []).append(cr)
    return [
        Tier(tier=1, name="Perfect fit", min_score=75, segments=segments),
        Tier(tier=3, name="Acceptable fit", min_score=55, criteria=by),
    ]


def disq(data: Training, c: Condition, *, enabled: bool = True) -> Disqualifier:
    return Disqualifier(
        **c.model_dump(by_alias=True, exclude_none=True),
        evidence=ev(data, [c]),
        enabled=enabled,
        reason="loses",
    )


@pytest.fixture(scope="module")
def one_icp() -> Training:
    return crm(split=False)


@pytest.fixture(scope="module")
def two_icps() -> Training:
    return crm(split=True)


def many_criteria() -> list[Condition]:
    return [
        cond("industry", in_=["logistics"]),
        cond("industry", in_=["manufacturing"]),
        cond("employees", between=(250, 2000)),
        cond("annual_revenue", between=(5e7, 4e8)),
        cond("tech_stack", has="snowflake"),
        cond("partner_program", in_=["false"]),
        cond("country", in_=["US"]),
        cond("country", in_=["DE"]),
    ]


def recognized_in_text(text: str) -> list[str]:
    part = text.split("We recognize a fit by: ", 1)[1].split(". We deliberately exclude", 1)[0]
    return part.split("; ")


def test_three_to_five_signals_and_one_size_view(one_icp):
    data = one_icp
    segs = [
        seg(data, cond("industry", in_=["logistics"]), cond("employees", between=(250, 2000))),
        seg(data, cond("industry", in_=["manufacturing"]), cond("employees", between=(250, 2000))),
    ]
    tiers = tiers_for(data, segs, many_criteria())
    s = make_statement(tiers, [], data, "strong", None, FAMILIES)
    assert 3 <= len(s.recognize) <= 5
    assert recognized_in_text(s.text) == s.recognize
    everything = s.recognize + s.more
    # size by headcount and size by revenue are one signal: the weaker goes to 'more'
    sizes = [t for t in s.recognize if "employees" in t or "annual revenue" in t]
    assert len(sizes) == 1
    assert any("annual revenue" in t for t in s.more) or any("employees" in t for t in s.more)
    assert not any(m in s.text for m in s.more)
    # every signal carries its win rate and sample size; no raw floats or q-values
    for t in everything:
        assert re.search(r"\(win rate \d+%, n=\d+(\.\d)?k?\)$", t), t
    assert "q=" not in s.text and not re.search(r"\d\.\d{3,}", s.text)
    # the two industries convert alike at the same size: one ICP, both named
    assert "logistics" in s.entity and "manufacturing" in s.entity
    assert "employees" in s.entity and s.alternatives == []
    assert set(s.trait.split(" and ")) == {"use Snowflake", "have no partner program"}
    assert s.budget.startswith("a typical deal of $") and "won deals" in s.budget
    assert "false" not in s.text.lower() and "_" not in s.text


def test_signals_are_ranked_by_excess_wins(one_icp):
    data = one_icp
    losing = [*many_criteria(), cond("industry", in_=["government"])]
    s = make_statement(tiers_for(data, [], losing), [], data, "strong", None, FAMILIES)
    rates = []
    for t in s.recognize:
        m = re.search(r"win rate (\d+)%, n=([\d.]+)(k?)", t)
        assert m
        n = float(m.group(2)) * (1000 if m.group(3) else 1)
        rates.append((int(m.group(1)) / 100 - data.base_rate) * n)
    assert rates == sorted(rates, reverse=True)  # up to rounding of the printed figures
    # a criterion whose accounts win less often than average is no signal at all
    assert not any("government" in t for t in s.recognize + s.more)


def test_two_sub_segments_give_a_primary_and_a_second_candidate(two_icps):
    data = two_icps
    segs = [
        seg(data, cond("industry", in_=["logistics"]), cond("employees", between=(20, 100))),
        seg(data, cond("industry", in_=["manufacturing"]), cond("employees", between=(1000, None))),
        seg(
            data,
            cond("industry", in_=["manufacturing"]),
            cond("employees", between=(1000, None)),
            cond("tech_stack", has="snowflake"),
        ),
    ]
    s = make_statement(tiers_for(data, segs, many_criteria()), [], data, "strong", None, FAMILIES)
    # manufacturing brings the larger won revenue: it is the ICP; logistics is named apart
    assert s.entity == "manufacturing companies with 1000+ employees"
    assert "logistics" not in s.entity
    assert len(s.alternatives) == 1
    alt = s.alternatives[0]
    assert alt.startswith("logistics companies with 20-100 employees (win rate ")
    assert f"Second candidate ICP: {alt}." in s.text
    # signals of the primary never contradict it
    assert not any(t.startswith("logistics") for t in s.recognize + s.more)
    # the persona slot stays last, as the personas step expects
    assert s.text.endswith(f"Primary persona: {s.persona}.")


def test_without_deals_conflicting_groups_stay_apart_by_revenue_share(two_icps):
    data = two_icps
    segs = [
        seg(data, cond("industry", in_=["logistics"]), cond("employees", between=(20, 100))),
        seg(data, cond("industry", in_=["manufacturing"]), cond("employees", between=(1000, None))),
    ]
    tiers = tiers_for(data, segs, many_criteria())
    s = make_statement(tiers, [], None, "moderate", None, FAMILIES)
    assert s.entity.startswith("manufacturing companies") and len(s.alternatives) == 1
    assert 3 <= len(s.recognize) <= 5
    assert s.budget == "[budget: to be confirmed in interviews]"


def test_exclusions_are_few_readable_and_enabled_only(one_icp):
    data = one_icp
    ds = [
        disq(data, cond("industry", in_=["government"])),
        disq(data, cond("employees", between=(None, 45))),
        disq(data, cond("annual_revenue", between=(None, 9e6))),
        disq(data, cond("country", in_=["DE"]), enabled=False),
    ]
    s = make_statement(tiers_for(data, [], many_criteria()), ds, data, "strong", None, FAMILIES)
    assert 2 <= len(s.exclude) <= 3
    assert s.exclude[0].startswith("government companies (")
    assert sum(("employees" in e) or ("annual revenue" in e) for e in s.exclude) == 1
    assert not any("DE" in e for e in s.exclude)
    for e in s.exclude:
        assert re.search(r"\(\d+% win rate, n=\d+(\.\d)?k?\)$", e), e
    assert "We deliberately exclude: " + "; ".join(s.exclude) + "." in s.text


def test_voc_and_persona_steps_still_edit_the_statement(one_icp):
    from icpkit.personas.hooks import _PERSONA_SENTENCE
    from icpkit.voc.hooks import apply_to_statement

    data = one_icp
    s = make_statement(tiers_for(data, [], many_criteria()), [], data, "strong", None, FAMILIES)
    icp = ICP(
        evidence=EvidenceSummary(
            strength="strong", message="m", closed_deals=len(data.won), wins=1, base_win_rate=0.3
        ),
        statement=s,
        tiers=[],
        scorecard=Scorecard(base=50),
    )
    assert s.workaround.startswith("[workaround:")
    assert apply_to_statement(icp, "shipment visibility", "a shared spreadsheet", "e")
    assert "experiencing shipment visibility (in customers' own words)" in icp.statement.text
    assert "currently a shared spreadsheet (in customers' own words)" in icp.statement.text
    m = _PERSONA_SENTENCE.search(icp.statement.text)
    assert m and m.group(0).strip() == f"Primary persona: {s.persona}."


def test_no_evidence_keeps_every_signal_out_of_the_sentence(one_icp):
    data = one_icp
    s = make_statement(tiers_for(data, [], many_criteria()), [], data, "none", None, FAMILIES)
    assert s.recognize == [] and s.more and s.text.startswith("ICP: not supported by the data")


def test_merge_conditions_reads_in_words():
    out = merge_conditions(
        [
            cond("industry", in_=["logistics"]),
            cond("industry", in_=["manufacturing"]),
            cond("employees", between=(250, 580)),
            cond("employees", between=(580, None)),
            cond("tech_stack", has="snowflake"),
        ]
    )
    assert out == {
        "industry": "logistics or manufacturing companies",
        "employees": "250+ employees",
        "tech_stack": "uses Snowflake",
    }


# -- the sample company -------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    from icpkit.ingest import ingest
    from icpkit.pipeline import step_build
    from icpkit.sample import write_sample
    from icpkit.workspace import Workspace

    root = tmp_path_factory.mktemp("stmt")
    files = write_sample(root / "in")
    acc = pd.read_csv(files["accounts"]).rename(
        columns={"current_solution": "Current Solution", "funding_stage": "Funding Stage (VC)"}
    )
    acc.to_csv(files["accounts"], index=False)
    with Workspace(root / "ws") as ws:
        ingest(ws, {"accounts": files["accounts"], "deals": files["deals"]})
        build = step_build(ws)
        headers = ws.json_artifact("source_headers")
    return build.icp, headers


def test_sample_statement_reads_like_a_person_wrote_it(sample_build):
    icp, headers = sample_build
    s = icp.statement
    for attr in icp.attributes:
        if "_" in attr:
            assert attr not in s.text, attr
    assert "q=" not in s.text and "false" not in s.text.lower()
    assert 3 <= len(s.recognize) <= 5 and recognized_in_text(s.text) == s.recognize
    assert 2 <= len(s.exclude) <= 3
    assert "government companies" in s.text
    # the planted ICP: logistics or manufacturing, 200-2000 employees, Snowflake
    assert "logistics" in s.entity and "manufacturing" in s.entity and "employees" in s.entity
    assert "Snowflake" in s.trait
    assert s.workaround == "using spreadsheets"
    # the header as written in the file is kept; icp.yaml records those that read differently
    assert headers["accounts"]["current_solution"] == "Current Solution"
    assert headers["accounts"]["funding_stage_vc"] == "Funding Stage (VC)"
    assert icp.labels == {"funding_stage_vc": "Funding Stage (VC)"}
    assert "funding stage (VC): " in " ".join(s.recognize + s.more)


def test_ingest_keeps_source_headers_across_a_partial_reingest(small_crm, tmp_path):
    from icpkit.ingest import ingest
    from icpkit.statement import source_headers
    from icpkit.workspace import Workspace

    acc = pd.read_csv(small_crm["accounts"]).rename(
        columns={"industry": "Sector", "employees": "Employee Count"}
    )
    acc["Partner Program?"] = np.arange(len(acc)) % 2 == 0
    acc.to_csv(small_crm["accounts"], index=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, small_crm)
        first = source_headers(ws)
        assert first["industry"] == "Sector" and first["employees"] == "Employee Count"
        assert first["partner_program"] == "Partner Program?"
        deals = pd.read_csv(small_crm["deals"])
        deals.rename(columns={"amount": "Close Value"}).iloc[:-1].to_csv(
            tmp_path / "deals2.csv", index=False
        )
        ingest(ws, {"deals": tmp_path / "deals2.csv"})
        assert source_headers(ws) == first  # the accounts' headers survive
        assert source_headers(ws, "deals")["amount"] == "Close Value"
    flag = cond("partner_program", in_=["false"])
    assert label(flag, first) == "no partner program"
