"""The token list at 1440 px: every column, Scope tags included, without sideways scrolling."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_token_list_fits_1440_px(onboard, signed_in, live_server, admin_user, tag_a, tag_b, screenshot_dir):
    onboard(
        admin_user,
        server_name="Contoso Primary School District MDM",
        tags=[tag_a, tag_b],
        apple_id="device-enrollment-admin@contoso-schools.example.com",
    )
    onboard(admin_user, server_name="Acme", tags=[tag_a])
    page = signed_in("admin", "admin-pass-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/tokens/")
    overflow = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth; }"
    )
    page.screenshot(path=f"{screenshot_dir}/token-list-1440.png")
    assert overflow <= 0
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    tags = page.locator("#tokens tbody tr").first.locator("td").last
    assert tags.is_visible() and "Tag A" in tags.inner_text()
