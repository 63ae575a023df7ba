"""In the browser: the Setup Assistant page of each platform, and the refusal of a device of another platform."""

import pytest

from profiles import services
from profiles.models import EnrollmentProfile
from profiles.setup_screens import IOS, MACOS, skip_keys_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_setup_assistant_page_hide_all_show_all_and_count(
    apple, onboard, page, signed_in, live_server, admin_user, screenshot_dir
):
    token = onboard(admin_user, server_name="Acme MDM")
    signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/tokens/{token.pk}/profiles/create/?platform=ios")
    page.fill("#id_name", "Every pane")
    page.click("text=Next: Device management settings")
    page.wait_for_selector("section[data-page='2']:not([hidden])")
    page.click("text=Next: Setup Assistant customization")
    page.wait_for_selector("section[data-page='3']:not([hidden])")
    total = len(skip_keys_for(IOS))
    assert page.inner_text("#hidden-count") == f"0 of {total} screens hidden"
    page.click("#hide-all")
    assert page.inner_text("#hidden-count") == f"{total} of {total} screens hidden"
    page.click("#show-all")
    assert page.inner_text("#hidden-count") == f"0 of {total} screens hidden"
    page.check("tr[data-screen=Intelligence] input[value=hide]")
    page.check("tr[data-screen=Zoom] input[value=hide]")
    assert page.inner_text("#hidden-count") == f"2 of {total} screens hidden"
    zoom = page.inner_text("tr[data-screen=Zoom]")
    assert "since iOS 8.3" in zoom and "deprecated in iOS 17.0" in zoom
    assert "not always skippable" in page.inner_text("tr[data-screen=Keyboard]")
    express = page.locator("tr[data-screen='Express Language']")
    assert express.locator("input").count() == 0 and "no skip key" in express.inner_text()
    groups = page.locator("h4.screens-group").all_inner_texts()
    assert groups == ["Screens of the Intune profile", "More panes Apple lets you hide"]
    page.screenshot(path=f"{screenshot_dir}/panes-1-ios.png", full_page=True)
    page.click("#to-review")
    assert "Apple Intelligence, Zoom" in page.inner_text("#review-settings")
    assert "hidden screens: Apple Intelligence, Zoom" in page.inner_text("#hidden-screens-review")
    page.screenshot(path=f"{screenshot_dir}/panes-2-review.png", full_page=True)
    page.click("#wizard-save")
    profile = EnrollmentProfile.objects.get()
    stored = {p["profile_uuid"]: p for p in apple.profiles(token.server_uuid)}[profile.profile_uuid]
    assert stored["skip_setup_items"] == ["Intelligence", "Zoom"]

    page.goto(f"{live_server.url}/tokens/{token.pk}/profiles/create/?platform=macos")
    page.fill("#id_name", "Macs")
    page.click("text=Next: Device management settings")
    page.wait_for_selector("section[data-page='2']:not([hidden])")
    assert not page.locator("#field-install_company_portal").count()
    page.click("text=Next: Setup Assistant customization")
    page.wait_for_selector("section[data-page='3']:not([hidden])")
    assert page.locator("tr[data-screen=FileVault] input").count() == 2
    assert page.locator("tr[data-screen=SIMSetup]").count() == 0
    assert page.inner_text("#hidden-count") == f"0 of {len(skip_keys_for(MACOS))} screens hidden"
    page.screenshot(path=f"{screenshot_dir}/panes-3-macos.png", full_page=True)


