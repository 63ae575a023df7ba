"""Review + create says what the profile does: hidden screens as hidden, the right device, Company Portal."""

import base64
import re

import pytest
from django.urls import reverse

from profiles import services
from profiles.models import EnrollmentProfile
from tests.factories import certificate_bytes, vpp_token_file

pytestmark = pytest.mark.django_db

BASE = {"name": "P", "supervised": "yes", "sync_with_computers": "allow_all", "await_final_configuration": "yes"}


def review(client, token, post, platform="ios"):
    url = reverse("profiles:profile_create", args=[token.pk]) + f"?platform={platform}"
    page = client.post(url, {**BASE, **post, "action": "review"})
    assert page.context["step"] == 4, page.context["form"].errors
    return page.content.decode()


def settings_of(html: str) -> dict[str, str]:
    block = html[html.index('id="review-settings"') :]
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block[: block.index("</dl>")]))


def test_review_lists_hidden_screens_as_hidden(apple, client, token, admin_user):
    client.force_login(admin_user)
    html = review(
        client,
        token,
        {
            "user_affinity": "with_user",
            "auth_method": "setup_assistant",
            "screen_Siri": "hide",
            "screen_Intelligence": "hide",
        },
    )
    assert settings_of(html)["Setup Assistant screens hidden"] == "Apple Intelligence, Siri"
    assert "Setup Assistant skips these hidden screens: Apple Intelligence, Siri." in html
    assert "This iPhone is managed by" in html


def test_review_of_a_shared_ipad_says_ipad(apple, client, token, admin_user):
    client.force_login(admin_user)
    html = review(client, token, {"user_affinity": "without_user", "shared_ipad": "yes"})
    assert "This iPad is managed by" in html and "This iPhone" not in html
    assert settings_of(html)["Shared iPad"] == "Yes"
    assert "Shared iPad only takes effect on iPads" in html  # the warning


def test_review_with_company_portal_authentication_says_it_installs_it(apple, client, token, admin_user):
    vpp = services.vpp_token_create(
        actor=admin_user, token_file=vpp_token_file(org="Contoso Ltd"), name="Contoso Ltd", licenses_total=50
    )
    client.force_login(admin_user)
    html = review(client, token, {"user_affinity": "with_user", "auth_method": "company_portal", "vpp_token": vpp.pk})
    rows = settings_of(html)
    assert rows["Install Company Portal"] == "Yes (Company Portal authentication installs it)"
    assert rows["Install Company Portal with VPP"] == "Contoso Ltd"


def test_review_of_a_mac_and_its_settings(apple, client, token, admin_user):
    client.force_login(admin_user)
    html = review(
        client,
        token,
        {"user_affinity": "with_user", "language": "fr", "region": "FR", "screen_FileVault": "hide"},
        platform="macos",
    )
    assert "This Mac is managed by" in html
    rows = settings_of(html)
    assert rows["Language"] == "fr" and rows["Region"] == "FR" and "Install Company Portal" not in rows


def test_console_sets_web_sign_in_and_anchor_certificates(apple, client, token, admin_user):
    der = certificate_bytes("Acme Root", pem=True).decode()
    client.force_login(admin_user)
    url = reverse("profiles:profile_create", args=[token.pk])
    post = {
        **BASE,
        "user_affinity": "with_user",
        "auth_method": "setup_assistant",
        "web_sign_in_url": "https://login.acme.test/enroll",
        "anchor_certs": der,
        "support_email": "help@acme.test",
        "action": "save",
    }
    assert client.post(url, post).status_code == 302
    profile = EnrollmentProfile.objects.get()
    body = {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid]
    assert body["configuration_web_url"] == "https://login.acme.test/enroll"
    assert body["support_email_address"] == "help@acme.test"
    pem_body = "".join(der.strip().splitlines()[1:-1])
    assert body["anchor_certs"] == [pem_body] and base64.b64decode(pem_body)
    edit = client.get(reverse("profiles:profile_edit", args=[profile.pk])).content.decode()
    assert "-----BEGIN CERTIFICATE-----" in edit


def test_next_checks_each_step_with_the_api_rules(apple, client, token, admin_user):
    client.force_login(admin_user)
    url = reverse("profiles:profile_create", args=[token.pk])
    post = {**BASE, "name": "", "user_affinity": "with_user", "sync_with_computers": "certificate"}
    step1 = client.post(url, {**post, "action": "check", "step": "1"}).json()
    assert step1["errors"] == {"name": ["A profile needs a name."]} and step1["steps"] == {"name": 1}
    step2 = client.post(url, {**post, "name": "Lab", "action": "check", "step": "2"}).json()
    assert list(step2["errors"]) == ["configurator_certificates"]
    assert "at least one certificate" in step2["errors"]["configurator_certificates"][0]
    ok = client.post(url, {**post, "name": "Lab", "sync_with_computers": "allow_all", "action": "check", "step": "2"})
    assert ok.json() == {"errors": {}, "steps": {}}
    assert not EnrollmentProfile.objects.exists()


def test_certificate_upload_from_the_wizard_answers_json(client, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from profiles.models import ConfiguratorCertificate

    client.force_login(admin_user)
    url = reverse("profiles:certificate_upload")
    bad = client.post(url, {"certificate_file": SimpleUploadedFile("x.cer", b"nope")}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "certificate_file" in bad.json()["errors"]
    assert not ConfiguratorCertificate.objects.exists()
    good = client.post(
        url,
        {"certificate_file": SimpleUploadedFile("x.cer", certificate_bytes("Lab Mac"))},
        HTTP_ACCEPT="application/json",
    )
    assert good.status_code == 201 and good.json()["name"] == "Lab Mac"
