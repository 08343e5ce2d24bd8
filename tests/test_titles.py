"""Job-title normalisation and DMU role inference (icpkit.personas)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpkit.personas import (
    DMU_ROLES,
    FUNCTIONS,
    SENIORITIES,
    TitleInfo,
    infer_roles,
    load_title_rules,
    normalize_deal_role,
    normalize_title,
    normalize_titles,
)

LABELLED = Path(__file__).parent / "data" / "titles_labelled.csv"


# --- accuracy on the hand-labelled set ---------------------------------------------------------


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    # keep "n/a", "null", "" etc. as the literal strings they are
    return pd.read_csv(LABELLED, dtype=str, keep_default_na=False)


def test_labelled_set_is_big_and_uses_only_allowed_labels(labelled: pd.DataFrame) -> None:
    assert len(labelled) >= 300
    assert labelled["title"].is_unique
    assert set(labelled["function"]) <= set(FUNCTIONS)
    assert set(labelled["seniority"]) <= set(SENIORITIES)


def _mistakes(labelled: pd.DataFrame, column: str) -> tuple[float, list[str]]:
    got = normalize_titles(labelled["title"])[column]
    ok = got == labelled[column]
    wrong = [
        f"{t!r}: {g} != {e}"
        for t, g, e in zip(labelled["title"], got, labelled[column], strict=True)
    ]
    return float(ok.mean()), [w for w, good in zip(wrong, ok, strict=True) if not good]


def test_function_accuracy(labelled: pd.DataFrame) -> None:
    accuracy, wrong = _mistakes(labelled, "function")
    assert accuracy >= 0.95, f"function accuracy {accuracy:.3f}; wrong: {wrong}"


def test_seniority_accuracy(labelled: pd.DataFrame) -> None:
    accuracy, wrong = _mistakes(labelled, "seniority")
    assert accuracy >= 0.95, f"seniority accuracy {accuracy:.3f}; wrong: {wrong}"


# --- hard cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "function", "seniority"),
    [
        # multi-role titles: the first role wins
        ("CFO & COO", "finance", "c_level"),
        ("COO/CFO", "operations", "c_level"),
        ("VP Sales & Marketing", "sales", "vp"),
        # a founder title yields to the functional role
        ("Co-Founder & CTO", "engineering", "c_level"),
        # abbreviations
        ("Sr. Software Engineer", "engineering", "individual_contributor"),
        ("VP, Eng", "engineering", "vp"),
        ("Eng. Mgr.", "engineering", "manager"),
        ("Ops Dir", "operations", "director"),
        ("SVP Sales", "sales", "vp"),
        ("EVP, Sales", "sales", "vp"),
        ("CTO", "engineering", "c_level"),
        ("CIO", "it", "c_level"),
        ("CISO", "security", "c_level"),
        ("CRO", "sales", "c_level"),
        ("CMO", "marketing", "c_level"),
        ("CHRO", "hr", "c_level"),
        ("GC", "legal", "c_level"),
        # "Head of" is director level
        ("Head of Procurement", "procurement", "director"),
        ("Global Head of Sales", "sales", "director"),
        # "Vice President" is not the executive "President"
        ("Vice President, Finance", "finance", "vp"),
        ("President", "executive", "c_level"),
        # words that look like seniority but are not
        ("Account Executive", "sales", "individual_contributor"),
        ("Executive Assistant to the CEO", "other", "individual_contributor"),
        ("Product Owner", "product", "individual_contributor"),
        ("Chief of Staff", "executive", "director"),
        ("Lead Software Engineer", "engineering", "individual_contributor"),
        ("Platform Engineering Lead", "engineering", "manager"),
        # a function word qualifying "operations" keeps its function
        ("Sales Operations Manager", "sales", "manager"),
        ("IT Operations Manager", "it", "manager"),
        ("Sr. Director, Product Marketing", "marketing", "director"),
        # typos
        ("Direcor of Finanace", "finance", "director"),
        ("Cheif Financial Officer", "finance", "c_level"),
        ("Vice Presdient Sales", "sales", "vp"),
        ("Mangaer, IT", "it", "manager"),
        # casing and accents
        ("VP OF SALES", "sales", "vp"),
        ("dIRECTOR oF mARKETING", "marketing", "director"),
        ("GESCHAEFTSFUEHRER", "executive", "c_level"),
        # non-English
        ("Leiter Einkauf", "procurement", "director"),
        ("Einkaufsleiter", "procurement", "director"),
        ("Geschäftsführer", "executive", "c_level"),
        ("Teamleiter Vertrieb", "sales", "manager"),
        ("Directeur financier", "finance", "director"),
        ("Directeur Général", "executive", "c_level"),
        ("Responsable des achats", "procurement", "manager"),
        ("Gerente de compras", "procurement", "manager"),
        ("Directora de recursos humanos", "hr", "director"),
        # noise around the title
        ("VP Marketing @ Acme", "marketing", "vp"),
        ("Sr. Manager - IT Infrastructure | ACME Corp", "it", "manager"),
        ("Software Engineer III", "engineering", "individual_contributor"),
        # seniority without a function
        ("Manager", "unknown", "manager"),
        ("Senior Vice President", "unknown", "vp"),
    ],
)
def test_hard_cases(title: str, function: str, seniority: str) -> None:
    info = normalize_title(title)
    assert (info.function, info.seniority) == (function, seniority), info


@pytest.mark.parametrize(
    "junk", ["", "   ", "n/a", "N/A", "-", "asdf", "???", "null", "123456", None]
)
def test_blanks_and_garbage_are_unknown(junk: object) -> None:
    info = normalize_title(junk)
    assert (info.function, info.seniority, info.confidence) == ("unknown", "unknown", 0.0)


def test_non_text_input() -> None:
    assert normalize_title(float("nan")).function == "unknown"
    assert normalize_title(pd.NA).function == "unknown"
    assert normalize_title(42).function == "unknown"


def test_result_shape_and_confidence() -> None:
    exact = normalize_title("Chief Financial Officer")
    assert isinstance(exact, TitleInfo)
    assert exact.title == "chief financial officer"
    assert exact.confidence == 1.0
    # a corrected typo lowers confidence, as does a seniority that was only assumed
    assert normalize_title("Direcor of Finanace").confidence < 1.0
    assert normalize_title("Accountant").confidence < 1.0
    assert normalize_title("Manager").confidence < normalize_title("Finance Manager").confidence


def test_typo_tolerance_does_not_rewrite_real_words() -> None:
    # "medical" is one letter from nothing in the rules and two from "media": no marketing
    assert normalize_title("Chief Medical Officer").function == "unknown"


def test_normalize_titles_keeps_index_and_parses_each_title_once() -> None:
    series = pd.Series(["CFO", None, "cfo", "VP, Eng"], index=[10, 20, 30, 40])
    out = normalize_titles(series)
    assert list(out.index) == [10, 20, 30, 40]
    assert list(out.columns) == ["title", "function", "seniority", "confidence"]
    assert list(out["function"]) == ["finance", "unknown", "finance", "engineering"]
    assert normalize_titles(["CTO"]).loc[0, "seniority"] == "c_level"


def test_rules_are_data(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "abbreviations: {wiz: wizard}\n"
        "functions:\n  - function: engineering\n    keywords: [wizard]\n"
        "seniority:\n  - seniority: vp\n    keywords: [grand]\n",
        encoding="utf-8",
    )
    rules = load_title_rules(rules_file)
    info = normalize_title("Grand Wiz", rules)
    assert (info.function, info.seniority) == ("engineering", "vp")
    # the packaged rules do not know these words
    assert normalize_title("Grand Wiz").function == "unknown"


def test_rules_reject_unknown_labels(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("functions:\n  - function: wizardry\n    keywords: [wizard]\n", "utf-8")
    with pytest.raises(ValueError, match="wizardry"):
        load_title_rules(rules_file)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=120), st.none(), st.integers(), st.floats()))
def test_normalize_title_never_raises_and_stays_in_the_allowed_sets(value: object) -> None:
    info = normalize_title(value)
    assert info.function in FUNCTIONS
    assert info.seniority in SENIORITIES
    assert 0.0 <= info.confidence <= 1.0
    assert isinstance(info.title, str)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["VP", "Sr.", "&", "Head of", "CFO", "Leiter", "/", ",", "ß", "é"]),
        max_size=8,
    )
)
def test_title_like_noise_never_raises(parts: list[str]) -> None:
    info = normalize_title(" ".join(parts))
    assert info.function in FUNCTIONS and info.seniority in SENIORITIES


# --- DMU roles ----------------------------------------------------------------------------------


@pytest.fixture()
def deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "account_id": ["a1", "a1", "a2"],
            "created_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "closed_at": pd.to_datetime(["2024-03-01", "2024-04-01", None]),
            "outcome": ["won", "lost", "open"],
        }
    )


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("Economic Buyer", "economic_buyer"),
        ("decision maker", "economic_buyer"),
        ("Decision-Maker", "economic_buyer"),
        ("Champion", "champion"),
        ("Technical Evaluator", "technical_buyer"),
        ("User", "end_user"),
        ("End User", "end_user"),
        ("Blocker", "blocker"),
        ("Influencer", "influencer"),
        ("Economic Buyer (CFO)", "economic_buyer"),
        ("champoin", "champion"),
        ("technical_buyer", "technical_buyer"),
        ("", None),
        (None, None),
        ("something else entirely", None),
    ],
)
def test_deal_role_labels(label: object, role: str | None) -> None:
    assert normalize_deal_role(label) == role


def test_explicit_roles_are_used(deals: pd.DataFrame) -> None:
    contacts = pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3", "c4"],
            "account_id": ["a1"] * 4,
            "title": ["Software Engineer", "CFO", "Procurement Manager", "Sales Manager"],
            "deal_id": ["d1", "d1", "d2", "d1"],
            # the explicit role wins even where the title says otherwise
            "deal_role": ["Economic Buyer", "Champion", "Technical Evaluator", None],
        }
    )
    out = infer_roles(contacts, deals)
    assert list(out["dmu_role"][:3]) == ["economic_buyer", "champion", "technical_buyer"]
    assert list(out["dmu_role_source"]) == ["explicit", "explicit", "explicit", "inferred"]
    assert list(out["function"]) == ["engineering", "finance", "procurement", "sales"]
    assert set(out["dmu_role"]) <= set(DMU_ROLES)
    assert "dmu_role" not in contacts  # the input is not changed


def test_blocker_inferred_for_procurement_on_lost_deals_only(deals: pd.DataFrame) -> None:
    contacts = pd.DataFrame(
        {
            "contact_id": ["p1", "p2", "p2", "p3", "l1", "s1"],
            "account_id": ["a1"] * 6,
            "title": [
                "Procurement Manager",  # lost deal only -> blocker
                "Head of Purchasing",  # on a won and a lost deal -> not a blocker
                "Head of Purchasing",
                "Buyer",  # won deal only -> not a blocker
                "Legal Counsel",  # lost only -> blocker
                "Sales Manager",  # lost only, but not a gatekeeping function
            ],
            "deal_id": ["d2", "d1", "d2", "d1", "d2", "d2"],
        }
    )
    out = infer_roles(contacts, deals, user_functions=["sales"])
    roles = dict(zip(out.index, out["dmu_role"], strict=True))
    assert roles[0] == "blocker"
    assert roles[1] == roles[2] != "blocker"
    assert roles[3] != "blocker"
    assert roles[4] == "blocker"
    assert roles[5] == "champion"


def test_inference_from_function_and_seniority(deals: pd.DataFrame) -> None:
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(7)],
            "account_id": ["a1"] * 7,
            "title": [
                "Chief Financial Officer",
                "CEO",
                "IT Manager",
                "Director of Engineering",
                "Marketing Manager",
                "Marketing Coordinator",
                None,
            ],
            "deal_id": ["d1"] * 7,
        }
    )
    out = infer_roles(contacts, deals, user_functions=["marketing"])
    assert list(out["dmu_role"]) == [
        "economic_buyer",
        "economic_buyer",
        "technical_buyer",
        "technical_buyer",
        "champion",
        "end_user",
        "unknown",
    ]
    assert set(out["dmu_role_source"]) == {"inferred"}


def test_department_and_seniority_columns_fill_gaps() -> None:
    contacts = pd.DataFrame(
        {
            "contact_id": ["c1", "c2"],
            "account_id": ["a1", "a1"],
            "title": [None, "Finance Manager"],
            "department": ["Purchasing", None],
            "seniority": ["Director", "C-Level"],
        }
    )
    out = infer_roles(contacts, None, user_functions=["sales"])
    assert list(out["function"]) == ["procurement", "finance"]
    assert list(out["seniority"]) == ["director", "c_level"]
    assert list(out["seniority_raw"]) == ["Director", "C-Level"]
    assert out.loc[1, "dmu_role"] == "economic_buyer"


def test_user_functions_are_inferred_from_won_deals(deals: pd.DataFrame) -> None:
    contacts = pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3", "c4"],
            "account_id": ["a1"] * 4,
            "title": ["Support Manager", "Customer Support Specialist", "CFO", "Sales Manager"],
            "deal_id": ["d1", "d1", "d1", "d2"],
        }
    )
    out = infer_roles(contacts, deals)
    assert out.attrs["user_functions"] == ["customer_success"]
    assert list(out["dmu_role"][:2]) == ["champion", "end_user"]


def test_infer_roles_without_deal_columns() -> None:
    contacts = pd.DataFrame({"account_id": ["a1"], "title": ["VP Procurement"]})
    out = infer_roles(contacts, pd.DataFrame({"deal_id": [], "outcome": []}))
    assert out.loc[0, "dmu_role"] == "influencer"
