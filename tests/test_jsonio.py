"""Duplicate JSON keys: the quick colon count agrees with reading the body again, and every entry
point refuses them (HTTP, the Python API in both modes, the command line reads)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st
from ipg_validator import validate_bundle
from ipg_validator.core.errors import FhirError
from ipg_validator.core.jsonio import duplicate_key, parse_json

# Keys and strings drawn from a small alphabet so that repeats are common; colons, quotes,
# backslashes and non-ASCII text inside strings are the cases a colon count could get wrong.
TEXT = st.text(alphabet=st.sampled_from(['a', 'b', ':', '"', '\\', ' ', 'é', '\u2028', '{', '}']), max_size=4)


def _encoded(value: Any, escape: bool, gap: str = " ") -> str:
    """A JSON text of `value`; lists of pairs become objects that may repeat a key."""
    if isinstance(value, tuple):
        return "{" + f",{gap}".join(f"{_string(k, escape)}:{gap}{_encoded(v, escape, gap)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encoded(v, escape, gap) for v in value) + "]"
    if isinstance(value, str):
        return _string(value, escape)
    return orjson.dumps(value).decode()


def _string(text: str, escape: bool) -> str:
    encoded = orjson.dumps(text).decode()
    return encoded.replace(":", "\\u003a") if escape else encoded


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(TEXT, inner), max_size=4).map(tuple),
    max_leaves=20,
)


@given(JSON, st.booleans(), st.sampled_from(["", " "]))
def test_colon_count_agrees_with_reading_again(value: Any, escape: bool, gap: str) -> None:
    text = _encoded(value, escape, gap)  # compact text is often byte for byte what orjson writes
    body = text.encode()
    assert duplicate_key(body, orjson.loads(body)) == duplicate_key(body)
    assert duplicate_key(text, orjson.loads(text)) == duplicate_key(text)


@pytest.mark.parametrize("body", [
    b'{"a": 1, "a": 2}',
    b'{"a": {"x:y": "p:q"}, "b": [{"c": 1, "c": ":"}]}',
    b'{"a\\u003a": 1, "a:": 2}',  # the same key spelled two ways
    b'{"k": "\\u003a\\u003a", "k": 1}',  # escaped colons in what is kept, a duplicate dropped
])
def test_duplicates_found(body: bytes) -> None:
    assert duplicate_key(body, orjson.loads(body)) is not None
    with pytest.raises(FhirError) as raised:
        parse_json(body)
    assert raised.value.status == 400 and "more than once" in raised.value.issues[0].text


def test_coding_only_mode_refuses_duplicate_keys() -> None:
    body = b'{"resourceType":"Bundle","type":"collection","type":"batch"}'
    for structure in (True, False):
        issues = validate_bundle(body, structure=structure)["issue"]
        assert len(issues) == 1 and issues[0]["severity"] == "error"
        assert "'type' more than once" in issues[0]["details"]["text"]
    assert validate_bundle(body.replace(b',"type":"batch"', b""), structure=False)["issue"][0]["severity"] != "error"
