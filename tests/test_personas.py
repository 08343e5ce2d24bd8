"""Persona profiles per tier, the primary persona, the personas hook, report section and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from icpkit import icpfile
from icpkit.cli import app
from icpkit.icpfile import ICP, EvidenceSummary, Scorecard, Statement, Tier
from icpkit.personas.hooks import contact_roles, update_personas, with_persona
from icpkit.personas.profiles import build_profiles
from icpkit.personas.report import section
from icpkit.workspace import Workspace

runner = CliRunner()
TIERS = np.array(["1", "2", "3", "excluded", "none"])


def planted(seed: int = 11, n: int = 1500) -> dict[str, pd.DataFrame]:
    """One deal per account. An operations champion lifts the win rate from 25% to 50%, a
    procurement blocker cuts it; economic buyers and end users are noise."""
    r = np.random.default_rng(seed)
    ids = [f"A{i}" for i in range(n)]
    ops = r.random(n) < 0.4
    block = r.random(n) < 0.15
    won = r.random(n) < np.clip(0.25 + 0.25 * ops - 0.17 * block, 0.02, 0.98)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(r.integers(0, 300, n), unit="D")
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": ids,
            "created_at": created,
            "closed_at": created + pd.Timedelta(days=60),
            "outcome": np.where(won, "won", "lost"),
        }
    )
    rows = []

    def add(i: int, title: str, role: str | None) -> None:
        rows.append((f"C{len(rows)}", ids[i], f"D{i}", title, role))

    for i in range(n):
        if ops[i]:
            add(
                i,
                ["Operations Manager", "Director of Operations", "Head of Ops"][i % 3],
                "Champion",
            )
        elif r.random() < 0.5:
            add(i, "Marketing Manager", "Champion")
        if r.random() < 0.7:
            add(i, "CFO", "Decision Maker")
        if block[i]:
            add(i, "Procurement Manager", "Blocker")
        if r.random() < 0.5:
            add(i, "Data Analyst", None)
    contacts = pd.DataFrame(
        rows, columns=["contact_id", "account_id", "deal_id", "title", "deal_role"]
    )
    scores = pd.DataFrame({"account_id": ids, "tier": TIERS[np.arange(n) % 5]})
    return {"deals": deals, "contacts": contacts, "scores": scores}


@pytest.fixture(scope="module")
def crm() -> dict[str, pd.DataFrame]:
    return planted()


@pytest.fixture(scope="module")
def profiles(crm):
    roles, _ = contact_roles(crm["contacts"], crm["deals"])
    return build_profiles(roles, crm["deals"], crm["scores"])


def _stat(prof, group: str, role: str, function: str | None = None):
    return next(
        s
        for _, s in prof.stats.iterrows()
        if s["group"] == group
        and s["role"] == role
        and (s["function"] == function or (function is None and pd.isna(s["function"])))
    )


# --- recovering a planted persona effect ----------------------------------------------------


def test_planted_champion_and_blocker_are_recovered(profiles, crm):
    ops = _stat(profiles, "all", "champion", "operations")
    assert ops["significant"] and ops["lift"] > 1.5
    assert ops["win_rate"] == pytest.approx(0.5, abs=0.06)
    assert ops["rate_without"] == pytest.approx(0.24, abs=0.05)
    assert ops["ci_low"] < ops["win_rate"] < ops["ci_high"]
    blocker = _stat(profiles, "all", "blocker")
    assert blocker["significant"] and blocker["lift"] < 1
    for noise in ("economic_buyer", "end_user"):
        assert not _stat(profiles, "all", noise)["significant"], noise
    # share of won deals with a champion, counted by hand
    d = crm["deals"]
    c = crm["contacts"]
    won = set(d.loc[d["outcome"] == "won", "deal_id"])
    champ = set(c.loc[c["deal_role"] == "Champion", "deal_id"])
    card = profiles.group("all").role("champion")
    assert card.share_of_won == pytest.approx(len(won & champ) / len(won))
    assert card.won_deals == len(won & champ)


def test_cards_per_tier_and_negative_icp(profiles, crm):
    tiers = crm["scores"].set_index("account_id")["tier"]
    d = crm["deals"].assign(tier=crm["deals"]["account_id"].map(tiers))
    for key, tier in (("tier_1", "1"), ("tier_2", "2"), ("tier_3", "3"), ("negative", "excluded")):
        g = profiles.group(key)
        assert g.deals == int((d["tier"] == tier).sum())
        assert g.wins == int(((d["tier"] == tier) & (d["outcome"] == "won")).sum())
        assert {r.role for r in g.roles} >= {"champion", "economic_buyer", "blocker"}
    eb = profiles.group("tier_1").role("economic_buyer")
    assert eb.function == "finance" and eb.seniority == "c_level"
    assert eb.titles[0][0] == "chief financial officer"
    ops = profiles.group("all").role("champion")
    assert {t for t, _ in ops.titles} >= {"operations manager", "marketing manager"}


def test_primary_persona_is_the_significant_champion(profiles):
    p = profiles.primary
    assert p is not None
    assert p.role == "champion" and p.functions[0] == "operations"
    assert "marketing" not in p.functions
    assert p.stat is not None and p.stat.significant and p.stat.lift > 1.5
    assert "champion persona" in p.reason
    text = p.sentence()
    assert text.startswith("a champion from operations")
    assert f"n={p.stat.n}" in text and "lift" in text
    assert set(p.titles) <= {"operations manager", "director operations", "head operations"}


def test_small_data_is_flagged_and_primary_falls_back_to_frequency():
    small = planted(seed=3, n=60)
    roles, _ = contact_roles(small["contacts"], small["deals"])
    prof = build_profiles(roles, small["deals"], small["scores"])
    assert prof.min_support == 5  # as the core: 5% of 48 closed deals, at least 5
    ten = build_profiles(roles, small["deals"], small["scores"], min_support=10)
    flagged = ten.stats[ten.stats["flag"].str.startswith("small sample")]
    assert len(flagged) and not flagged["significant"].any()
    assert (flagged["n"] < 10).all()
    strict = build_profiles(roles, small["deals"], small["scores"], min_support=1000)
    assert not strict.stats["significant"].any()
    assert strict.primary is not None and strict.primary.stat is None
    assert "most frequent" in strict.primary.reason
    assert "no persona's lift passed the evidence bar" in strict.primary.sentence()


def test_contacts_without_deal_ids_are_tied_by_account(crm):
    contacts = crm["contacts"].drop(columns=["deal_id"])
    roles, _ = contact_roles(contacts, crm["deals"])
    prof = build_profiles(roles, crm["deals"], crm["scores"])
    assert prof.link == "account"
    assert any("tied to every closed deal of its account" in w for w in prof.warnings)
    assert _stat(prof, "all", "champion", "operations")["significant"]


def test_lifts_ignore_the_outcome_when_inferring_roles():
    # legal people without an explicit role, only on lost deals: dmu_role says blocker, but the
    # lift must not use it (it would be a blocker because the deal was lost)
    deals = pd.DataFrame(
        {"deal_id": ["D1", "D2"], "account_id": ["A1", "A2"], "outcome": ["lost", "won"]}
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["C1", "C2"],
            "account_id": ["A1", "A2"],
            "deal_id": ["D1", "D2"],
            "title": ["General Counsel", "Operations Manager"],
        }
    )
    roles, _ = contact_roles(contacts, deals)
    assert roles.loc[0, "dmu_role"] == "blocker"
    assert roles.loc[0, "dmu_role_blind"] != "blocker"


# --- the seeded sample company --------------------------------------------------------------


def test_sample_company_persona_effects_match_planted(sample_frames):
    sample = pytest.importorskip("icpkit.sample")
    data = sample_frames
    planted_p = sample.PLANTED["persona"]
    roles, warnings = contact_roles(data["contacts"], data["deals"])
    assert any("empty title" in w for w in warnings)
    prof = build_profiles(roles, data["deals"], None, data["conversations"])
    # planted champions: operations or data engineering ("data" here)
    wanted = {"data" if f == "data engineering" else f for f in planted_p["champion"]}
    p = prof.primary
    assert p is not None and p.role == "champion" and p.stat.significant
    assert set(p.functions) <= wanted and p.functions
    eb = _stat(prof, "all", "economic_buyer", planted_p["economic_buyer"][0])
    assert eb["significant"] and eb["lift"] > 1
    for fn in planted_p["late_blocker"]:
        s = _stat(prof, "all", "blocker", fn)
        assert s["significant"] and s["lift"] < 1, fn
    blocker = prof.group("all").role("blocker")
    # late blockers speak only in the last sixth of the deal: all of them join in the last quarter
    assert blocker.late_share is not None and blocker.late_share > 0.95
    assert prof.group("all").role("champion").late_share < 0.5
    themes = " ".join(sample.PLANTED["themes"]["negative"])
    assert any(set(pain.phrase.split()) & set(themes.split()) for pain in blocker.pains), (
        blocker.pains
    )
    assert all(pain.quote for pain in blocker.pains)


# --- bad input ------------------------------------------------------------------------------


def test_bad_contacts_are_warned_with_counts_and_kept():
    deals = pd.DataFrame(
        {"deal_id": ["D1", "D2"], "account_id": ["A1", "A2"], "outcome": ["won", "lost"]}
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"],
            "account_id": ["A1"] * 4 + ["A2"] * 4,
            "deal_id": ["D1", "D1", "D9", None, "D2", "D2", "D8", "D2"],
            "title": ["VP, Eng", "", None, "n/a", "asdf qwerty", "zzzz", "CFO & COO", "Sr. Buyer"],
            "deal_role": [None, None, None, None, None, None, "Cheerleader", "Blocker"],
        }
    )
    roles, warnings = contact_roles(contacts, deals)
    assert (
        len(roles) == len(contacts)
        and roles["contact_id"].tolist() == contacts["contact_id"].tolist()
    )
    text = "\n".join(warnings)
    assert "3 of 8 have an empty title" in text
    assert "2 title(s) not recognised" in text and "asdf qwerty" in text
    assert "2 contact(s) point to deals not in the deals file" in text and "D9" in text
    assert "1 contact(s) have no deal_id" in text
    assert "1 deal-role label(s) not recognised" in text and "Cheerleader" in text
    assert roles.loc[0, ["function", "seniority"]].tolist() == ["engineering", "vp"]
    assert roles.loc[6, ["function", "seniority"]].tolist() == ["finance", "c_level"]
    assert roles.loc[7, "dmu_role"] == "blocker"
    assert roles.loc[1, "dmu_role"] == "unknown"


# --- the hook, icp.yaml and the report ------------------------------------------------------


def _minimal_icp() -> ICP:
    return ICP(
        evidence=EvidenceSummary(
            strength="moderate", message="m", closed_deals=10, wins=5, base_win_rate=0.5
        ),
        statement=Statement(
            text="ICP: logistics companies. Primary persona: to be confirmed in interviews.",
            entity="logistics companies",
            trait="t",
            pain="p",
            workaround="w",
            budget="b",
        ),
        tiers=[Tier(tier=1, name="Perfect fit", min_score=75)],
        scorecard=Scorecard(base=50),
    )


def test_hook_records_personas_in_the_icp_and_report(crm, tmp_path):
    with Workspace(tmp_path) as ws:
        accounts = pd.DataFrame({"account_id": crm["scores"]["account_id"]})
        ws.write(
            {
                "accounts": accounts,
                "deals": crm["deals"],
                "contacts": crm["contacts"],
                "scores": crm["scores"],
            }
        )
        ws.save_icp_version(icpfile.dumps(_minimal_icp()), note="test")
        res = update_personas(ws)
        assert res.icp_version == 2
        icp = icpfile.loads(ws.icp_version())
        assert icp.personas["primary"]["role"] == "champion"
        assert icp.personas["primary"]["functions"][0] == "operations"
        assert icp.personas["primary"]["evidence"]["n"] == res.profiles.primary.stat.n
        assert set(icp.personas["groups"]) == {"tier_1", "tier_2", "tier_3", "negative", "all"}
        assert icp.statement.persona == res.profiles.statement_persona()
        assert icp.statement.text.startswith("ICP: logistics companies.")
        assert icp.statement.text.endswith(f"Primary persona: {icp.statement.persona}.")
        assert icp.statement.text.count("Primary persona:") == 1
        assert ws.has("contacts_roles") and len(ws.table("contacts_roles")) == len(crm["contacts"])
        assert ws.has("persona_stats")
        assert update_personas(ws).icp_version is None  # unchanged: no new version
        sec = section(ws)
        assert sec is not None and sec.id == "personas"
        assert "Primary persona" in sec.html and "pcard" in sec.html and "Tier 1" in sec.html
        assert "| champion |" in sec.markdown


def test_with_persona_appends_when_the_statement_has_no_persona_sentence(profiles):
    icp = _minimal_icp()
    icp.statement.text = "ICP: logistics companies."
    new = with_persona(icp, profiles)
    assert (
        new.statement.text == f"ICP: logistics companies. Primary persona: {new.statement.persona}."
    )
    assert icp.statement.persona == "to be confirmed in interviews"  # the original is untouched
    yaml.safe_load(icpfile.dumps(new))


def test_icp_run_with_contacts_writes_personas(small_crm, tmp_path):
    accounts = pd.read_csv(small_crm["accounts"])
    deals = pd.read_csv(small_crm["deals"])
    r = np.random.default_rng(5)
    won = deals["outcome"].eq("Closed Won").to_numpy()
    titles = np.where(won & (r.random(len(deals)) < 0.7), "Head of Operations", "Marketing Manager")
    contacts = pd.DataFrame(
        {
            "contact_id": [f"C{i}" for i in range(len(deals))],
            "account_id": deals["account_id"],
            "deal_id": deals["deal_id"],
            "title": titles,
            "deal_role": "Champion",
        }
    )
    path = tmp_path / "contacts.csv"
    contacts.to_csv(path, index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "run",
            "--accounts",
            str(small_crm["accounts"]),
            "--deals",
            str(small_crm["deals"]),
            "--contacts",
            str(path),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    icp = yaml.safe_load((out / "icp.yaml").read_text())
    assert icp["personas"]["primary"]["role"] == "champion"
    assert icp["personas"]["primary"]["functions"][0] == "operations"
    assert "Primary persona: a champion from operations" in icp["statement"]["text"]
    html = (out / "report.html").read_text()
    assert 'id="personas"' in html and "Primary persona" in html
    assert len(accounts) > 0


# --- CLI ------------------------------------------------------------------------------------


def test_icp_titles_writes_every_contact(tmp_path):
    contacts = pd.DataFrame(
        {
            "Record ID": ["C1", "C2", "C3", "C4", "C5"],
            "Company ID": ["A1", "A1", "A2", "A2", "A2"],
            "Job Title": ["VP, Eng", "CFO & COO", "", "Sr. Data Enginer", "qwxz"],
            "Opportunity ID": ["D1", "D1", "D2", "D2", "D404"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "account_id": ["A1", "A2"],
            "outcome": ["Closed Won", "Closed Lost"],
        }
    )
    cpath, dpath, out = tmp_path / "contacts.csv", tmp_path / "deals.csv", tmp_path / "titles.csv"
    contacts.to_csv(cpath, index=False)
    deals.to_csv(dpath, index=False)
    r = runner.invoke(
        app, ["titles", "--contacts", str(cpath), "--deals", str(dpath), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns[:5]) == ["contact_id", "title", "function", "seniority", "dmu_role"]
    assert df["contact_id"].tolist() == ["C1", "C2", "C3", "C4", "C5"]
    by = df.set_index("contact_id")
    assert by.loc["C1", ["function", "seniority"]].tolist() == ["engineering", "vp"]
    assert by.loc["C2", ["function", "seniority"]].tolist() == ["finance", "c_level"]
    assert by.loc["C3", ["function", "seniority", "dmu_role"]].tolist() == [
        "unknown",
        "unknown",
        "unknown",
    ]
    assert by.loc["C4", ["function", "seniority"]].tolist() == ["data", "individual_contributor"]
    assert "1 of 5 have an empty title" in r.output
    assert "1 title(s) not recognised" in r.output
    assert "1 contact(s) point to deals not in the deals file" in r.output
    # without deals it still works
    r = runner.invoke(app, ["titles", "--contacts", str(cpath), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(out)) == 5


def test_icp_personas_cli(crm, tmp_path):
    empty = tmp_path / "empty"
    with Workspace(empty) as ws:
        ws.write({"deals": crm["deals"]})
    r = runner.invoke(app, ["personas", "--workspace", str(empty)])
    assert r.exit_code != 0 and "no contacts" in r.output
    ws_dir = tmp_path / "ws"
    with Workspace(ws_dir) as ws:
        ws.write({"deals": crm["deals"], "contacts": crm["contacts"], "scores": crm["scores"]})
        ws.save_icp_version(icpfile.dumps(_minimal_icp()), note="test")
    r = runner.invoke(app, ["personas", "--workspace", str(ws_dir), "--tier", "tier_1"])
    assert r.exit_code == 0, r.output
    assert "Primary persona:" in r.output and "Tier 1" in r.output and "Tier 2" not in r.output
    assert (ws_dir / "icp.yaml").exists()
    assert (
        yaml.safe_load((ws_dir / "icp.yaml").read_text())["personas"]["primary"]["role"]
        == "champion"
    )


def test_commands_have_examples():
    for name in ("titles", "personas"):
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "Example:" in r.output, name
    assert Path(__file__).parent.joinpath("data", "titles_labelled.csv").exists()


def test_primary_sentence_for_role_level_evidence_and_q_near_the_bar():
    from icpkit.personas.labels import fmt_q
    from icpkit.personas.model import PrimaryPersona, RoleStat

    stat = RoleStat(
        "tier_1", "champion", None, 170, 127, 0.747, 0.68, 0.81, 75, 0.56, 1.3, 0.004, 0.75
    )
    stat.q_value, stat.significant = 0.049997, True
    p = PrimaryPersona(
        "champion",
        [],
        "data",
        "manager",
        ["analytics manager"],
        "tier_1",
        "Tier 1",
        0.75,
        stat,
        "r",
    )
    text = p.sentence()
    assert text.startswith(
        "a champion, mostly from data, typically manager (e.g. analytics manager)"
    )
    assert "on 75% of won Tier 1 deals" in text and "q<0.05" in text
    # the ICP statement carries no statistics jargon: the same sentence without the q-value
    plain = p.sentence(plain=True)
    assert plain == text.replace(", q<0.05)", ")") and "q" not in plain.split("(lift")[1]
    assert fmt_q(0.05) == "0.05" and fmt_q(0.0478) == "0.0478" and fmt_q(3e-7) == "3e-07"


def test_with_persona_replaces_the_slot_in_place(profiles):
    icp = _minimal_icp()
    icp.statement.text = (
        "ICP: x. Primary persona: to be confirmed in interviews. Reviewed by hand in June."
    )
    new = with_persona(icp, profiles)
    assert new.statement.text == (
        f"ICP: x. Primary persona: {new.statement.persona}. Reviewed by hand in June."
    )
    again = with_persona(new, profiles)  # idempotent
    assert again.statement.text == new.statement.text
