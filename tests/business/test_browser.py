"""An administrator creates an API account in the mini ABM, connects it, reads the inventory and assigns
devices by order number in the console; the receiving token syncs by itself."""

import pytest

from business.models import BusinessConnection, OrgDevice
from syncjobs.models import SyncJob, SyncTrigger
from tests.plugins.celery_worker import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_read_the_inventory_and_assign_by_order_number(
    business_apple, onboard, admin_user, signed_in, live_server, celery_worker, tmp_path, screenshot_dir
):
    token = onboard(admin_user, server_name="Portal MDM")
    assert SyncJob.objects.filter(token=token, state="succeeded").exists()  # its own first sync has run
    business_apple.create_server("Other MDM")
    loose = [d["serial_number"] for d in business_apple.add_devices(None, count=6, device_family="iPhone")]
    business_apple.business("set_order", serials=loose[:4], order_number="PO-1001")

    page = signed_in("admin", "admin-pass-123")
    page.goto(f"{business_apple.base_url}/abm/api")
    page.click("button:text('Create and generate a private key')")
    client_id = page.inner_text("#client-id")
    key_id = page.inner_text("#key-id")
    key_file = tmp_path / "key.pem"
    key_file.write_text(page.input_value("#private-key"))
    page.screenshot(path=f"{screenshot_dir}/business-0-abm-api-account.png", full_page=True)

    page.goto(f"{live_server.url}/")
    page.click("nav.sidenav >> text=Apple Business")
    page.fill("#id_client_id", "not-a-client-id")
    page.fill("#id_key_id", key_id)
    page.set_input_files("#id_private_key", str(key_file))
    page.click("button:text-is('Connect')")
    assert "BUSINESSAPI." in page.inner_text("#connect-form")
    page.fill("#id_client_id", client_id)
    page.set_input_files("#id_private_key", str(key_file))
    page.click("button:text-is('Connect')")
    assert page.inner_text("#connection-state") == "Connected"
    page.click("button:text-is('Refresh inventory')")
    wait_for(lambda: BusinessConnection.objects.filter(inventory_refreshed_at__isnull=False).exists())
    page.reload()
    assert OrgDevice.objects.count() == 6
    page.screenshot(path=f"{screenshot_dir}/business-1-connection.png", full_page=True)

    page.click("a:text-is('Organisation inventory')")
    assert loose[0] in page.inner_text("#inventory")
    page.screenshot(path=f"{screenshot_dir}/business-2-inventory.png", full_page=True)

    page.goto(f"{live_server.url}/tenant/business/activities/new/")
    page.select_option("#id_kind", "assign")
    page.select_option("#id_server", label="Portal MDM")
    page.fill("#id_order_number", "PO-1001")
    page.click("button:text-is('Preview')")
    assert "Preview: 4 devices move to Portal MDM" in page.inner_text("#activity-preview")
    page.screenshot(path=f"{screenshot_dir}/business-3-preview.png", full_page=True)
    page.click("#confirm")
    page.wait_for_selector("#activity-state:text-is('Completed')", timeout=30_000)
    assert "delta sync queued" in page.inner_text("#activity-syncs")
    page.screenshot(path=f"{screenshot_dir}/business-4-activity.png", full_page=True)

    wait_for(lambda: SyncJob.objects.filter(token=token, trigger=SyncTrigger.BUSINESS, state="succeeded").exists())
    page.goto(f"{live_server.url}/tokens/{token.pk}/")
    assert "Apple Business activity (admin)" in page.inner_text("#sync-history")
    page.screenshot(path=f"{screenshot_dir}/business-5-token-history.png", full_page=True)
