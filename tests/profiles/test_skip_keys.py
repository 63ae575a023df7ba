"""The Setup Assistant tables against the dated copy of Apple's SkipKeys list, and what may be sent to Apple."""

from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from profiles.models import EnrollmentProfile
from profiles.setup_screens import IOS, MACOS, MORE_GROUP, SEED_GROUP, TVOS, VISIONOS, screens_for, skip_keys_for

pytestmark = pytest.mark.django_db

APPLE_COPY = Path(__file__).resolve().parents[2] / "profiles" / "apple_data" / "skipkeys-2026-12-01.yaml"
APPLE_OS = {IOS: "iOS", MACOS: "macOS", TVOS: "tvOS", VISIONOS: "visionOS"}
# The seed's table (Intune's "Setup Assistant screen settings"), in its order and wording.
SEED_SCREENS = [
    "Passcode",
    "Location Services",
    "Restore",
    "iCloud and Apple ID",
    "Terms and Conditions",
    "Touch ID",
    "Apple Pay",
    "Zoom",
    "Siri",
    "Diagnostic Data",
    "Display Tone",
    "Privacy",
    "Android Migration",
    "iMessage and FaceTime",
    "Onboarding",
    "Watch Migration",
    "Screen Time",
    "Software Update",
    "SIM Setup",
    "Appearance",
    "Express Language",
    "Preferred Language",
    "Device to Device Migration",
]


def apple_keys(platform: str) -> dict[str, dict]:
    """Apple's keys for one OS, resolved as Apple's schema says: the payload's supportedOS, updated per key."""
    data = yaml.safe_load(APPLE_COPY.read_text())
    os_name = APPLE_OS[platform]
    default = data["payload"]["supportedOS"][os_name]
    resolved = {}
    for entry in data["payloadkeys"]:
        support = {**default, **(entry.get("supportedOS") or {}).get(os_name, {})}
        if support.get("introduced", "n/a") != "n/a":
            resolved[entry["key"]] = support
    return resolved


@pytest.mark.parametrize("platform", [IOS, MACOS, TVOS, VISIONOS])
def test_table_matches_apples_list(platform):
    ours = {screen.key: screen for screen in screens_for(platform) if screen.key}
    apple = apple_keys(platform)
    assert sorted(ours) == sorted(apple)
    for key, support in apple.items():
        screen = ours[key]
        assert screen.introduced == str(support["introduced"]), key
        assert screen.deprecated == str(support.get("deprecated", "")), key
        assert screen.removed == str(support.get("removed", "")), key
        assert screen.always_skippable is support.get("always-skippable", True), key


def test_the_copy_names_its_source():
    data = yaml.safe_load(APPLE_COPY.read_text())
    assert data["commit"] in data["source"] and data["source"].startswith("https://github.com/apple/device-management")
    assert str(data["retrieved"]) in APPLE_COPY.name


def test_the_seeds_screens_come_first_in_its_wording():
    screens = screens_for(IOS)
    assert [screen.label for screen in screens[: len(SEED_SCREENS)]] == SEED_SCREENS
    assert {screen.group for screen in screens[: len(SEED_SCREENS)]} == {SEED_GROUP}
    assert {screen.group for screen in screens[len(SEED_SCREENS) :]} == {MORE_GROUP}
    no_key = [screen for screen in screens if not screen.key]
    assert [screen.label for screen in no_key] == ["Express Language", "Preferred Language"]
    assert all("no skip key" in screen.no_key_reason for screen in no_key)
    # Other platforms never show the iOS-only language notes.
    assert all(screen.key for platform in (MACOS, TVOS, VISIONOS) for screen in screens_for(platform))


def test_hints_say_since_when_and_deprecated():
    by_key = {screen.key: screen for screen in screens_for(IOS)}
    assert by_key["ActionButton"].hints(IOS) == ["since iOS 17.0"]
    assert by_key["Zoom"].hints(IOS) == ["since iOS 8.3", "deprecated in iOS 17.0"]
    assert by_key["Keyboard"].hints(IOS) == ["since iOS 13.0", "not always skippable"]
    wallpaper = {screen.key: screen for screen in screens_for(MACOS)}["Wallpaper"]
    assert wallpaper.hints(MACOS) == ["since macOS 14.1", "removed in macOS 26.0"]


@pytest.mark.parametrize("key", ["ExpressLanguage", "PreferredLanguage", "FileVault", "siri", "TVRoom"])
def test_api_refuses_what_is_not_an_apple_key(apple, token, admin_api, key):
    response = admin_api.post(
        "/api/v1/profiles/", {"token": token.pk, "name": "P", "skip_setup_items": ["Siri", key]}, format="json"
    )
    assert response.status_code == 400, response.json()
    message = response.json()["fields"]["skip_setup_items"][0]
    assert f"Not Apple skip keys for iOS/iPadOS: {key}." in message
    assert "Valid keys (Apple's SkipKeys list): ActionButton, Android, " in message
    assert ", ".join(sorted(skip_keys_for(IOS), key=str.lower)) in message
    assert not EnrollmentProfile.objects.exists()
    assert apple.profiles(token.server_uuid) == []


def test_new_apple_keys_reach_apple(apple, token, admin_api):
    keys = ["Intelligence", "OSShowcase", "SafetyAndHandling", "WebContentFiltering", "Multitasking"]
    response = admin_api.post(
        "/api/v1/profiles/", {"token": token.pk, "name": "New panes", "skip_setup_items": keys}, format="json"
    )
    assert response.status_code == 201, response.json()
    stored = apple.profiles(token.server_uuid)[0]
    assert stored["skip_setup_items"] == sorted(keys)


def test_wizard_shows_every_pane_grouped_with_notes(client, token, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("profiles:profile_create", args=[token.pk]))
    html = page.content.decode()
    assert html.count('name="screen_') // 2 == len(skip_keys_for(IOS))  # a Show and a Hide radio per key
    assert SEED_GROUP in html and MORE_GROUP in html
    assert html.index(SEED_GROUP) < html.index(MORE_GROUP)
    assert 'name="screen_ExpressLanguage"' not in html and "Apple has no skip key for this screen" in html
    assert "deprecated in iOS 17.0" in html and "not always skippable" in html
    assert 'id="hide-all"' in html and 'id="show-all"' in html
