"""Scripted faults, latency and the request log."""

import json

import pytest
import requests

from tests.depsim.apple import AppleSession, error_code


@pytest.fixture
def apple(apple):
    """A session is open before the test scripts its faults."""
    assert apple.session().status_code == 200
    return apple


def test_faults_fire_in_order_and_are_consumed(depsim, apple):
    depsim.add_fault("/server/devices", 429, retry_after=30)
    depsim.add_fault("/server/devices", 503, retry_after="Wed, 21 Oct 2026 07:28:00 GMT", body="maintenance")
    first = apple.call("POST", "/server/devices", {})
    second = apple.call("POST", "/server/devices", {})
    third = apple.call("POST", "/server/devices", {})
    assert (first.status_code, first.headers["Retry-After"], first.text) == (429, "30", '"TOO_MANY_REQUESTS"')
    assert (second.status_code, second.headers["Retry-After"], second.text) == (
        503,
        "Wed, 21 Oct 2026 07:28:00 GMT",
        "maintenance",
    )
    assert third.status_code == 200


def test_fault_only_hits_its_endpoint_and_method(depsim, apple):
    depsim.add_fault("/profile/devices", 500, method="DELETE")
    assert apple.call("GET", "/account").status_code == 200
    assert apple.call("PUT", "/profile/devices", {"profile_uuid": "A" * 32, "devices": ["X"]}).status_code == 404
    assert apple.call("DELETE", "/profile/devices", {"devices": ["X"]}).status_code == 500


def test_forever_fault_and_clear(depsim, apple):
    depsim.add_fault("*", 502, count=None)
    assert [apple.call("GET", "/account").status_code for _ in range(3)] == [502, 502, 502]
    assert apple.session().status_code == 502
    depsim.clear_faults()
    assert apple.session().status_code == 200


def test_fault_on_session_with_apple_code(depsim, apple):
    depsim.add_fault("/session", 403, body='"T_C_NOT_SIGNED"')
    response = apple.session()
    assert (response.status_code, error_code(response)) == (403, "T_C_NOT_SIGNED")


def test_probability_is_seeded(depsim, apple):
    def pattern() -> list[int]:
        depsim.clear_faults()
        depsim.add_fault("/account", 500, probability=0.5, count=None)
        return [apple.call("GET", "/account").status_code for _ in range(20)]

    depsim.reset()
    creds = depsim.create_server("Seeded")
    apple = AppleSession(depsim.base_url, creds)
    first = pattern()
    depsim.reset()
    apple = AppleSession(depsim.base_url, depsim.create_server("Seeded"))
    apple.session()
    second = pattern()
    assert set(first) == {200, 500}
    # The /session call in the second run consumed no random draw (the fault is on /account only).
    assert first == second


def test_malformed_answer(depsim, apple):
    depsim.add_fault("/devices/sync", 0, malformed=True)
    response = apple.call("POST", "/devices/sync", {"cursor": "x" * 40})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_hang_then_answer_normally(depsim, apple):
    depsim.add_fault("/account", 0, delay_s=1.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        apple.call("GET", "/account", timeout=0.3)
    # The fault was used up by the timed-out request; the next one answers.
    assert apple.call("GET", "/account").status_code == 200


def test_latency_applies_per_endpoint(depsim, apple):
    depsim.set_latency(1.5, endpoint="/account")
    with pytest.raises(requests.exceptions.ReadTimeout):
        apple.call("GET", "/account", timeout=0.3)
    assert apple.call("POST", "/server/devices", {}, timeout=5).status_code == 200
    depsim.set_latency(0, endpoint="/account")
    assert apple.call("GET", "/account", timeout=5).status_code == 200


def test_unknown_fault_endpoint_is_refused(depsim):
    from depsim.control import DepSimControlError

    with pytest.raises(DepSimControlError) as refused:
        depsim.add_fault("/nope", 500)
    assert refused.value.status == 400


def test_request_log_has_no_secrets(depsim, creds, apple):
    start = depsim.requests()[-1]["seq"]
    apple.call("GET", "/account")
    apple.call("POST", "/devices/sync", {})
    apple.http.get(f"{depsim.base_url}/account", headers={"User-Agent": ""}, timeout=10)
    entries = depsim.requests(since=start)
    assert [(e["method"], e["path"], e["status"], e["error"]) for e in entries] == [
        ("GET", "/account", 200, None),
        ("POST", "/devices/sync", 400, "CURSOR_REQUIRED"),
        ("GET", "/account", 400, "USER_AGENT_MISSING"),
    ]
    assert entries[0]["user_agent"] == "depsim-tests/1.0" and entries[0]["protocol_version"] == "10"
    assert set(entries[0]) == {"seq", "method", "path", "status", "error", "user_agent", "protocol_version", "at"}
    dump = json.dumps(depsim.requests())
    for secret in (creds["consumer_secret"], creds["access_secret"], creds["access_token"], apple.token):
        assert secret not in dump
