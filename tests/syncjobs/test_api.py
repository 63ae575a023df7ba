from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from depportal.accounts.models import Role
from depportal.audit.models import AuditEvent
from syncjobs.models import SyncJob, SyncState
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db


def test_sync_over_the_api_and_the_429_that_follows(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user)
    started = admin_api.post(f"/api/v1/tokens/{token.pk}/sync/", {}, format="json")
    assert started.status_code == 202
    job = started.json()
    assert job["state"] == "queued" and job["kind"] == "manual" and job["trigger"] == "api"

    again = admin_api.post(f"/api/v1/tokens/{token.pk}/sync/", {"kind": "delta"}, format="json")
    assert again.status_code == 429
    body = again.json()
    assert body["error"] == "sync_refused" and body["rule"] == "sync_in_progress"
    assert int(again["Retry-After"]) == body["retry_after"] > 0

    SyncJob.objects.filter(pk=job["id"]).update(state=SyncState.SUCCEEDED)
    manual = admin_api.post(f"/api/v1/tokens/{token.pk}/sync/", {}, format="json")
    assert manual.status_code == 429 and manual.json()["rule"] == "manual_sync_interval"
    assert 890 <= int(manual["Retry-After"]) <= 900 and manual.json()["next_allowed_at"]

    listed = admin_api.get(f"/api/v1/sync-jobs/?token={token.pk}").json()["results"]
    assert [row["id"] for row in listed] == [job["id"]]
    detail = admin_api.get(f"/api/v1/sync-jobs/{job['id']}/").json()
    assert detail["requested_by"] == "admin" and "devices_per_second" in detail


def test_bad_sync_kind_is_a_field_error(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user)
    response = admin_api.post(f"/api/v1/tokens/{token.pk}/sync/", {"kind": "everything"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["fields"]


def test_reset_cursor_is_for_administrators_and_audited(
    apple, onboard, admin_user, admin_api, make_user, api_client_for, tag_a
):
    token = onboard(admin_user, tags=[tag_a])
    token.sync_cursor = "abc"
    token.save()
    manager = api_client_for(make_user("manager", Role.ENROLLMENT_MANAGER, [tag_a]))
    assert manager.post(f"/api/v1/tokens/{token.pk}/reset-cursor/").status_code == 403
    assert admin_api.post(f"/api/v1/tokens/{token.pk}/reset-cursor/").status_code == 200
    token.refresh_from_db()
    assert token.sync_cursor == ""
    assert AuditEvent.objects.filter(action="reset_cursor", object_id=str(token.pk)).exists()


def test_sync_jobs_are_scoped(apple, onboard, admin_user, make_user, api_client_for, tag_a, tag_b):
    token_b = onboard(admin_user, server_name="B", tags=[tag_b])
    job = SyncJob.objects.create(token=token_b, kind="manual", trigger="api", state=SyncState.SUCCEEDED)
    reader = api_client_for(make_user("reader", Role.READ_ONLY, [tag_a]))
    assert reader.get("/api/v1/sync-jobs/").json()["results"] == []
    assert reader.get(f"/api/v1/sync-jobs/{job.pk}/").status_code == 404
    assert reader.post(f"/api/v1/tokens/{token_b.pk}/sync/", {}, format="json").status_code == 403  # role
    manager_a = api_client_for(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]))
    assert manager_a.post(f"/api/v1/tokens/{token_b.pk}/sync/", {}, format="json").status_code == 404  # scope
    reader_b = api_client_for(make_user("reader_b", Role.READ_ONLY, [tag_b]))
    assert reader_b.get(f"/api/v1/sync-jobs/{job.pk}/").status_code == 200
    assert reader_b.post(f"/api/v1/tokens/{token_b.pk}/sync/", {}, format="json").status_code == 403


def test_console_button_says_why_it_is_disabled(apple, onboard, admin_user, client):
    token = onboard(admin_user)
    client.force_login(admin_user)
    page = client.get(f"/tokens/{token.pk}/").content.decode()
    assert 'id="sync-button"' in page and "disabled" not in page.split('id="sync-button"')[1].split(">")[0]
    client.post(f"/tokens/{token.pk}/sync/", {"kind": "manual"})
    page = client.get(f"/tokens/{token.pk}/").content.decode()
    assert "disabled" in page.split('id="sync-button"')[1].split(">")[0]
    assert "sync of this token is queued" in page
    assert 'hx-trigger="every 2s"' in page


def test_dep_sync_command_refuses_with_the_rule(apple, onboard, admin_user, capsys):
    token = onboard(admin_user, server_name="CLI token")
    call_command("dep_sync", "CLI token")
    assert "queued" in capsys.readouterr().out
    with pytest.raises(CommandError, match="can start when it ends"):
        call_command("dep_sync", str(token.pk))
    with pytest.raises(CommandError, match="No token"):
        call_command("dep_sync", "nope")


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_make_exactly_one_job(apple, onboard, admin_user, live_server):
    from depportal.accounts.services import api_token_create

    token = onboard(admin_user)
    _, key = api_token_create(actor=None, user=admin_user, name="load")
    url = f"{live_server.url}/api/v1/tokens/{token.pk}/sync/"

    def request(_):
        return requests.post(url, json={"kind": "delta"}, headers={"Authorization": f"Token {key}"}, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(request, range(50)))
    codes = sorted(response.status_code for response in responses)
    assert codes == [202] + [429] * 49
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status_code == 429)
    assert SyncJob.objects.filter(token=token, trigger="api").count() == 1


def test_reset_cursor_from_the_command_line(apple, onboard, admin_user, capsys):
    token = onboard(admin_user, server_name="CLI reset")
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(sync_cursor="abc")
    call_command("dep_reset_cursor", "CLI reset")
    assert "next sync is a full sync" in capsys.readouterr().out
    assert EnrollmentProgramToken.objects.get(pk=token.pk).sync_cursor == ""
    assert AuditEvent.objects.filter(action="reset_cursor", object_id=str(token.pk), actor=None).exists()
