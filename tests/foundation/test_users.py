"""Tenant administration > Users: console and API alike, every change audited, hostile input refused."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from depportal.accounts.models import ApiToken, Role, RoleAssignment
from depportal.accounts.services import api_token_create
from depportal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
User = get_user_model()


def _audited(action, username):
    return AuditEvent.objects.filter(object_type="user", action=action, object_repr=username).exists()


def test_admin_creates_a_user_with_a_one_time_link_who_sets_a_password(client, admin_user):
    client.force_login(admin_user)
    page = client.post("/tenant/users/add/", {"username": "carol", "email": "carol@example.com"})
    html = page.content.decode()
    assert page.status_code == 200 and "one-time link" in html
    carol = User.objects.get(username="carol")
    assert not carol.has_usable_password() and _audited("create", "carol") and _audited("reset_password", "carol")
    link = re.search(r'id="reset-link-value">([^<]+)<', html).group(1)
    path = link.removeprefix("http://testserver")

    client.logout()
    form_page = client.get(path, follow=True)
    assert "Choose your password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert "too short" in weak.content.decode()
    done = client.post(set_url, {"new_password1": "a long new pass 42", "new_password2": "a long new pass 42"})
    assert done.status_code == 302
    carol.refresh_from_db()
    assert carol.check_password("a long new pass 42") and _audited("set_password", "carol")
    # The link works once.
    again = client.get(path, follow=True).content.decode()
    assert "used already or has expired" in again


def test_user_page_sets_every_role_with_its_tags_in_one_place(client, admin_user, make_user, tag_a, tag_b):
    bob = make_user("bob", Role.READ_ONLY, [tag_a])
    client.force_login(admin_user)
    html = client.get(f"/tenant/users/{bob.pk}/").content.decode()
    assert "Roles and scope tags" in html and "bob has no API tokens" in html
    response = client.post(
        f"/tenant/users/{bob.pk}/",
        {
            "action": "roles",
            "role_enrollment_manager": "on",
            "tags_enrollment_manager": [tag_b.pk],
        },
    )
    assert response.status_code == 302
    assert {(a.role, tuple(t.name for t in a.scope_tags.all())) for a in bob.role_assignments.all()} == {
        (Role.ENROLLMENT_MANAGER, ("Tag B",))
    }
    assert AuditEvent.objects.filter(action="remove_role", object_type="role_assignment").exists()
    # A role ticked without tags grants nothing: refused, nothing changes.
    refused = client.post(f"/tenant/users/{bob.pk}/", {"action": "roles", "role_read_only": "on"})
    assert "Choose at least one scope tag" in refused.content.decode()
    assert list(bob.role_assignments.values_list("role", flat=True)) == [Role.ENROLLMENT_MANAGER]


def test_disable_edit_and_delete_with_confirmation(client, admin_user, make_user, api_client_for, tag_a):
    dave = make_user("dave", Role.READ_ONLY, [tag_a])
    api = api_client_for(dave)
    assert api.get("/api/v1/scope-tags/").status_code == 200
    client.force_login(admin_user)
    bad = client.post(f"/tenant/users/{dave.pk}/", {"action": "profile", "email": "not-an-email"})
    assert "Enter a valid email address" in bad.content.decode()
    client.post(f"/tenant/users/{dave.pk}/", {"action": "profile", "email": "dave@example.com"})
    dave.refresh_from_db()
    assert dave.email == "dave@example.com" and not dave.is_active
    assert _audited("disable", "dave")
    assert api.get("/api/v1/scope-tags/").status_code == 401
    listed = client.get("/tenant/users/").content.decode()
    assert "Disabled" in listed and "dave@example.com" in listed

    confirm = client.get(f"/tenant/users/{dave.pk}/delete/").content.decode()
    assert "1 API token stop working" in confirm and "disable it instead" in confirm
    assert client.post(f"/tenant/users/{dave.pk}/delete/").status_code == 302
    assert not User.objects.filter(username="dave").exists() and not ApiToken.objects.filter(user_id=dave.pk).exists()
    assert _audited("delete", "dave")


def test_nobody_locks_the_tenant_out(client, admin_user, make_user):
    client.force_login(admin_user)
    assert (
        "cannot disable your own account"
        in client.post(f"/tenant/users/{admin_user.pk}/", {"action": "profile", "email": ""}).content.decode()
    )
    response = client.post(f"/tenant/users/{admin_user.pk}/delete/", follow=True)
    assert "cannot delete your own account" in response.content.decode()
    other = make_user("root2", Role.ADMINISTRATOR)
    client.force_login(other)
    # root2 is not the last administrator (admin is a superuser), but cannot demote themself.
    refused = client.post(f"/tenant/users/{other.pk}/", {"action": "roles"})
    assert "cannot take the Administrator role from yourself" in refused.content.decode()
    assert RoleAssignment.objects.filter(user=other, role=Role.ADMINISTRATOR).exists()
    assert admin_user.__class__.objects.get(pk=admin_user.pk).is_active


def test_user_pages_are_for_administrators_only(client, manager_a, reader_a):
    for user in (manager_a, reader_a):
        client.force_login(user)
        for url in (
            "/tenant/users/",
            "/tenant/users/add/",
            f"/tenant/users/{user.pk}/",
            f"/tenant/users/{user.pk}/delete/",
        ):
            assert client.get(url).status_code == 403
        assert (
            client.post(f"/tenant/users/{user.pk}/", {"action": "roles", "role_administrator": "on"}).status_code
            == 403
        )
    assert not RoleAssignment.objects.filter(role=Role.ADMINISTRATOR).exists()
    client.force_login(reader_a)
    assert client.get("/tenant/users/999999/").status_code == 403


def test_admin_sees_and_revokes_a_users_api_tokens(client, admin_user, reader_a):
    token, _ = api_token_create(actor=reader_a, user=reader_a, name="reader script", expires_in_days=30)
    client.force_login(admin_user)
    html = client.get(f"/tenant/users/{reader_a.pk}/").content.decode()
    assert "reader script" in html and token.prefix in html and f"{token.expires_at:%Y-%m-%d}" in html
    client.post(f"/tenant/users/{reader_a.pk}/", {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.post(f"/tenant/users/{admin_user.pk}/", {"action": "revoke", "token": token.pk}).status_code == 404


def test_api_tokens_expire_and_record_last_use(admin_user, reader_a):
    token, key = api_token_create(actor=None, user=reader_a, name="short", expires_in_days=1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/scope-tags/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get("/api/v1/scope-tags/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_api_token_expiry_in_console_and_api(client, admin_user, admin_api):
    client.force_login(admin_user)
    client.post("/tenant/api-tokens/", {"name": "ci", "expires_in_days": "30"})
    ci = ApiToken.objects.get(name="ci")
    assert (ci.expires_at - timezone.now()).days in (29, 30)
    refused = client.post("/tenant/api-tokens/", {"name": "forever", "expires_in_days": "100000"})
    assert "Select a valid choice" in refused.content.decode() and not ApiToken.objects.filter(name="forever").exists()
    created = admin_api.post("/api/v1/api-tokens/", {"name": "deploy"}, format="json").json()
    assert created["expires_at"] is not None
    for bad in (0, 731, "soon", None):
        response = admin_api.post("/api/v1/api-tokens/", {"name": "bad", "expires_in_days": bad}, format="json")
        assert response.status_code == 400 and "expires_in_days" in response.json()["fields"]
    assert not ApiToken.objects.filter(name="bad").exists()


def test_users_over_the_api(admin_api, admin_user, manager_a, api_client_for, tag_a, tag_b):
    created = admin_api.post("/api/v1/users/", {"username": "erin", "email": "erin@example.com"}, format="json")
    assert created.status_code == 201
    erin = created.json()["id"]
    link = admin_api.post(f"/api/v1/users/{erin}/password-reset/").json()
    assert link["link"].startswith("http://testserver/password/") and link["valid_until"]

    roles = admin_api.put(
        f"/api/v1/users/{erin}/roles/",
        {
            "roles": [
                {"role": "read_only", "scope_tags": [tag_a.pk]},
                {"role": "enrollment_manager", "scope_tags": [tag_b.pk]},
            ]
        },
        format="json",
    )
    assert roles.status_code == 200 and {a["role"] for a in roles.json()["role_assignments"]} == {
        "read_only",
        "enrollment_manager",
    }
    for body, field in (
        ({"roles": [{"role": "god"}]}, "roles"),
        ({"roles": [{"role": "read_only"}]}, "scope_tags"),
        ({"roles": [{"role": "read_only", "scope_tags": [999999]}]}, "roles"),
        (
            {
                "roles": [
                    {"role": "read_only", "scope_tags": [tag_a.pk]},
                    {"role": "read_only", "scope_tags": [tag_a.pk]},
                ]
            },
            "roles",
        ),
        ({"roles": "read_only"}, "roles"),
    ):
        response = admin_api.put(f"/api/v1/users/{erin}/roles/", body, format="json")
        assert response.status_code == 400 and field in response.json()["fields"], body
    assert RoleAssignment.objects.filter(user_id=erin).count() == 2

    patched = admin_api.patch(f"/api/v1/users/{erin}/", {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert admin_api.patch(f"/api/v1/users/{erin}/", {"email": "nope"}, format="json").status_code == 400
    assert admin_api.post(f"/api/v1/users/{erin}/password-reset/").status_code == 400
    assert admin_api.get(f"/api/v1/users/{erin}/api-tokens/").json() == []
    own = admin_api.patch(f"/api/v1/users/{admin_user.pk}/", {"is_active": False}, format="json")
    assert own.status_code == 400 and "your own account" in own.json()["detail"]
    assert admin_api.delete(f"/api/v1/users/{admin_user.pk}/").status_code == 400

    manager = api_client_for(manager_a)
    assert manager.patch(f"/api/v1/users/{erin}/", {"is_active": True}, format="json").status_code == 403
    assert (
        manager.put(
            f"/api/v1/users/{manager_a.pk}/roles/", {"roles": [{"role": "administrator"}]}, format="json"
        ).status_code
        == 403
    )
    assert manager.delete(f"/api/v1/users/{erin}/").status_code == 403
    assert User.objects.get(pk=erin).is_active is False

    assert admin_api.delete(f"/api/v1/users/{erin}/").status_code == 204
    assert not User.objects.filter(pk=erin).exists()
    assert AuditEvent.objects.filter(object_type="user", object_repr="erin", action="delete").exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_navigation_shows_only_what_the_role_can_use(
    signed_in, live_server, admin_user, make_user, tag_a, screenshot_dir
):
    make_user("reader", Role.READ_ONLY, [tag_a])
    page = signed_in("reader", "reader-pass-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    tenant = page.inner_text("#nav-tenant")
    assert "Scope tags" in tenant and "Audit logs" in tenant
    assert "Users" not in tenant and "Roles" not in tenant
    page.goto(f"{live_server.url}/tenant/users/")
    assert page.inner_text("#error-page h1") == "You cannot open this page"
    assert page.is_visible("nav.sidenav")  # the error is shown in the console's layout
    page.screenshot(path=f"{screenshot_dir}/error-403.png")
    page.goto(f"{live_server.url}/tokens/424242/")
    assert page.inner_text("#error-page h1") == "Not found"
    page.screenshot(path=f"{screenshot_dir}/error-404.png")

    page.click("text=Sign out")
    page = signed_in("admin", "admin-pass-123")
    page.click("nav.sidenav >> text=Users")
    page.click("#add-user")
    page.fill("#id_username", "frank")
    page.click("button:text-is('Add user')")
    assert "one-time link" in page.inner_text("#reset-link")
    page.check("input[name=role_read_only]")
    page.check(f"input[name=tags_read_only][value='{tag_a.pk}']")
    page.click("button:text-is('Save roles')")
    assert "Roles of frank saved." in page.inner_text(".messages")
    page.screenshot(path=f"{screenshot_dir}/user-detail.png", full_page=True)
    page.click("nav.sidenav >> text=Roles")
    assert "No role" not in page.inner_text("#users tr:has-text('admin')")
    assert "Superuser" in page.inner_text("#users tr:has-text('admin')")
    page.click("nav.sidenav >> text=Users")
    page.screenshot(path=f"{screenshot_dir}/user-list.png")


def test_no_role_user_gets_a_styled_403_without_dead_links(client, make_user):
    client.force_login(make_user("nobody"))
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 403 and "You hold no role yet" in html
    assert "Enrollment program tokens" not in html and "Audit logs" not in html and "Sign out" in html


def test_a_crash_renders_the_styled_500_page():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "console.css" in html


def test_hostile_user_input_is_refused_and_nothing_changes(client, admin_user, make_user):
    make_user("taken")
    client.force_login(admin_user)
    before = User.objects.count()
    for data, message in (
        ({"username": "<script>alert(1)</script>"}, "Enter a valid username"),
        ({"username": "TAKEN"}, "This name is taken"),
        ({"username": "weak", "password": "123"}, "too short"),
        ({"username": "weak", "password": "password123"}, "too common"),
        ({"username": "x" * 151}, "at most 150 characters"),
        ({"username": "mail", "email": "not@an@email"}, "Enter a valid email address"),
        ({"username": ""}, "This field is required"),
    ):
        html = client.post("/tenant/users/add/", data).content.decode()
        assert message in html, data
    assert User.objects.count() == before
    assert "&lt;script&gt;" in client.post("/tenant/users/add/", {"username": "<script>"}).content.decode()

    victim = make_user("victim")
    victim.is_active = False
    victim.save()
    html = client.post(f"/tenant/users/{victim.pk}/", {"action": "reset_password"}, follow=True).content.decode()
    assert "Enable this account before resetting its password" in html
    assert (
        "Unknown action"
        in client.post(f"/tenant/users/{victim.pk}/", {"action": "sudo"}, follow=True).content.decode()
    )
    foreign = client.post(
        f"/tenant/users/{victim.pk}/", {"action": "roles", "role_read_only": "on", "tags_read_only": [999999]}
    )
    assert "Select a valid choice" in foreign.content.decode()
    assert not victim.role_assignments.exists()
    assert client.get("/password/MQ/not-a-token/", follow=True).status_code == 200
    assert "used already or has expired" in client.get("/password/MQ/not-a-token/", follow=True).content.decode()
