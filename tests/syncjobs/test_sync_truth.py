"""What the admin sees after each sync equals what Apple assigns now: the default device list and the token's count.

Each test is one of the ways a device used to be silently lost, wrongly removed or left behind (issue: sync truth).
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from devices.models import Device, DeviceOp
from profiles.models import EnrollmentProfile
from syncjobs import services
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from tests.truth import finish_first_sync, run_sync, shown_serials
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db


def _apple(apple, token) -> set[str]:
    return {device["serial_number"] for device in apple.devices(token.server_uuid)}


def _assert_truth(apple, admin_api, token):
    token.refresh_from_db()
    wanted = _apple(apple, token)
    assert shown_serials(token) == wanted
    assert token.device_count == len(wanted) == admin_api.get("/api/v1/devices/", {"token": token.pk}).json()["count"]


def test_a_fetch_that_stops_part_way_and_is_continued_removes_nothing(apple, onboard, admin_user, admin_api, settings):
    settings.APPLE_DEP_MAX_RETRIES = 0
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=5000)
    apple.add_fault("/server/devices", 500, count=None, after=2)  # Apple keeps failing on page 3
    first = run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    assert first.state == SyncState.FAILED and first.pages == 2
    apple.clear_faults()
    second = run_sync(token)
    assert second.state == SyncState.SUCCEEDED, second.error_message
    assert second.ran_full and second.fetch_job_id == first.pk and second.devices_removed == 0
    assert second.devices_listed == 5000  # the fetch counts what it listed in both jobs
    _assert_truth(apple, admin_api, token)


def test_a_continued_fetch_answered_exhausted_cursor_completes_it(apple, onboard, admin_user, admin_api, settings):
    settings.APPLE_DEP_MAX_RETRIES = 0
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=2500)
    apple.add_fault("/server/devices", 500, count=None, after=2)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.clear_faults()
    apple.add_fault("/server/devices", 400, body='"EXHAUSTED_CURSOR"')
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    # Nothing the fetch listed is lost; the devices after its last stored page come from the sync that follows
    # every fetch, from that same cursor (Apple: EXHAUSTED_CURSOR, then sync from the cursor).
    token.refresh_from_db()
    assert token.sync_fetch_job_id is None and job.devices_removed == 0
    _assert_truth(apple, admin_api, token)


def test_unassigned_and_assigned_again_on_different_pages_stays_assigned(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=3)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    serial = devices[0]["serial_number"]
    apple.unassign_devices(token.server_uuid, [serial])
    apple.add_devices(token.server_uuid, count=1200)  # more than a page of other changes in between
    apple.advance_clock(5)
    apple.assign_to_server(token.server_uuid, [serial])
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED and job.pages == 2
    assert serial in shown_serials(token)
    _assert_truth(apple, admin_api, token)
    stored = Device.objects.get(token=token, serial_number=serial)
    assert stored.op_type == "added" and stored.removed_at is None


def test_a_deletion_keeps_apples_op_date(apple, onboard, admin_user):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=2)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.advance_clock(3600)
    apple.unassign_devices(token.server_uuid, [devices[0]["serial_number"]])
    run_sync(token)
    stored = Device.objects.get(token=token, serial_number=devices[0]["serial_number"])
    op = stored.op_date
    assert stored.removed_at is not None and abs((op - timezone.now()).total_seconds() - 3600) < 60


def test_exhausted_cursor_on_sync_means_nothing_more(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=3)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.add_fault("/devices/sync", 400, body='"EXHAUSTED_CURSOR"')
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED and not job.ran_full and job.error_code == ""
    _assert_truth(apple, admin_api, token)


def test_a_spent_sync_cursor_is_answered_exhausted_by_apple_and_ends_cleanly(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=3)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    run_sync(token)
    token.refresh_from_db()
    cursor = token.sync_cursor
    run_sync(token)  # uses `cursor`: nothing new, so Apple has now returned everything for it
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(sync_cursor=cursor)  # as after a lost commit
    token.refresh_from_db()
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED and job.pages == 0
    _assert_truth(apple, admin_api, token)


@pytest.mark.parametrize("code", ["EXPIRED_CURSOR", "INVALID_CURSOR"])
def test_a_rejected_cursor_fetches_at_once_and_says_so(apple, onboard, admin_user, admin_api, code, client):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=4)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.unassign_devices(token.server_uuid, [devices[1]["serial_number"]])
    apple.add_fault("/devices/sync", 400, body=json.dumps(code))
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED and job.ran_full
    assert job.full_reason == f"Apple rejected the cursor, {code}"
    _assert_truth(apple, admin_api, token)
    client.force_login(admin_user)
    assert f"ran full: Apple rejected the cursor, {code}" in client.get(f"/tokens/{token.pk}/").content.decode()


def test_one_bad_record_does_not_stop_the_page_and_the_job_names_it(apple, onboard, admin_user, admin_api, client):
    token = onboard(admin_user)
    good = apple.add_devices(token.server_uuid, count=2, model="iPhone 15")
    apple.add_devices(token.server_uuid, serials=["NULMODEL0001"], model="iPhone\x00 15", asset_tag="=HYPERLINK(1)")
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    page = {
        "devices": [
            {"serial_number": "BAD\x00SERIAL", "op_type": "added", "op_date": "2026-01-01T00:00:00Z"},
            {"serial_number": ["not", "text"], "op_type": "added"},
            "not a record",
            {
                "serial_number": good[0]["serial_number"],
                "op_type": "modified",
                "op_date": "2099-01-01T00:00:00Z",
                "model": {"nested": True},
                "color": "RED\udc80",
                "device_assigned_date": "2026-13-45T99:00:00Z",
                "imei": ["35\x00", float("inf")],
            },
        ],
        "cursor": "C" * 40,
        "more_to_follow": False,
        "fetched_until": "2026-01-01T00:00:00Z",
    }
    apple.add_fault("/devices/sync", 200, body=json.dumps(page).replace("Infinity", "1e999"))
    job = run_sync(token)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert job.records_refused == 3
    problems = {(p["serial"], p["field"]) for p in job.record_problems}
    assert ("BAD\\x00SERIAL", "serial_number") in problems and (good[0]["serial_number"], "model") in problems
    stored = Device.objects.get(token=token, serial_number=good[0]["serial_number"])
    assert stored.model == "" and stored.color == "RED" and stored.device_assigned_date is None
    assert Device.objects.get(token=token, serial_number="NULMODEL0001").model == "iPhone 15"
    assert not Device.objects.filter(serial_number__contains="BAD").exists()
    client.force_login(admin_user)
    page_html = client.get(f"/tokens/{token.pk}/").content.decode()
    assert "3 records skipped" in page_html and "BAD\\x00SERIAL" in page_html


def _page(devices: list, cursor: str) -> str:
    return json.dumps({"devices": devices, "cursor": cursor, "more_to_follow": False, "fetched_until": "2026-01-01"})


def test_text_that_copy_escapes_is_stored_as_apple_sent_it(apple, onboard, admin_user):
    """Tabs, line breaks and backslashes (COPY's escapes and its NULL marker) in a new row and in the op history."""
    token = onboard(admin_user)
    odd = "Cart\t3\nshelf\r\\N \\\\2"
    record = {"serial_number": "ESCAPE000001", "description": odd, "asset_tag": "\\N", "color": "\\", "eid": odd}
    apple.add_fault("/server/devices", 200, body=_page([record], "F" * 40))
    apple.add_fault("/devices/sync", 200, body=_page([], "G" * 40))  # the sync that follows every fetch
    job = run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    assert job.state == SyncState.SUCCEEDED and job.record_problem_count == 0, job.error_message
    device = Device.objects.get(token=token, serial_number="ESCAPE000001")
    assert (device.description, device.asset_tag, device.color, device.extra) == (odd, "\\N", "\\", {"eid": odd})
    op = {"serial_number": "ESCAPE000001", "op_type": "x\\N\ty", "op_date": "2099-01-01T00:00:00Z"}
    apple.add_fault("/devices/sync", 200, body=_page([op], "H" * 40))
    assert run_sync(token).state == SyncState.SUCCEEDED
    assert list(DeviceOp.objects.filter(token=token).values_list("serial_number", "op_type")) == [
        ("ESCAPE000001", "x\\N\ty")
    ]


def test_default_list_and_count_leave_removed_devices_out(apple, onboard, admin_user, admin_api, client):
    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=4)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.unassign_devices(token.server_uuid, [devices[0]["serial_number"]])
    run_sync(token)
    _assert_truth(apple, admin_api, token)
    removed = admin_api.get("/api/v1/devices/", {"token": token.pk, "state": "removed"}).json()
    assert [row["serial_number"] for row in removed["results"]] == [devices[0]["serial_number"]]
    client.force_login(admin_user)
    page = client.get(f"/devices/?token={token.pk}").content.decode()
    assert devices[0]["serial_number"] not in page and devices[1]["serial_number"] in page
    export = b"".join(client.get(f"/devices/export.csv?token={token.pk}").streaming_content).decode()
    assert devices[0]["serial_number"] not in export and len(export.splitlines()) == 4


