"""The compose file's processes, run natively: gunicorn (web), a Celery worker and beat, on the test PostgreSQL
and Redis, with depsim as Apple. An admin onboards a token and syncs it over the REST API through them; beat
schedules the daily delta sync through the worker, and a restarted beat does not schedule it twice.
"""

import base64
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from celery.beat import PersistentScheduler
from django.utils import timezone

from depportal import celery_app
from depportal.accounts.services import api_token_create
from syncjobs.models import SyncJob, SyncState, SyncTrigger
from tests.ops.processes import ROOT, Processes, free_port, http_ok, production_env, service_command, wait_until
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, depsim_server, tmp_path_factory):
    """web, worker (and a place for beat) started from docker-compose.yml's commands."""
    with django_db_blocker.unblock():
        env = production_env(depsim_server.base_url)
    folder = tmp_path_factory.mktemp("stack")
    port = free_port()
    celery_app.control.purge()
    processes = Processes(folder)
    processes.start("web", service_command("web", env, {"0.0.0.0:8000": f"127.0.0.1:{port}"}), env)
    processes.start("worker", service_command("worker", env), env)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "gunicorn answers", processes)
        wait_until(lambda: "ready" in processes.log("worker"), 30, "the worker is ready", processes)
        yield {"processes": processes, "env": env, "url": f"http://127.0.0.1:{port}", "folder": folder}
    finally:
        processes.stop_all()


def _age_schedule(path: str, entry: str) -> None:
    """Make beat's stored schedule say `entry` last ran a day ago, so beat sends it as soon as it starts."""
    scheduler = PersistentScheduler(app=celery_app, schedule_filename=path, lazy=False)
    try:
        scheduler.schedule[entry].last_run_at = timezone.now() - timedelta(days=1)
        scheduler.sync()
    finally:
        scheduler.close()


def _probe(stack, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "depportal.ops.probe", *args]
    return subprocess.run(command, env=stack["env"], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_probes_and_readiness_through_gunicorn(stack):
    # The compose health checks, run against these processes.
    port = stack["url"].rsplit(":", 1)[1]
    assert _probe(stack, "web", "--port", port).returncode == 0
    assert _probe(stack, "web", "--port", str(free_port())).returncode == 1
    assert _probe(stack, "worker").returncode == 0
    assert _probe(stack, "worker", "--node", "celery@no-such-host", "--timeout", "1").returncode == 1
    ready = requests.get(stack["url"] + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


def test_onboard_and_sync_over_the_api(stack, apple, admin_user):
    _, key = api_token_create(actor=None, user=admin_user, name="stack")
    api = requests.Session()
    api.headers["Authorization"] = f"Token {key}"
    base = stack["url"] + "/api/v1"

    created = api.post(f"{base}/tokens/", json={"data_sharing_consent": True}, timeout=30)
    assert created.status_code == 201, created.text
    token_id = created.json()["id"]
    pem = api.get(f"{base}/tokens/{token_id}/public-key/", timeout=10)
    assert pem.status_code == 200 and b"BEGIN CERTIFICATE" in pem.content

    server = apple.create_server("Stack MDM", certificate_pem=pem.content)
    apple.add_devices(server["server_uuid"], count=1500)
    uploaded = api.post(
        f"{base}/tokens/{token_id}/upload/",
        files={"token_file": ("server_token.p7m", base64.b64decode(server["p7m"]), "application/pkcs7-mime")},
        data={"apple_id": "it@example.com", "name": "Stack token"},
        timeout=30,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["state"] == "active"

    # The new token syncs by itself (its first fetch), without anyone pressing Sync.
    def first_sync():
        jobs = api.get(f"{base}/sync-jobs/", params={"token": token_id}, timeout=10).json()["results"]
        return jobs[0] if jobs and jobs[0]["state"] not in ("queued", "running") else None

    job = wait_until(first_sync, 45, "the token's first sync ends", stack["processes"], interval=0.3)
    assert (job["trigger"], job["kind"], job["state"]) == ("setup", "full", "succeeded"), job
    assert job["devices_added"] == 1500
    token = EnrollmentProgramToken.objects.get(pk=token_id)
    assert token.device_count == 1500 and token.sync_cursor

    apple.add_devices(server["server_uuid"], count=20)
    started = api.post(f"{base}/tokens/{token_id}/sync/", json={}, timeout=30)
    assert started.status_code == 202, started.text
    job_url = f"{base}/sync-jobs/{started.json()['id']}/"

    def finished():
        job = api.get(job_url, timeout=10).json()
        return job if job["state"] not in ("queued", "running") else None

    job = wait_until(finished, 45, "the sync job ends", stack["processes"], interval=0.3)
    assert job["state"] == "succeeded" and job["devices_added"] == 20, job
    assert EnrollmentProgramToken.objects.get(pk=token_id).device_count == 1520

    # A second manual sync at once is refused by the 15-minute rule, through the same processes.
    again = api.post(f"{base}/tokens/{token_id}/sync/", json={}, timeout=30)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0


def test_beat_schedules_the_daily_sync_once_across_a_restart(stack, apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=10)
    # The token's slot of the day has come; beat's next "sync-schedule-due" run must queue its delta sync.
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(next_auto_sync_at=timezone.now() - timedelta(minutes=1))
    processes, env = stack["processes"], stack["env"]
    schedule = str(stack["folder"] / "celerybeat-schedule")
    beat = service_command("beat", env, {"/tmp/celerybeat-schedule": schedule})

    def scheduled_jobs():
        return list(SyncJob.objects.filter(token=token, trigger=SyncTrigger.SCHEDULE))

    def due_runs() -> int:
        return processes.log("worker").count("syncjob_schedule_due_task[")

    _age_schedule(schedule, "sync-schedule-due")
    runs_before = due_runs()
    processes.start("beat", beat, env)
    assert _probe(stack, "beat").returncode == 0
    jobs = wait_until(
        lambda: [j for j in scheduled_jobs() if j.state == SyncState.SUCCEEDED], 40, "scheduled sync", processes
    )
    assert len(jobs) == 1
    token.refresh_from_db()
    next_slot = token.next_auto_sync_at
    assert next_slot > timezone.now() + timedelta(hours=23)

    # Restart beat with a schedule that again says "due now" (as after a lost schedule file): it runs the
    # scheduler again, and the token's stored slot keeps it from a second sync today.
    processes.stop("beat")
    _age_schedule(schedule, "sync-schedule-due")
    runs_mid = due_runs()
    assert runs_mid > runs_before
    processes.start("beat", beat, env)
    wait_until(lambda: due_runs() > runs_mid, 40, "the restarted beat's scheduler run", processes)
    wait_until(lambda: "succeeded" in processes.log("worker").split("syncjob_schedule_due_task[")[-1], 20, "done")
    assert len(scheduled_jobs()) == 1
    token.refresh_from_db()
    assert token.next_auto_sync_at == next_slot
    processes.stop("beat")
