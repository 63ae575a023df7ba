import csv
import io

import pytest

from devices.models import Device
from tests.truth import run_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_filter_select_all_assign_export_and_open_a_device(
    apple, onboard, admin_user, page, signed_in, live_server, screenshot_dir
):
    from profiles.services import profile_create

    token = onboard(admin_user, server_name="Acme MDM")
    ipads = [f"DMPQ{i:06d}" for i in range(30)]
    apple.add_devices(token.server_uuid, serials=ipads, device_family="iPad")
    apple.add_devices(token.server_uuid, serials=[f"DMPX{i:06d}" for i in range(5)], device_family="iPhone")
    apple.add_devices(token.server_uuid, count=20)
    run_sync(token)
    assert Device.objects.count() == 55
    profile = profile_create(actor=admin_user, token=token, values={"name": "Classroom iPads"})

    base = live_server.url
    signed_in("admin", "admin-pass-123")
    page.screenshot(path=f"{screenshot_dir}/devices-0-dashboard.png", full_page=True)
    assert page.inner_text("#dash-total") == "55"

    page.click("nav.sidenav >> text=Apple serial numbers")
    page.fill("#f-search", "dmp")
    page.select_option("#f-family", "iPad")
    page.click("#apply-filters")
    assert page.inner_text("#device-count") == "30 devices"
    page.select_option("#page-size", "25")
    page.wait_for_url("**size=25**")
    assert page.locator("#devices tbody tr").count() == 25 and page.is_visible("#next-page")
    page.screenshot(path=f"{screenshot_dir}/devices-1-list.png", full_page=True)

    page.check("#select-page")
    assert page.inner_text("#selected-info") == "25 selected"
    page.click("#select-all-matching")
    assert page.inner_text("#selected-info") == "All 30 matching selected"
    page.select_option("#bulk-profile", value=str(profile.pk))
    page.click("#bulk-assign")
    assert page.inner_text("#assign-count") == "30"
    page.screenshot(path=f"{screenshot_dir}/devices-2-assign-confirm.png", full_page=True)
    page.click("#confirm-bulk")
    assert page.inner_text("#job-state") == "Finished"
    assert set(Device.objects.filter(assigned_profile=profile).values_list("serial_number", flat=True)) == set(ipads)

    page.goto(f"{base}/tokens/{token.pk}/devices/?profile={profile.pk}&ordering=-serial_number")
    with page.expect_download() as download:
        page.click("#export-all")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0][0] == "Serial number" and len(rows) == 31
    assert {row[0] for row in rows[1:]} == set(ipads)

    page.click(f"#devices >> text={ipads[-1]}")
    assert "Classroom iPads" in page.inner_text("#profile-fields")
    assert page.inner_text("#device-state") == "Assigned by Apple"
    page.screenshot(path=f"{screenshot_dir}/devices-3-detail.png", full_page=True)


def test_import_preview_in_the_browser(apple, onboard, admin_user, page, signed_in, live_server, screenshot_dir):
    token = onboard(admin_user, server_name="Import MDM")
    Device.objects.bulk_create([Device(token=token, serial_number=f"IMPT{i:06d}", model="iPad") for i in range(5)])
    signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/tokens/{token.pk}/devices/")
    page.click("#import-devices")
    page.fill("#id_serial_numbers", "serial\nIMPT000001\nimpt000002\nIMPT000001\nNOPE123456\nbad one\n")
    page.screenshot(path=f"{screenshot_dir}/devices-4-import.png", full_page=True)
    page.click("#preview-import")
    assert page.inner_text("#matched-count") == "2"
    assert "Duplicate of line 2." in page.inner_text("#not-applied")
    assert "This token has no device with this serial number." in page.inner_text("#not-applied")
    page.screenshot(path=f"{screenshot_dir}/devices-5-import-preview.png", full_page=True)
