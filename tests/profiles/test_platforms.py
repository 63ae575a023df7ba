"""Profiles for iOS/iPadOS, macOS, tvOS and visionOS: each with its own panes and settings, defaults and pages."""

import pytest
from django.urls import reverse

from depportal.core.exceptions import ApplicationError
from devices.models import Device
from profiles import services
from profiles.models import EnrollmentProfile

pytestmark = pytest.mark.django_db


def stored(apple, token, profile) -> dict:
    return {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid]


def test_a_macos_profile_has_macos_panes(apple, token, admin_user):
    profile = services.profile_create(
        actor=admin_user,
        token=token,
        values={"name": "Macs", "platform": "macos", "skip_setup_items": ["FileVault", "iCloudStorage", "TOS"]},
    )
    assert profile.platform == "macos"
    body = stored(apple, token, profile)
    assert body["skip_setup_items"] == ["FileVault", "TOS", "iCloudStorage"]
    assert body["await_device_configured"] is True


@pytest.mark.parametrize(
    ("platform", "values", "field"),
    [
        ("macos", {"install_company_portal": True}, "install_company_portal"),
        ("macos", {"auth_method": "company_portal"}, "auth_method"),
        ("macos", {"sync_with_computers": "deny_all"}, "sync_with_computers"),
        ("tvos", {"user_affinity": "with_user"}, "user_affinity"),
        ("visionos", {"single_app_mode": True}, "single_app_mode"),
    ],
)
def test_settings_of_another_platform_are_refused(apple, token, admin_user, admin_api, platform, values, field):
    with pytest.raises(ApplicationError) as caught:
        services.profile_create(actor=admin_user, token=token, values={"name": "P", "platform": platform, **values})
    assert "does not apply to" in caught.value.fields[field][0]
    response = admin_api.post("/api/v1/profiles/", {"token": token.pk, "name": "P", "platform": platform, **values})
    assert response.status_code == 400 and "does not apply to" in response.json()["fields"][field][0]
    assert not EnrollmentProfile.objects.exists() and apple.profiles(token.server_uuid) == []


def test_tvos_and_visionos_profiles(apple, token, admin_api):
    tv = admin_api.post(
        "/api/v1/profiles/",
        {"token": token.pk, "name": "Lobby TVs", "platform": "tvos", "skip_setup_items": ["TVRoom", "ScreenSaver"]},
        format="json",
    )
    assert tv.status_code == 201, tv.json()
    assert tv.json()["user_affinity"] == "without_user"
    assert "configuration_web_url" not in tv.json()["apple_profile"]
    vision = admin_api.post(
        "/api/v1/profiles/",
        {"token": token.pk, "name": "Vision", "platform": "visionos", "skip_setup_items": ["Tips"]},
        format="json",
    )
    assert vision.status_code == 201, vision.json()
    refused = admin_api.post(
        "/api/v1/profiles/",
        {"token": token.pk, "name": "TV 2", "platform": "tvos", "skip_setup_items": ["Passcode"]},
        format="json",
    )
    assert refused.status_code == 400
    assert "Not Apple skip keys for tvOS: Passcode." in refused.json()["fields"]["skip_setup_items"][0]


def test_wizard_offers_only_the_platforms_settings(apple, client, token, admin_user):
    client.force_login(admin_user)
    url = reverse("profiles:profile_create", args=[token.pk]) + "?platform=macos"
    html = client.get(url).content.decode()
    assert "macOS · token" in html and 'name="screen_FileVault"' in html and 'name="screen_SIMSetup"' not in html
    assert 'name="install_company_portal"' not in html and 'name="single_app_mode"' not in html
    post = {
        "name": "Lab Macs",
        "user_affinity": "with_user",
        "supervised": "yes",
        "await_final_configuration": "yes",
        "screen_FileVault": "hide",
        "action": "save",
        # A setting macOS does not have, posted anyway, is ignored: the form does not offer it.
        "install_company_portal": "yes",
    }
    response = client.post(url, post)
    assert response.status_code == 302, response.context["form"].errors
    profile = EnrollmentProfile.objects.get()
    assert profile.platform == "macos" and profile.skip_setup_items == ["FileVault"]
    assert profile.install_company_portal is False
    detail = client.get(reverse("profiles:profile_detail", args=[profile.pk])).content.decode()
    assert "Install Company Portal" not in detail


