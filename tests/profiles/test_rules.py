"""Every rule, through the service, the REST API and the console wizard: same errors, keyed to the same field."""

import pytest
from django.urls import reverse

from depportal.core.exceptions import ApplicationError
from profiles import services
from profiles.models import EnrollmentProfile, max_profiles_per_token
from profiles.rules import device_name_template_problems, expand_device_name
from tests.factories import certificate_bytes, profile_rows, vpp_token_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def vpp(admin_user):
    return services.vpp_token_create(
        actor=admin_user, token_file=vpp_token_file(), name="Main VPP", licenses_total=100, licenses_used=10
    )


PORTAL = {"user_affinity": "with_user", "auth_method": "company_portal"}

# (settings, field the error is keyed to, part of the message)
RULES = [
    ({"locked_enrollment": True, "supervised": False}, "locked_enrollment", "requires supervised"),
    ({"user_affinity": "without_user", "auth_method": "company_portal"}, "auth_method", "requires Enroll with User"),
    ({"user_affinity": "without_user", "install_company_portal": True}, "install_company_portal", "User Affinity"),
    ({"user_affinity": "without_user", "single_app_mode": True}, "single_app_mode", "User Affinity"),
    ({**PORTAL, "single_app_mode": True}, "single_app_mode", "requires a VPP token"),
    ({"single_app_mode": True, "vpp_token": "VPP"}, "single_app_mode", "authenticate with Company Portal"),
    ({"sync_with_computers": "certificate"}, "configurator_certificates", "at least one certificate"),
    ({"apply_device_name_template": True, "device_name_template": ""}, "device_name_template", "Enter a device"),
    ({"apply_device_name_template": True, "device_name_template": "{{NAME}}"}, "device_name_template", "Unknown"),
    ({"apply_device_name_template": True, "device_name_template": "a/b{{SERIAL}}"}, "device_name_template", "'/'"),
    (
        {"apply_device_name_template": True, "device_name_template": "x" * 50 + "{{serial}}{{DeviceType}}"},
        "device_name_template",
        "68 characters",
    ),
    ({"department_phone": "call us"}, "department_phone", "Enter a phone number"),
    ({"department_phone": "1" * 51}, "department_phone", "at most 50"),
    ({"department": "d" * 126}, "department", "at most 125"),
    ({"name": ""}, "name", "needs a name"),
    ({"name": "n" * 126}, "name", "at most 125"),
    ({"support_email": "help at acme"}, "support_email", "Enter an e-mail address"),
    ({"support_email": "h" * 246 + "@x.io"}, "support_email", "at most 250"),
    ({"org_magic": "m" * 257}, "org_magic", "at most 256"),
    ({"web_sign_in_url": "http://login.example.com/"}, "web_sign_in_url", "https address"),
    ({"web_sign_in_url": "https://login.example.com/" + "a" * 2000}, "web_sign_in_url", "at most 2000"),
    (
        {"user_affinity": "without_user", "web_sign_in_url": "https://login.example.com/"},
        "web_sign_in_url",
        "requires Enroll with User Affinity",
    ),
    ({"anchor_certs": ["bm90IGEgY2VydA=="]}, "anchor_certs", "Certificate 1 is not a base64 DER"),
    ({"shared_ipad": True}, "shared_ipad", "requires Enroll without User Affinity"),
    ({"shared_ipad": True, "user_affinity": "without_user", "supervised": False}, "shared_ipad", "supervised"),
    ({"language": "en"}, "language", "does not apply to iOS/iPadOS profiles"),
    ({"platform": "macos", "language": "english"}, "language", "ISO 639"),
    ({"platform": "macos", "region": "GB"}, "region", "Choose a language too"),
    ({"platform": "tvos", "language": "en", "region": "GB1"}, "region", "ISO 3166-1"),
    ({"platform": "macos", "shared_ipad": True}, "shared_ipad", "does not apply to macOS profiles"),
    ({"skip_setup_items": ["NotAScreen"]}, "skip_setup_items", "Not Apple skip keys for iOS/iPadOS: NotAScreen"),
    ({"skip_setup_items": ["ExpressLanguage"]}, "skip_setup_items", "Not Apple skip keys for iOS/iPadOS"),
    ({"skip_setup_items": ["FileVault"]}, "skip_setup_items", "Not Apple skip keys for iOS/iPadOS: FileVault"),
]


def _resolve(values, vpp):
    return {key: (vpp if value == "VPP" else value) for key, value in values.items()}


@pytest.mark.parametrize(("values", "field", "message"), RULES)
def test_rule_in_service(token, admin_user, vpp, values, field, message):
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(
            actor=admin_user, token=token, values={"name": "P", **_resolve(values, vpp)}, push=False
        )
    assert any(message in text for text in caught.value.fields[field]), caught.value.fields
    assert not EnrollmentProfile.objects.exists()


