"""Console pages: wizard review and create, edit preview, assignment preview, default profile, VPP, scope."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from depportal.accounts.models import Role
from devices.models import Device
from profiles import services
from profiles.models import EnrollmentProfile, VppToken
from tests.factories import certificate_bytes, vpp_token_file

pytestmark = pytest.mark.django_db

WIZARD = {
    "name": "Console profile",
    "user_affinity": "with_user",
    "auth_method": "setup_assistant",
    "supervised": "yes",
    "locked_enrollment": "yes",
    "sync_with_computers": "deny_all",
    "await_final_configuration": "yes",
    "department": "Help desk",
    "department_phone": "+44 20 7946 0000",
    "screen_Siri": "hide",
    "screen_Passcode": "show",
}


def test_wizard_reviews_then_creates(apple, client, token, admin_user):
    client.force_login(admin_user)
    url = reverse("profiles:profile_create", args=[token.pk])
    assert "Setup Assistant customization" in client.get(url).content.decode()
    review = client.post(url, {**WIZARD, "action": "review"})
    html = review.content.decode()
    assert review.context["step"] == 4 and not EnrollmentProfile.objects.exists()
    assert "This iPhone is managed by Example Org" in html and "About Configuration: Help desk" in html
    assert "<dt>Setup Assistant screens hidden</dt><dd>Siri</dd>" in html
    response = client.post(url, {**WIZARD, "action": "save"}, follow=True)
    profile = EnrollmentProfile.objects.get()
    assert "was created and sent to Apple" in response.content.decode()
    assert profile.locked_enrollment and profile.skip_setup_items == ["Siri"]
    stored = {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid]
    assert stored["is_mdm_removable"] is False and stored["allow_pairing"] is False


def test_edit_review_lists_changes_and_devices_to_reassign(apple, client, token, admin_user, make_devices):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "Edit me"})
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=make_devices(token, count=2))
    client.force_login(admin_user)
    url = reverse("profiles:profile_edit", args=[profile.pk])
    page = client.post(url, {**WIZARD, "name": "Edit me", "action": "review"})
    preview = page.context["preview"]
    assert preview.devices_to_reassign == 2 and ("Locked enrollment", "No", "Yes") in preview.changes
    html = page.content.decode()
    assert 'id="reassign-count">2<' in html and "only pick up the change after a wipe" in html
    response = client.post(url, {**WIZARD, "name": "Edit me", "action": "save"})
    job = EnrollmentProfile.objects.get().assignment_jobs.get(action="reassign")
    assert response["Location"] == reverse("profiles:job_detail", args=[job.pk])
    assert job.counts() == {"SUCCESS": 2}


def test_assign_previews_matched_and_unknown_serials(apple, client, token, admin_user, make_devices):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P"})
    serials = make_devices(token, count=3)
    client.force_login(admin_user)
    url = reverse("profiles:profile_assign", args=[profile.pk])
    csv_file = SimpleUploadedFile("serials.csv", f"{serials[1]},iPad Air\nUNKNOWN1,Lost\n".encode())
    page = client.post(url, {"serial_numbers": serials[0], "csv_file": csv_file, "device": [serials[2]]})
    assert sorted(page.context["known"]) == sorted(serials) and page.context["unknown"] == ["UNKNOWN1"]
    assert not Device.objects.filter(assigned_profile=profile).exists()  # nothing sent before confirming
    response = client.post(url, {"confirm": "yes", "serial": serials}, follow=True)
    assert response.context["job"].counts() == {"SUCCESS": 3}
    assert Device.objects.filter(assigned_profile=profile).count() == 3


def test_default_profile_and_list(apple, client, token, admin_user):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "Base"})
    client.force_login(admin_user)
    assert reverse("profiles:profile_list", args=[token.pk]) in client.get(f"/tokens/{token.pk}/").content.decode()
    client.post(reverse("profiles:default_profile", args=[token.pk]), {"profile_ios": profile.pk})
    html = client.get(reverse("profiles:profile_list", args=[token.pk])).content.decode()
    assert "Base" in html and "Default" in html and "Pushed" in html


def test_delete_asks_for_confirmation_when_in_use(apple, client, token, admin_user, make_devices):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P"})
    services.profile_assign_devices(actor=admin_user, profile=profile, serials=make_devices(token, count=1))
    client.force_login(admin_user)
    url = reverse("profiles:profile_delete", args=[profile.pk])
    assert "1 device</strong> uses this profile" in client.get(url).content.decode()
    client.post(url)
    assert not EnrollmentProfile.objects.exists()


def test_vpp_token_and_certificate_pages(client, admin_user):
    client.force_login(admin_user)
    client.post(
        reverse("profiles:vpp_token_upload"),
        {"token_file": SimpleUploadedFile("t.vpptoken", vpp_token_file()), "licenses_total": 3, "licenses_used": 3},
    )
    vpp = VppToken.objects.get()
    html = client.get(reverse("profiles:vpp_token_list")).content.decode()
    assert "Acme Inc" in html and "no Company Portal licenses left" in html
    client.post(
        reverse("profiles:vpp_token_edit", args=[vpp.pk]),
        {"name": "Renamed", "licenses_total": 10, "licenses_used": 3},
    )
    assert VppToken.objects.get().name == "Renamed"
    client.post(
        reverse("profiles:certificate_upload"),
        {"certificate_file": SimpleUploadedFile("c.pem", certificate_bytes("Mac B", pem=True))},
    )
    assert "CN=Mac B" in client.get(reverse("profiles:vpp_token_list")).content.decode()


def test_console_scope(apple, client, onboard, admin_user, make_user, tag_a, tag_b):
    token_b = onboard(admin_user, server_name="B", tags=[tag_b])
    profile_b = services.profile_create(actor=admin_user, token=token_b, values={"name": "PB"})
    client.force_login(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]))
    for url in [
        reverse("profiles:profile_list", args=[token_b.pk]),
        reverse("profiles:profile_create", args=[token_b.pk]),
        reverse("profiles:default_profile", args=[token_b.pk]),
        reverse("profiles:profile_detail", args=[profile_b.pk]),
        reverse("profiles:profile_edit", args=[profile_b.pk]),
        reverse("profiles:profile_assign", args=[profile_b.pk]),
        reverse("profiles:profile_delete", args=[profile_b.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("profiles:profile_delete", args=[profile_b.pk])).status_code == 404
    assert EnrollmentProfile.objects.filter(pk=profile_b.pk).exists()
