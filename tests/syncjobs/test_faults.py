"""Every fault depsim can inject, in the middle of a paged full sync: the right outcome and no partial page."""

import pytest

from devices.models import Device
from syncjobs.models import SyncKind, SyncState, SyncTrigger
from tests.truth import assert_shows_what_apple_assigns, run_sync, shown_serials
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db

DEVICES = 2500  # three pages of 1000


def _stored_serials(token):
    return set(Device.objects.filter(token=token).values_list("serial_number", flat=True))


@pytest.fixture
def synced_token(apple, onboard, admin_user, settings):
    settings.APPLE_DEP_MAX_RETRY_WAIT_S = 10
    token = onboard(admin_user)
    apple.add_devices(token.server_uuid, count=DEVICES)
    return token


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 401, "body": "UNAUTHORIZED"},
        {"status": 403, "body": '"FORBIDDEN"'},
        {"status": 429, "body": '"TOO_MANY_REQUESTS"', "retry_after": 1},
        {"status": 503, "retry_after": 1},
        {"status": 500},
        {"status": 502, "count": 2},
        {"status": 0, "delay_s": 2.5},
    ],
    ids=[
        "401-session-expired",
        "403-forbidden",
        "429-retry-after",
        "503-retry-after",
        "500-once",
        "502-twice",
        "timeout",
    ],
)
def test_transient_faults_mid_sync_are_absorbed(apple, synced_token, settings, fault):
    settings.APPLE_DEP_READ_TIMEOUT_S = 1
    apple.add_fault("/server/devices", after=1, **fault)
    job = run_sync(synced_token, SyncKind.MANUAL, SyncTrigger.API)
    assert job.state == SyncState.SUCCEEDED, job.error_message
    assert job.pages == 3 and job.devices_added == DEVICES
    assert_shows_what_apple_assigns(apple, synced_token)


@pytest.mark.parametrize(
    ("fault", "code", "token_state"),
    [
        ({"status": 200, "malformed": True}, "MALFORMED_RESPONSE", TokenState.ERROR),
        ({"status": 403, "body": '"T_C_NOT_SIGNED"'}, "T_C_NOT_SIGNED", TokenState.TERMS_NOT_ACCEPTED),
        ({"status": 403, "body": '"ACCESS_DENIED"'}, "ACCESS_DENIED", TokenState.ERROR),
        ({"status": 500, "count": None}, "INTERNAL_SERVER_ERROR", TokenState.ERROR),
    ],
    ids=["malformed", "terms-not-signed", "access-denied", "500-forever"],
)
def test_fatal_faults_mid_sync_keep_whole_pages_and_a_retry_finishes(
    apple, synced_token, settings, fault, code, token_state
):
    settings.APPLE_DEP_MAX_RETRIES = 1
    apple.add_fault("/server/devices", after=1, **fault)
    job = run_sync(synced_token, SyncKind.MANUAL, SyncTrigger.API)
    assert job.state == SyncState.FAILED and job.error_message
    assert job.error_code == code
    token = EnrollmentProgramToken.objects.get(pk=synced_token.pk)
    assert token.state == token_state and token.last_error_message
    # Page one committed with its cursor; nothing of page two.
    assert job.pages == 1 and len(_stored_serials(token)) == 1000 and len(shown_serials(token)) == 1000
    assert token.sync_cursor and token.sync_fetch_job_id is not None

    apple.clear_faults()
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_manual_sync_at=None)
    retry = run_sync(token, SyncKind.MANUAL, SyncTrigger.API)
    assert retry.state == SyncState.SUCCEEDED, retry.error_message
    assert retry.pages == 2 and retry.devices_added == DEVICES - 1000
    assert_shows_what_apple_assigns(apple, token)
    token.refresh_from_db()
    assert token.state == TokenState.ACTIVE and token.sync_fetch_job_id is None
