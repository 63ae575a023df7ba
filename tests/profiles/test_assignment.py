"""Assignment at Apple: batches of 1000, per-device results, unknown serials, throttling, edit and delete."""

from datetime import timedelta

import pytest
from django.utils import timezone

from depportal.core.exceptions import Conflict
from devices.models import Device, ProfileStatus
from profiles import services
from profiles.assignment import MAX_ATTEMPTS
from profiles.models import AssignmentJob, EnrollmentProfile, JobState

pytestmark = pytest.mark.django_db


def apple_calls(apple, since: int, method: str = "POST", path: str = "/profile/devices") -> list[dict]:
    return [r for r in apple.requests(since) if r.get("method") == method and r.get("path") == path]


def last_seq(apple) -> int:
    log = apple.requests()
    return log[-1]["seq"] if log else 0


def apple_profile_of(apple, token, serial) -> str | None:
    return {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}[serial]


@pytest.fixture
def profile(token, admin_user):
    return services.profile_create(actor=admin_user, token=token, values={"name": "Standard"})


def test_2500_serials_take_three_apple_calls_and_unknown_ones_are_reported(
    apple, token, admin_user, profile, make_devices, eager_celery, django_capture_on_commit_callbacks
):
    serials = make_devices(token, count=2450)
    unknown = [f"UNKNOWN{i:05d}" for i in range(50)]
    since = last_seq(apple)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials + unknown)
    job.refresh_from_db()
    calls = apple_calls(apple, since)
    assert len(calls) == 3
    assert job.state == JobState.SUCCEEDED and job.total == 2450 and job.processed == 2450
    assert sorted(job.unknown_serials) == sorted(unknown)
    assert job.counts() == {"SUCCESS": 2450}
    assert Device.objects.filter(assigned_profile=profile, assignment_result="SUCCESS").count() == 2450
    assert apple_profile_of(apple, token, serials[2449]) == profile.profile_uuid


def test_small_request_runs_at_once_with_per_device_results(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=3)
    apple.unassign_devices(token.server_uuid, [serials[2]])  # Apple no longer has it on this server
    job = services.profile_assign_devices(actor=admin_user, profile=profile, serials=[s.lower() for s in serials])
    assert job.state == JobState.SUCCEEDED
    assert job.results == {serials[0]: "SUCCESS", serials[1]: "SUCCESS", serials[2]: "NOT_ACCESSIBLE"}
    gone = Device.objects.get(serial_number=serials[2])
    assert gone.assignment_result == "NOT_ACCESSIBLE" and gone.assignment_retry_at is None


def test_throttled_devices_wait_for_apple_and_are_retried(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=3)
    apple.set_throttled_serials([serials[0]], retry_after_seconds=600)
    job = services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials)
    assert job.results[serials[0]] == "THROTTLED" and job.retry_after_seconds == 600
    device = Device.objects.get(serial_number=serials[0])
    assert device.assignment_attempts == 1
    wait = device.assignment_retry_at - device.assignment_result_at
    assert timedelta(seconds=600) <= wait < timedelta(seconds=601)

    # Not yet due: nothing is sent, however often the beat runs.
    since = last_seq(apple)
    assert services.assignment_retry_due(now=timezone.now()) == []
    assert apple_calls(apple, since) == []

    apple.set_throttled_serials([])
    jobs = services.assignment_retry_due(now=timezone.now() + timedelta(seconds=601))
    assert [job.results for job in jobs] == [{serials[0]: "SUCCESS"}]
    assert len(apple_calls(apple, since)) == 1
    device.refresh_from_db()
    assert device.assignment_result == "SUCCESS" and device.assignment_retry_at is None
    assert apple_profile_of(apple, token, serials[0]) == profile.profile_uuid


def test_retries_are_bounded(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=1)
    apple.set_throttled_serials(serials, retry_after_seconds=60)
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials)
    now = timezone.now()
    for _ in range(MAX_ATTEMPTS + 2):
        now += timedelta(days=2)
        services.assignment_retry_due(now=now)
    device = Device.objects.get(serial_number=serials[0])
    assert device.assignment_attempts == MAX_ATTEMPTS and device.assignment_retry_at is None
    assert device.assignment_result == "THROTTLED"


