"""Apple's fields that have no column ("extra"), as the writer prepares them for PostgreSQL's jsonb.

Stated from what jsonb accepts, not from the writer's code: the text it stores must parse with no NUL escape,
no lone surrogate and no NaN or Infinity; it must hold the value kept; a value with nothing unstorable is kept
as Apple sent it, with no problem reported; anything unstorable is removed and reported; too large is dropped.
"""

import json
import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from syncjobs.writer import device_prepare_apple_page

UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
LIMIT = 16_384  # characters of json.dumps text (the writer's bound)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
# Nested at most four deep: the writer keeps six levels, deeper is a separate case below.
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
extras = st.dictionaries(st.text(max_size=12).filter(lambda key: key.isidentifier()), values, max_size=6)


def _unstorable(value) -> bool:
    if isinstance(value, str):
        return bool(UNSTORABLE.search(value))
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    return False


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"jsonb refuses {constant}")

    assert "\\u0000" not in text
    return json.loads(text, parse_constant=refuse)


def _prepared(extra: dict):
    page = device_prepare_apple_page(records=[{"serial_number": "EXTRA0000001", "model": "iPhone", **extra}])
    return page.rows["EXTRA0000001"], page.problems.items


@settings(max_examples=400, derandomize=True, deadline=None)
@given(extras)
def test_other_fields_are_kept_as_sent_or_cleaned_and_reported(extra):
    row, problems = _prepared(extra)
    stored = _strict(row["extra_json"])
    assert stored == row["extra"]
    assert not _unstorable(row["extra"]) and not UNSTORABLE.search(row["extra_json"])
    reported = [problem for problem in problems if problem["field"] == "extra"]
    if _unstorable(extra):
        assert reported
    elif len(json.dumps(extra)) > LIMIT:
        assert row["extra"] == {} and reported
    else:
        assert row["extra"] == extra and not reported


def test_escapes_that_make_the_text_too_large_drop_it():
    """Short as compact UTF-8 (4,000 characters), past the bound once each character is escaped (24,000)."""
    row, problems = _prepared({"note": "\U0001f600" * 2_000})
    assert row["extra"] == {} and [problem["field"] for problem in problems] == ["extra"]
    row, problems = _prepared({"note": "\U0001f600" * 1_000})
    assert row["extra"] == {"note": "\U0001f600" * 1_000} and not problems


def test_deep_nesting_big_integers_and_text_outside_ascii():
    deep: list = []
    for _ in range(300):
        deep = [deep]
    row, problems = _prepared({"deep": deep, "big": 2**80, "name": "Zoë's iPad\u2028", "del": "a\x7fb"})
    assert _strict(row["extra_json"]) == row["extra"]
    assert row["extra"]["big"] == 2**80 and row["extra"]["name"] == "Zoë's iPad\u2028"
    assert row["extra"]["del"] == "ab" and [problem["field"] for problem in problems] == ["extra"]
