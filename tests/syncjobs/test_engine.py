from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import Device
from syncjobs import services
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from tests.truth import run_sync, shown_serials
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def _past_the_windows(token):
    """As if the 7-day full-sync rule and the admin's 15-minute window had both passed."""
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(
        last_full_sync_at=timezone.now() - timedelta(days=8), last_manual_sync_at=None
    )
    token.refresh_from_db()


def test_first_sync_is_a_full_fetch_committed_page_by_page(apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=2500)
    job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert job.ran_full and job.pages == 3 and job.devices_added == 2500
    token.refresh_from_db()
    assert token.sync_cursor and token.sync_fetch_job_id is None and token.last_full_sync_at == job.started_at
    assert token.device_count == 2500
    assert shown_serials(token) == {d["serial_number"] for d in apple.devices(token.server_uuid)}


def test_delta_sync_applies_adds_changes_and_removals(apple, onboard, admin_user):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=5)
    run_sync(token)
    apple.update_device(devices[0]["serial_number"], asset_tag="TAG-1")
    apple.unassign_devices(token.server_uuid, [devices[1]["serial_number"]])
    apple.add_devices(token.server_uuid, count=2)
    apple.repeat_ops(token.server_uuid, 3)
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED and not job.ran_full
    assert (job.devices_added, job.devices_modified, job.devices_removed) == (2, 1, 1)
    assert Device.objects.get(serial_number=devices[0]["serial_number"]).asset_tag == "TAG-1"
    assert Device.objects.get(serial_number=devices[1]["serial_number"]).removed_at is not None
    assert shown_serials(token) == {d["serial_number"] for d in apple.devices(token.server_uuid)}
    # The count is kept page by page, without counting every device of the token.
    token.refresh_from_db()
    assert token.device_count == len(shown_serials(token)) == 6


def test_manual_sync_rules_and_one_job_at_a_time(apple, onboard, admin_user, django_capture_on_commit_callbacks):
    token = onboard(admin_user)
    job = services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API, actor=admin_user)
    with pytest.raises(services.SyncRefused) as refused:
        services.syncjob_request(token=token, kind=SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE)
    assert refused.value.extra["rule"] == "sync_in_progress"
    services.syncjob_run(job_id=job.pk)
    with pytest.raises(services.SyncRefused) as refused:
        services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)
    assert refused.value.extra["rule"] == "manual_sync_interval"
    assert 890 <= refused.value.extra["retry_after"] <= 900
    assert refused.value.status == 429
    # A full sync is held by the 7-day rule here (the first sync was a fetch), the later of the two rules.
    with pytest.raises(services.SyncRefused) as refused:
        services.syncjob_request(token=token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    assert refused.value.extra["rule"] == "full_sync_interval"
    assert "once every 7 days" in refused.value.message
    # Sync and Full sync share the admin's 15-minute window (the seed: one admin sync per 15 minutes).
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=timezone.now() - timedelta(days=8))
    with pytest.raises(services.SyncRefused) as refused:
        services.syncjob_request(token=token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    assert refused.value.extra["rule"] == "manual_sync_interval"
    assert "Sync and Full sync" in refused.value.message


def test_a_claimed_job_is_not_run_twice(apple, onboard, admin_user):
    token = onboard(admin_user)
    job = services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)
    assert services.syncjob_claim(job.pk) is not None
    assert services.syncjob_run(job_id=job.pk)["status"] == "skipped"


def test_device_deleted_here_returns_only_with_a_full_sync(apple, onboard, admin_user):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=3)
    run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    serial = devices[0]["serial_number"]
    Device.objects.filter(serial_number=serial).update(deleted_here_at=timezone.now())
    apple.update_device(serial, color="RED")
    run_sync(token)
    assert serial not in shown_serials(token)
    _past_the_windows(token)
    job = run_sync(token, SyncKind.FULL, SyncTrigger.API)
    assert job.state == SyncState.SUCCEEDED and serial in shown_serials(token)


