"""The console's choose > preview > confirm flow, with the release confirmation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from business.models import DeviceActivity, OrgDevice
from business.services import inventory_refresh


@pytest.fixture
def ready(admin_user, client, onboard, business_apple, connection, eager_celery):
    token = onboard(admin_user, server_name="Portal MDM")
    loose = [d["serial_number"] for d in business_apple.add_devices(None, count=3, device_family="iPhone")]
    business_apple.business("set_order", serials=loose[:2], order_number="PO-7")
    inventory_refresh(connection=connection)
    client.force_login(admin_user)
    return {"token": token, "loose": loose, "server": connection.servers.get(name="Portal MDM")}


def test_assign_by_csv_previews_then_runs(client, ready, django_capture_on_commit_callbacks):
    csv_file = SimpleUploadedFile("devices.csv", ("Serial\n" + "\n".join([*ready["loose"], "UNKNOWN0001"])).encode())
    preview = client.post(
        "/tenant/business/activities/new/",
        {"step": "preview", "kind": "assign", "server": ready["server"].pk, "csv_file": csv_file},
    ).content.decode()
    assert "Preview: 3 devices move to Portal MDM" in preview
    assert "Unassigned: 3" in preview and "UNKNOWN0001" in preview
    assert not DeviceActivity.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/tenant/business/activities/new/", {"step": "confirm"})
    page = client.get(done["Location"]).content.decode()
    assert "Completed" in page and ready["loose"][0] in page and "delta sync queued" in page
    assert OrgDevice.objects.filter(server=ready["server"]).count() == 3


def test_order_number_and_hostile_input(client, ready):
    preview = client.post(
        "/tenant/business/activities/new/",
        {"step": "preview", "kind": "assign", "server": ready["server"].pk, "order_number": "PO-7"},
    ).content.decode()
    assert "Preview: 2 devices" in preview
    empty = client.post("/tenant/business/activities/new/", {"step": "preview", "kind": "assign"}).content.decode()
    assert "Choose the MDM server" in empty
    nothing = client.post("/tenant/business/activities/new/", {"step": "preview", "kind": "release"}).content.decode()
    assert "Enter serial numbers, an order number or a CSV file" in nothing
    stale = client.post("/tenant/business/activities/new/", {"step": "confirm"}, follow=True).content.decode()
    assert "choose the devices again" in stale
    assert not DeviceActivity.objects.exists()


def test_release_needs_the_irreversible_tick(client, ready, django_capture_on_commit_callbacks):
    preview = client.post(
        "/tenant/business/activities/new/",
        {"step": "preview", "kind": "release", "serials": ready["loose"][2]},
    ).content.decode()
    assert "Releasing cannot be undone" in preview
    refused = client.post("/tenant/business/activities/new/", {"step": "confirm"}, follow=True).content.decode()
    assert "cannot be undone" in refused
    assert not DeviceActivity.objects.exists()
    client.post(
        "/tenant/business/activities/new/", {"step": "preview", "kind": "release", "serials": ready["loose"][2]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/tenant/business/activities/new/", {"step": "confirm", "irreversible": "yes"})
    assert DeviceActivity.objects.get().kind == "release"
    assert not OrgDevice.objects.filter(serial_number=ready["loose"][2]).exists()
