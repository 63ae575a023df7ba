"""/healthz, /readyz and /metrics against the real PostgreSQL, Redis and depsim."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from depportal.apple.errors import BadRequest
from syncjobs.models import SyncKind, SyncTrigger
from syncjobs.services import syncjob_request, syncjob_run
from tests.ops.metrics_text import parse, value
from tokens.models import EnrollmentProgramToken
from tokens.services import token_client

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "scrape-me-0123456789"


@pytest.fixture
def scrape(settings):
    settings.DEPPORTAL_METRICS_TOKEN = METRICS_TOKEN

    def get() -> dict:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content.decode())

    return get


def test_probes_answer_on_internal_addresses_over_http(settings):
    settings.ALLOWED_HOSTS = ["dep.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    # A probe comes from the orchestrator by IP over plain HTTP; the console itself refuses that host.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}
    assert client.get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_readyz_names_what_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker", "redis"]
    assert body["checks"]["database"] == "ok"


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(settings):
    settings.DEPPORTAL_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.DEPPORTAL_METRICS_TOKEN = METRICS_TOKEN
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_metrics_follow_syncs_apple_calls_and_refusals(scrape, apple, onboard, admin_user, admin_api):
    before = scrape()
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=25)
    job = syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CONSOLE, actor=admin_user)
    assert syncjob_run(job_id=job.pk)["status"] == "succeeded"

    # Apple: one 429 that the client waits out, and one request Apple rejects.
    apple.add_fault("/account", 429, retry_after=0, count=1)
    apple.add_fault("/profile", 400, body='"PROFILE_NOT_FOUND"', count=1)
    with token_client(token) as client:
        client.get_account()
        with pytest.raises(BadRequest):
            client.get_profile("no-such-profile")

    # The portal refuses a second sync within 15 minutes (429), through the API.
    assert admin_api.post(f"/api/v1/tokens/{token.pk}/sync/", {}, format="json").status_code == 429
    # An expiring token raises an alert.
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(access_token_expiry=timezone.now() + timedelta(days=3))

    after = scrape()

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "depportal_sync_jobs_total", kind="manual", state="succeeded") >= 1
    assert grew("depportal_devices_synced_total", change="added") == 25
    assert value(after, "depportal_sync_duration_seconds_count", kind="manual") >= 1
    assert value(after, "depportal_sync_duration_seconds_bucket", kind="manual", le="+Inf") >= 1
    assert grew("depportal_apple_requests_total", method="POST", endpoint="/server/devices", status=200) == 1
    assert grew("depportal_apple_requests_total", method="GET", endpoint="/account", status=429) == 1
    assert grew("depportal_apple_throttled_total") == 1
    assert grew("depportal_apple_errors_total", endpoint="/profile", status=400, code="PROFILE_NOT_FOUND") == 1
    assert grew("depportal_requests_refused_total", endpoint="sync") == 1
    assert value(after, "depportal_token_days_to_expiry", token_id=token.pk, token=token.name) == pytest.approx(
        3, 0.01
    )
    assert value(after, "depportal_token_devices", token_id=token.pk, token=token.name) == 25
    assert value(after, "depportal_alerts", code="token_expiring", level="critical") == 1
    assert value(after, "depportal_tokens", state="active") == 1
    assert ("depportal_queue_depth", frozenset({("queue", "celery")})) in after


def test_metrics_still_answer_when_redis_is_down(scrape, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    samples = scrape()
    assert value(samples, "depportal_metrics_redis_up") == 0
    assert ("depportal_tokens", frozenset({("state", "active")})) in samples
