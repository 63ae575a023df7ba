import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from depportal.accounts.models import Role
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db


def test_consent_comes_first(client, admin_user):
    client.force_login(admin_user)
    page = client.post("/tokens/add/", {})
    assert "Agree to send user and device information to Apple first" in page.content.decode()
    assert not EnrollmentProgramToken.objects.exists()
    response = client.post("/tokens/add/", {"data_sharing_consent": "on"})
    token = EnrollmentProgramToken.objects.get()
    assert response["Location"] == f"/tokens/add/{token.pk}/"


def test_wizard_failure_keeps_the_wizard_where_it_was(apple, client, admin_user):
    client.force_login(admin_user)
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    token = EnrollmentProgramToken.objects.get()
    page = client.post(
        f"/tokens/add/{token.pk}/",
        {"apple_id": "it@example.com", "token_file": SimpleUploadedFile("t.p7m", b"nonsense")},
    )
    html = page.content.decode()
    assert page.status_code == 200 and "is not a server token" in html and 'id="create"' in html
    assert "disabled" not in html.split('id="create"')[1].split(">")[0]


def test_leaving_the_wizard_disables_create_with_a_reason(client, admin_user):
    client.force_login(admin_user)
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    token = EnrollmentProgramToken.objects.get()
    assert client.post(f"/tokens/add/{token.pk}/abandon/").status_code == 204
    html = client.get(f"/tokens/add/{token.pk}/").content.decode()
    assert "This public key is no longer valid" in html and "Start again" in html
    assert "disabled" in html.split('id="create"')[1].split(">")[0]


def test_renew_shows_the_confirmation(apple, onboard, client, admin_user):
    token = onboard(admin_user, server_name="Acme")
    renewed = apple.renew_server(token.server_uuid, certificate_pem=token.certificate_pem.encode())
    client.force_login(admin_user)
    response = client.post(
        f"/tokens/{token.pk}/renew/",
        {"apple_id": "it@example.com", "token_file": SimpleUploadedFile("t.p7m", base64.b64decode(renewed["p7m"]))},
        follow=True,
    )
    assert "The token Acme was renewed" in response.content.decode()


def test_list_search_filter_and_scope(onboard, client, admin_user, make_user, tag_a, tag_b):
    onboard(admin_user, server_name="Alpha", tags=[tag_a])
    onboard(admin_user, server_name="Beta", tags=[tag_b])
    client.force_login(make_user("reader", Role.READ_ONLY, [tag_a]))
    html = client.get("/tokens/").content.decode()
    assert "Alpha" in html and "Beta" not in html and "+ Add" not in html
    client.force_login(admin_user)
    assert "Beta" not in client.get("/tokens/?q=alp").content.decode()
    assert "Alpha" in client.get("/tokens/?ordering=-expiry&state=active").content.decode()


def test_console_scope_isolation_for_token_pages(onboard, client, admin_user, make_user, tag_a, tag_b):
    token_b = onboard(admin_user, server_name="Beta", tags=[tag_b])
    token_a = onboard(admin_user, server_name="Alpha", tags=[tag_a])
    client.force_login(make_user("manager", Role.ENROLLMENT_MANAGER, [tag_a]))
    for suffix in ("", "public-key/", "renew/", "edit/", "delete/"):
        assert client.get(f"/tokens/{token_b.pk}/{suffix}").status_code == 404
    assert client.post(f"/tokens/{token_b.pk}/delete/").status_code == 404
    assert client.get(f"/tokens/{token_a.pk}/edit/").status_code == 200
    client.force_login(make_user("reader", Role.READ_ONLY, [tag_a]))
    assert client.get(f"/tokens/{token_a.pk}/").status_code == 200
    assert client.get(f"/tokens/{token_a.pk}/delete/").status_code == 403
    assert client.post(f"/tokens/{token_a.pk}/delete/").status_code == 403
    assert client.get("/tokens/add/").status_code == 403
    assert EnrollmentProgramToken.objects.count() == 2


def test_delete_confirmation_says_what_goes(onboard, client, admin_user):
    token = onboard(admin_user, server_name="Acme")
    client.force_login(admin_user)
    html = client.get(f"/tokens/{token.pk}/delete/").content.decode()
    assert "its enrollment profiles and its device records" in html and "Nothing changes at Apple" in html
    client.post(f"/tokens/{token.pk}/delete/")
    assert not EnrollmentProgramToken.objects.exists()


