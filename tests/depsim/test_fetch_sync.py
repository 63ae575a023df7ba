"""POST /server/devices and POST /devices/sync: pages, cursors, the op stream."""

from tests.depsim.apple import AppleSession, error_code

SEVEN_DAYS = 7 * 24 * 3600


def test_full_fetch_pages_through_every_device_once(depsim, creds, apple):
    created = depsim.add_devices(creds["server_uuid"], count=250)
    devices, _cursor, pages = apple.fetch_all(limit=100)
    assert pages == 3
    assert sorted(d["serial_number"] for d in devices) == sorted(d["serial_number"] for d in created)
    # Ordered by last operation time: creation order here.
    assert [d["serial_number"] for d in devices] == [d["serial_number"] for d in created]
    assert all("op_type" not in d for d in devices)


def test_limit_defaults_to_100_and_is_clamped_to_1000(depsim, creds, apple):
    depsim.add_devices(creds["server_uuid"], count=1100)
    default_page = apple.ok("POST", "/server/devices", {})
    assert len(default_page["devices"]) == 100 and default_page["more_to_follow"] is True
    big_page = apple.ok("POST", "/server/devices", {"limit": 5000})
    assert len(big_page["devices"]) == 1000
    rest = apple.ok("POST", "/server/devices", {"cursor": big_page["cursor"], "limit": 5000})
    assert len(rest["devices"]) == 100 and rest["more_to_follow"] is False


def test_page_shape_and_fetched_until(depsim, creds, apple):
    depsim.add_devices(creds["server_uuid"], count=3)
    page = apple.ok("POST", "/server/devices", {"limit": 10})
    assert set(page) == {"devices", "cursor", "fetched_until", "more_to_follow"}
    assert page["fetched_until"].endswith("Z") and len(page["fetched_until"]) == 20
    assert len(page["cursor"]) <= 1000
    device = page["devices"][0]
    assert {
        "serial_number",
        "model",
        "description",
        "color",
        "os",
        "device_family",
        "profile_status",
        "device_assigned_date",
        "device_assigned_by",
    } <= set(device)
    assert device["profile_status"] == "empty"


def test_empty_server_fetch(apple):
    page = apple.ok("POST", "/server/devices", {})
    assert page["devices"] == [] and page["more_to_follow"] is False and page["cursor"]


def test_finished_fetch_cursor_is_exhausted_but_starts_a_sync(depsim, creds, apple):
    depsim.add_devices(creds["server_uuid"], count=5)
    _devices, cursor, _pages = apple.fetch_all()
    again = apple.call("POST", "/server/devices", {"cursor": cursor})
    assert (again.status_code, again.text) == (400, '"EXHAUSTED_CURSOR"')
    records, _ = apple.sync_all(cursor)
    assert records == []


def test_intermediate_fetch_cursor_can_be_retried(depsim, creds, apple):
    depsim.add_devices(creds["server_uuid"], count=30)
    first = apple.ok("POST", "/server/devices", {"limit": 10})
    second = apple.ok("POST", "/server/devices", {"cursor": first["cursor"], "limit": 10})
    retried = apple.ok("POST", "/server/devices", {"cursor": first["cursor"], "limit": 10})
    assert second["devices"] == retried["devices"]


def test_changes_during_a_fetch_are_reported_once_then_by_sync(depsim, creds, apple):
    created = depsim.add_devices(creds["server_uuid"], count=20)
    first = apple.ok("POST", "/server/devices", {"limit": 10})
    seen_first = {d["serial_number"] for d in first["devices"]}
    later = created[15]["serial_number"]
    depsim.update_device(later, color="GOLD")
    depsim.update_device(created[0]["serial_number"], asset_tag="TAG-1")
    newcomer = depsim.add_devices(creds["server_uuid"], count=1)[0]["serial_number"]
    rest, cursor = [], first["cursor"]
    while True:
        page = apple.ok("POST", "/server/devices", {"cursor": cursor, "limit": 10})
        rest += page["devices"]
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            break
    serials = [d["serial_number"] for d in first["devices"] + rest]
    assert len(serials) == len(set(serials)) == 20
    assert newcomer not in serials
    assert next(d for d in rest if d["serial_number"] == later)["color"] == "GOLD"
    records, _ = apple.sync_all(cursor)
    ops = [(r["serial_number"], r["op_type"]) for r in records]
    assert ops == [(later, "modified"), (created[0]["serial_number"], "modified"), (newcomer, "added")]
    assert created[0]["serial_number"] in seen_first