def test_edit_defines_a_new_apple_profile_and_reassigns_its_devices(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=4)
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials[:3])
    old_uuid = profile.profile_uuid
    preview = services.profile_edit_preview(actor=admin_user, profile=profile, values={"department": "Sales"})
    assert preview.repush and preview.devices_to_reassign == 3
    assert ("Department name", "—", "Sales") in preview.changes

    profile = services.profile_update(actor=admin_user, profile=profile, values={"department": "Sales"})
    assert profile.profile_uuid != old_uuid
    job = profile.reassign_job
    assert job.action == "reassign" and job.results == {s: "SUCCESS" for s in serials[:3]}
    for serial in serials[:3]:
        assert apple_profile_of(apple, token, serial) == profile.profile_uuid
    assert apple_profile_of(apple, token, serials[3]) is None
    assert {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid][
        "department"
    ] == "Sales"


def test_edit_that_apple_does_not_see_pushes_nothing(apple, token, admin_user, profile):
    preview = services.profile_edit_preview(actor=admin_user, profile=profile, values={"description": "New words"})
    assert not preview.repush and preview.devices_to_reassign == 0
    uuid = profile.profile_uuid
    profile = services.profile_update(actor=admin_user, profile=profile, values={"description": "New words"})
    assert profile.profile_uuid == uuid and profile.reassign_job is None


def test_unassign_removes_the_profile_at_apple(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=2)
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials)
    job = services.profile_unassign_devices(actor=admin_user, profile=profile, serials=[serials[0], "NOPE1"])
    assert job.results == {serials[0]: "SUCCESS"} and job.unknown_serials == ["NOPE1"]
    device = Device.objects.get(serial_number=serials[0])
    assert device.assigned_profile is None and device.profile_status == ProfileStatus.REMOVED
    assert apple_profile_of(apple, token, serials[0]) is None


def test_deleting_a_profile_in_use_needs_confirmation_and_removes_it_at_apple(
    apple, token, admin_user, profile, make_devices
):
    serials = make_devices(token, count=2)
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials)
    with pytest.raises(Conflict, match="assigned to 2 devices"):
        services.profile_delete(actor=admin_user, profile=profile)
    assert EnrollmentProfile.objects.filter(pk=profile.pk).exists()
    assert services.profile_delete(actor=admin_user, profile=profile, confirmed=True) == 2
    assert not EnrollmentProfile.objects.filter(pk=profile.pk).exists()
    assert all(apple_profile_of(apple, token, s) is None for s in serials)


def test_default_profile_goes_to_new_devices_without_a_profile(apple, token, admin_user, profile, make_devices):
    other = services.profile_create(actor=admin_user, token=token, values={"name": "Other"})
    services.token_default_profile_set(actor=admin_user, token=token, profile=profile)
    services.token_default_profile_set(actor=admin_user, token=token, profile=other)
    assert list(EnrollmentProfile.objects.filter(is_default=True)) == [other]
    fresh = make_devices(token, count=2)
    has_one = make_devices(token, count=1)
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=has_one)
    jobs = services.profile_assign_default_to_new_devices(token=token, serials=fresh + has_one)
    assert [job.results for job in jobs] == [{s: "SUCCESS" for s in fresh}]
    assert apple_profile_of(apple, token, fresh[0]) == other.profile_uuid
    assert apple_profile_of(apple, token, has_one[0]) == profile.profile_uuid
    services.token_default_profile_set(actor=admin_user, token=token, profile=None)
    assert not EnrollmentProfile.objects.filter(is_default=True).exists()
    assert services.profile_assign_default_to_new_devices(token=token, serials=make_devices(token, count=1)) == []


def test_a_failed_apple_call_marks_the_devices_for_a_later_retry(apple, token, admin_user, profile, make_devices):
    serials = make_devices(token, count=2)
    apple.add_fault("/profile/devices", 400, body='"MALFORMED_REQUEST_BODY"', method="POST")
    job = services.profile_assign_devices(actor=admin_user, profile=profile, serials=serials)
    assert job.state == JobState.FAILED and "MALFORMED_REQUEST_BODY" in job.error
    device = Device.objects.get(serial_number=serials[0])
    assert device.assignment_result == "FAILED" and device.assignment_retry_at > timezone.now() + timedelta(minutes=59)
    assert AssignmentJob.objects.count() == 1
