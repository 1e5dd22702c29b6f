"""``count_values``: the values of a client's JSON counted on its bytes, before parsing (strings stripped
a window at a time), compared with the values of the parsed JSON, windows cut anywhere."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.gateway.json_body import count_values

# strings rich in what the count must skip: quotes, backslashes, commas, brackets, non-ASCII
TRICKY = st.text(alphabet=st.sampled_from(list('"\\,[]{}ab é🙂\n')), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TRICKY
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TRICKY, inner, max_size=5),
    max_leaves=30,
)


def expected(value: Any) -> int:
    """What ``count_values`` promises: every value (object keys are not values), plus one for each empty
    array or object (its bracket is counted though nothing is in it)."""
    if isinstance(value, dict | list):
        children = list(value.values()) if isinstance(value, dict) else value
        return 1 + (sum(expected(child) for child in children) if children else 1)
    return 1


@settings(max_examples=300, deadline=None)
@given(value=JSON, window=st.integers(1, 40))
def test_the_count_is_the_parsed_values_whatever_the_windows(value: Any, window: int) -> None:
    raw = orjson.dumps(value)
    assert count_values(raw, window=window) == expected(value), raw
    assert count_values(raw) == expected(value), raw  # one window


def test_commas_and_brackets_in_strings_cost_nothing() -> None:
    text = "a, [b], {c}, " * 10_000
    assert count_values(orjson.dumps({"input": text})) == 2
    assert count_values(orjson.dumps({"input": [text, text]})) == 4


def test_counting_stops_once_past_the_limit() -> None:
    raw = b"[" + b",".join([b'"x"'] * 100_000) + b"]"
    assert count_values(raw) == 100_001
    assert 1_000 < count_values(raw, stop_above=1_000, window=8192) < 10_000  # stopped a window in


def test_an_unclosed_string_counts_the_rest_as_it_is() -> None:
    assert count_values(b'["a", "b, c, d') == 5  # an upper bound; orjson refuses it afterwards
