"""The operator's manage.py commands, against the real database and depsim."""

from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from depportal.core import crypto
from depportal.ops.keys import sealed_fields
from overview.alerts.models import SETTINGS_ROW_ID, NotificationSettings
from profiles.models import VppToken
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from tests.truth import run_sync
from tokens.models import EnrollmentProgramToken
from tokens.services import token_client

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_create_admin_with_a_supplied_or_generated_password(monkeypatch):
    monkeypatch.setenv("DEPPORTAL_ADMIN_PASSWORD", "correct-horse-battery")
    output = run("create_admin", "ops", "--email", "ops@example.com")
    user = get_user_model().objects.get(username="ops")
    assert user.is_superuser and user.check_password("correct-horse-battery")
    assert "correct-horse-battery" not in output  # the operator chose it; it is not echoed

    with pytest.raises(CommandError, match="exists"):
        run("create_admin", "ops")

    monkeypatch.delenv("DEPPORTAL_ADMIN_PASSWORD")
    output = run("create_admin", "ops", "--reset-password")
    generated = output.split("Password (shown once): ")[1].strip()
    user.refresh_from_db()
    assert len(generated) >= 20 and user.check_password(generated)


def test_every_sealed_column_is_found():
    found = {f"{model._meta.label}.{name}" for model, name in sealed_fields()}
    assert {
        "tokens.EnrollmentProgramToken.private_key_encrypted",
        "tokens.EnrollmentProgramToken.oauth_encrypted",
        "profiles.VppToken.s_token_encrypted",
        "alerts.NotificationSettings.webhook_secret_encrypted",
    } <= found


def test_rotate_encryption_key_reseals_everything_once(settings, apple, onboard, admin_user):
    token = onboard(admin_user)
    vpp = VppToken.objects.create(name="VPP", s_token_encrypted=crypto.encrypt("vpp-s-token-value"))
    NotificationSettings.objects.create(pk=SETTINGS_ROW_ID, webhook_secret_encrypted=crypto.encrypt("hook-secret-1"))
    before = {
        "key": crypto.decrypt_text(token.private_key_encrypted),
        "oauth": crypto.decrypt_text(token.oauth_encrypted),
    }
    old_key = settings.DEPPORTAL_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.DEPPORTAL_ENCRYPTION_KEY = new_key
    settings.DEPPORTAL_ENCRYPTION_OLD_KEYS = [old_key]

    output = run("rotate_encryption_key")
    assert "tokens.EnrollmentProgramToken.private_key_encrypted: re-encrypted 1," in output
    assert "tokens.EnrollmentProgramToken.oauth_encrypted: re-encrypted 1," in output
    assert "profiles.VppToken.s_token_encrypted: re-encrypted 1," in output
    assert "alerts.NotificationSettings.webhook_secret_encrypted: re-encrypted 1," in output

    # Without the old key everything still opens, to the same values, and the token still talks to Apple.
    settings.DEPPORTAL_ENCRYPTION_OLD_KEYS = []
    token.refresh_from_db()
    vpp.refresh_from_db()
    assert crypto.decrypt_text(token.private_key_encrypted) == before["key"]
    assert crypto.decrypt_text(token.oauth_encrypted) == before["oauth"]
    assert crypto.decrypt_text(vpp.s_token_encrypted) == "vpp-s-token-value"
    hook = NotificationSettings.objects.get(pk=SETTINGS_ROW_ID).webhook_secret_encrypted
    assert crypto.decrypt_text(hook) == "hook-secret-1"
    assert all(not crypto.needs_rotation(v) for v in (token.oauth_encrypted, vpp.s_token_encrypted, hook))
    with token_client(token) as client:
        assert client.get_account()["server_uuid"] == token.server_uuid

    again = run("rotate_encryption_key")
    assert "Total: re-encrypted 0." in again


def test_rotate_encryption_key_reports_values_no_key_opens(settings):
    foreign = Fernet.generate_key().decode()
    settings.DEPPORTAL_ENCRYPTION_KEY = foreign
    VppToken.objects.create(name="Sealed elsewhere", s_token_encrypted=crypto.encrypt("x"))
    settings.DEPPORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(CommandError, match="could not be opened"):
        run("rotate_encryption_key")


def test_reap_sync_jobs_times_out_a_job_past_its_deadline(apple, onboard, admin_user):
    token = onboard(admin_user)
    past = timezone.now() - timedelta(minutes=30)
    job = SyncJob.objects.create(
        token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API, state=SyncState.RUNNING,
        started_at=past, heartbeat_at=past, deadline_at=past + timedelta(minutes=15),
    )  # fmt: skip
    assert "Timed out 1 job(s)" in run("reap_sync_jobs")
    job.refresh_from_db()
    assert job.state == SyncState.TIMED_OUT and job.error_code == "DEADLINE"


def test_sync_status_explains_the_throttle(apple, onboard, admin_user):
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=3)
    job = run_sync(token, SyncKind.MANUAL, SyncTrigger.CLI)
    output = run("sync_status", str(token.pk))
    assert f"Token {token.pk}:" in output
    assert "manual sync:           not before" in output and "(manual_sync_interval)" in output
    assert "full sync:             not before" in output and "(full_sync_interval)" in output
    assert "active job:            none" in output
    assert f"{job.pk} manual cli      succeeded" in output
    assert run("sync_status", token.name).startswith(f"Token {token.pk}:")
    with pytest.raises(CommandError, match="No token"):
        run("sync_status", "no-such-token")
    assert EnrollmentProgramToken.objects.get(pk=token.pk).last_full_sync_at is not None
