"""The build's memory-saving paths give the same figures as the plain per-cell ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpkit import features, leakage
from icpkit.features import FeatureSpace, FeatureSpec
from icpkit.icpfile import Condition
from icpkit.mining import segments
from icpkit.mining.segments import SegmentMiner
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
    fast = leakage._levels(s, "str")
    assert fast is not None
    assert list(fast) == list(leakage._text_levels(s.astype(object)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.5, 3.0, 1e20, -2.25, 7.0]), max_size=30))
def test_numbers_formatted_once_per_value_match_per_cell(values: list[float]) -> None:
    x = np.array(values, dtype=float)
    assert list(leakage._formatted(x)) == [f"{v:g}" for v in x]


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