def test_a_default_profile_per_platform(apple, client, token, admin_user, make_devices):
    ios = services.profile_create(actor=admin_user, token=token, values={"name": "Phones"})
    mac = services.profile_create(actor=admin_user, token=token, values={"name": "Macs", "platform": "macos"})
    client.force_login(admin_user)
    page = client.get(reverse("profiles:default_profile", args=[token.pk])).content.decode()
    assert 'name="profile_macos"' in page and 'name="profile_tvos"' in page
    response = client.post(
        reverse("profiles:default_profile", args=[token.pk]), {"profile_ios": ios.pk, "profile_macos": mac.pk}
    )
    assert response.status_code == 302
    assert set(EnrollmentProfile.objects.filter(is_default=True).values_list("name", flat=True)) == {"Phones", "Macs"}
    # A profile of another platform cannot be picked for a platform's default.
    bad = client.post(reverse("profiles:default_profile", args=[token.pk]), {"profile_tvos": mac.pk})
    assert bad.status_code == 200 and "profile_tvos" in bad.context["form"].errors

    phones = make_devices(token, count=2)
    macs = make_devices(token, count=1, family="Mac")
    tvs = make_devices(token, count=1, family="AppleTV")
    jobs = services.profile_assign_default_to_new_devices(token=token, serials=phones + macs + tvs)
    assert {job.profile_name: sorted(job.results) for job in jobs} == {"Phones": sorted(phones), "Macs": macs}
    assert Device.objects.get(serial_number=tvs[0]).assigned_profile is None  # no tvOS default


def test_platform_pages_and_navigation(apple, client, token, admin_user, make_devices):
    services.profile_create(actor=admin_user, token=token, values={"name": "Phones"})
    services.profile_create(actor=admin_user, token=token, values={"name": "Macs", "platform": "macos"})
    (mac,) = make_devices(token, count=1, family="Mac")
    (phone,) = make_devices(token, count=1)
    client.force_login(admin_user)
    page = client.get(reverse("profiles:platform_enrollment", args=["macos"])).content.decode()
    assert "macOS enrollment" in page and "Macs" in page and "Phones" not in page
    for label in ("iOS/iPadOS enrollment", "macOS enrollment", "tvOS enrollment", "visionOS enrollment"):
        assert label in page
    assert client.get(reverse("profiles:platform_enrollment", args=["android"])).status_code == 404
    macs = client.get(reverse("devices:macos_device_list")).content.decode()
    assert mac in macs and phone not in macs
    everything = client.get(reverse("devices:device_list")).content.decode()
    assert mac in everything and phone in everything
    listed = client.get(reverse("profiles:profile_list", args=[token.pk]) + "?platform=macos").content.decode()
    assert "Macs" in listed and "Phones" not in listed and 'id="create-macos"' in listed


FULL = {
    "ios": {
        "shared_ipad": True,
        "user_affinity": "without_user",
        "return_to_service": True,
        "do_not_use_profile_from_backup": True,
        "skip_setup_items": ["OSShowcase"],
    },
    "macos": {
        "language": "en",
        "region": "US",
        "auto_advance_setup": True,
        "skip_setup_items": ["FileVault"],
        "web_sign_in_url": "https://login.acme.test/mac",
    },
    "tvos": {"language": "fr", "region": "FR", "auto_advance_setup": True, "skip_setup_items": ["TVRoom"]},
    "visionos": {"return_to_service": True, "skip_setup_items": ["Tips"]},
}


@pytest.mark.parametrize("platform", list(FULL))
def test_apple_stores_every_key_of_each_platform(apple, token, admin_user, platform):
    from profiles.apple_json import apple_profile_json

    values = {
        "name": f"Full {platform}",
        "platform": platform,
        "support_email": "help@acme.test",
        "org_magic": "acme",
        "department": "IT",
        **FULL[platform],
    }
    profile = services.profile_create(actor=admin_user, token=token, values=values)
    assert profile.push_status == "pushed", profile.push_error
    sent = apple_profile_json(profile)
    assert {k: v for k, v in stored(apple, token, profile).items() if k != "profile_uuid"} == sent


def test_breadcrumbs_follow_the_profiles_platform(apple, client, token, admin_user):
    mac = services.profile_create(actor=admin_user, token=token, values={"name": "Macs", "platform": "macos"})
    client.force_login(admin_user)
    crumbs = client.get(reverse("profiles:profile_detail", args=[mac.pk])).context["breadcrumbs"]
    assert crumbs[2:4] == [
        ("macOS", None),
        ("macOS enrollment", reverse("profiles:platform_enrollment", args=["macos"])),
    ]
    create = client.get(reverse("profiles:profile_create", args=[token.pk]) + "?platform=tvos").context["breadcrumbs"]
    assert create[3][0] == "tvOS enrollment" and create[-1] == ("Create profile: tvOS", None)


def test_default_profile_api_per_platform(apple, token, admin_user, admin_api):
    mac = services.profile_create(actor=admin_user, token=token, values={"name": "Macs", "platform": "macos"})
    url = f"/api/v1/tokens/{token.pk}/default-profile/"
    assert admin_api.put(url, {"profile": mac.pk}, format="json").json() == {"profile": mac.pk, "platform": "macos"}
    assert admin_api.get(url, {"platform": "macos"}).json() == {"profile": mac.pk, "platform": "macos"}
    assert admin_api.get(url).json() == {"profile": None, "platform": "ios"}
    bad = admin_api.get(url, {"platform": "android"})
    assert bad.status_code == 400 and "platform" in bad.json()["fields"]
