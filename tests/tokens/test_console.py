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
