"""A worker killed with SIGKILL in the middle of a full sync: another takes over, nothing lost or doubled."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from devices.models import Device
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from syncjobs.services import syncjob_reap, syncjob_request
from tests.plugins.celery_worker import wait_for
from tests.truth import assert_shows_what_apple_assigns
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 20_000
LEASE_S = 2


def _worker_env(apple) -> dict:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "depportal.test_settings",
        # The test database (pytest-django renamed it), so the worker sees what this test committed.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "APPLE_DEP_BASE_URL": apple.base_url,
        "DEP_SYNC_HEARTBEAT_LEASE_S": str(LEASE_S),
    }


def _start_worker(env: dict, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "depportal",
            "worker",
            "--pool",
            "solo",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_killed_worker_loses_and_duplicates_nothing(apple, onboard, admin_user):
    from depportal import celery_app

    celery_app.control.purge()
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=DEVICES)
    apple.set_latency(0.15, "/server/devices")
    env = _worker_env(apple)
    first = _start_worker(env, "doomed")
    second = None
    try:
        job = syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CLI)
        wait_for(lambda: SyncJob.objects.get(pk=job.pk).pages >= 5, timeout=90)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = SyncJob.objects.get(pk=job.pk)
        assert killed_at.state == SyncState.RUNNING and killed_at.pages < DEVICES // 1000
        # What was committed is whole pages, each with the cursor after it.
        assert Device.objects.filter(token=token).count() == killed_at.devices_added == killed_at.pages * 1000

        second = _start_worker(env, "rescuer")
        settings.DEP_SYNC_HEARTBEAT_LEASE_S = LEASE_S
        # Beat runs the reaper every minute; here it is called until the stalled job is handed over.
        wait_for(lambda: syncjob_reap()["resumed"], timeout=30, interval=0.5)
        done = wait_for(
            lambda: SyncJob.objects.filter(pk=job.pk).exclude(state=SyncState.RUNNING).first(), timeout=120
        )
        assert done.state == SyncState.SUCCEEDED, done.error_message
        assert done.pages == DEVICES // 1000 and done.devices_added == DEVICES
        assert_shows_what_apple_assigns(apple, token)
        assert Device.objects.filter(token=token).count() == DEVICES  # every page applied once
        token = EnrollmentProgramToken.objects.get(pk=token.pk)
        assert token.sync_cursor and token.sync_fetch_job_id is None and token.device_count == DEVICES
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
