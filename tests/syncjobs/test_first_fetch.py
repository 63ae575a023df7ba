"""A token's first fetch writes its pages without looking their devices up, and falls back to the lookup, page by
page, the moment a device turns out to be stored already. Sync pages commit without waiting for the flush."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from syncjobs import services
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from syncjobs.writer import device_apply_apple_page, device_prepare_apple_page
from tests.truth import assert_shows_what_apple_assigns, finish_first_sync, run_sync
from tokens.models import EnrollmentProgramToken
from tokens.services import token_client

pytestmark = pytest.mark.django_db


def _lookups(queries) -> list[str]:
    return [q["sql"] for q in queries if "unnest(" in q["sql"]]


def _unlisted_marked(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and '"removed_at" = ' in q["sql"]]


def test_a_first_fetch_looks_nothing_up_and_shows_what_apple_assigns(apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=2500)
    with CaptureQueriesContext(connection) as first:
        job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert (job.ran_full, job.pages, job.devices_added) == (True, 3, 2500)
    assert _lookups(first.captured_queries) == []
    # Nothing can be unlisted in it: the token had no device, so the token's devices are not scanned for them.
    assert _unlisted_marked(first.captured_queries) == []
    assert_shows_what_apple_assigns(apple, token)

    # A second fetch of the same token meets its devices: every page looks them up.
    apple.add_devices(token.server_uuid, count=10)
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(  # past the 7-day full-sync rule
        last_full_sync_at=timezone.now() - timedelta(days=8), last_manual_sync_at=None
    )
    token.refresh_from_db()
    with CaptureQueriesContext(connection) as second:
        job = run_sync(token, SyncKind.FULL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert (job.devices_added, job.devices_unchanged) == (10, 2500)
    assert len(_lookups(second.captured_queries)) == 3
    assert len(_unlisted_marked(second.captured_queries)) == 1
    assert_shows_what_apple_assigns(apple, token)


def test_a_stored_device_rolls_the_page_back_and_it_is_written_with_the_lookup(apple, onboard, admin_user):
    token = onboard(admin_user)
    listed = apple.add_devices(token.server_uuid, count=3)
    job = services.syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CONSOLE)
    job = services.syncjob_claim(job.pk)
    run = services._Run(job=job, token=token, none_stored=True)
    page = next(token_client(token).fetch_devices())
    # As if an earlier page of the fetch had listed it (Apple repeats itself) with an older model name.
    stored = Device.objects.create(token=token, serial_number=listed[0]["serial_number"], model="OLD")

    services._apply(run, page, device_prepare_apple_page(records=page.devices), fetch_job_id=job.pk)

    assert run.none_stored is False
    job.refresh_from_db()
    assert (job.pages, job.devices_added, job.devices_modified) == (1, 2, 1)
    stored.refresh_from_db()
    assert stored.model == listed[0]["model"] and stored.full_sync_job_id == job.pk
    assert Device.objects.filter(token=token, full_sync_job_id=job.pk).count() == 3
    token.refresh_from_db()
    assert token.sync_cursor == page.cursor


def test_without_the_lookup_a_stored_device_refuses_the_page(apple, onboard, admin_user):
    token = onboard(admin_user)
    listed = apple.add_devices(token.server_uuid, count=3)
    Device.objects.create(token=token, serial_number=listed[1]["serial_number"])
    job = SyncJob.objects.create(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CONSOLE)
    prepared = device_prepare_apple_page(records=listed)
    with pytest.raises(IntegrityError), transaction.atomic():
        device_apply_apple_page(token_id=token.pk, page=prepared, now=job.created_at, fetch_job_id=job.pk,
                                none_stored=True)  # fmt: skip
    assert list(Device.objects.filter(token=token).values_list("serial_number", flat=True)) == [
        listed[1]["serial_number"]
    ]
    with pytest.raises(ValueError, match="fetch pages"):
        device_apply_apple_page(token_id=token.pk, page=prepared, now=job.created_at, fetch_job_id=None,
                                none_stored=True)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_pages_commit_without_waiting_for_the_flush_and_nothing_else_does(apple, onboard, admin_user):
    token = onboard(admin_user)
    finish_first_sync(token)
    apple.add_devices(token.server_uuid, count=1200)
    with CaptureQueriesContext(connection) as sync:
        job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    statements = [q["sql"] for q in sync.captured_queries]
    page_writes = [n for n, sql in enumerate(statements) if sql.startswith('UPDATE "syncjobs_syncjob" SET "pages"')]
    unflushed = [n for n, sql in enumerate(statements) if sql == "SET LOCAL synchronous_commit TO OFF"]
    assert len(page_writes) == len(unflushed) == 2  # a delta of two pages: each page's transaction, and no other
    assert unflushed[0] < page_writes[0] < unflushed[1] < page_writes[1]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert_shows_what_apple_assigns(apple, token)
