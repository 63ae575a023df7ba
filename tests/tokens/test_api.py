import base64
import io

import pytest

from depportal.accounts.models import Role
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def _file(data: bytes, name: str = "server_Token_smime.p7m") -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_onboarding_over_the_api(apple, admin_api, tag_a):
    refused = admin_api.post("/api/v1/tokens/", {"data_sharing_consent": False}, format="json")
    assert refused.status_code == 400 and "data_sharing_consent" in refused.json()["fields"]

    created = admin_api.post("/api/v1/tokens/", {"data_sharing_consent": True}, format="json")
    assert created.status_code == 201
    token = created.json()
    assert token["state"] == "pending" and token["pending_expires_at"]
    assert admin_api.get("/api/v1/tokens/").json()["results"] == []
    assert [t["id"] for t in admin_api.get("/api/v1/tokens/?state=pending").json()["results"]] == [token["id"]]

    pem = admin_api.get(f"/api/v1/tokens/{token['id']}/public-key/")
    assert pem.status_code == 200 and pem["Content-Type"] == "application/x-pem-file"
    server = apple.create_server("API MDM", certificate_pem=pem.content)

    bad = admin_api.post(
        f"/api/v1/tokens/{token['id']}/upload/",
        {"token_file": _file(b"junk"), "apple_id": "a@b.test"},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid" and "token_file" in bad.json()["fields"]

    uploaded = admin_api.post(
        f"/api/v1/tokens/{token['id']}/upload/",
        {"token_file": _file(base64.b64decode(server["p7m"])), "apple_id": "it@example.com", "scope_tags": [tag_a.pk]},
        format="multipart",
    )
    assert uploaded.status_code == 200, uploaded.json()
    body = uploaded.json()
    assert body["state"] == "active" and body["status"] == "Active" and body["alerts"] == []
    assert body["server_uuid"] == server["server_uuid"] and body["scope_tags"] == [{"id": tag_a.pk, "name": "Tag A"}]
    assert 364 <= body["days_until_expiry"] <= 366
    text = uploaded.content.decode()
    for secret in ("consumer_secret", "access_secret", "access_token"):
        assert server[secret] not in text
    assert "PRIVATE" not in text and "oauth" not in text


def test_renew_edit_and_delete_over_the_api(apple, onboard, admin_user, admin_api):
    token = onboard(admin_user, server_name="Acme")
    renewed = apple.renew_server(token.server_uuid, certificate_pem=token.certificate_pem.encode())
    response = admin_api.post(
        f"/api/v1/tokens/{token.pk}/renew/",
        {"token_file": _file(base64.b64decode(renewed["p7m"])), "apple_id": "it@example.com"},
        format="multipart",
    )
    assert response.status_code == 200 and response.json()["renewed_by"] == "admin"

    patched = admin_api.patch(f"/api/v1/tokens/{token.pk}/", {"name": "Acme EU"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "Acme EU"
    bad = admin_api.patch(f"/api/v1/tokens/{token.pk}/", {"apple_id": "nope"}, format="json")
    assert bad.status_code == 400 and "apple_id" in bad.json()["fields"]

    assert admin_api.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert not EnrollmentProgramToken.objects.exists()


def test_deleting_a_pending_token_abandons_its_wizard(admin_api):
    token = admin_api.post("/api/v1/tokens/", {"data_sharing_consent": True}, format="json").json()
    assert admin_api.delete(f"/api/v1/tokens/{token['id']}/").status_code == 204
    assert admin_api.get(f"/api/v1/tokens/{token['id']}/").status_code == 404


def test_scope_isolation_on_every_token_endpoint(apple, onboard, admin_user, make_user, api_client_for, tag_a, tag_b):
    token_b = onboard(admin_user, server_name="B server", tags=[tag_b])
    token_a = onboard(admin_user, server_name="A server", tags=[tag_a])
    manager = api_client_for(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]))
    reader = api_client_for(make_user("reader_a", Role.READ_ONLY, [tag_a]))
    p7m = _file(b"x")

    listed = [t["name"] for t in manager.get("/api/v1/tokens/").json()["results"]]
    assert listed == ["A server"]
    b = f"/api/v1/tokens/{token_b.pk}/"
    assert manager.get(b).status_code == 404
    assert manager.get(f"{b}public-key/").status_code == 404
    assert manager.patch(b, {"name": "mine"}, format="json").status_code == 404
    assert (
        manager.post(f"{b}upload/", {"token_file": p7m, "apple_id": "a@b.test"}, format="multipart").status_code == 404
    )
    assert (
        manager.post(f"{b}renew/", {"token_file": p7m, "apple_id": "a@b.test"}, format="multipart").status_code == 404
    )
    assert manager.delete(b).status_code == 404

    a = f"/api/v1/tokens/{token_a.pk}/"
    assert reader.get(a).status_code == 200
    assert reader.get(f"{a}public-key/").status_code == 200
    assert reader.patch(a, {"name": "x"}, format="json").status_code == 403
    assert reader.delete(a).status_code == 403
    assert reader.post("/api/v1/tokens/", {"data_sharing_consent": True}, format="json").status_code == 403
    assert manager.patch(a, {"name": "A renamed"}, format="json").status_code == 200
    token_b.refresh_from_db()
    assert token_b.name == "B server" and token_b.state == TokenState.ACTIVE


def test_a_scoped_managers_pending_token_is_theirs(make_user, api_client_for, tag_a, tag_b, admin_user):
    manager = api_client_for(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]))
    other = api_client_for(make_user("manager_b", Role.ENROLLMENT_MANAGER, [tag_b]))
    token = manager.post("/api/v1/tokens/", {"data_sharing_consent": True}, format="json").json()
    assert token["scope_tags"] == [{"id": tag_a.pk, "name": "Tag A"}]
    assert manager.get(f"/api/v1/tokens/{token['id']}/").status_code == 200
    assert other.get(f"/api/v1/tokens/{token['id']}/").status_code == 404