def test_sync_reports_added_modified_deleted_with_op_dates(depsim, creds, apple):
    devices = depsim.add_devices(creds["server_uuid"], count=3)
    _, cursor, _ = apple.fetch_all()
    a, b, c = (d["serial_number"] for d in devices)
    depsim.advance_clock(60)
    depsim.update_device(a, asset_tag="A-1")
    depsim.unassign_devices(creds["server_uuid"], [b])
    new = depsim.add_devices(creds["server_uuid"], serials=["C02ZZ0001XYZ"], device_family="Mac")[0]
    records, cursor = apple.sync_all(cursor, limit=2)
    assert [(r["serial_number"], r["op_type"]) for r in records] == [
        (a, "modified"),
        (b, "deleted"),
        (new["serial_number"], "added"),
    ]
    assert records[0]["asset_tag"] == "A-1"
    assert records[2]["op_date"] == records[2]["device_assigned_date"]
    assert records[1]["released_by_replacement"] is False
    assert all(r["op_date"].endswith("Z") for r in records)
    assert c not in {r["serial_number"] for r in records}
    assert {d["serial_number"] for d in depsim.devices(creds["server_uuid"])} == {a, c, "C02ZZ0001XYZ"}


def test_empty_sync_returns_a_fresh_cursor(depsim, apple):
    _, cursor, _ = apple.fetch_all()
    depsim.advance_clock(60)
    page = apple.ok("POST", "/devices/sync", {"cursor": cursor})
    assert page["devices"] == [] and page["more_to_follow"] is False
    assert page["cursor"] != cursor


def test_sync_cursor_expires_after_seven_days_on_the_simulated_clock(depsim, creds, apple):
    _, cursor, _ = apple.fetch_all()
    depsim.advance_clock(SEVEN_DAYS - 60)
    fresh = apple.ok("POST", "/devices/sync", {"cursor": cursor})["cursor"]
    depsim.advance_clock(120)
    expired = apple.call("POST", "/devices/sync", {"cursor": cursor})
    assert (expired.status_code, error_code(expired)) == (400, "EXPIRED_CURSOR")
    assert apple.call("POST", "/devices/sync", {"cursor": fresh}).status_code == 200


def test_cursor_required_and_invalid(depsim, creds, apple):
    depsim.add_devices(creds["server_uuid"], count=2)
    missing = apple.call("POST", "/devices/sync", {})
    assert (missing.status_code, missing.text) == (400, '"CURSOR_REQUIRED"')
    _, cursor, _ = apple.fetch_all()
    tampered = cursor[:-30] + ("0" if cursor[-30] != "0" else "1") + cursor[-29:]
    # A well-formed forgery: rewind the position inside the payload but keep the old MAC.
    payload = bytes.fromhex(cursor[:-24]).decode()
    phase, _pos, end, rest = payload.split(":", 3)
    forged = f"{phase}:0:{end}:{rest}".encode().hex() + cursor[-24:]
    for bad in (forged, tampered, "not-a-cursor", "ab" * 600, cursor[:-2]):
        for path in ("/devices/sync", "/server/devices"):
            response = apple.call("POST", path, {"cursor": bad})
            assert (response.status_code, error_code(response)) == (400, "INVALID_CURSOR"), (path, bad)


def test_cursor_of_another_server_is_invalid(depsim, apple):
    other = AppleSession(depsim.base_url, depsim.create_server("Other"))
    _, cursor, _ = other.fetch_all()
    response = apple.call("POST", "/devices/sync", {"cursor": cursor})
    assert error_code(response) == "INVALID_CURSOR"