@pytest.mark.parametrize(("values", "field", "message"), RULES)
def test_rule_in_api(token, admin_api, vpp, values, field, message):
    body = {"token": token.pk, "name": "P", **{k: (vpp.pk if v == "VPP" else v) for k, v in values.items()}}
    response = admin_api.post("/api/v1/profiles/", body, format="json")
    assert response.status_code == 400, response.json()
    assert any(message in text for text in response.json()["fields"][field]), response.json()


def _wizard_post(values, vpp) -> dict:
    post = {
        "name": "P",
        "user_affinity": "with_user",
        "auth_method": "setup_assistant",
        "supervised": "yes",
        "sync_with_computers": "allow_all",
        "await_final_configuration": "yes",
        "action": "review",
    }
    for key, value in values.items():
        if key in ("skip_setup_items", "platform"):
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        post[key] = vpp.pk if value == "VPP" else value
    return post


# The console cannot post a setting its platform's wizard does not offer, nor skip keys it does not list.
CONSOLE_RULES = [rule for rule in RULES if rule[1] != "skip_setup_items" and "does not apply" not in rule[2]]


@pytest.mark.parametrize(("values", "field", "message"), CONSOLE_RULES)
def test_rule_in_console(client, token, admin_user, vpp, values, field, message):
    client.force_login(admin_user)
    url = reverse("profiles:profile_create", args=[token.pk]) + f"?platform={values.get('platform', 'ios')}"
    page = client.post(url, _wizard_post(values, vpp))
    assert page.status_code == 200
    form = page.context["form"]
    assert any(message in text for text in form.errors[field]), form.errors
    assert page.context["step"] != 4 and not EnrollmentProfile.objects.exists()


def test_vpp_token_rules(token, admin_user, vpp):
    values = {"name": "P", **PORTAL, "vpp_token": vpp, "single_app_mode": True}
    vpp.cp_licenses_used = 95
    vpp.save()
    profile = services.profile_create(actor=admin_user, token=token, values=values, push=False)
    assert any("only 5 Company Portal licenses left" in warning for warning in profile.warnings)
    vpp.cp_licenses_used = 100
    vpp.save()
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(actor=admin_user, token=token, values={**values, "name": "Q"}, push=False)
    assert "no Company Portal licenses left" in caught.value.fields["vpp_token"][0]
    expired = services.vpp_token_create(
        actor=admin_user, token_file=vpp_token_file(s_token="old", days=-1), name="Old", licenses_total=9
    )
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(actor=admin_user, token=token, values={**values, "vpp_token": expired}, push=False)
    assert "expired" in caught.value.fields["vpp_token"][0]


def test_certificates_only_with_certificate_sync(token, admin_user):
    cert = services.configurator_certificate_create(actor=admin_user, certificate_file=certificate_bytes(pem=True))
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(
            actor=admin_user, token=token, values={"name": "P", "configurator_certificates": [cert]}, push=False
        )
    assert "only used with Allow Apple Configurator" in caught.value.fields["configurator_certificates"][0]


def test_names_are_unique_per_token_and_kept_exactly(onboard, token, admin_user):
    services.profile_create(actor=admin_user, token=token, values={"name": "Sales iPads (EU)"}, push=False)
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(actor=admin_user, token=token, values={"name": "Sales iPads (EU)"}, push=False)
    assert "already has a profile named" in caught.value.fields["name"][0]
    other = onboard(admin_user, server_name="Other MDM")
    profile = services.profile_create(actor=admin_user, token=other, values={"name": "Sales iPads (EU)"}, push=False)
    assert profile.name == "Sales iPads (EU)"


def test_device_name_template_expansion():
    assert expand_device_name("{{DeviceType}}-{{serial}}", serial="F9FX", device_type="iPad") == "iPad-F9FX"
    assert device_name_template_problems("Acme {{DEVICETYPE}} {{SERIAL}}") == []
    # 45 literal characters + 12 + 6 = 63 fits exactly.
    assert device_name_template_problems("x" * 45 + "{{SERIAL}}{{DEVICETYPE}}") == []
    assert device_name_template_problems("x" * 46 + "{{SERIAL}}{{DEVICETYPE}}")


def test_the_101st_profile_is_refused(token, admin_user, admin_api, client):
    profile_rows(token, max_profiles_per_token())
    with pytest.raises(ApplicationError, match="already has 100 enrollment profiles"):
        services.profile_create(actor=admin_user, token=token, values={"name": "One more"}, push=False)
    response = admin_api.post("/api/v1/profiles/", {"token": token.pk, "name": "One more"}, format="json")
    assert response.status_code == 400 and "already has 100 enrollment profiles" in response.json()["detail"]
    client.force_login(admin_user)
    page = client.post(reverse("profiles:profile_create", args=[token.pk]), _wizard_post({"name": "One more"}, None))
    assert "already has 100 enrollment profiles" in page.content.decode()
    assert EnrollmentProfile.objects.filter(token=token).count() == max_profiles_per_token()
