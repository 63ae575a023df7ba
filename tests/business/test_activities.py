"""Assign, unassign and release through Apple's device activities (depsim), then the receiving token syncs."""

import pytest
import requests

from business.models import ActivityState, DeviceActivity, OrgDevice
from business.services import activity_preview, activity_start, inventory_refresh
from depportal.core.exceptions import ApplicationError
from devices.models import Device
from syncjobs.models import SyncJob, SyncTrigger


@pytest.fixture
def setup(admin_user, onboard, business_apple, connection, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal = onboard(admin_user, server_name="Portal MDM")
    other = business_apple.create_server("Other MDM")
    on_other = [d["serial_number"] for d in business_apple.add_devices(other["server_uuid"], count=3)]
    loose = [d["serial_number"] for d in business_apple.add_devices(None, count=4, device_family="iPhone")]
    inventory_refresh(connection=connection)
    servers = {s.name: s for s in connection.servers.all()}
    return {"token": portal, "servers": servers, "on_other": on_other, "loose": loose}


def run(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        activity = activity_start(**kwargs)
    activity.refresh_from_db()
    return activity


def test_preview_says_what_moves_from_where_and_which_serials_are_unknown(connection, setup):
    preview = activity_preview(
        connection=connection,
        kind="assign",
        server=setup["servers"]["Portal MDM"],
        serials=[*setup["on_other"], setup["loose"][0], "UNKNOWN0001"],
    )
    assert preview["serials"] == sorted([*setup["on_other"], setup["loose"][0]])
    assert dict(preview["by_source"]) == {"Other MDM": 3, "Unassigned": 1}
    assert preview["unknown"] == ["UNKNOWN0001"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"kind": "assign", "serials": ["ABCDEFGH12"]}, "server", "Choose the MDM server"),
        ({"kind": "teleport", "serials": ["ABCDEFGH12"]}, "kind", "Choose assign, unassign, release"),
        ({"kind": "release"}, "serials", "serial numbers, an order number"),
        ({"kind": "release", "serials": ["not a serial!"]}, "serials", "Not serial numbers"),
        ({"kind": "release", "order_number": "NOPE"}, "order_number", "No device"),
    ],
)
def test_hostile_previews_are_refused(connection, setup, kwargs, field, message):
    with pytest.raises(ApplicationError) as caught:
        activity_preview(connection=connection, **kwargs)
    assert message in caught.value.fields[field][0]
    assert not DeviceActivity.objects.exists()


def test_starting_with_unknown_serials_is_refused_and_nothing_is_sent(admin_user, connection, setup, business_apple):
    with pytest.raises(ApplicationError, match="Not devices of the organisation"):
        activity_start(actor=admin_user, connection=connection, kind="release", server=None, serials=["UNKNOWN0001"])
    assert not DeviceActivity.objects.exists()
    assert not [r for r in business_apple.requests() if r["path"] == "/v1/orgDeviceActivities"]


def test_assign_moves_devices_and_syncs_the_receiving_token(
    admin_user, connection, setup, django_capture_on_commit_callbacks
):
    target = setup["servers"]["Portal MDM"]
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=target,
        serials=setup["on_other"],
    )
    assert activity.state == ActivityState.SUCCEEDED, activity.error_message
    assert activity.results == dict.fromkeys(setup["on_other"], "success")
    assert activity.apple_status == "COMPLETED (COMPLETED_WITH_SUCCESS)"
    job = SyncJob.objects.get(pk=activity.synced_tokens[0]["job"])
    assert job.trigger == SyncTrigger.BUSINESS and job.state == "succeeded", job.error_message
    assert set(Device.objects.filter(token=setup["token"]).values_list("serial_number", flat=True)) == set(
        setup["on_other"]
    )
    assert set(OrgDevice.objects.filter(server=target).values_list("serial_number", flat=True)) == set(
        setup["on_other"]
    )


