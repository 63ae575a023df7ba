"""Syncs run as a worker runs them, and what the portal then shows, for tests that compare it with what Apple
assigns now (never with rows stored)."""

import time

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from syncjobs.models import ACTIVE_STATES, SyncJob, SyncKind, SyncTrigger
from syncjobs.services import syncjob_request, syncjob_run
from tokens.models import EnrollmentProgramToken


def run_sync(token, kind=SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE) -> SyncJob:
    """Request a sync and run it in this thread, as a worker would; the job as it ended."""
    job = syncjob_request(token=token, kind=kind, trigger=trigger)
    syncjob_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def finish_first_sync(token, timeout: float = 60) -> None:
    """Run the first sync a new token queues for itself (when its activation committed), as a worker would.

    In a test wrapped in a transaction nothing committed, so no first sync was queued; where one was (live-server
    and worker tests), it runs here, or, when a real worker took it, this waits until it has ended.
    """
    job = SyncJob.objects.filter(token=token, trigger=SyncTrigger.SETUP).first()
    if job is None:
        return
    syncjob_run(job_id=job.pk)
    deadline = time.monotonic() + timeout
    while SyncJob.objects.filter(pk=job.pk, state__in=ACTIVE_STATES).exists():
        assert time.monotonic() < deadline, "the first sync of the new token did not end"
        time.sleep(0.1)


def shown_serials(token) -> set[str]:
    """The token's devices in the API's default device list, every page, as an Administrator sees them."""
    viewer, _ = get_user_model().objects.get_or_create(
        username="truth-viewer", defaults={"is_superuser": True, "is_staff": True}
    )
    api = APIClient()
    api.force_authenticate(viewer)
    serials: list[str] = []
    url, params = "/api/v1/devices/", {"token": token.pk, "limit": 1000}
    while url:
        body = api.get(url, params).json()
        serials += [row["serial_number"] for row in body["results"]]
        url, params = body["next"], None
    assert len(serials) == len(set(serials)), "a serial listed twice"
    return set(serials)


def assert_shows_what_apple_assigns(apple, token) -> None:
    """The default list and the token's count equal the devices Apple assigns to the token's server now."""
    wanted = {device["serial_number"] for device in apple.devices(token.server_uuid)}
    assert shown_serials(token) == wanted
    assert EnrollmentProgramToken.objects.get(pk=token.pk).device_count == len(wanted)