def test_a_device_that_comes_back_without_a_profile_gets_the_default(
    apple, onboard, admin_user, eager_celery, django_capture_on_commit_callbacks
):
    from profiles.services import profile_create, token_default_profile_set

    token = onboard(admin_user)
    devices = apple.add_devices(token.server_uuid, count=2, device_family="iPhone")
    with django_capture_on_commit_callbacks(execute=True):  # as a worker runs each job's follow-up task
        run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    profile = profile_create(actor=admin_user, token=token, values={"name": "Corporate iPhones"})
    token_default_profile_set(actor=admin_user, token=token, profile=profile)
    serial = devices[0]["serial_number"]
    apple.unassign_devices(token.server_uuid, [serial])
    with django_capture_on_commit_callbacks(execute=True):
        run_sync(token)
    apple.advance_clock(2)
    apple.assign_to_server(token.server_uuid, [serial])
    with django_capture_on_commit_callbacks(execute=True):
        job = run_sync(token)
    job.refresh_from_db()
    assert job.default_profile_assigned == 1
    profile.refresh_from_db()
    at_apple = {d["serial_number"]: d for d in apple.devices(token.server_uuid)}
    assert at_apple[serial]["profile_uuid"] == profile.profile_uuid
    assert not Device.objects.filter(token=token, default_profile_pending=True).exists()
    # The device that never left keeps no profile: the default is for arrivals only.
    assert not at_apple[devices[1]["serial_number"]].get("profile_uuid")
    assert EnrollmentProfile.objects.get(pk=profile.pk).is_default