def test_a_mac_is_refused_for_an_ios_profile(
    apple, onboard, make_devices, page, signed_in, live_server, admin_user, screenshot_dir
):
    token = onboard(admin_user, server_name="Acme MDM")
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "Corporate iPhones"})
    [iphone] = make_devices(token, count=1, family="iPhone")
    [mac] = make_devices(token, count=1, family="Mac")
    signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/profiles/{profile.pk}/assign/")
    assert page.locator(f"input[value='{mac}']").count() == 0  # the picker offers the profile's platform only
    page.fill("#id_serial_numbers", f"{iphone}\n{mac}")
    page.click("#preview-assign")
    assert page.inner_text("#matched-count") == "1"
    refused = page.inner_text("#refused-preview")
    assert mac in refused and "Mac device: Corporate iPhones is for iOS/iPadOS devices" in refused
    page.screenshot(path=f"{screenshot_dir}/refusal-1-preview.png", full_page=True)
    page.click("#confirm-assign")
    assert page.inner_text("#job-state") == "Finished"
    assert mac in page.inner_text("#job-refused") and page.inner_text("#refused-count") == "1"
    page.screenshot(path=f"{screenshot_dir}/refusal-2-job.png", full_page=True)
    apple_profiles = {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}
    assert apple_profiles[iphone] == profile.profile_uuid and apple_profiles[mac] is None

    page.click("text=iOS/iPadOS enrollment")
    assert "Corporate iPhones" in page.inner_text("#platform-profiles")
    page.screenshot(path=f"{screenshot_dir}/platform-1-ios-enrollment.png", full_page=True)
    page.click("nav#sidenav >> text=macOS enrollment")
    assert "No macOS profile yet." in page.inner_text("main")
    page.click("#platform-devices")
    assert mac in page.inner_text("main") and iphone not in page.inner_text("main")
    page.screenshot(path=f"{screenshot_dir}/platform-2-macos-devices.png", full_page=True)


def test_each_step_checks_its_fields_when_you_leave_it(
    apple, onboard, page, signed_in, live_server, admin_user, screenshot_dir
):
    """Issue 14, defects 3 and 5: Next checks with the API's rules; a certificate is uploaded in the wizard."""
    token = onboard(admin_user, server_name="Acme MDM")
    signed_in("admin", "admin-pass-123")
    wizard = f"{live_server.url}/tokens/{token.pk}/profiles/create/?platform=ios"
    page.goto(wizard)
    page.click("text=Next: Device management settings")
    page.wait_for_selector("#field-name .field-errors")
    assert "A profile needs a name." in page.inner_text("#field-name")
    assert page.is_visible("section[data-page='1']") and not page.is_visible("section[data-page='2']")
    assert "done" not in (page.get_attribute("[data-step-label='1']", "class") or "")
    page.screenshot(path=f"{screenshot_dir}/steps-1-empty-name.png", full_page=True)

    page.fill("#id_name", "Lab iPads")
    page.click("text=Next: Device management settings")
    page.wait_for_selector("section[data-page='2']:not([hidden])")
    assert "done" in page.get_attribute("[data-step-label='1']", "class")
    page.select_option("#id_sync_with_computers", "certificate")
    page.click("text=Next: Setup Assistant customization")
    page.wait_for_selector("#field-configurator_certificates .field-errors")
    assert "needs at least one certificate" in page.inner_text("#field-configurator_certificates")
    assert not page.is_visible("section[data-page='3']")
    page.screenshot(path=f"{screenshot_dir}/steps-2-no-certificate.png", full_page=True)

    from tests.factories import certificate_bytes

    page.set_input_files(
        "#certificate-file",
        files=[{"name": "lab.cer", "mimeType": "application/pkix-cert", "buffer": certificate_bytes("Lab Mac")}],
    )
    page.click("#certificate-upload-button")
    page.wait_for_selector("#certificate-upload-result:has-text('Uploaded Lab Mac')")
    assert page.url == wizard and page.input_value("#id_name") == "Lab iPads"  # never left the wizard
    assert page.is_checked("#field-configurator_certificates input[type=checkbox]")
    assert not page.locator("#field-configurator_certificates .field-errors").count()  # the stale error is gone
    page.screenshot(path=f"{screenshot_dir}/steps-3-uploaded.png", full_page=True)
    page.click("text=Next: Setup Assistant customization")
    page.wait_for_selector("section[data-page='3']:not([hidden])")
    page.click("#to-review")
    page.click("#wizard-save")
    profile = EnrollmentProfile.objects.get()
    assert [str(cert) for cert in profile.configurator_certificates.all()] == ["Lab Mac"]
