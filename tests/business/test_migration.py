"""MDM migration: assign with a deadline (at most 90 days ahead), see it from the DEP sync, change or cancel it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from business.models import ActivityState, DeviceActivity, OrgDevice
from business.selectors import migration_deadlines
from business.services import activity_preview, activity_start, inventory_refresh
from depportal.core.exceptions import ApplicationError
from devices.models import Device
from syncjobs.models import SyncJob, SyncKind, SyncTrigger
from syncjobs.services import syncjob_request


@pytest.fixture
def migrating(admin_user, onboard, business_apple, connection, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        token = onboard(admin_user, server_name="Portal MDM")
        syncjob_request(token=token, kind=SyncKind.FULL, trigger=SyncTrigger.CONSOLE, actor=admin_user)
    old = business_apple.create_server("Old MDM")
    managed = [
        d["serial_number"] for d in business_apple.add_devices(old["server_uuid"], count=3, device_family="iPad")
    ]
    loose = [d["serial_number"] for d in business_apple.add_devices(None, count=1)]
    inventory_refresh(connection=connection)
    return {"token": token, "server": connection.servers.get(name="Portal MDM"), "managed": managed, "loose": loose}


def start(capture, **kwargs):
    with capture(execute=True):
        activity = activity_start(**kwargs)
    activity.refresh_from_db()
    return activity


def test_assign_with_a_deadline_moves_managed_devices_and_the_sync_shows_the_deadline(
    admin_user, connection, migrating, django_capture_on_commit_callbacks, business_apple, client
):
    deadline = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    preview = activity_preview(
        connection=connection,
        kind="assign",
        server=migrating["server"],
        serials=[*migrating["managed"], *migrating["loose"]],
        migration_deadline=deadline,
    )
    # Only devices another MDM server manages migrate; an unassigned one is left to a plain assignment.
    assert preview["serials"] == sorted(migrating["managed"]) and preview["unchanged"] == migrating["loose"]
    activity = start(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=migrating["server"],
        serials=migrating["managed"],
        migration_deadline=deadline,
    )
    assert activity.state == ActivityState.SUCCEEDED, activity.error_message
    sent = [r for r in business_apple.requests() if r["path"] == "/v1/orgDeviceActivities" and r["method"] == "POST"]
    assert len(sent) == 1
    job = SyncJob.objects.get(pk=activity.synced_tokens[0]["job"])
    assert job.state == "succeeded", job.error_message
    expected = deadline.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert {Device.objects.get(serial_number=s).extra.get("mdm_migration_deadline") for s in migrating["managed"]} == {
        expected
    }
    assert migration_deadlines(migrating["managed"]) == dict.fromkeys(migrating["managed"], expected)
    client.force_login(admin_user)
    assert expected in client.get("/tenant/business/devices/?holder=portal").content.decode()
    # Apple's own record of the migration, read with the inventory.
    inventory_refresh(connection=connection)
    moved = OrgDevice.objects.filter(serial_number__in=migrating["managed"])
    assert {(d.migration_status, d.migration_deadline_at_apple) for d in moved} == {("REQUESTED", deadline)}
    page = client.get(f"/tenant/business/devices/{migrating['managed'][0]}/").content.decode()
    assert "REQUESTED, deadline " + deadline.strftime("%Y-%m-%d %H:%M") in page
    loose = OrgDevice.objects.get(serial_number=migrating["loose"][0])
    assert loose.migration_status == "" and loose.migration_deadline_at_apple is None


def test_change_and_cancel_the_deadline(admin_user, connection, migrating, django_capture_on_commit_callbacks):
    first = timezone.now() + timedelta(days=30)
    start(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="assign",
        server=migrating["server"],
        serials=migrating["managed"],
        migration_deadline=first,
    )
    sooner = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    changed = start(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="update_deadline",
        server=None,
        serials=migrating["managed"][:2],
        migration_deadline=sooner,
    )
    assert changed.state == ActivityState.SUCCEEDED
    assert changed.results == dict.fromkeys(migrating["managed"][:2], "success")
    assert Device.objects.get(serial_number=migrating["managed"][0]).extra["mdm_migration_deadline"] == (
        sooner.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    )
    cancelled = start(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="cancel_migration",
        server=None,
        serials=migrating["managed"][:1],
    )
    assert cancelled.state == ActivityState.SUCCEEDED
    assert "mdm_migration_deadline" not in Device.objects.get(serial_number=migrating["managed"][0]).extra


def test_changing_the_deadline_of_a_device_not_migrating_is_reported(
    admin_user, connection, migrating, django_capture_on_commit_callbacks
):
    activity = start(
        django_capture_on_commit_callbacks,
        actor=admin_user,
        connection=connection,
        kind="update_deadline",
        server=None,
        serials=migrating["managed"][:1],
        migration_deadline=timezone.now() + timedelta(days=5),
    )
    assert activity.state == ActivityState.FAILED
    assert activity.results == {migrating["managed"][0]: "failed"}


@pytest.mark.parametrize(
    ("kind", "days", "message"),
    [
        ("assign", -1, "in the future"),
        ("assign", 91, "at most 90 days"),
        ("release", 10, "Only an assignment or a deadline change"),
        ("update_deadline", None, "Enter the new migration deadline"),
    ],
)
def test_hostile_deadlines_are_refused(admin_user, connection, migrating, kind, days, message):
    deadline = None if days is None else timezone.now() + timedelta(days=days)
    with pytest.raises(ApplicationError) as caught:
        activity_start(
            actor=admin_user,
            connection=connection,
            kind=kind,
            server=migrating["server"] if kind == "assign" else None,
            serials=migrating["managed"],
            migration_deadline=deadline,
        )
    assert message in caught.value.fields["migration_deadline"][0]
    assert not DeviceActivity.objects.exists()


def test_api_takes_the_deadline(admin_api, connection, migrating):
    far = (timezone.now() + timedelta(days=120)).isoformat()
    refused = admin_api.post(
        "/api/v1/business/activities/preview/",
        {
            "kind": "assign",
            "server": migrating["server"].pk,
            "serials": migrating["managed"],
            "migration_deadline": far,
        },
        format="json",
    )
    assert refused.status_code == 400 and "90 days" in refused.json()["fields"]["migration_deadline"][0]
    soon = (timezone.now() + timedelta(days=10)).isoformat()
    preview = admin_api.post(
        "/api/v1/business/activities/preview/",
        {
            "kind": "assign",
            "server": migrating["server"].pk,
            "serials": migrating["managed"],
            "migration_deadline": soon,
        },
        format="json",
    ).json()
    assert preview["migration_deadline"] and len(preview["serials"]) == 3
