"""One device's page: assign a profile from it (as in Intune), and Apple's fields in words, not raw keys."""

import pytest

from devices.models import Device
from profiles.models import AssignmentJob
from profiles.services import default_values, profile_create
from tests.truth import run_sync


def _synced_device(apple, token, **fields):
    serial = apple.add_devices(token.server_uuid, count=1, **fields)[0]["serial_number"]
    run_sync(token)
    return Device.objects.get(serial_number=serial)


@pytest.mark.django_db
def test_device_page_labels_apple_keys_and_offers_only_profiles_of_its_platform(apple, onboard, admin_user, client):
    token = onboard(admin_user, server_name="Page")
    device = _synced_device(apple, token, device_family="iPhone")
    Device.objects.filter(pk=device.pk).update(
        extra={"imei": ["355000000000001", "355000000000002"], "is_replacement_device": False}
    )
    profile_create(actor=admin_user, token=token, values={**default_values(), "name": "Phones"})
    client.force_login(admin_user)
    html = client.get(f"/devices/{device.pk}/").content.decode()
    assert "IMEI" in html and "355000000000001, 355000000000002" in html and "[&#x27;355" not in html
    assert "Replacement device" in html and "is_replacement_device" not in html
    picker = html.split('id="assign-profile-choice"')[1].split("</select>")[0]
    assert "Phones" in picker

    tv = _synced_device(apple, token, device_family="AppleTV")
    html = client.get(f"/devices/{tv.pk}/").content.decode()
    assert "Apple TV" in html.split('id="apple-fields"')[1] and "AppleTV" not in html.split('id="apple-fields"')[1]
    mac = _synced_device(apple, token, device_family="Mac")
    html = client.get(f"/devices/{mac.pk}/").content.decode()
    assert "No profile of this device's platform is at Apple" in html and "Phones" not in html.split("assign-none")[0]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_assign_a_profile_from_the_device_page(apple, onboard, admin_user, signed_in, live_server, screenshot_dir):
    token = onboard(admin_user, server_name="Page")
    device = _synced_device(apple, token, device_family="iPad")
    profile = profile_create(actor=admin_user, token=token, values={**default_values(), "name": "Classroom iPads"})
    page = signed_in("admin", "admin-pass-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/devices/{device.pk}/")
    page.select_option("#assign-profile-choice", str(profile.pk))
    page.screenshot(path=f"{screenshot_dir}/device-assign.png")
    page.click("#assign-profile button:text-is('Assign profile')")
    page.wait_for_url("**/assignment-jobs/*/")
    job = AssignmentJob.objects.get()
    assert job.profile == profile and job.serials == [device.serial_number]
    device.refresh_from_db()
    assert device.assigned_profile == profile
    at_apple = {d["serial_number"]: d for d in apple.devices(token.server_uuid)}
    assert at_apple[device.serial_number]["profile_uuid"] == profile.profile_uuid
