"""Deleting from the portal is a tombstone: delta syncs keep it, a full sync brings the device back; restore works."""

from datetime import timedelta

import pytest
from django.utils import timezone

from depportal.audit.models import AuditEvent
from devices.models import Device
from syncjobs.models import SyncKind, SyncState
from tests.truth import run_sync
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db


def _listed(api) -> set[str]:
    return {row["serial_number"] for row in api.get("/api/v1/devices/", {"limit": 1000}).json()["results"]}


def test_deleted_devices_stay_hidden_through_delta_syncs_and_return_with_a_full_sync(
    apple, onboard, admin_user, admin_api, client
):
    token = onboard(admin_user, server_name="Tombstones")
    serials = [d["serial_number"] for d in apple.add_devices(token.server_uuid, count=6)]
    assert run_sync(token).state == SyncState.SUCCEEDED
    assert _listed(admin_api) == set(serials)

    one = Device.objects.get(serial_number=serials[0])
    assert admin_api.delete(f"/api/v1/devices/{one.pk}/").status_code == 204
    client.force_login(admin_user)
    preview = client.post(
        "/devices/bulk/", {"action": "delete", "id": [Device.objects.get(serial_number=s).pk for s in serials[1:3]]}
    )
    assert "Unassign these devices from this MDM server" in preview.content.decode()
    assert Device.objects.filter(deleted_here_at__isnull=False).count() == 1  # the preview changed nothing
    ids = [Device.objects.get(serial_number=s).pk for s in serials[1:3]]
    done = client.post("/devices/bulk/", {"action": "delete", "confirm": "yes", "id": ids}, follow=True)
    assert "the next full sync brings them back" in done.content.decode()
    assert _listed(admin_api) == set(serials[3:])

    # Apple changes a deleted device and adds one: a delta sync lists the new one; the deleted one stays hidden,
    # though it keeps Apple's latest data, so restoring it later shows the device as Apple has it then.
    apple.update_device(serials[0], asset_tag="CHANGED")
    apple.add_devices(token.server_uuid, serials=["NEWDEVICE01"])
    assert run_sync(token).state == SyncState.SUCCEEDED
    assert _listed(admin_api) == set(serials[3:]) | {"NEWDEVICE01"}
    assert Device.objects.get(serial_number=serials[0]).asset_tag == "CHANGED"
    assert EnrollmentProgramToken.objects.get(pk=token.pk).device_count == 4  # deleting here counts too

    # Restoring one by API, then a full sync brings back the rest (Apple still assigns them here).
    restored = admin_api.post("/api/v1/devices/restore/", {"serial_numbers": [serials[2].lower()]}, format="json")
    assert restored.json() == {"restored": 1}
    assert EnrollmentProgramToken.objects.get(pk=token.pk).device_count == 5
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=timezone.now() - timedelta(days=8))
    assert run_sync(token, SyncKind.FULL).state == SyncState.SUCCEEDED
    assert _listed(admin_api) == set(serials) | {"NEWDEVICE01"}
    assert Device.objects.get(serial_number=serials[0]).asset_tag == "CHANGED"

    events = client.get(f"/devices/{one.pk}/").content.decode()
    assert "Delete device here" in events  # the audit action, as the page labels it


def test_restore_from_the_detail_page_and_the_deleted_view(local_token, seed_devices, admin_user, client):
    token = local_token("Restore")
    devices = seed_devices(token, 3)
    client.force_login(admin_user)
    client.post(f"/devices/{devices[0].pk}/delete/")
    client.post("/devices/bulk/", {"action": "delete", "confirm": "yes", "id": [devices[1].pk]})
    page = client.get("/devices/?state=deleted").content.decode()
    assert devices[0].serial_number in page and devices[2].serial_number not in page and 'id="bulk-restore"' in page
    detail = client.get(f"/devices/{devices[0].pk}/").content.decode()
    assert "Deleted from the portal" in detail and 'id="restore-device"' in detail
    client.post(f"/devices/{devices[0].pk}/restore/")
    client.post("/devices/bulk/", {"action": "restore", "id": [devices[1].pk]})
    assert not Device.objects.filter(deleted_here_at__isnull=False).exists()
    events = AuditEvent.objects.filter(object_type="device", object_id=str(devices[0].pk))
    actions = list(events.values_list("action", flat=True))
    assert sorted(actions) == ["delete_device_here", "restore_device"]
