from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.svg_path import MAX_CURVE_SEGMENTS, SvgPathError, path_to_polylines

number = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:g}"),
    st.sampled_from(["1e308", "-1e6", "1e6", "1e-300", "0", ".5", "-.5e2"]),
)
token = st.one_of(
    st.sampled_from(list("MmLlHhVvCcSsQqTtAaZz")), number, st.sampled_from([",", " "])
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="MmLlHhVvCcSsQqTtAaZz0123456789.-+eE, \n", max_size=60))
def test_svg_path_fuzz_any_text_parses_or_raises_svg_path_error(d: str) -> None:
    try:
        lines = path_to_polylines(d)
    except SvgPathError:
        return
    for line in lines:
        assert line.ndim == 2
        assert line.shape[1] == 2
        assert line.shape[0] >= 2


@settings(max_examples=400, deadline=None)
@given(st.lists(token, max_size=40))
def test_svg_path_fuzz_token_soup_gives_finite_bounded_polylines(tokens: list[str]) -> None:
    try:
        lines = path_to_polylines("M 0 0 " + " ".join(tokens))
    except SvgPathError:
        return
    for line in lines:
        assert np.isfinite(line).all()
        assert line.shape[0] <= (len(tokens) + 2) * (MAX_CURVE_SEGMENTS + 1)
