"""The sync through a real Celery worker on the real Redis, talking to depsim over HTTP."""

import pytest

from devices.models import Device
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from syncjobs.services import syncjob_request
from tests.plugins.celery_worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_requested_sync_runs_on_the_worker(apple, onboard, admin_user, celery_worker):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=1200)
    job = syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CONSOLE, actor=admin_user)
    job = wait_for(lambda: SyncJob.objects.filter(pk=job.pk).exclude(state__in=["queued", "running"]).first())
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert job.pages == 2 and job.devices_added == 1200
    assert Device.objects.filter(token=token).count() == 1200
