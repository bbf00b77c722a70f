"""The shared numpy helpers give numpy's own answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fengyan.arrays import distinct


@given(
    hnp.arrays(
        st.sampled_from([np.int8, np.int32, np.int64, np.uint16]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
    )
)
def test_distinct_is_a_plain_unique_of_integers(values: np.ndarray) -> None:
    got, want = distinct(values), np.unique(values)
    assert got.dtype == want.dtype and np.array_equal(got, want)


@given(st.lists(st.text(max_size=3), max_size=30))
def test_distinct_is_a_plain_unique_of_strings(values: list[str]) -> None:
    array = np.asarray(values, dtype=str)
    assert distinct(array).tolist() == np.unique(array).tolist()


@given(hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-5, 5)))
def test_distinct_in_place_gives_the_same_values(values: np.ndarray) -> None:
    want = np.unique(values)
    assert np.array_equal(distinct(values, overwrite_input=True), want)
