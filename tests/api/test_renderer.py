"""The API's orjson renderer writes the bytes DRF's own JSON renderer writes, for any data the API can hold and
for the API's real answers."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DRFRenderer
from rest_framework.test import APIClient

from depportal.api.renderers import JSONRenderer
from tests.truth import run_sync

ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), None]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    # orjson writes UTC offsets to the minute, as every zone has had since 1900 (before: local mean times).
    | st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.sampled_from(ZONES))
    | st.dates()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False, places=4)
    | st.timedeltas()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _both(data, accepted: str = "application/json") -> tuple[bytes, bytes]:
    return JSONRenderer().render(data, accepted, {}), DRFRenderer().render(data, accepted, {})


@settings(max_examples=400, derandomize=True, deadline=None)
@given(values)
def test_same_bytes_as_drf_for_any_value(data):
    ours, drf = _both(data)
    if ours != drf:
        # Floats are the one place the two may spell a number differently (1e+16 and 1e16): the same number.
        assert json.loads(ours) == json.loads(drf)
        assert any(isinstance(v, float) for v in _leaves(data))


def _leaves(data):
    if isinstance(data, dict):
        for value in data.values():
            yield from _leaves(value)
    elif isinstance(data, list):
        for value in data:
            yield from _leaves(value)
    else:
        yield data


@pytest.mark.parametrize(
    "data",
    [
        {"when": datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "micro": datetime(2026, 12, 1, 17, 0, 0, 5, tzinfo=UTC)},
        {
            "london": datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/London")),
            "new_york": datetime(2026, 1, 1, tzinfo=ZONES[2]),
        },
        {"naive": datetime(2026, 12, 1, 17, 0), "day": date(2026, 12, 1), "id": uuid.UUID(int=7)},
        {"separators": "line\u2028paragraph\u2029end", "controls": '\x00\x1f\x7f\t\n"\\', "text": "Zoë 中文 🍏"},
        {"amount": Decimal("12.50"), "span": timedelta(hours=1), 1: "int key", "big": 2**65},
        [1, 2.5, None, True, "x" * 1000],
    ],
)
def test_same_bytes_as_drf_for_the_cases_that_matter(data):
    ours, drf = _both(data)
    assert ours == drf


def test_indented_and_empty_answers_are_drfs():
    data = {"a": [1, {"b": datetime(2026, 1, 1, tzinfo=UTC)}]}
    ours, drf = _both(data, "application/json; indent=4")
    assert ours == drf and b"\n    " in ours
    assert JSONRenderer().render(None) == b""


def test_a_type_neither_can_write_is_refused_as_drf_refuses_it():
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


@pytest.mark.django_db
def test_the_apis_answers_are_drfs_bytes(apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=30)
    run_sync(token)
    api = APIClient()
    api.force_authenticate(admin_user)
    urls = ["/api/v1/devices/?limit=50", f"/api/v1/tokens/{token.pk}/", "/api/v1/sync-jobs/", "/api/v1/tokens/"]
    device = api.get("/api/v1/devices/?limit=1").json()["results"][0]
    urls.append(f"/api/v1/devices/{device['id']}/")
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, url
        assert type(response.accepted_renderer) is JSONRenderer
        assert response.content == DRFRenderer().render(response.data, "application/json", {}), url