def test_a_new_token_syncs_by_itself(apple, admin_user, django_capture_on_commit_callbacks, admin_api):
    import base64

    from tokens.services import token_activate, token_start

    token = token_start(actor=admin_user, data_sharing_consent=True)
    server = apple.create_server("Fresh MDM", certificate_pem=token.certificate_pem.encode())
    apple.add_devices(server["server_uuid"], count=30)
    activated_at = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        token_activate(actor=admin_user, token=token, token_file=base64.b64decode(server["p7m"]), apple_id="a@b.co")
    for callback in callbacks:
        callback()
    job = SyncJob.objects.get(token=token)
    assert (job.kind, job.trigger, job.state) == (SyncKind.FULL, SyncTrigger.SETUP, SyncState.QUEUED)
    finish_first_sync(token)
    token.refresh_from_db()
    assert token.device_count == 30
    assert activated_at < token.next_auto_sync_at <= activated_at + timedelta(days=1)  # its place in the daily beat
    assert SyncJob.objects.get(pk=job.pk).full_reason == "first sync of the token"
    # The first sync is the token's own: the admin may still Sync straight away.
    assert services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)


@pytest.mark.django_db(transaction=True)
def test_a_job_taken_over_by_another_worker_never_writes_or_finishes(apple, onboard, admin_user, settings):
    token = onboard(admin_user)  # its first sync (an empty fetch) has run: the job below is a delta
    apple.add_devices(token.server_uuid, count=6000)
    # Slow pages, so the first worker is still walking them (it fetches two ahead) when it is taken over.
    apple.set_latency(1.0, "/devices/sync")
    job = services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)

    def worker():
        try:
            services.syncjob_run(job_id=job.pk)
        finally:
            connection.close()  # a thread's own database connection

    first = threading.Thread(target=worker)
    first.start()
    deadline = time.monotonic() + 30
    while not SyncJob.objects.filter(pk=job.pk, pages__gte=1).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # The first worker looks dead (no heartbeat): a second worker takes the job over and finishes it.
    for _ in range(3):  # should the first worker beat in between, the takeover is tried again
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        if services.syncjob_run(job_id=job.pk)["status"] != "skipped":
            break
    first.join(timeout=30)
    assert not first.is_alive()
    job.refresh_from_db()
    assert job.state == SyncState.SUCCEEDED and job.attempt >= 2
    assert job.devices_added == 6000 and job.pages == 6  # no page written twice
    token.refresh_from_db()
    assert token.device_count == Device.objects.filter(token=token).count() == 6000


