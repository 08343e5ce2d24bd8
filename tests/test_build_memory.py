"""The build's memory- and time-saving paths give the same figures as the plain per-cell ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from icpkit import features, leakage
from icpkit.features import FeatureSpace, FeatureSpec
from icpkit.icpfile import Condition
from icpkit.mining import segments
from icpkit.mining.segments import SegmentMiner
from icpkit.mining.stats import distinct_per_group
from icpkit.scoring.scorer import Columns
from icpkit.workspace import Workspace

TEXT = st.sampled_from([" A", "a", "B ", "", "c", "n/a", "Won", "  ", "İx"])


@st.composite
def binned(draw: st.DrawFn) -> tuple[list[int], np.ndarray]:
    sizes = draw(st.lists(st.integers(1, 4), max_size=5))
    n = draw(st.integers(0, 30))
    cols = [draw(st.lists(st.integers(-1, k - 1), min_size=n, max_size=n)) for k in sizes]
    a = np.array(cols, dtype=np.int16).T.reshape(n, len(sizes))
    return sizes, a


@settings(max_examples=60, deadline=None)
@given(binned(), st.integers(1, 8))
def test_one_hot_matches_cell_by_cell(case: tuple[list[int], np.ndarray], block: int) -> None:
    sizes, assigned = case
    space = FeatureSpace()
    space.specs = [
        FeatureSpec(
            f"f{j}", "firmographic", "categorical", [Condition(attribute=f"f{j}", other=True)] * k
        )
        for j, k in enumerate(sizes)
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(features, "ROW_BLOCK", block)
        X, cols = space.one_hot(assigned)
    offsets = np.cumsum([0, *sizes])[:-1]
    want = np.zeros((assigned.shape[0], sum(sizes)))
    for i, j in zip(*np.nonzero(assigned >= 0), strict=True):
        want[i, offsets[j] + assigned[i, j]] = 1.0
    assert X.shape == want.shape and len(cols) == sum(sizes)
    assert np.array_equal(X.toarray(), want)
    assert X.has_sorted_indices


@settings(max_examples=60, deadline=None)
@given(binned(), st.data(), st.integers(1, 7))
def test_segment_counts_by_codes_match_whole_matrix(
    case: tuple[list[int], np.ndarray], data: st.DataObject, block: int
) -> None:
    sizes, assigned = case
    n = assigned.shape[0]
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    space = FeatureSpace()
    space.specs = [
        FeatureSpec(
            f"f{j}", "firmographic", "categorical", [Condition(attribute=f"f{j}", other=True)] * k
        )
        for j, k in enumerate(sizes)
    ]
    sels = [
        (j, b, c, "firmographic") for j, s in enumerate(space.specs) for b, c in enumerate(s.bins)
    ]
    if not sels:
        return
    # the deal x selector matrix the counts stand for
    S = np.column_stack([assigned[:, j] == b for j, b, _, _ in sels]).reshape(n, len(sels))
    searchable = sorted(data.draw(st.sets(st.integers(0, len(sels) - 1), min_size=1)))
    beam = data.draw(
        st.lists(st.lists(st.integers(0, len(searchable) - 1), min_size=1, max_size=2), max_size=3)
    )
    train = segments.Training(
        frame=pd.DataFrame(index=range(n)),
        won=y,
        amount=np.full(n, np.nan),
        cycle=np.full(n, np.nan),
        account=np.arange(n).astype(str),
        assigned=assigned,
    )
    miner = SegmentMiner()
    miner._sels, miner._assigned = sels, assigned
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segments, "ROW_BLOCK", block)
        miner._coded_counts(space, train)
        N, W = miner._counts(searchable, y, beam)
    Ss = S[:, searchable]
    if beam:
        B = np.column_stack([np.all(Ss[:, keys], axis=1) for keys in beam])
        want_n, want_w = B.T.astype(int) @ Ss, B[y].T.astype(int) @ Ss[y]
        for keys, b in zip(beam, B.T, strict=True):
            assert np.array_equal(miner._mask([searchable[i] for i in keys]), b)
    else:
        want_n, want_w = Ss.sum(0), Ss[y].sum(0)
    assert N.dtype == np.float32 and W.dtype == np.float32
    assert np.array_equal(N, want_n) and np.array_equal(W, want_w)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=30), st.sampled_from(["str", "category"]))
def test_text_levels_once_per_value_match_per_cell(values: list, dtype: str) -> None:
    s = pd.Series(values, dtype=object).astype(dtype)
    coded = leakage._level_codes(s, "str")
    assert coded is not None
    codes, labels = coded
    assert list(labels[codes]) == list(leakage._text_levels(s.astype(object)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.5, 3.0, 1e20, -2.25, 7.0]), max_size=30))
def test_numbers_formatted_once_per_value_match_per_cell(values: list[float]) -> None:
    x = np.array(values, dtype=float)
    idx, names = leakage._formatted_codes(x)
    assert list(names[idx]) == [f"{v:g}" for v in x]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=30))
def test_category_text_shared_per_value_matches_per_cell(values: list) -> None:
    s = pd.Series(values, dtype=object).astype("str")
    got = Columns(pd.DataFrame({"x": s})).text("x")
    t = s.str.strip().str.lower()  # every row cleaned on its own
    keep = t.notna().to_numpy() & (t != "").fillna(False).to_numpy()
    assert list(got) == list(t.astype(object).where(keep, None))
    assert all(v is None or type(v) is str for v in got)


def test_list_cells_with_the_same_items_share_one_array(tmp_path) -> None:
    ws = Workspace(tmp_path)
    frame = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "tags": [["x", "y"], ["x", "y"], None, ["y", "x"], []],
            "seats": [[1, 2], [1, 2], None, [3], [1]],
        }
    )
    ws.write({"t": frame})
    raw = ws.query('SELECT * FROM "t"')
    got = ws.table("t")
    for col in ("tags", "seats"):
        for before, after in zip(raw[col], got[col], strict=True):
            assert type(before) is type(after)
            if isinstance(before, np.ndarray):
                assert before.tolist() == after.tolist()
            else:
                assert pd.isna(before) and pd.isna(after)
    assert got["tags"][0] is got["tags"][1]  # the same items: one array
    assert got["tags"][0] is not got["tags"][3]  # the same items in another order: its own


# -- the build's fast paths: each distinct cell, value or group worked out once ------

POOL = [
    ["Salesforce", " aws", ""],
    np.array(["x", None, "Y "], dtype=object),
    ("a", "a"),
    [],
    "hubspot; jira",
    "a|b;c",
    "one, two",
    " ",
    "n/a",
    None,
    float("nan"),
    7,
    "solo",
]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(POOL) - 1), max_size=40))
def test_items_and_blanks_per_distinct_cell_match_per_row(picks: list[int]) -> None:
    """Rows sharing a cell object get what splitting every row on its own gives."""
    from icpkit.scoring import clean, scorer

    cells = np.empty(len(picks), dtype=object)
    cells[:] = [POOL[i] for i in picks]  # shared objects, as the deals of one account share
    fresh = np.empty(len(picks), dtype=object)
    fresh[:] = [
        v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v
        for v in cells
    ]  # the same values, each row its own object
    pos, codes, uniques, _ = scorer._item_codes(pd.Series(fresh, dtype=object))
    want = pd.DataFrame({"pos": pos, "item": uniques[codes]})
    got_pos, got_codes, got_uniques = scorer._items_per_cell(cells)
    assert got_pos.tolist() == want["pos"].tolist()
    assert got_uniques[got_codes].tolist() == want["item"].tolist()
    series = pd.Series(cells, dtype=object)
    assert clean.null_mask(series).tolist() == [clean.is_null(v) for v in fresh]
    cols = Columns(pd.DataFrame({"t": series}))
    assert cols.items("t").equals(want)
    rows = want.drop_duplicates().groupby("item").size()
    assert cols.item_rows("t") == {str(k): int(v) for k, v in rows.items()}
    assert list(cols.item_rows("t")) == sorted(rows.index)
    for item in ("aws", "salesforce", "y", "b;c", "two", "nothing"):
        has = np.zeros(len(cells), dtype=bool)
        has[want["pos"][want["item"] == item].to_numpy(dtype=int)] = True
        assert cols.has("t", item).tolist() == has.tolist()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=30), st.sets(TEXT, max_size=3))
def test_text_tests_once_per_value_match_per_row(values: list, wanted: set) -> None:
    from icpkit.scoring import clean

    s = pd.Series(values, dtype=object).astype("str")
    cols = Columns(pd.DataFrame({"x": s}))
    assert cols.text_in("x", wanted).tolist() == cols.text("x").isin(wanted).tolist()
    per_row = s.isna().to_numpy() | s.str.strip().str.lower().isin(clean.NULL_WORDS + ("",))
    assert clean.null_mask(s).tolist() == per_row.fillna(False).tolist()


def _auc_per_deal(codes: np.ndarray, won: np.ndarray, folds: np.ndarray) -> float | None:
    """The cross-validated AUC with an out-of-fold score per deal, ranked."""
    k = int(codes.max()) + 1
    oof = np.empty(len(won))
    for f in range(leakage._CV_FOLDS):
        te, tr = folds == f, folds != f
        if not te.any() or won[tr].all() or not won[tr].any():
            return None
        wins = np.bincount(codes[tr], weights=won[tr].astype(float), minlength=k)
        seen = np.bincount(codes[tr], minlength=k)
        p0 = float(won[tr].mean())
        oof[te] = ((wins + leakage._PRIOR * p0) / (seen + leakage._PRIOR))[codes[te]]
    ranks = rankdata(oof)  # the rank-sum statistic, ties counting half
    n1 = int(won.sum())
    return float((ranks[won].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(won) - n1)))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_auc_from_counts_per_fold_and_value_is_the_rank_sums(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 80))
    k = data.draw(st.integers(1, 6))
    codes = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    won = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    folds = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    assert leakage._cv_auc(codes, won, folds) == _auc_per_deal(codes, won, folds)


def _number_labels(x: np.ndarray) -> list[str]:
    """A number column's labels worked out row by row: exact values when few, else a
    level per value held by a tenth of the deals and decile bins for the rest."""
    known = ~np.isnan(x)
    out = np.full(len(x), leakage._MISSING, dtype=object)
    vals = pd.Series(x[known]).value_counts()
    if len(vals) <= 10:
        out[known] = [f"{v:g}" for v in x[known]]
        return list(out)
    top = set(vals[vals >= 0.1 * known.sum()].index)
    is_top = known & np.isin(x, list(top))
    out[is_top] = [f"{v:g}" for v in x[is_top]]
    rest = known & ~is_top
    if rest.any():
        edges = np.unique(np.nanquantile(x[rest], np.linspace(0, 1, 11)))
        for i in np.flatnonzero(rest):
            if len(edges) < 2:
                out[i] = f"{x[i]:g}"
                continue
            b = min(max(int(np.searchsorted(edges, x[i], side="right")) - 1, 0), len(edges) - 2)
            out[i] = f"{edges[b]:g} to {edges[b + 1]:g}"
    return list(out)


NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1.0000001, 2.5, float("nan")]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(0, 30).map(float),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(NUMBERS, max_size=60))
def test_number_levels_by_codes_match_labels_per_row(values: list[float]) -> None:
    x = np.array(values, dtype=float)
    codes, uniques = leakage._level_codes(pd.Series(x), "num")
    want_codes, want_uniques = pd.factorize(np.array(_number_labels(x), dtype=object))
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=40), st.lists(st.integers(0, 9), max_size=40))
def test_distinct_per_group_by_flags_matches_distinct_pairs(levels: list, accounts: list) -> None:
    n = min(len(levels), len(accounts))
    codes, acc = np.array(levels[:n], dtype=np.int64), np.array(accounts[:n], dtype=np.int64)
    want = [len({a for c, a in zip(codes, acc, strict=True) if c == lv}) for lv in range(4)]
    assert distinct_per_group(codes, 4, acc, 10).tolist() == want
    # too many (level, account) pairs for a flag each: the distinct pairs are hashed
    assert distinct_per_group(codes, 4, acc, 10**8).tolist() == want


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 1.0, 2.0, 2.5, 7.0, 100.0, -3.0]), st.booleans()),
        min_size=1,
        max_size=120,
    ),
    st.integers(1, 40),
    st.integers(2, 6),
)
def test_tree_cuts_on_distinct_values_match_the_tree_on_every_deal(
    rows: list[tuple[float, bool]], min_support: int, max_bins: int
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    vals = np.array([v for v, _ in rows])
    y = np.array([w for _, w in rows])
    uniq, counts = np.unique(vals, return_counts=True)
    got = features._tree_thresholds(vals, y, uniq, counts, max_bins, min_support)
    t = (
        DecisionTreeClassifier(
            max_leaf_nodes=max_bins, min_samples_leaf=min_support, random_state=0
        )
        .fit(vals.reshape(-1, 1), y.astype(int))
        .tree_
    )
    assert got == sorted(float(v) for v, f in zip(t.threshold, t.feature, strict=True) if f >= 0)


def _list_stats_per_row(values: pd.Series, won: np.ndarray, account: np.ndarray):
    """A list column's figures with every row's items split on its own."""
    from icpkit.scoring.clean import split_items

    items = [tuple(set(split_items(v))) for v in values]
    names: dict[str, int] = {}
    for r in items:
        for it in r:
            names.setdefault(it, len(names))
    counts = {it: sum(it in r for r in items) for it in names}
    folds = leakage._folds(account)
    worst = None
    for it, c in sorted(counts.items(), key=lambda kv: -kv[1])[: leakage._MAX_LIST_ITEMS]:
        if c < leakage._min_level_deals(len(items)):
            break
        labels = [
            leakage._MISSING if not r else f"has {it}" if it in r else f"no {it}" for r in items
        ]
        figures = leakage.column_stats(
            "t", pd.Series(labels, dtype=object), "str", won, account, folds
        )
        if figures is not None and (
            worst is None or leakage._strength(figures) > leakage._strength(worst)
        ):
            worst = figures
    return worst


LISTS = [["A", "b"], ["b"], "c;a", [], None, "b|c", ["d", "a", "b"], "a"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(LISTS) - 1), st.booleans()), min_size=20, max_size=90))
def test_list_items_checked_per_distinct_cell_match_per_row(rows: list[tuple[int, bool]]) -> None:
    cells = np.empty(len(rows), dtype=object)
    cells[:] = [LISTS[i] for i, _ in rows]  # shared objects
    won = np.array([w for _, w in rows])
    account = np.arange(len(rows)) // 2
    got = leakage.column_stats("t", pd.Series(cells, dtype=object), "list", won, account)
    want = _list_stats_per_row(pd.Series(cells, dtype=object), won, account)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got.evidence == want.evidence and got.levels == want.levels
        assert (got.auc, got.won_coverage, got.lost_coverage) == (
            want.auc,
            want.won_coverage,
            want.lost_coverage,
        )


@settings(max_examples=60, deadline=None)
@given(binned(), st.data())
def test_single_conditions_counted_per_feature_match_one_by_one(
    case: tuple[list[int], np.ndarray], data: st.DataObject
) -> None:
    sizes, assigned = case
    n = assigned.shape[0]
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    money = st.one_of(st.just(float("nan")), st.floats(0, 1e6))
    space = FeatureSpace()
    space.specs = [
        FeatureSpec(
            f"f{j}", "firmographic", "categorical", [Condition(attribute=f"f{j}", other=True)] * k
        )
        for j, k in enumerate(sizes)
    ]
    train = segments.Training(
        frame=pd.DataFrame(index=range(n)),
        won=y,
        amount=np.array(data.draw(st.lists(money, min_size=n, max_size=n)), dtype=float),
        cycle=np.array(data.draw(st.lists(money, min_size=n, max_size=n)), dtype=float),
        account=np.array(
            data.draw(st.lists(st.sampled_from("abcde"), min_size=n, max_size=n)), dtype=object
        ),
        assigned=assigned,
    )
    miner = SegmentMiner()
    miner._sels = [
        (j, b, c, "firmographic") for j, s in enumerate(space.specs) for b, c in enumerate(s.bins)
    ]
    miner._assigned = np.asfortranarray(assigned)
    miner._acc_codes = pd.factorize(train.account)[0]
    won_amt = train.amount[y]
    miner._won_amount = np.nansum(won_amt) if len(won_amt) else 0.0
    got = miner._make_singles(train)
    want = [miner._make(train, [k]) for k in range(len(miner._sels))]
    assert [vars(s) for s in got] == [vars(s) for s in want]
