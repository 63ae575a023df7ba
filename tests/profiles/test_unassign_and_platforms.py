"""Unassign touches only the profile it names; a profile never goes to a device of another platform."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices.models import Device
from profiles import services
from profiles.assignment import profile_assign_selected
from profiles.models import AssignmentJob, JobState

pytestmark = pytest.mark.django_db


def apple_uuid(apple, token, serial) -> str | None:
    return {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}[serial]


@pytest.fixture
def two_profiles(token, admin_user):
    corporate = services.profile_create(actor=admin_user, token=token, values={"name": "Corporate iPhones"})
    kiosks = services.profile_create(actor=admin_user, token=token, values={"name": "Kiosks"})
    return corporate, kiosks


def test_unassign_removes_only_this_profile(apple, token, admin_user, two_profiles, make_devices):
    corporate, kiosks = two_profiles
    on_corporate, on_kiosks = make_devices(token, count=2)
    services.profile_assign_devices(actor=admin_user, profile=corporate, serials=[on_corporate])
    services.profile_assign_devices(actor=admin_user, profile=kiosks, serials=[on_kiosks])

    job = services.profile_unassign_devices(actor=admin_user, profile=kiosks, serials=[on_corporate, on_kiosks])
    assert job.state == JobState.SUCCEEDED
    assert job.results == {on_kiosks: "SUCCESS"} and job.removed == {on_kiosks: "Kiosks"}
    assert job.refused == {on_corporate: "Does not have Kiosks (it has Corporate iPhones): nothing to remove."}
    assert apple_uuid(apple, token, on_corporate) == corporate.profile_uuid
    assert Device.objects.get(serial_number=on_corporate).assigned_profile == corporate
    assert apple_uuid(apple, token, on_kiosks) is None


def test_the_apple_call_names_the_profile(apple, token, admin_user, two_profiles, make_devices):
    """A stale portal record (Apple gave the device another profile since) does not remove that other profile."""
    corporate, kiosks = two_profiles
    (serial,) = make_devices(token, count=1)
    services.profile_assign_devices(actor=admin_user, profile=corporate, serials=[serial])
    Device.objects.filter(serial_number=serial).update(assigned_profile=kiosks, profile_uuid=kiosks.profile_uuid)
    job = services.profile_unassign_devices(actor=admin_user, profile=kiosks, serials=[serial])
    assert job.results == {serial: "FAILED"}
    assert apple_uuid(apple, token, serial) == corporate.profile_uuid  # Apple kept the profile it was not asked about


def test_unassign_page_lists_only_this_profiles_devices(apple, client, token, admin_user, two_profiles, make_devices):
    corporate, kiosks = two_profiles
    on_corporate, on_kiosks, none = make_devices(token, count=3)
    services.profile_assign_devices(actor=admin_user, profile=corporate, serials=[on_corporate])
    services.profile_assign_devices(actor=admin_user, profile=kiosks, serials=[on_kiosks])
    client.force_login(admin_user)
    url = reverse("profiles:profile_unassign", args=[kiosks.pk])
    html = client.get(url).content.decode()
    assert on_kiosks in html and on_corporate not in html and none not in html

    preview = client.post(url, {"serial_numbers": f"{on_kiosks}\n{on_corporate}"})
    assert preview.context["known"] == [on_kiosks]
    assert on_corporate in preview.context["refused"]
    assert "Does not have Kiosks (it has Corporate iPhones)" in preview.content.decode()
    done = client.post(url, {"confirm": "yes", "serial": [on_kiosks, on_corporate]})
    job = AssignmentJob.objects.get(pk=done.url.rstrip("/").split("/")[-1])
    assert job.removed == {on_kiosks: "Kiosks"} and list(job.refused) == [on_corporate]
    page = client.get(reverse("profiles:job_detail", args=[job.pk])).content.decode()
    assert 'id="job-refused"' in page and "Profile removed" in page
    device = Device.objects.get(serial_number=on_kiosks)
    history = client.get(reverse("devices:device_detail", args=[device.pk])).content.decode()
    assert "Removed: Kiosks" in history


def test_device_list_unassign_names_each_devices_profile(apple, token, admin_user, two_profiles, make_devices):
    corporate, kiosks = two_profiles
    first, second = make_devices(token, count=2)
    services.profile_assign_devices(actor=admin_user, profile=corporate, serials=[first])
    services.profile_assign_devices(actor=admin_user, profile=kiosks, serials=[second])
    from profiles.assignment import profile_unassign_selected

    (job,) = profile_unassign_selected(actor=admin_user, devices=Device.objects.filter(token=token))
    assert job.results == {first: "SUCCESS", second: "SUCCESS"}
    assert job.removed == {first: "Corporate iPhones", second: "Kiosks"}


MAC_REFUSAL = "Mac device: Corporate iPhones is for iOS/iPadOS devices; assign it a macOS profile."


def test_ios_profile_is_refused_for_a_mac_per_device(apple, token, admin_user, two_profiles, make_devices):
    corporate, _ = two_profiles
    (iphone,) = make_devices(token, count=1)
    (mac,) = make_devices(token, count=1, family="Mac")
    job = services.profile_assign_devices(actor=admin_user, profile=corporate, serials=[iphone, mac])
    assert job.results == {iphone: "SUCCESS"} and job.refused == {mac: MAC_REFUSAL}
    assert job.total == 1
    assert apple_uuid(apple, token, mac) is None  # never sent to Apple
    assert Device.objects.get(serial_number=mac).assigned_profile is None


def test_platform_refusal_in_the_api(apple, token, admin_api, two_profiles, make_devices):
    corporate, _ = two_profiles
    (mac,) = make_devices(token, count=1, family="Mac")
    (tv,) = make_devices(token, count=1, family="AppleTV")
    response = admin_api.post(f"/api/v1/profiles/{corporate.pk}/assign/", {"serial_numbers": [mac, tv]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == {} and body["total"] == 0
    assert body["refused"][mac] == MAC_REFUSAL
    assert (
        body["refused"][tv]
        == "Apple TV device: Corporate iPhones is for iOS/iPadOS devices; assign it a tvOS profile."
    )
    assert apple_uuid(apple, token, mac) is None and apple_uuid(apple, token, tv) is None


def test_platform_refusal_in_console_serials_csv_and_bulk(
    apple, client, token, admin_user, two_profiles, make_devices
):
    corporate, _ = two_profiles
    (iphone,) = make_devices(token, count=1)
    (mac,) = make_devices(token, count=1, family="Mac")
    client.force_login(admin_user)
    url = reverse("profiles:profile_assign", args=[corporate.pk])
    preview = client.post(url, {"serial_numbers": f"{iphone}, {mac}"})
    assert preview.context["known"] == [iphone] and preview.context["refused"] == {mac: MAC_REFUSAL}
    assert 'id="refused-preview"' in preview.content.decode()
    csv = SimpleUploadedFile("serials.csv", f"{mac},Mac\n".encode(), content_type="text/csv")
    preview = client.post(url, {"csv_file": csv})
    assert preview.context["known"] == [] and mac in preview.context["refused"]
    assert 'id="confirm-assign" disabled' in preview.content.decode()

    job = profile_assign_selected(actor=admin_user, profile=corporate, devices=Device.objects.filter(token=token))
    assert job.results == {iphone: "SUCCESS"} and job.refused == {mac: MAC_REFUSAL}
    device = Device.objects.get(serial_number=mac)
    history = client.get(reverse("devices:device_detail", args=[device.pk])).content.decode()
    assert f"Not sent: {MAC_REFUSAL}" in history.replace("&#x27;", "'")


def test_csv_import_preview_marks_devices_of_another_platform(
    apple, client, token, admin_user, two_profiles, make_devices
):
    from devices.models import DeviceImport

    corporate, _ = two_profiles
    (iphone,) = make_devices(token, count=1)
    (mac,) = make_devices(token, count=1, family="Mac")
    client.force_login(admin_user)
    response = client.post(
        f"/tokens/{token.pk}/devices/import/",
        {"token": token.pk, "profile": corporate.pk, "serial_numbers": f"{iphone}\n{mac}"},
    )
    device_import = DeviceImport.objects.get()
    assert device_import.counts == {"matched": 1, "other_platform": 1}
    page = client.get(response["Location"]).content.decode()
    assert "Another platform" in page and "A Mac device: Corporate iPhones is for iOS/iPadOS." in page
    client.post(f"/devices/imports/{device_import.pk}/confirm/")
    job = AssignmentJob.objects.latest("pk")
    assert job.serials == [iphone] and job.results == {iphone: "SUCCESS"}