def test_full_sync_marks_devices_apple_no_longer_lists(apple, onboard, admin_user):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=3)
    run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    Device.objects.create(token=token, serial_number="GHOST0000001")
    _past_the_windows(token)
    job = run_sync(token, SyncKind.FULL, SyncTrigger.API)
    assert job.devices_removed == 1
    assert shown_serials(token) == {d["serial_number"] for d in devices}


def test_a_cursor_apple_rejects_runs_the_fetch_apple_requires_at_once(apple, onboard, admin_user):
    """DESIGN.md rule 1: the fetch Apple requires is not held back by the 7-day rule (Intune does the same)."""
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=3)
    run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    apple.advance_clock(8 * 86400)
    apple.unassign_devices(token.server_uuid, [devices[0]["serial_number"]])
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert job.ran_full and job.full_reason == "Apple rejected the cursor, EXPIRED_CURSOR"
    assert shown_serials(token) == {d["serial_number"] for d in apple.devices(token.server_uuid)}
    token.refresh_from_db()
    assert token.device_count == 2 and token.sync_fetch_job_id is None


def test_terms_not_signed_marks_the_token(apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.set_terms_pending(token.server_uuid, True)
    job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.FAILED and job.error_code == "T_C_NOT_SIGNED"
    token.refresh_from_db()
    assert token.state == TokenState.TERMS_NOT_ACCEPTED
    assert token.status[0] == "Terms and conditions not accepted"


def test_a_failed_page_keeps_the_pages_before_it_and_a_retry_resumes(apple, onboard, admin_user, settings):
    settings.APPLE_DEP_MAX_RETRIES = 0
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=3000)
    apple.add_fault("/server/devices", 500, count=None)
    job = run_sync(token, SyncKind.MANUAL, SyncTrigger.API)
    assert job.state == SyncState.FAILED
    apple.clear_faults()
    # The fault hit the first page: nothing half-written, no cursor stored past unstored devices.
    token.refresh_from_db()
    assert Device.objects.filter(token=token).count() == job.devices_added
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_manual_sync_at=None, state=TokenState.ACTIVE)
    token.refresh_from_db()
    job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.SUCCEEDED
    assert shown_serials(token) == {d["serial_number"] for d in apple.devices(token.server_uuid)}


def test_reaper_times_out_a_job_whose_worker_vanished(apple, onboard, admin_user):
    token = onboard(admin_user)
    job = services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)
    services.syncjob_claim(job.pk)
    SyncJob.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert services.syncjob_reap()["timed_out"] == 1
    job.refresh_from_db()
    assert job.state == SyncState.TIMED_OUT
    assert services.syncjob_active(token) is None


def test_beat_gives_fifty_tokens_one_delta_sync_a_day_spread_out(fleet):
    tokens = fleet(50)
    start = timezone.now()
    assert services.syncjob_schedule_due(now=start) == {"queued": 0, "refused": 0}  # first sight: slots only
    slots = sorted(EnrollmentProgramToken.objects.values_list("next_auto_sync_at", flat=True))
    assert all(start < slot <= start + timedelta(days=1) for slot in slots)
    gaps = [(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)]
    assert max(gaps) < 3 * 86400 / 50  # no crowding: golden-ratio slots stay within ~2.6x the even gap

    # Three simulated days, beat every 5 minutes; a job finishes before the next beat (the worker's part).
    moment = start
    while moment < start + timedelta(days=3):
        moment += timedelta(minutes=5)
        services.syncjob_schedule_due(now=moment)
        SyncJob.objects.filter(state=SyncState.QUEUED).update(state=SyncState.SUCCEEDED)
    per_token = {
        token.pk: SyncJob.objects.filter(token=token, trigger=SyncTrigger.SCHEDULE).count() for token in tokens
    }
    assert set(per_token.values()) == {3}
