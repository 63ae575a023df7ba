"""The whole flow on a real Celery worker: 2,500 devices by order number through the API, ending in a synced
receiving token whose default profile reached every device."""

import pytest

from business.models import ActivityState, DeviceActivity
from business.services import inventory_refresh
from devices.models import Device
from profiles.services import profile_create, token_default_profile_set
from syncjobs.models import SyncJob, SyncTrigger
from tests.plugins.celery_worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_assign_2500_devices_by_order_number_ends_in_a_synced_token_with_its_default_profile(
    admin_user, admin_api, onboard, business_apple, connection, celery_worker
):
    token = onboard(admin_user, server_name="Receiving MDM")
    assert SyncJob.objects.filter(token=token, state="succeeded").exists()  # its own first sync has run
    profile = profile_create(actor=admin_user, token=token, values={"name": "Standard"})
    token_default_profile_set(actor=admin_user, token=token, profile=profile)
    serials = [d["serial_number"] for d in business_apple.add_devices(None, count=2500, device_family="iPhone")]
    business_apple.business("set_order", serials=serials, order_number="PO-2500")
    business_apple.add_devices(None, count=5, device_family="iPhone")  # same organisation, another order
    inventory_refresh(connection=connection)
    server = connection.servers.get(name="Receiving MDM")

    preview = admin_api.post(
        "/api/v1/business/activities/preview/",
        {"kind": "assign", "server": server.pk, "order_number": "PO-2500"},
        format="json",
    ).json()
    assert len(preview["serials"]) == 2500 and preview["by_source"] == {"Unassigned": 2500}
    refused = admin_api.post(
        "/api/v1/business/activities/",
        {"kind": "assign", "server": server.pk, "order_number": "PO-2500", "confirm": False},
        format="json",
    )
    assert refused.status_code == 400 and "confirm" in refused.json()["fields"]
    assert not DeviceActivity.objects.exists()
    created = admin_api.post(
        "/api/v1/business/activities/",
        {"kind": "assign", "server": server.pk, "order_number": "PO-2500", "confirm": True},
        format="json",
    )
    assert created.status_code == 201, created.content

    activity_id = created.json()["id"]
    done = wait_for(
        lambda: DeviceActivity.objects.filter(pk=activity_id).exclude(state__in=["queued", "running"]).first(),
        timeout=120,
    )
    assert done.state == ActivityState.SUCCEEDED, done.error_message
    assert len(done.apple_activity_ids) == 3  # 1000 + 1000 + 500
    assert done.devices_done == 2500
    job_id = done.synced_tokens[0]["job"]
    job = wait_for(lambda: SyncJob.objects.filter(pk=job_id, state__in=["succeeded", "failed"]).first(), timeout=120)
    assert job.state == "succeeded", job.error_message
    assert job.trigger == SyncTrigger.BUSINESS and job.devices_added == 2500
    # The default profile is the sync's follow-up task, on the worker too.
    wait_for(lambda: SyncJob.objects.filter(pk=job_id, default_profile_assigned=2500).exists(), timeout=120)
    devices = Device.objects.filter(token=token, serial_number__in=serials)
    assert devices.count() == 2500
    assert set(devices.values_list("profile_uuid", flat=True)) == {profile.profile_uuid}
    at_apple = {d["serial_number"]: d for d in business_apple.devices(token.server_uuid)}
    assert {at_apple[s].get("profile_uuid") for s in serials} == {profile.profile_uuid}

    body = admin_api.get(f"/api/v1/business/activities/{activity_id}/").json()
    assert body["state"] == "succeeded" and body["results"][serials[0]] == "success"
