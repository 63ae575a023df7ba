"""What Apple receives for each setting, read back from depsim (what the simulated Apple stored)."""

import base64

import pytest

from depportal.core.exceptions import ApplicationError
from profiles import services
from profiles.models import PushStatus
from profiles.setup_screens import IOS_SETUP_SCREENS
from tests.factories import certificate_bytes

pytestmark = pytest.mark.django_db


def received(apple, token, profile) -> dict:
    stored = {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}
    return stored[profile.profile_uuid]


def test_defaults_reach_apple(apple, token, admin_user, settings):
    settings.DEP_MDM_ENROLLMENT_URL = "https://mdm.acme.test/enroll"
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "Corporate iPhones"})
    assert profile.push_status == PushStatus.PUSHED and profile.pushed_at is not None
    body = received(apple, token, profile)
    assert body["profile_name"] == "Corporate iPhones"
    assert body["url"] == "https://mdm.acme.test/enroll"
    assert "configuration_web_url" not in body  # only with a web sign-in URL of its own (see below)
    assert body["is_supervised"] is True
    assert body["is_mdm_removable"] is True
    assert body["is_mandatory"] is True
    assert body["allow_pairing"] is True
    assert body["await_device_configured"] is True
    assert body["skip_setup_items"] == []
    assert body["supervising_host_certs"] == []
    assert "department" not in body and "support_phone_number" not in body
    assert body["is_multi_user"] is False and body["do_not_use_profile_from_backup"] is False
    assert body["is_return_to_service"] is False
    for absent in ("language", "region", "auto_advance_setup", "org_magic", "support_email_address", "anchor_certs"):
        assert absent not in body, absent


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"supervised": False}, {"is_supervised": False, "is_mdm_removable": True}),
        ({"locked_enrollment": True}, {"is_supervised": True, "is_mdm_removable": False}),
        ({"sync_with_computers": "deny_all"}, {"allow_pairing": False}),
        ({"await_final_configuration": False}, {"await_device_configured": False}),
        ({"department": "IT Service Desk"}, {"department": "IT Service Desk"}),
        ({"department_phone": "+1 (555) 010-2000 x12"}, {"support_phone_number": "+1 (555) 010-2000 x12"}),
        ({"support_email": "help@acme.test"}, {"support_email_address": "help@acme.test"}),
        ({"org_magic": "acme-7f3a"}, {"org_magic": "acme-7f3a"}),
        ({"mandatory_enrollment": False}, {"is_mandatory": False}),
        (
            {"web_sign_in_url": "https://login.acme.test/enroll"},
            {"configuration_web_url": "https://login.acme.test/enroll"},
        ),
        (
            {"user_affinity": "without_user", "shared_ipad": True},
            {"is_multi_user": True},
        ),
        ({"return_to_service": True}, {"is_return_to_service": True}),
        ({"do_not_use_profile_from_backup": True}, {"do_not_use_profile_from_backup": True}),
        (
            {"platform": "macos", "language": "EN", "region": "gb", "auto_advance_setup": True},
            {"language": "en", "region": "GB", "auto_advance_setup": True},
        ),
        ({"platform": "tvos", "language": "haw", "auto_advance_setup": True}, {"language": "haw"}),
        (
            {"skip_setup_items": ["Siri", "Passcode", "Welcome", "DeviceToDeviceMigration"]},
            {"skip_setup_items": ["DeviceToDeviceMigration", "Passcode", "Siri", "Welcome"]},
        ),
    ],
)
def test_each_setting_reaches_apple(apple, token, admin_user, values, expected):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P", **values})
    body = received(apple, token, profile)
    for key, value in expected.items():
        assert body[key] == value, key


def test_anchor_certificates_reach_apple_as_base64_der(apple, token, admin_user):
    der = certificate_bytes("Acme Root")
    profile = services.profile_create(
        actor=admin_user,
        token=token,
        values={"name": "Pinned", "anchor_certs": [base64.b64encode(der).decode()]},
    )
    assert received(apple, token, profile)["anchor_certs"] == [base64.b64encode(der).decode()]


def test_without_user_affinity_there_is_no_web_sign_in(apple, token, admin_user):
    profile = services.profile_create(
        actor=admin_user, token=token, values={"name": "Kiosks", "user_affinity": "without_user"}
    )
    assert "configuration_web_url" not in received(apple, token, profile)


def test_configurator_certificates_become_supervising_host_certs(apple, token, admin_user):
    der = certificate_bytes("Lab Mac")
    cert = services.configurator_certificate_create(actor=admin_user, certificate_file=der)
    assert cert.subject == "CN=Lab Mac" and cert.not_after is not None
    profile = services.profile_create(
        actor=admin_user,
        token=token,
        values={"name": "Lab", "sync_with_computers": "certificate", "configurator_certificates": [cert]},
    )
    assert received(apple, token, profile)["supervising_host_certs"] == [base64.b64encode(der).decode()]


def test_every_setup_screen_can_be_hidden(apple, token, admin_user):
    keys = [screen.key for screen in IOS_SETUP_SCREENS if screen.key]
    assert len(keys) == 39  # every iOS pane of Apple's list (the seed's 21 with a key among them)
    profile = services.profile_create(
        actor=admin_user, token=token, values={"name": "All hidden", "skip_setup_items": keys}
    )
    assert received(apple, token, profile)["skip_setup_items"] == sorted(keys)


def test_apple_refusal_keeps_the_profile_with_a_failed_push(apple, token, admin_user):
    apple.add_fault("/profile", 400, body='"CONFIG_URL_INVALID"', method="POST")
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "Refused"})
    assert profile.push_status == PushStatus.FAILED and "CONFIG_URL_INVALID" in profile.push_error
    assert profile.profile_uuid == ""
    with pytest.raises(ApplicationError, match="push it again"):
        services.profile_assign_devices(actor=admin_user, profile=profile, serials=["X"])
    profile = services.profile_push(actor=admin_user, profile=profile)
    assert profile.push_status == PushStatus.PUSHED and received(apple, token, profile)["profile_name"] == "Refused"
