import pytest
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_api_requires_authentication():
    response = APIClient().get("/api/v1/scope-tags/")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_api_token_authenticates_and_records_last_use(admin_user, api_client_for):
    client = api_client_for(admin_user)
    assert client.get("/api/v1/scope-tags/").status_code == 200
    assert ApiToken.objects.get(user=admin_user).last_used_at is not None


def test_revoked_or_malformed_token_is_refused(admin_user, api_client_for):
    client = api_client_for(admin_user)
    token = ApiToken.objects.get(user=admin_user)
    assert client.delete(f"/api/v1/api-tokens/{token.pk}/").status_code == 204
    response = client.get("/api/v1/scope-tags/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token two parts")
    assert bad.get("/api/v1/scope-tags/").status_code == 401


def test_api_token_is_stored_hashed_and_key_shown_once(admin_user, admin_api):
    response = admin_api.post("/api/v1/api-tokens/", {"name": "deploy script"}, format="json")
    assert response.status_code == 201
    key = response.json()["key"]
    token = ApiToken.objects.get(name="deploy script")
    assert key not in (token.key_hash, token.prefix) and key.startswith(token.prefix)
    listed = admin_api.get("/api/v1/api-tokens/").json()["results"]
    assert all("key" not in row for row in listed)
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert fresh.get("/api/v1/roles/").status_code == 200


def test_validation_errors_use_the_common_body(admin_api):
    response = admin_api.post("/api/v1/scope-tags/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and "name" in body["fields"]


def test_domain_errors_use_the_common_body(admin_api, default_tag):
    response = admin_api.post("/api/v1/scope-tags/", {"name": "default"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "A scope tag named 'default' exists already.",
        "fields": {"name": ["This name is taken."]},
    }
    response = admin_api.delete(f"/api/v1/scope-tags/{default_tag.pk}/")
    assert response.status_code == 400 and "cannot be deleted" in response.json()["detail"]


def test_scope_tag_lifecycle_is_audited(admin_api, admin_user):
    tag = admin_api.post("/api/v1/scope-tags/", {"name": "Schools", "description": "K-12"}, format="json").json()
    assert (
        admin_api.patch(f"/api/v1/scope-tags/{tag['id']}/", {"name": "Schools EU"}, format="json").status_code == 200
    )
    assert admin_api.delete(f"/api/v1/scope-tags/{tag['id']}/").status_code == 204
    actions = list(AuditEvent.objects.filter(object_type="scope_tag").values_list("action", flat=True))
    assert sorted(actions) == ["create", "delete", "update"]
    event = AuditEvent.objects.get(object_type="scope_tag", action="update")
    assert event.actor == admin_user and event.source_ip == "127.0.0.1"
    assert event.changes["name"] == ["Schools", "Schools EU"]


def test_users_and_role_assignments_are_administrator_only(admin_api, manager_a, api_client_for, tag_a):
    manager = api_client_for(manager_a)
    assert manager.get("/api/v1/users/").status_code == 403
    assert manager.get("/api/v1/role-assignments/").status_code == 403
    created = admin_api.post("/api/v1/users/", {"username": "bob", "password": "correct horse battery"}, format="json")
    assert created.status_code == 201
    weak = admin_api.post("/api/v1/users/", {"username": "eve", "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["fields"]
    odd = admin_api.post(
        "/api/v1/users/", {"username": "eve\u0013x", "password": "correct horse battery"}, format="json"
    )
    assert odd.status_code == 400 and "username" in odd.json()["fields"]
    bob = created.json()["id"]
    no_tags = admin_api.post("/api/v1/role-assignments/", {"user": bob, "role": Role.READ_ONLY}, format="json")
    assert no_tags.status_code == 400 and "scope_tags" in no_tags.json()["fields"]
    assigned = admin_api.post(
        "/api/v1/role-assignments/", {"user": bob, "role": Role.READ_ONLY, "scope_tags": [tag_a.pk]}, format="json"
    )
    assert assigned.status_code == 201
    assert admin_api.delete(f"/api/v1/role-assignments/{assigned.json()['id']}/").status_code == 204
    assert not RoleAssignment.objects.filter(user_id=bob).exists()


def test_roles_are_listed_with_their_actions(admin_api):
    roles = {role["id"]: role for role in admin_api.get("/api/v1/roles/").json()}
    assert roles[Role.READ_ONLY]["actions"] == ["view"]
    assert roles[Role.ADMINISTRATOR]["actions"] == ["administer", "change", "view"]
    assert admin_api.get("/api/v1/roles/nope/").status_code == 404


def test_scoped_user_sees_only_their_tags_and_cannot_change_them(reader_a, api_client_for, tag_a, tag_b):
    client = api_client_for(reader_a)
    names = [tag["name"] for tag in client.get("/api/v1/scope-tags/").json()["results"]]
    assert names == ["Tag A"]
    assert client.get(f"/api/v1/scope-tags/{tag_b.pk}/").status_code == 404
    assert client.post("/api/v1/scope-tags/", {"name": "Mine"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/scope-tags/{tag_a.pk}/", {"name": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/scope-tags/{tag_b.pk}/").status_code == 403
    assert ScopeTag.objects.filter(name="Tag B").exists()


def test_user_without_role_sees_nothing(make_user, api_client_for, tag_a):
    client = api_client_for(make_user("nobody"))
    assert client.get("/api/v1/scope-tags/").status_code == 403
    assert client.get("/api/v1/audit-events/").status_code == 403


def test_audit_events_are_scoped_and_immutable(admin_api, reader_a, api_client_for, tag_a, tag_b):
    from depportal.audit.services import audit_record

    audit_record(actor=None, action="sync", object_type="token", object_repr="A token", scope_tags=[tag_a])
    audit_record(actor=None, action="sync", object_type="token", object_repr="B token", scope_tags=[tag_b])
    reader = api_client_for(reader_a)
    seen = [event["object_repr"] for event in reader.get("/api/v1/audit-events/?object_type=token").json()["results"]]
    assert seen == ["A token"]
    all_seen = admin_api.get("/api/v1/audit-events/?object_type=token").json()["results"]
    assert {event["object_repr"] for event in all_seen} == {"A token", "B token"}
    event_id = all_seen[0]["id"]
    assert admin_api.delete(f"/api/v1/audit-events/{event_id}/").status_code == 405
    assert admin_api.patch(f"/api/v1/audit-events/{event_id}/", {}, format="json").status_code == 405


def test_audit_log_never_stores_secrets():
    from depportal.audit.services import audit_record

    event = audit_record(
        actor=None, action="create", object_type="token", changes={"consumer_secret": "CS_x", "name": "ok"}
    )
    assert event.changes == {"consumer_secret": "[redacted]", "name": "ok"}


def test_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_openapi_schema_is_valid_and_docs_render(admin_user, client):
    client.force_login(admin_user)
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    validate(document)
    assert "/api/v1/scope-tags/" in document["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
