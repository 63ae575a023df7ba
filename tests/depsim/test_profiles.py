"""Profiles: define/get, assign/remove effects, per-device statuses; device details and disown."""

import re

import pytest

from tests.depsim.apple import AppleSession, error_code

PROFILE = {
    "profile_name": "Corporate",
    "url": "https://mdm.example.org/enroll",
    "is_supervised": True,
    "is_mdm_removable": False,
    "department": "IT",
    "skip_setup_items": ["Siri", "Location"],
}


@pytest.fixture
def serials(depsim, creds):
    return [d["serial_number"] for d in depsim.add_devices(creds["server_uuid"], count=3)]


def test_define_and_get_profile(depsim, creds, apple):
    answer = apple.ok("POST", "/profile", PROFILE)
    uuid = answer["profile_uuid"]
    assert re.fullmatch(r"[0-9A-F]{32}", uuid)
    assert answer["devices"] == {}
    stored = apple.ok("GET", "/profile", params={"profile_uuid": uuid})
    assert stored == {**PROFILE, "profile_uuid": uuid}
    # Immutable: defining again gives a new UUID, the first one is unchanged.
    second = apple.ok("POST", "/profile", {**PROFILE, "profile_name": "Changed"})["profile_uuid"]
    assert second != uuid
    assert apple.ok("GET", "/profile", params={"profile_uuid": uuid})["profile_name"] == "Corporate"
    assert {p["profile_uuid"] for p in depsim.profiles(creds["server_uuid"])} == {uuid, second}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"profile_name": None}, "CONFIG_NAME_REQUIRED"),
        ({"profile_name": ""}, "CONFIG_NAME_INVALID"),
        ({"profile_name": "x" * 126}, "CONFIG_NAME_INVALID"),
        ({"url": None}, "CONFIG_URL_REQUIRED"),
        ({"url": ""}, "CONFIG_URL_INVALID"),
        ({"url": "not a url"}, "CONFIG_URL_INVALID"),
        ({"url": "https://mdm.example.org/" + "a" * 2000}, "CONFIG_URL_INVALID"),
        ({"department": "d" * 126}, "DEPARTMENT_INVALID"),
        ({"org_magic": "m" * 257}, "MAGIC_INVALID"),
        ({"support_email_address": "e" * 251}, "SUPPORT_EMAIL_INVALID"),
        ({"support_phone_number": "1" * 51}, "SUPPORT_PHONE_INVALID"),
        ({"is_supervised": False}, "FLAGS_INVALID"),
        ({"language": "english"}, "LOCALE_INVALID"),
        ({"language": "en", "region": "usa"}, "LOCALE_INVALID"),
        ({"region": "US"}, "LOCALE_INVALID"),
        ({"is_supervised": "yes"}, "MALFORMED_REQUEST_BODY"),
    ],
)
def test_profile_validation_codes(apple, change, code):
    body = {**PROFILE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = apple.call("POST", "/profile", body)
    assert (response.status_code, error_code(response)) == (400, code)


def test_profile_limits_are_inclusive(apple):
    body = {
        **PROFILE,
        "profile_name": "n" * 125,
        "department": "d" * 125,
        "org_magic": "m" * 256,
        "support_phone_number": "1" * 50,
        "language": "en",
        "region": "US",
    }
    assert apple.call("POST", "/profile", body).status_code == 200


def test_get_profile_errors(depsim, apple):
    missing = apple.call("GET", "/profile")
    assert (missing.status_code, error_code(missing)) == (400, "PROFILE_UUID_REQUIRED")
    unknown = apple.call("GET", "/profile", params={"profile_uuid": "0" * 32})
    assert (unknown.status_code, error_code(unknown)) == (404, "NOT_FOUND")
    # Another server's profile is not visible.
    uuid = AppleSession(depsim.base_url, depsim.create_server("Other")).ok("POST", "/profile", PROFILE)["profile_uuid"]
    assert apple.call("GET", "/profile", params={"profile_uuid": uuid}).status_code == 404


def test_define_with_devices_assigns_them(depsim, creds, apple, serials):
    answer = apple.ok("POST", "/profile", {**PROFILE, "devices": [serials[0], "NOTMINE0001"]})
    assert answer["devices"] == {serials[0]: "SUCCESS", "NOTMINE0001": "NOT_ACCESSIBLE"}
    device = next(d for d in depsim.devices(creds["server_uuid"]) if d["serial_number"] == serials[0])
    assert device["profile_status"] == "assigned" and device["profile_uuid"] == answer["profile_uuid"]


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_assign_remove_activate_cycle(depsim, creds, apple, serials, method):
    _, cursor, _ = apple.fetch_all()
    uuid = apple.ok("POST", "/profile", PROFILE)["profile_uuid"]
    other_server = depsim.create_server("Other")
    foreign = depsim.add_devices(other_server["server_uuid"], count=1)[0]["serial_number"]
    answer = apple.ok(method, "/profile/devices", {"profile_uuid": uuid, "devices": [*serials[:2], foreign]})
    assert answer == {
        "profile_uuid": uuid,
        "devices": {serials[0]: "SUCCESS", serials[1]: "SUCCESS", foreign: "NOT_ACCESSIBLE"},
    }
    details = apple.ok("POST", "/devices", {"devices": serials[:2]})["devices"]
    assert {details[s]["profile_status"] for s in serials[:2]} == {"assigned"}
    assert details[serials[0]]["profile_uuid"] == uuid and details[serials[0]]["profile_assign_time"]
    depsim.activate_device(serials[0])
    removed = apple.ok("DELETE", "/profile/devices", {"devices": [serials[1], foreign]})
    assert removed == {"devices": {serials[1]: "SUCCESS", foreign: "NOT_ACCESSIBLE"}}
    details = apple.ok("POST", "/devices", {"devices": serials[:2]})["devices"]
    assert details[serials[0]]["profile_status"] == "pushed" and details[serials[0]]["profile_push_time"]
    assert details[serials[1]]["profile_status"] == "removed" and "profile_uuid" not in details[serials[1]]
    records, _ = apple.sync_all(cursor)
    assert [(r["serial_number"], r["op_type"], r["profile_status"]) for r in records] == [
        (serials[0], "modified", "assigned"),
        (serials[1], "modified", "assigned"),
        (serials[0], "modified", "pushed"),
        (serials[1], "modified", "removed"),
    ]


def test_assign_errors(apple, serials):
    uuid = apple.ok("POST", "/profile", PROFILE)["profile_uuid"]
    cases = [
        ({"devices": serials}, 400, "PROFILE_UUID_REQUIRED"),
        ({"profile_uuid": uuid}, 400, "DEVICE_ID_REQUIRED"),
        ({"profile_uuid": uuid, "devices": []}, 400, "DEVICE_ID_REQUIRED"),
        ({"profile_uuid": "F" * 32, "devices": serials}, 404, "NOT_FOUND"),
        ({"profile_uuid": uuid, "devices": [f"S{i:09d}" for i in range(1001)]}, 400, "TOO_MANY_DEVICES"),
    ]
    for body, status, code in cases:
        response = apple.call("PUT", "/profile/devices", body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert error_code(apple.call("DELETE", "/profile/devices", {"devices": []})) == "DEVICE_ID_REQUIRED"
    thousand = apple.ok(
        "PUT", "/profile/devices", {"profile_uuid": uuid, "devices": [f"S{i:09d}" for i in range(1000)]}
    )
    assert len(thousand["devices"]) == 1000


@pytest.mark.parametrize(
    ("version", "status", "retry_after"), [(10, "THROTTLED", 120), (9, "THROTTLED", None), (8, "FAILED", None)]
)
def test_throttled_serials(depsim, creds, serials, version, status, retry_after):
    apple = AppleSession(depsim.base_url, creds, version=version)
    uuid = apple.ok("POST", "/profile", PROFILE)["profile_uuid"]
    depsim.set_throttled_serials([serials[0]], retry_after_seconds=120)
    answer = apple.ok("POST", "/profile/devices", {"profile_uuid": uuid, "devices": serials[:2]})
    assert answer["devices"] == {serials[0]: status, serials[1]: "SUCCESS"}
    assert answer.get("retry_after_seconds") == retry_after
    depsim.set_throttled_serials([])
    assert apple.ok("POST", "/profile/devices", {"profile_uuid": uuid, "devices": serials[:1]})["devices"] == {
        serials[0]: "SUCCESS"
    }


def test_device_details(depsim, creds, apple, serials):
    answer = apple.ok("POST", "/devices", {"devices": [serials[0], "UNKNOWN00001"]})["devices"]
    assert answer[serials[0]]["response_status"] == "SUCCESS"
    assert answer[serials[0]]["serial_number"] == serials[0]
    assert answer["UNKNOWN00001"] == {"response_status": "NOT_ACCESSIBLE"}
    assert error_code(apple.call("POST", "/devices", {"devices": []})) == "DEVICE_ID_REQUIRED"


def test_disown_releases_devices(depsim, creds, apple, serials):
    _, cursor, _ = apple.fetch_all()
    answer = apple.ok("POST", "/devices/disown", {"devices": [serials[0], "UNKNOWN00001"]})
    assert answer == {"devices": {serials[0]: "SUCCESS", "UNKNOWN00001": "NOT_ACCESSIBLE"}}
    records, _ = apple.sync_all(cursor)
    assert [(r["serial_number"], r["op_type"]) for r in records] == [(serials[0], "deleted")]
    assert apple.ok("POST", "/devices", {"devices": [serials[0]]})["devices"][serials[0]]["response_status"] == (
        "NOT_ACCESSIBLE"
    )
    assert error_code(apple.call("POST", "/devices/disown", {})) == "DEVICE_ID_REQUIRED"


def test_remove_naming_a_profile_removes_only_that_one(apple, serials):
    first = apple.ok("POST", "/profile", PROFILE)["profile_uuid"]
    second = apple.ok("POST", "/profile", {**PROFILE, "profile_name": "Other"})["profile_uuid"]
    apple.ok("POST", "/profile/devices", {"profile_uuid": first, "devices": serials[:1]})
    apple.ok("POST", "/profile/devices", {"profile_uuid": second, "devices": serials[1:2]})
    answer = apple.ok("DELETE", "/profile/devices", {"devices": serials[:2], "profile_uuid": second})
    assert answer == {"devices": {serials[0]: "FAILED", serials[1]: "SUCCESS"}}
    details = apple.ok("POST", "/devices", {"devices": serials[:2]})["devices"]
    assert details[serials[0]]["profile_uuid"] == first and details[serials[0]]["profile_status"] == "assigned"
    assert details[serials[1]]["profile_status"] == "removed"
