"""Company Portal licence counts come from Apple's Apps and Books service (depsim here), not from typing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from depportal.accounts.models import Role
from depportal.audit.models import AuditEvent
from profiles import services
from profiles.forms import ProfileForm
from profiles.models import VppToken
from profiles.tasks import refresh_vpp_licences
from tests.factories import vpp_token_file

pytestmark = pytest.mark.django_db
COMPANY_PORTAL = "719171358"


@pytest.fixture
def location(apple):
    place = apple.vpp_create_location("Head office", org_name="Acme Inc", days=200)
    apple.vpp_set_asset(place["s_token"], COMPANY_PORTAL, total=10, assigned=4)
    apple.vpp_set_asset(place["s_token"], "361309726", total=50, assigned=0)  # Pages: not counted
    return place


def _upload(client, place, **extra):
    return client.post(
        reverse("profiles:vpp_token_upload"),
        {"token_file": SimpleUploadedFile("a.vpptoken", place["vpptoken"].encode()), **extra},
        follow=True,
    )


def test_upload_reads_the_counts_from_apple_and_says_so(apple, location, client, admin_user):
    client.force_login(admin_user)
    html = _upload(client, location, licenses_total=999, licenses_used=0).content.decode()
    vpp = VppToken.objects.get()
    assert (vpp.cp_licenses_used, vpp.cp_licenses_total) == (4, 10)  # Apple's, not the typed 999
    assert vpp.location_name == "Head office" and vpp.licenses_checked_at and not vpp.licenses_error
    assert "Apple reports 6 of 10 Company Portal licenses free" in html
    assert AuditEvent.objects.filter(action="refresh_licenses", object_id=str(vpp.pk)).exists()


def test_refresh_on_demand_labels_exhausted_and_expired_tokens_everywhere(apple, location, token, client, admin_user):
    client.force_login(admin_user)
    _upload(client, location)
    vpp = VppToken.objects.get()
    apple.vpp_set_asset(location["s_token"], COMPANY_PORTAL, total=10, assigned=10)
    html = client.post(reverse("profiles:vpp_token_refresh", args=[vpp.pk]), follow=True).content.decode()
    assert "no Company Portal licenses left" in html and "No licenses left" in html
    vpp.refresh_from_db()
    assert vpp.licenses_left == 0
    choices = dict(ProfileForm(user=admin_user).fields["vpp_token"].choices)
    assert any("(no Company Portal licenses left)" in str(label) for label in choices.values())

    VppToken.objects.filter(pk=vpp.pk).update(expires_at="2020-01-01T00:00:00Z")
    html = client.get(reverse("profiles:vpp_token_list")).content.decode()
    assert '<span class="badge badge-err">Expired</span>' in html
    assert any(
        "(expired)" in str(label) for label in dict(ProfileForm(user=admin_user).fields["vpp_token"].choices).values()
    )


def test_refused_or_unreachable_apple_keeps_the_counts_and_says_why(apple, location, client, admin_user):
    client.force_login(admin_user)
    _upload(client, location)
    vpp = VppToken.objects.get()
    apple.vpp_revoke(location["s_token"])
    html = client.post(reverse("profiles:vpp_token_refresh", args=[vpp.pk]), follow=True).content.decode()
    vpp.refresh_from_db()
    assert "Apple refused this VPP token" in vpp.licenses_error and "Apple refused this VPP token" in html
    assert (vpp.cp_licenses_used, vpp.cp_licenses_total) == (4, 10)
    assert "Not read" in client.get(reverse("profiles:vpp_token_list")).content.decode()


def test_company_portal_missing_at_the_location(apple, client, admin_user):
    place = apple.vpp_create_location("Branch")
    client.force_login(admin_user)
    html = _upload(client, place).content.decode()
    vpp = VppToken.objects.get()
    assert vpp.cp_licenses_total == 0 and "Company Portal is not among this location" in vpp.licenses_error
    assert "Company Portal is not among this location" in html


def test_upload_warns_about_expiry(apple, client, admin_user):
    soon = apple.vpp_create_location("Soon", days=5)
    apple.vpp_set_asset(soon["s_token"], COMPANY_PORTAL, total=10, assigned=1)
    client.force_login(admin_user)
    html = _upload(client, soon).content.decode()
    assert "expires in 4 day" in html or "expires in 5 day" in html
    expired = client.post(
        reverse("profiles:vpp_token_upload"),
        {"token_file": SimpleUploadedFile("old.vpptoken", vpp_token_file(s_token="old", days=-3))},
        follow=True,
    ).content.decode()
    assert "expired on" in expired and "was uploaded" in expired
    assert 'class="message message-success"' not in expired.split("expired on")[0].rsplit("<div", 1)[-1]


def test_schedule_and_api_refresh(apple, location, admin_user, admin_api, make_user, api_client_for, tag_a, tag_b):
    vpp = services.vpp_token_create(actor=admin_user, token_file=location["vpptoken"].encode(), scope_tags=[tag_b])
    apple.vpp_set_asset(location["s_token"], COMPANY_PORTAL, total=20, assigned=5)
    assert refresh_vpp_licences() == 1
    vpp.refresh_from_db()
    assert (vpp.cp_licenses_used, vpp.cp_licenses_total) == (5, 20)
    system = AuditEvent.objects.filter(action="refresh_licenses", actor_name="system")
    assert system.exists()

    apple.vpp_set_asset(location["s_token"], COMPANY_PORTAL, total=20, assigned=7)
    body = admin_api.post(f"/api/v1/vpp-tokens/{vpp.pk}/refresh/").json()
    assert body["cp_licenses_used"] == 7 and body["location_name"] == "Head office" and body["licenses_error"] == ""
    reader = api_client_for(make_user("reader", Role.READ_ONLY, [tag_b]))
    assert reader.post(f"/api/v1/vpp-tokens/{vpp.pk}/refresh/").status_code == 403
    outsider = api_client_for(make_user("outsider", Role.ENROLLMENT_MANAGER, [tag_a]))
    assert outsider.post(f"/api/v1/vpp-tokens/{vpp.pk}/refresh/").status_code == 404
    assert admin_api.post("/api/v1/vpp-tokens/999999/refresh/").status_code == 404
    vpp.refresh_from_db()
    assert vpp.cp_licenses_used == 7


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_and_refresh_in_the_browser(
    apple, location, admin_user, signed_in, live_server, tmp_path, screenshot_dir
):
    page = signed_in("admin", "admin-pass-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.click("nav.sidenav >> text=Apple VPP tokens")
    page.click("#upload-vpp")
    file = tmp_path / "head-office.vpptoken"
    file.write_text(location["vpptoken"])
    page.set_input_files("#id_token_file", str(file))
    page.click("button:text-is('Save')")
    page.wait_for_url("**/vpp-tokens/")
    assert "Apple reports 6 of 10 Company Portal licenses free" in page.inner_text(".messages")
    row = page.inner_text("#vpp-tokens tbody tr")
    assert "4 / 10" in row and "Head office" in row and "Active" in row
    apple.vpp_set_asset(location["s_token"], COMPANY_PORTAL, total=10, assigned=10)
    vpp = VppToken.objects.get()
    page.click(f"#refresh-{vpp.pk}")
    page.wait_for_url("**/vpp-tokens/")
    assert "No licenses left" in page.inner_text("#vpp-tokens tbody tr")
    page.screenshot(path=f"{screenshot_dir}/vpp-tokens.png", full_page=True)