def test_unassign_syncs_the_losing_token(admin_user, connection, setup, django_capture_on_commit_callbacks):
    target = setup["servers"]["Portal MDM"]
    run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=target,
        serials=setup["loose"][:2],
    )
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="unassign",
        server=None,
        serials=setup["loose"][:2],
    )
    assert activity.state == ActivityState.SUCCEEDED
    assert [s["token"] for s in activity.synced_tokens] == [setup["token"].pk]
    job = SyncJob.objects.get(pk=activity.synced_tokens[0]["job"])
    assert job.state == "succeeded" and job.devices_removed == 2, job.error_message
    gone = Device.objects.filter(token=setup["token"], serial_number__in=setup["loose"][:2])
    assert len(gone) == 2 and all(d.removed_at is not None for d in gone)
    assert OrgDevice.objects.filter(serial_number__in=setup["loose"][:2], server__isnull=True).count() == 2


def test_unassign_from_two_servers_sends_one_activity_per_server(
    admin_user, connection, setup, django_capture_on_commit_callbacks, business_apple
):
    portal = setup["servers"]["Portal MDM"]
    run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=portal,
        serials=setup["loose"][:1],
    )
    serials = [setup["loose"][0], *setup["on_other"][:2]]
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="unassign",
        server=None,
        serials=serials,
    )
    assert activity.state == ActivityState.SUCCEEDED, activity.error_message
    assert len(activity.apple_activity_ids) == 2
    assert activity.results == dict.fromkeys(serials, "success")
    assert OrgDevice.objects.filter(serial_number__in=serials, server__isnull=True).count() == 3
    assert [s["token"] for s in activity.synced_tokens] == [setup["token"].pk]


def test_a_mini_abm_order_is_chosen_by_its_number(admin_user, connection, setup, business_apple):
    order = requests.post(f"{business_apple.base_url}/abm/devices/demo", json={"count": 3}, timeout=10).json()
    inventory_refresh(connection=connection)
    preview = activity_preview(
        connection=connection,
        kind="assign",
        server=setup["servers"]["Portal MDM"],
        order_number=order["order_number"],
    )
    assert preview["serials"] == sorted(d["serial_number"] for d in order["devices"])


def test_release_removes_devices_from_the_organisation(
    admin_user, connection, setup, django_capture_on_commit_callbacks, business_apple
):
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="release",
        server=None,
        serials=setup["on_other"][:1],
    )
    assert activity.state == ActivityState.SUCCEEDED
    assert activity.results == {setup["on_other"][0]: "success"}
    assert not OrgDevice.objects.filter(serial_number=setup["on_other"][0]).exists()
    assert activity.synced_tokens == []  # the portal holds no token for "Other MDM"
    assert setup["on_other"][0] not in {
        d["serial_number"] for d in business_apple.devices(business_apple.servers()[1]["server_uuid"])
    }


def test_a_failed_activity_reports_each_device(
    admin_user, connection, setup, django_capture_on_commit_callbacks, business_apple
):
    business_apple.business("fail_serials", serials=[setup["loose"][0]])
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=setup["servers"]["Portal MDM"],
        serials=setup["loose"][:2],
    )
    assert activity.state == ActivityState.PARTIAL
    assert activity.results == {setup["loose"][0]: "failed", setup["loose"][1]: "success"}
    assert (activity.devices_done, activity.devices_failed) == (1, 1)
    assert "COMPLETED_WITH_FAILURE" in activity.apple_status
    business_apple.business("fail_serials", serials=setup["loose"][2:])
    failed = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=setup["servers"]["Portal MDM"],
        serials=setup["loose"][2:],
    )
    assert failed.state == ActivityState.FAILED and failed.synced_tokens == []


def test_apple_refusing_the_activity_fails_it_with_apples_words(
    admin_user, connection, setup, django_capture_on_commit_callbacks, business_apple
):
    business_apple.business("add_fault", endpoint="/v1/orgDeviceActivities", status=409, body="ENTITY_ERROR")
    activity = run(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="release",
        server=None,
        serials=setup["loose"][:1],
    )
    assert activity.state == ActivityState.FAILED
    assert "Apple" in activity.error_message
    assert OrgDevice.objects.filter(serial_number=setup["loose"][0]).exists()
