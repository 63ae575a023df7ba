"""The organisation's inventory read from depsim: every device, its server, linked to the portal's tokens."""

import pytest

from business.models import OrgDevice
from business.selectors import inventory_page, inventory_queryset
from business.services import inventory_refresh


@pytest.fixture
def org(admin_user, onboard, business_apple, connection):
    """A portal token on server "Portal MDM"; another MDM server the portal does not hold; unassigned devices."""
    token = onboard(admin_user, server_name="Portal MDM")
    other = business_apple.create_server("Other MDM")
    held = business_apple.add_devices(token.apple_server["server_uuid"], count=5)
    elsewhere = business_apple.add_devices(other["server_uuid"], count=3)
    loose = business_apple.add_devices(None, count=4)
    business_apple.business("set_order", serials=[d["serial_number"] for d in loose], order_number="ORDER-42")
    return {
        "token": token,
        "held": [d["serial_number"] for d in held],
        "elsewhere": [d["serial_number"] for d in elsewhere],
        "loose": [d["serial_number"] for d in loose],
    }


def test_refresh_reads_every_device_and_links_servers_to_tokens(connection, org):
    outcome = inventory_refresh(connection=connection)
    assert outcome == {"status": "done", "devices": 12, "pages": 1, "removed": 0, "servers": 2}
    devices = {d.serial_number: d for d in OrgDevice.objects.select_related("server")}
    assert {s: devices[s].server.token for s in org["held"]} == dict.fromkeys(org["held"], org["token"])
    assert {devices[s].server.name for s in org["elsewhere"]} == {"Other MDM"}
    assert all(devices[s].server.token is None for s in org["elsewhere"])
    assert all(devices[s].server is None and devices[s].status == "UNASSIGNED" for s in org["loose"])
    assert {devices[s].order_number for s in org["loose"]} == {"ORDER-42"}
    assert all(devices[s].part_number and devices[s].purchase_source_type == "APPLE" for s in devices)


def test_refresh_drops_devices_apple_no_longer_lists(connection, org):
    from business.services import connection_client

    inventory_refresh(connection=connection)
    with connection_client(connection) as client:
        released = client.create_activity("RELEASE_DEVICES", [org["loose"][0]])
        assert client.get_activity(released["id"])["attributes"]["status"] == "COMPLETED"
    assert inventory_refresh(connection=connection)["removed"] == 1
    assert not OrgDevice.objects.filter(serial_number=org["loose"][0]).exists()


def test_filters_and_keyset_pages(connection, org):
    inventory_refresh(connection=connection)
    held = inventory_queryset(connection, holder="portal")
    assert sorted(held.values_list("serial_number", flat=True)) == sorted(org["held"])
    assert inventory_queryset(connection, holder="other").count() == 3
    assert inventory_queryset(connection, holder="none").count() == 4
    assert inventory_queryset(connection, status="ASSIGNED").count() == 8
    assert inventory_queryset(connection, search="ORDER-42").count() == 4
    assert inventory_queryset(connection, search=org["held"][0][:10]).filter(serial_number=org["held"][0]).exists()
    seen, cursor = [], ""
    while True:
        page = inventory_page(inventory_queryset(connection), cursor=cursor, size=5)
        seen += [d.serial_number for d in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted(org["held"] + org["elsewhere"] + org["loose"])
    assert inventory_page(inventory_queryset(connection), cursor="%%%not-a-cursor").rows


def test_api_inventory_pages_and_filters(admin_api, connection, org):
    inventory_refresh(connection=connection)
    first = admin_api.get("/api/v1/business/devices/?limit=7").json()
    assert len(first["results"]) == 7
    rest = admin_api.get(f"/api/v1/business/devices/?limit=7&cursor={first['next']}").json()
    assert len(rest["results"]) == 5 and rest["next"] is None
    held = admin_api.get("/api/v1/business/devices/?holder=portal").json()["results"]
    assert {d["token"] for d in held} == {org["token"].pk}
    assert admin_api.get("/api/v1/business/devices/?limit=x").status_code == 400
    servers = admin_api.get("/api/v1/business/servers/").json()
    assert {s["name"]: s["token"] for s in servers} == {"Portal MDM": org["token"].pk, "Other MDM": None}


def test_console_inventory_shows_holders(admin_user, client, connection, org):
    inventory_refresh(connection=connection)
    client.force_login(admin_user)
    page = client.get("/tenant/business/devices/")
    text = page.content.decode()
    assert org["held"][0] in text and "Portal MDM" in text and "not held by this portal" in text
    assert "unassigned" in text
    filtered = client.get("/tenant/business/devices/?holder=none").content.decode()
    assert org["loose"][0] in filtered and org["held"][0] not in filtered


def test_applecare_coverage_is_read_from_apple_for_one_device(
    admin_api, admin_user, client, connection, org, business_apple, settings
):
    inventory_refresh(connection=connection)
    serial = org["held"][0]
    coverages = admin_api.get(f"/api/v1/business/devices/{serial}/applecare/").json()
    assert coverages[0]["description"] == "Limited Warranty" and coverages[0]["status"] in ("ACTIVE", "INACTIVE")
    assert {c["paymentType"] for c in coverages} <= {"NONE", "PAID_UP_FRONT"}
    client.force_login(admin_user)
    page = client.get(f"/tenant/business/devices/{serial}/").content.decode()
    assert "Limited Warranty" in page and "Portal MDM" in page
    unknown = admin_api.get("/api/v1/business/devices/NOSUCH123/applecare/")
    assert unknown.status_code == 400 and "No such device" in unknown.json()["detail"]
    assert client.get("/tenant/business/devices/NOSUCH123/").status_code == 404
    settings.APPLE_DEP_MAX_RETRIES = 1
    business_apple.business("add_fault", endpoint=f"/v1/orgDevices/{serial}/appleCareCoverage", status=500, count=10)
    failing = client.get(f"/tenant/business/devices/{serial}/").content.decode()
    assert "Apple did not give the AppleCare coverage" in failing
