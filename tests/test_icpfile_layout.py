"""icp.yaml as a person reads it: what they edit first at the top, one line per bin,
comments that state the file's own numbers, and a lossless round trip."""

from __future__ import annotations

import re

import pytest
import yaml

from icpkit import icpfile
from icpkit.errors import IcpFileError


def test_icp_yaml_is_compact_ordered_and_round_trips(sample_run):
    text = (sample_run.out / "icp.yaml").read_text(encoding="utf-8")
    icp = icpfile.loads(text)
    assert icpfile.loads(icpfile.dumps(icp)) == icp  # lossless
    keys = [m.group(1) for m in re.finditer(r"^([a-z_]+):", text, flags=re.M)]
    assert keys[:6] == ["version", "routing", "tiers", "disqualifiers", "veto_score", "statement"]
    # one line per scorecard bin, without repeating the attribute
    bins = sum(len(f.bins) for f in icp.scorecard.features)
    bin_lines = [ln for ln in text.splitlines() if re.match(r"^    - \{.*points: -?\d+", ln)]
    assert len(bin_lines) == bins
    assert not any("attribute:" in ln for ln in bin_lines)
    # the comments state this file's numbers
    assert f"base ({icp.scorecard.base})" in text
    r = icp.routing
    assert f"scoring {r.high_touch}+ go high-touch, {r.nurture}+ nurture" in text
    # the statement once: its signals, exclusions and persona are read back from its text
    data = yaml.safe_load(text)
    assert data["statement"]["text"] == icp.statement.text
    assert not {"recognize", "exclude", "persona"} & set(data["statement"])
    assert icp.statement.recognize and icp.statement.exclude
    assert all(r in icp.statement.text for r in icp.statement.recognize + icp.statement.exclude)


def test_editing_the_statement_text_edits_its_parts(sample_run):
    data = yaml.safe_load((sample_run.out / "icp.yaml").read_text(encoding="utf-8"))
    st = data["statement"]
    first = icpfile.statement_parts(st["text"])["recognize"][0]
    st["text"] = st["text"].replace(first + "; ", "", 1)
    icp = icpfile.from_dict(data)
    assert first not in icp.statement.recognize and icp.statement.recognize
    # a statement written with its parts keeps them as written
    st["recognize"] = ["hand-written signal"]
    assert icpfile.from_dict(data).statement.recognize == ["hand-written signal"]


def test_a_bin_with_its_attribute_still_loads(sample_run):
    icp = icpfile.load(sample_run.out / "icp.yaml")
    data = icpfile.to_dict(icp)
    f = data["scorecard"]["features"][0]
    f["bins"][0]["attribute"] = f["attribute"]  # the longer form older files use
    assert icpfile.from_dict(data) == icp
    f["bins"][0]["attribute"] = "something_else"
    with pytest.raises(IcpFileError, match="inside feature"):
        icpfile.from_dict(data)
