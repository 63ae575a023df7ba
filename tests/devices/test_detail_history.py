"""The device page shows Apple's ops for the device and the assignments asked for it."""

import pytest

from devices.models import Device, DeviceOp
from tests.truth import run_sync

pytestmark = pytest.mark.django_db


def test_device_page_lists_sync_ops_and_assignment_results(apple, onboard, admin_user, client):
    from profiles.assignment import start_assignment
    from profiles.models import JobAction
    from profiles.services import default_values, profile_create

    token = onboard(admin_user, server_name="History")
    serial = apple.add_devices(token.server_uuid, count=2)[0]["serial_number"]
    run_sync(token)  # the first sync is a full fetch: it lists devices, it reports no ops
    apple.update_device(serial, asset_tag="A-1")
    apple.repeat_ops(token.server_uuid, 1)  # Apple repeats the op; the history keeps it once
    apple.advance_clock(60)
    apple.update_device(serial, color="RED")
    run_sync(token)
    assert list(DeviceOp.objects.filter(serial_number=serial).values_list("op_type", flat=True)) == [
        "modified",
        "modified",
    ]

    profile = profile_create(actor=admin_user, token=token, values={**default_values(), "name": "Lab"})
    start_assignment(actor=admin_user, token=token, profile=profile, action=JobAction.ASSIGN, serials=[serial])
    device = Device.objects.get(serial_number=serial)
    client.force_login(admin_user)
    page = client.get(f"/devices/{device.pk}/").content.decode()
    ops = page.split('id="device-ops"')[1].split("</table>")[0]
    assert ops.count("<tr><td>modified</td>") == 2
    jobs = page.split('id="device-jobs"')[1].split("</table>")[0]
    assert "Lab" in jobs and "SUCCESS" in jobs