def test_cursors_die_with_a_reset(depsim, creds, apple):
    _, cursor, _ = apple.fetch_all()
    depsim.reset()
    again = depsim.create_server("Test MDM")
    assert again["server_uuid"] == creds["server_uuid"]  # seeded: same UUID after a reset
    response = AppleSession(depsim.base_url, again).call("POST", "/devices/sync", {"cursor": cursor})
    assert error_code(response) == "INVALID_CURSOR"


def test_repeat_ops_re_appends_the_last_ops(depsim, creds, apple):
    devices = depsim.add_devices(creds["server_uuid"], count=2)
    _, cursor, _ = apple.fetch_all()
    depsim.update_device(devices[0]["serial_number"], color="RED")
    depsim.update_device(devices[1]["serial_number"], color="BLUE")
    depsim.repeat_ops(creds["server_uuid"], 2)
    records, _ = apple.sync_all(cursor)
    assert [r["serial_number"] for r in records] == [devices[0]["serial_number"], devices[1]["serial_number"]] * 2
    assert records[0] == records[2]


def test_random_repeats_are_deterministic_with_the_seed(depsim):
    def run() -> list[str]:
        depsim.reset()
        depsim.set_repeat_rate(0.3)
        creds = depsim.create_server("Repeats")
        apple = AppleSession(depsim.base_url, creds)
        _, cursor, _ = apple.fetch_all()
        depsim.add_devices(creds["server_uuid"], count=40)
        records, _ = apple.sync_all(cursor)
        return [r["serial_number"] for r in records]

    first, second = run(), run()
    assert first == second
    assert len(first) > 40  # some ops came twice
    assert len(set(first)) == 40


def test_move_between_servers(depsim, creds, apple):
    other_creds = depsim.create_server("Other")
    other = AppleSession(depsim.base_url, other_creds)
    serial_a, serial_b = (d["serial_number"] for d in depsim.add_devices(creds["server_uuid"], count=2))
    _, mine, _ = apple.fetch_all()
    _, theirs, _ = other.fetch_all()
    depsim.move_device(serial_a, other_creds["server_uuid"])
    depsim.move_device(serial_b, other_creds["server_uuid"], modified_only=True)
    mine_records, _ = apple.sync_all(mine)
    their_records, _ = other.sync_all(theirs)
    assert [(r["serial_number"], r["op_type"]) for r in mine_records] == [(serial_a, "deleted"), (serial_b, "deleted")]
    assert [(r["serial_number"], r["op_type"]) for r in their_records] == [(serial_a, "added"), (serial_b, "modified")]


def test_protocol_version_gates_device_fields(depsim, creds):
    depsim.add_devices(creds["server_uuid"], count=1, device_family="iPad")
    for version, expect_os, expect_v10 in (
        (1, None, False),
        (3, "iOS", False),
        (7, "iPadOS", False),
        (10, "iPadOS", True),
    ):
        device = AppleSession(depsim.base_url, creds, version=version).fetch_all()[0][0]
        assert device.get("os") == expect_os, version
        assert ("wifi_mac_address" in device) is expect_v10, version


def test_protocol_max_of_the_server_caps_the_version(depsim):
    creds = depsim.create_server("Old", protocol_max=3)
    depsim.add_devices(creds["server_uuid"], count=1, device_family="iPad")
    device = AppleSession(depsim.base_url, creds, version=10).fetch_all()[0][0]
    assert device["os"] == "iOS" and "wifi_mac_address" not in device


def test_malformed_bodies(apple):
    for path in ("/server/devices", "/devices/sync"):
        response = apple.call("POST", path, data=b"{not json", headers={"Content-Type": "application/json"})
        assert (response.status_code, error_code(response)) == (400, "MALFORMED_REQUEST_BODY")
    wrong_limit = apple.call("POST", "/server/devices", {"limit": "many"})
    assert error_code(wrong_limit) == "MALFORMED_REQUEST_BODY"
