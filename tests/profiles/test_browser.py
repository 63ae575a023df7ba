import pytest

from devices.models import Device
from profiles.models import EnrollmentProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_profile_through_the_wizard_set_it_default_and_assign_it(
    apple, onboard, make_devices, page, signed_in, live_server, admin_user, screenshot_dir
):
    token = onboard(admin_user, server_name="Acme MDM")
    serials = make_devices(token, count=3)  # the sync engine is not part of this test

    signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/tokens/{token.pk}/")
    page.click("nav.tabs >> text=Profiles")
    page.click("#create-profile")
    page.click("#create-ios")

    page.fill("#id_name", "Field iPads")
    page.fill("#id_description", "Shared by the field team")
    page.screenshot(path=f"{screenshot_dir}/profile-1-basics.png", full_page=True)
    page.click("text=Next: Device management settings")
    page.wait_for_selector("section[data-page='2']:not([hidden])")

    # Options follow the rules: locked enrollment only while supervised, the template only when applied.
    assert page.is_visible("#field-locked_enrollment")
    page.check("#field-supervised input[value=no]")
    assert not page.is_visible("#field-locked_enrollment")
    page.check("#field-supervised input[value=yes]")
    page.check("#field-locked_enrollment input[value=yes]")
    page.check("#field-user_affinity input[value=without_user]")
    assert not page.is_visible("#field-auth_method")
    assert not page.is_visible("#field-device_name_template")
    page.check("#field-apply_device_name_template input[value=yes]")
    page.fill("#id_device_name_template", "Field-{{devicetype}}-{{SERIAL}}")
    assert page.inner_text("#name-preview") == "Field-iPhone-F9FXK1ABCDEF"
    page.screenshot(path=f"{screenshot_dir}/profile-2-management.png", full_page=True)
    page.click("text=Next: Setup Assistant customization")
    page.wait_for_selector("section[data-page='3']:not([hidden])")

    page.fill("#id_department", "Field operations")
    page.fill("#id_department_phone", "+1 555 0100")
    page.check("#setup-screens tr:has-text('Siri') input[value=hide]")
    page.check("#setup-screens tr:has-text('Apple Pay') input[value=hide]")
    page.screenshot(path=f"{screenshot_dir}/profile-3-setup-assistant.png", full_page=True)
    page.click("#to-review")

    assert "This iPhone is managed by Example Org" in page.inner_text("#user-sees")
    assert "Apple Pay, Siri" in page.inner_text("#review-settings")
    page.screenshot(path=f"{screenshot_dir}/profile-4-review.png", full_page=True)
    page.click("#wizard-save")
    assert "was created and sent to Apple" in page.inner_text(".messages")
    profile = EnrollmentProfile.objects.get()
    stored = {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid]
    assert stored["skip_setup_items"] == ["Payment", "Siri"] and stored["is_mdm_removable"] is False
    assert "configuration_web_url" not in stored
    page.screenshot(path=f"{screenshot_dir}/profile-5-detail.png", full_page=True)

    page.goto(f"{live_server.url}/tokens/{token.pk}/")
    page.click("nav.tabs >> text=Profiles")
    page.click("#set-default")
    page.select_option("#id_profile_ios", label="Field iPads")
    page.click("#save-default")
    assert "Field iPads is now the iOS/iPadOS default" in page.inner_text(".messages")
    assert "Default" in page.inner_text("#profiles")

    page.click("#profiles >> text=Field iPads")
    page.click("#assign-devices")
    page.check(f"input[value='{serials[0]}']")
    page.check(f"input[value='{serials[1]}']")
    page.fill("#id_serial_numbers", "NOTADEVICE01")
    page.click("#preview-assign")
    assert page.inner_text("#matched-count") == "2" and "NOTADEVICE01" in page.inner_text("#unknown-preview")
    page.screenshot(path=f"{screenshot_dir}/profile-6-assign-preview.png", full_page=True)
    page.click("#confirm-assign")
    assert page.inner_text("#job-state") == "Finished"
    assert "NOTADEVICE01" in page.inner_text("#unknown-serials")
    page.screenshot(path=f"{screenshot_dir}/profile-7-job.png", full_page=True)
    assert EnrollmentProfile.objects.get().is_default
    assert set(Device.objects.filter(assigned_profile=profile).values_list("serial_number", flat=True)) == set(
        serials[:2]
    )
    apple_profiles = {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}
    assert apple_profiles[serials[0]] == profile.profile_uuid and apple_profiles[serials[2]] is None
