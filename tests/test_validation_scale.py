"""Validation scales with the data: the null control stops once settled, peers sample, and it says so."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from icpkit.profile import fit_icp
from icpkit.validation import null, peers, validate
from icpkit.validation.report import render_markdown

from .test_validation import FAMILIES, KINDS, make_crm


@pytest.fixture(autouse=True)
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_rate_bound_is_the_exact_poisson_bound():
    # no event in k trials: the 95% bound on the mean is -ln(0.05)/k, the "rule of three"
    assert null.rate_bound(0, 10) == pytest.approx(-np.log(0.05) / 10)
    # more events or fewer shuffles: a looser bound
    assert null.rate_bound(3, 10) > null.rate_bound(0, 10) > null.rate_bound(0, 20)


@settings(max_examples=200, deadline=None)
@given(
    real=st.integers(0, 80),
    counts=st.lists(st.integers(0, 12), min_size=1, max_size=25),
    planned=st.integers(1, 25),
)
def test_the_shuffles_stop_only_when_more_cannot_change_the_answer(real, counts, planned):
    counts = counts[:planned]
    why = null.settled(real, counts, planned)
    k = len(counts)
    if k < null.MIN_SHUFFLES or k >= planned:
        assert why is None
        return
    if max(counts) >= real:
        # the patterns already cannot beat noise: every further shuffle is wasted
        assert why is not None and "cannot beat noise" in why
        return
    # the real count is above every shuffle so far: stop only when the remaining shuffles
    # reach it with probability under 5% (Markov, on the 95% bound of the mean)
    flip = (planned - k) * null.rate_bound(sum(counts), k) / real
    assert (why is not None) == (flip <= null.SETTLED)


def test_a_strong_signal_stops_when_the_bound_allows_and_no_signal_after_the_minimum():
    assert [k for k in range(1, 20) if null.settled(28, [0] * k, 20)][0] == 14
    assert [k for k in range(1, 20) if null.settled(8, [0] * k, 20)][0] == 18
    assert [k for k in range(1, 20) if null.settled(0, [0] * k, 20)][0] == null.MIN_SHUFFLES
    assert null.settled(3, [0, 1, 0, 0, 3], 20) is not None  # a shuffle reached the real 3


def test_stopping_early_keeps_the_shuffles_it_ran():
    acc, deals = make_crm(1500, planted=False, seed=1)
    b = fit_icp(acc, deals, kinds=KINDS, families=FAMILIES)
    kw = dict(min_support=b.icp.evidence.min_support, permutations=12, seed=3, real=b.miner)
    early = null.null_control(b.space, b.training, **kw)
    full = null.null_control(b.space, b.training, sequential=False, **kw)
    assert full["permutations"] == 12 and full["stopped_early"] is None
    # pure noise: no real significant segment, so the minimum of shuffles settles it
    assert early["real"]["significant"] == 0
    assert (early["permutations"], early["permutations_planned"]) == (null.MIN_SHUFFLES, 12)
    assert "cannot beat noise" in early["stopped_early"]
    # the same seeded shuffles, in the same order: stopping only drops the later ones
    k = early["permutations"]
    assert early["null_significant"] == full["null_significant"][:k]
    assert early["null_tier1"] == full["null_tier1"][:k]
    assert early["beats_noise"] == full["beats_noise"]  # the answer is the one all 12 give


def test_logistic_on_the_sparse_design_matrix_is_the_dense_fit():
    acc, deals = make_crm(800, seed=4)
    rows = acc.assign(industry=acc["industry"].where(np.arange(800) % 9 > 0))
    y = deals["outcome"].eq("won").to_numpy(dtype=int)
    enc = peers.RawEncoder().fit(rows, KINDS)
    D, X, cat = enc.encode(rows)
    assert np.array_equal(D.toarray(), enc.dense(rows))
    assert np.array_equal(X, enc.native(rows)[0], equal_nan=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sparse_p = LogisticRegression(max_iter=2000).fit(D, y).predict_proba(D)[:, 1]
        dense_p = LogisticRegression(max_iter=2000).fit(D.toarray(), y).predict_proba(D)[:, 1]
    assert np.allclose(sparse_p, dense_p, atol=1e-4)


def test_peer_sample_is_seeded_and_reported_with_its_size():
    assert np.array_equal(peers.training_sample(50, max_rows=100), np.arange(50))
    a = peers.training_sample(1000, seed=2, max_rows=300)
    assert len(a) == 300 and len(set(a)) == 300 and np.array_equal(a, np.sort(a))
    assert np.array_equal(a, peers.training_sample(1000, seed=2, max_rows=300))
    s = peers.sampling(1000, max_rows=300)
    assert s["peer_training_deals"] == 300 and "300 of the 1,000" in s["note"]
    assert peers.sampling(100)["note"] is None


def test_a_large_table_is_validated_on_samples_and_the_report_says_how_large(monkeypatch):
    # the caps lowered so that a small table is "large"
    monkeypatch.setattr(peers, "PEER_MAX_ROWS", 900)
    monkeypatch.setattr(peers, "FOREST_TREE_ROWS", 200)
    monkeypatch.setattr(null, "MAX_ROWS", 1000)
    acc, deals = make_crm(3000)
    res = validate(acc, deals, kinds=KINDS, families=FAMILIES, permutations=20)
    n_train = res["split"]["train_deals"]
    assert n_train > 1000
    nc = res["null_control"]
    assert nc["training_deals"] == 1000 and nc["training_deals_all"] == n_train
    smp = res["peers"]["sampling"]
    assert (smp["training_deals"], smp["peer_training_deals"], smp["forest_tree_deals"]) == (
        n_train,
        900,
        200,
    )
    cuts = res["shortcuts"]
    assert f"null control: run on a random 1,000 of the {n_train:,} training deals" in cuts
    assert (
        f"peers: the raw peers were trained on a random 900 of the {n_train:,} training deals"
        in cuts
    )
    assert any("each random-forest tree drew 200 of the 900" in c for c in cuts)
    if nc["stopped_early"]:
        assert any(c.startswith(f"null control: {nc['permutations']} of 20 shuffles") for c in cuts)
    md = render_markdown(res)
    assert "Shortened to scale: null control: run on a random 1,000" in md
    assert "The raw peers learned from 900 training deals" in md
    # the planted signal is still found, and the peers still see it on their sample
    assert res["null_control"]["beats_noise"]
    assert min(res["peers"]["auc"][p] for p in peers.RAW_PEERS) > 0.6


def test_a_small_table_takes_no_shortcut_but_the_settled_null_control():
    acc, deals = make_crm(1200, seed=5)
    res = validate(acc, deals, kinds=KINDS, families=FAMILIES, permutations=20)
    nc = res["null_control"]
    assert nc["note"] is None and res["peers"]["sampling"]["note"] is None
    assert all(c.startswith("null control: ") and "stopped early" in c for c in res["shortcuts"])
    assert len(res["shortcuts"]) == (1 if nc["stopped_early"] else 0)


def test_a_large_undated_table_is_cross_validated_once_and_says_so(monkeypatch):
    import icpkit.validation as v

    monkeypatch.setattr(v, "BIG_CV", 1000)
    acc, deals = make_crm(1200, dates=False, seed=6)
    kw = dict(kinds=KINDS, families=FAMILIES, permutations=3, repeats=2, folds=3)
    res = validate(acc, deals, **kw)
    assert res["split"]["method"] == "cv" and res["split"]["repeats"] == 1
    assert len(res["repeats"]) == 1 and res["repeats"][0]["deals"] == 1200
    assert res["shortcuts"][0] == (
        "cross-validation: 1 of 2 repeats, as there are 1,200 closed deals (more than 1,000); "
        "every deal is still held out once"
    )
