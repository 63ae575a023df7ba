import pytest

from depportal.accounts.models import ApiToken, Role, RoleAssignment
from depportal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_console_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_tenant_administration_is_for_administrators(client, reader_a, tag_a, tag_b):
    client.force_login(reader_a)
    assert client.get("/").status_code == 200
    assert client.get("/tenant/roles/").status_code == 403
    assert client.get(f"/tenant/scope-tags/{tag_a.pk}/").status_code == 403
    assert client.post("/tenant/scope-tags/", {"name": "sneaky"}).status_code == 403
    page = client.get("/tenant/scope-tags/").content.decode()
    assert "Tag A" in page and "Tag B" not in page


def test_user_without_role_cannot_open_the_console(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get("/").status_code == 403


def test_admin_assigns_a_role_in_the_console(client, admin_user, make_user, tag_a):
    bob = make_user("bob")
    client.force_login(admin_user)
    missing_tags = client.post("/tenant/roles/", {"user": bob.pk, "role": Role.READ_ONLY})
    assert "Choose at least one scope tag." in missing_tags.content.decode()
    response = client.post("/tenant/roles/", {"user": bob.pk, "role": Role.READ_ONLY, "scope_tags": [tag_a.pk]})
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=bob)
    assert list(assignment.scope_tags.all()) == [tag_a]
    assert client.post(f"/tenant/roles/assignments/{assignment.pk}/remove/").status_code == 302
    assert not RoleAssignment.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(object_type="role_assignment", action="remove_role").exists()


def test_api_token_key_is_shown_once(client, admin_user):
    client.force_login(admin_user)
    created = client.post("/tenant/api-tokens/", {"name": "ci"}).content.decode()
    token = ApiToken.objects.get(name="ci")
    assert "Copy the key" in created and token.prefix in created
    again = client.get("/tenant/api-tokens/").content.decode()
    assert "Copy the key" not in again and token.prefix in again


@pytest.mark.browser
def test_sign_in_navigate_the_shell_and_read_the_audit_log(signed_in, live_server, admin_user, screenshot_dir):
    page = signed_in("admin", "admin-pass-123")
    assert page.locator("h1").inner_text() == "Home"
    page.click("text=Scope tags")
    page.fill("#id_name", "Schools")
    page.fill("#id_description", "Every school device")
    page.click("button:text-is('Create')")
    assert "Scope tag Schools created." in page.locator(".messages").inner_text()
    assert "Schools" in page.locator("#scope-tags").inner_text()
    page.click("nav.sidenav >> text=Audit logs")
    page.wait_for_url("**/tenant/audit/**")
    row = page.locator("#audit-events tbody tr").first
    assert "admin" in row.inner_text() and "Schools" in row.inner_text()
    page.screenshot(path=f"{screenshot_dir}/audit-log.png", full_page=True)
    page.click("nav.sidenav >> text=Enrollment program tokens")
    assert page.locator("h1").inner_text() == "Enrollment program tokens"
    assert page.locator(".breadcrumbs").inner_text().startswith("Home")
    requests_outside = []
    page.on(
        "request",
        lambda request: requests_outside.append(request.url) if not request.url.startswith(live_server.url) else None,
    )
    page.reload()
    assert requests_outside == []


@pytest.mark.browser
def test_shell_is_usable_on_a_tablet(page, signed_in, admin_user):
    page.set_viewport_size({"width": 768, "height": 1024})
    signed_in("admin", "admin-pass-123")
    assert not page.locator("#sidenav").is_visible()
    page.click(".nav-toggle")
    assert page.locator("#sidenav").is_visible()
    page.click("#sidenav >> text=Roles")
    assert page.locator("h1").inner_text() == "Roles"
