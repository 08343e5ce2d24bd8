"""The test suite's own tools: missing datasets skip locally and fail in CI."""

from __future__ import annotations

import pytest

from . import conftest


def test_missing_dataset_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "DATASETS", tmp_path)
    monkeypatch.setattr(conftest, "IN_CI", False)
    (tmp_path / "here.csv").write_text("a\n1\n")
    assert conftest.dataset("here.csv") == tmp_path / "here.csv"
    with pytest.raises(pytest.skip.Exception, match="dataset missing: .*maven_crm"):
        conftest.dataset("maven_crm", "accounts.csv")


def test_missing_dataset_fails_in_ci_naming_the_path(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "DATASETS", tmp_path)
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception) as exc:
        conftest.dataset("maven_crm", "accounts.csv")
    assert str(tmp_path / "maven_crm" / "accounts.csv") in str(exc.value)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("Skipped: dataset missing: /x/ravenstack_saas", "dataset missing"),
        ("Spark needs a Java runtime: no `java` on PATH and JAVA_HOME is not set", "no java"),
        ("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", "no browser"),
        ("all tests skipped by +SKIP option", "doctest +SKIP"),
        ("PySpark is not installed (pip install 'icpkit[spark]')", "package missing"),
        ("something else entirely", "something else entirely"),
    ],
)
def test_skip_reasons_are_grouped_by_kind(reason, kind):
    assert conftest.skip_kind(reason) == kind
