"""Structured logs: one JSON object per line, task/job/token ids inside a sync task, and no secrets."""

import io
import json
import logging
import subprocess
import sys

import pytest
import redis
from django.conf import settings

from depportal.ops.logs import JsonFormatter, reset_log_context, set_log_context
from syncjobs.models import SyncKind, SyncTrigger
from syncjobs.services import syncjob_request
from syncjobs.tasks import syncjob_run_task
from tokens.services import token_credentials


@pytest.fixture
def json_log():
    """Everything logged at DEBUG and above, formatted by JsonFormatter, as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_one_json_object_per_line_with_context_and_redaction(json_log):
    token = set_log_context(job_id=41, token_id=7)
    try:
        logging.getLogger("depportal.test").warning(
            "line one\nline two", extra={"webhook_secret": "s3cr3t-value", "serial": "C02X"}
        )
    finally:
        reset_log_context(token)
    logging.getLogger("depportal.test").info("after")
    lines = json_log.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "line one\nline two" and first["level"] == "WARNING"
    assert first["job_id"] == 41 and first["token_id"] == 7 and first["serial"] == "C02X"
    assert first["webhook_secret"] == "[redacted]" and "s3cr3t-value" not in json_log.getvalue()
    assert "job_id" not in second


@pytest.mark.django_db
def test_a_sync_task_logs_its_ids_and_never_a_secret(json_log, apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=5)
    # A 401 on the first page makes the client log a session renewal; a 503 makes it log a retry.
    apple.add_fault("/server/devices", 401, count=1)
    apple.add_fault("/server/devices", 503, retry_after=0, count=1)
    job = syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API, actor=admin_user)
    result = syncjob_run_task.apply(args=[job.pk]).get()
    assert result["status"] == "succeeded"

    text = json_log.getvalue()
    records = [json.loads(line) for line in text.splitlines()]
    assert any(r.get("job_id") == job.pk and r.get("token_id") == token.pk for r in records)
    assert any("retry" in r["message"] for r in records)
    credentials = token_credentials(token)
    sessions = [value.decode() for value in _session_tokens()]
    assert sessions, "the sync used an Apple session"
    for secret in (credentials.consumer_secret, credentials.access_secret, credentials.access_token, *sessions):
        assert secret not in text


def _session_tokens():
    connection = redis.Redis.from_url(settings.REDIS_URL)
    return [connection.get(key) for key in connection.scan_iter("depportal:dep-session:*")]


def _logging_of(env: dict) -> subprocess.CompletedProcess:
    code = (
        "from django.conf import settings as s; import django; django.setup();"
        "print(s.LOGGING['formatters']['default']['()'])"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "depportal.settings", "DJANGO_DEBUG": "true"}
    return subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)


def test_the_format_is_chosen_by_environment():
    production = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "k" * 50, "DEPPORTAL_ENCRYPTION_KEY": "x"}
    assert _logging_of(production).stdout.strip() == "depportal.ops.logs.JsonFormatter"
    assert _logging_of({}).stdout.strip() == "depportal.ops.logs.PlainFormatter"  # debug: plain
    assert _logging_of({"DEPPORTAL_LOG_FORMAT": "json"}).stdout.strip() == "depportal.ops.logs.JsonFormatter"
    wrong = _logging_of({"DEPPORTAL_LOG_FORMAT": "xml"})
    assert wrong.returncode != 0 and "DEPPORTAL_LOG_FORMAT must be json or plain" in wrong.stderr
