"""The sync panel as an admin sees it: why a sync ran full, which of Apple's records were skipped, live counts."""

import json

import pytest

from tests.truth import run_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_panel_says_why_a_sync_ran_full_and_names_skipped_records(
    apple, onboard, admin_user, signed_in, live_server, screenshot_dir
):
    token = onboard(admin_user, server_name="Acme MDM")  # its own first sync has run
    apple.add_devices(token.server_uuid, count=12)
    run_sync(token)
    apple.add_fault("/devices/sync", 400, body='"EXPIRED_CURSOR"')
    run_sync(token)
    bad = {"serial_number": "BAD\x00ONE", "op_type": "added", "op_date": "2026-01-01T00:00:00Z"}
    body = {"devices": [bad], "cursor": "C" * 40, "more_to_follow": False, "fetched_until": "2026-01-01T00:00:00Z"}
    apple.add_fault("/devices/sync", 200, body=json.dumps(body))
    run_sync(token)

    page = signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/tokens/{token.pk}/")
    panel = page.locator("#sync")
    assert "Assigned by Apple: 12 devices" in panel.inner_text()
    history = page.locator("#sync-history").inner_text()
    assert "ran full: Apple rejected the cursor, EXPIRED_CURSOR" in history
    page.click("#sync-history summary")
    assert "BAD\\x00ONE" in page.locator("#sync-history .record-problems").inner_text()
    page.locator("#sync").screenshot(path=f"{screenshot_dir}/sync-panel.png")