def test_progress_never_shows_more_than_its_estimate(apple, onboard, admin_user):
    token = onboard(admin_user)
    job = SyncJob(token=token, kind=SyncKind.FULL, ran_full=True, estimated_total=20, devices_listed=10)
    assert job.progress_estimate == 20
    job.devices_listed = 30
    assert job.progress_estimate is None
    delta = SyncJob(token=token, kind=SyncKind.DELTA, estimated_total=20, devices_added=30)
    assert delta.progress_estimate is None  # a delta counts changes, not devices


def test_a_fetch_keeps_apples_last_op_so_a_late_repeat_of_an_older_op_changes_nothing(apple, onboard, admin_user):
    token = onboard(admin_user)
    serial = apple.add_devices(token.server_uuid, count=1, asset_tag="OLD")[0]["serial_number"]
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    apple.advance_clock(60)
    apple.update_device(serial, asset_tag="NEW")
    run_sync(token)
    last_op = Device.objects.get(token=token, serial_number=serial).op_date
    assert last_op is not None
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=None, last_manual_sync_at=None)
    run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)  # fetch records carry no op_date
    stored = Device.objects.get(token=token, serial_number=serial)
    assert stored.asset_tag == "NEW" and stored.op_type == "modified" and stored.op_date == last_op
    older = (last_op - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = {"serial_number": serial, "op_type": "added", "op_date": older, "asset_tag": "OLD"}
    apple.add_fault("/devices/sync", 200, body=json.dumps({"devices": [stale], "cursor": "D" * 40}))
    run_sync(token)
    assert Device.objects.get(token=token, serial_number=serial).asset_tag == "NEW"


@pytest.mark.parametrize("kind", [SyncKind.DELTA, SyncKind.FULL])
def test_unassigned_and_assigned_again_between_two_syncs_gets_the_default_again(
    apple, onboard, admin_user, eager_celery, django_capture_on_commit_callbacks, kind
):
    """The portal never sees the device leave (both ops in one sync, or a fetch), yet Apple took its profile."""
    from profiles.services import profile_create, token_default_profile_set

    token = onboard(admin_user)
    profile = profile_create(actor=admin_user, token=token, values={"name": "Corporate iPhones"})
    token_default_profile_set(actor=admin_user, token=token, profile=profile)
    serial = apple.add_devices(token.server_uuid, count=1, device_family="iPhone")[0]["serial_number"]
    with django_capture_on_commit_callbacks(execute=True):
        run_sync(token, kind=SyncKind.FULL, trigger=SyncTrigger.API)
    uuid = EnrollmentProfile.objects.get(pk=profile.pk).profile_uuid
    assert {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}[serial] == uuid
    apple.unassign_devices(token.server_uuid, [serial])
    apple.advance_clock(2)
    apple.assign_to_server(token.server_uuid, [serial])
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=None, last_manual_sync_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        job = run_sync(token, kind=kind, trigger=SyncTrigger.API)
    assert job.state == SyncState.SUCCEEDED
    assert {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}[serial] == uuid