def test_wizard_pages_are_never_cached(client, admin_user):
    client.force_login(admin_user)
    assert "no-store" in client.get("/tokens/add/")["Cache-Control"]
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    token = EnrollmentProgramToken.objects.get()
    for url in (f"/tokens/add/{token.pk}/", f"/tokens/add/{token.pk}/status/"):
        assert "no-store" in client.get(url)["Cache-Control"]
    assert client.get(f"/tokens/add/{token.pk}/status/").json()["usable"] is True
    client.post(f"/tokens/add/{token.pk}/abandon/")
    assert client.get(f"/tokens/add/{token.pk}/status/").json() == {"usable": False, "expires_at": None}


def test_wizard_step_checks_refuse_hostile_input_and_store_nothing(apple, client, admin_user, make_user, tag_a, tag_b):
    client.force_login(admin_user)
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    token = EnrollmentProgramToken.objects.get()
    url = f"/tokens/add/{token.pk}/check/"

    response = client.post(url, {"step": "everything"})
    assert response.status_code == 400 and "Unknown wizard step" in response.json()["message"]
    response = client.post(url, {"step": "token"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Enter the Apple ID" in errors["apple_id"][0] and "Choose the server token file" in errors["token_file"][0]
    response = client.post(
        url, {"step": "token", "apple_id": "x" * 300, "token_file": SimpleUploadedFile("t.p7m", b"x")}
    )
    assert response.status_code == 400 and "apple_id" in response.json()["errors"]
    response = client.post(
        url,
        {"step": "token", "apple_id": "it@example.com", "token_file": SimpleUploadedFile("t.p7m", b"\0" * 70_000)},
    )
    assert "far too large" in response.json()["errors"]["token_file"][0]
    response = client.post(
        url,
        {"step": "token", "apple_id": "it@example.com", "name": "n" * 129, "token_file": SimpleUploadedFile("t", b"")},
    )
    assert "name" in response.json()["errors"]

    server = apple.create_server("Checked MDM", certificate_pem=token.certificate_pem.encode())
    good = base64.b64decode(server["p7m"])
    response = client.post(
        url, {"step": "token", "apple_id": " it@example.com ", "token_file": SimpleUploadedFile("t.p7m", good)}
    )
    assert response.status_code == 200
    assert response.json()["review"]["server_name"] == "Checked MDM"
    assert response.json()["review"]["apple_id"] == "it@example.com"

    manager = make_user("manager", Role.ENROLLMENT_MANAGER, [tag_a])
    client.force_login(manager)
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    mine = EnrollmentProgramToken.objects.exclude(pk=token.pk).get()
    response = client.post(f"/tokens/add/{mine.pk}/check/", {"step": "scope_tags", "scope_tags": [tag_b.pk]})
    assert response.status_code == 400 and "scope_tags" in response.json()["errors"]
    response = client.post(f"/tokens/add/{mine.pk}/check/", {"step": "scope_tags"})
    assert response.json()["review"]["scope_tags"] == ["Tag A"]
    # Someone else's wizard is not there for this user.
    assert client.post(url, {"step": "scope_tags"}).status_code == 410
    client.force_login(make_user("reader", Role.READ_ONLY, [tag_a]))
    assert client.post(url, {"step": "scope_tags"}).status_code == 403

    token.refresh_from_db()
    assert token.is_pending and not token.oauth_encrypted and token.apple_id == ""
    assert EnrollmentProgramToken.objects.filter(state="active").count() == 0


def test_reset_cursor_page_states_the_7_day_rule_once(onboard, client, admin_user):
    from django.utils import timezone

    token = onboard(admin_user, server_name="Acme")
    client.force_login(admin_user)
    html = client.get(f"/tokens/{token.pk}/sync/reset-cursor/").content.decode()
    assert html.count("once every 7 days") == 1 and "can run at once" in html
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=timezone.now())
    html = client.get(f"/tokens/{token.pk}/sync/reset-cursor/").content.decode()
    assert html.count("once every 7 days") == 1 and "The next is possible from" in html
