import base64

import pytest

from tests.plugins.celery_worker import wait_for
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def abm(apple, settings):
    settings.APPLE_BUSINESS_MANAGER_URL = f"{apple.base_url}/abm/"
    return apple


def _download(page, selector, tmp_path):
    with page.expect_download() as info:
        page.click(selector)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_a_new_admin_adds_and_renews_a_token_through_the_wizard(
    abm, page, signed_in, live_server, admin_user, tag_a, tmp_path, screenshot_dir
):
    signed_in("admin", "admin-pass-123")
    page.click("nav.sidenav >> text=Enrollment program tokens")
    page.click("text=+ Add")

    page.click("button:text-is('Next')")
    assert "Agree to send user and device information to Apple first" in page.content()
    page.check("#id_data_sharing_consent")
    page.click("button:text-is('Next')")
    page.wait_for_url("**/tokens/add/*/")
    assert "Do not close or leave this page" in page.inner_text("#wizard-warning")
    assert page.is_disabled("#create")
    pem = _download(page, "#download-key", tmp_path)
    assert pem.read_text().startswith("-----BEGIN CERTIFICATE-----")
    page.click("button:text-is('Next: Apple token')")

    with page.expect_popup() as popup:
        page.click("#apple-portal-link")
    apple_page = popup.value
    apple_page.fill("#name", "Acme Browser MDM")
    apple_page.set_input_files("#public_key", str(pem))
    apple_page.click("button:text-is('Save')")
    p7m = _download(apple_page, "#download-token", tmp_path)
    assert p7m.name.endswith("_smime.p7m")

    page.fill("#id_apple_id", "it@acme.test")
    page.set_input_files("#id_token_file", str(p7m))
    page.screenshot(path=f"{screenshot_dir}/token-wizard.png", full_page=True)
    page.click("button:text-is('Next: Scope tags')")
    page.check(f"input[name=scope_tags][value='{tag_a.pk}']")
    page.click("button:text-is('Next: Review + create')")
    page.wait_for_selector("#step4-heading", state="visible")
    review = page.inner_text("#wizard-review")
    assert "Acme Browser MDM" in review and "it@acme.test" in review and "Tag A" in review
    page.screenshot(path=f"{screenshot_dir}/token-wizard-review.png", full_page=True)
    page.click("#create")
    page.wait_for_url("**/tokens/*/")
    assert page.inner_text("#token-status") == "Active"
    assert "The token Acme Browser MDM was created" in page.inner_text(".messages")
    overview = page.inner_text("#token-overview")
    assert "it@acme.test" in overview and "Tag A" in overview and "Example Org" in overview
    page.screenshot(path=f"{screenshot_dir}/token-detail.png", full_page=True)
    token = EnrollmentProgramToken.objects.get()
    assert token.state == TokenState.ACTIVE and token.name == "Acme Browser MDM"
    first_expiry = token.access_token_expiry

    abm.advance_clock(86400 * 30)
    page.click("text=Renew token")
    with page.expect_popup() as popup:
        page.click("text=Open Apple Business Manager")
    apple_page = popup.value
    apple_page.click("text=Acme Browser MDM")
    apple_page.click("button:text-is('Generate new token')")
    renewed = _download(apple_page, "#download-token", tmp_path)
    page.set_input_files("#id_token_file", str(renewed))
    page.click("button:text-is('Renew token')")
    page.wait_for_url(f"**/tokens/{token.pk}/")
    assert "was renewed" in page.inner_text(".messages")
    token.refresh_from_db()
    assert token.access_token_expiry > first_expiry and token.renewed_by == admin_user


def _start_wizard(page, signed_in, live_server):
    page.set_viewport_size({"width": 1440, "height": 900})
    signed_in("admin", "admin-pass-123")
    page.goto(f"{live_server.url}/tokens/add/")
    page.check("#id_data_sharing_consent")
    page.click("button:text-is('Next')")
    page.wait_for_url("**/tokens/add/*/")


def test_leaving_the_wizard_invalidates_its_key(page, signed_in, live_server, admin_user):
    _start_wizard(page, signed_in, live_server)
    wizard_url = page.url
    page.click("nav.sidenav >> text=Home")
    page.wait_for_url(f"{live_server.url}/")
    # The beacon is sent as the page goes; the server may take a moment to act on it.
    wait_for(lambda: not EnrollmentProgramToken.objects.exists(), timeout=10)
    page.goto(wizard_url)
    assert "This public key is no longer valid" in page.inner_text("#wizard-invalid")
    assert page.is_disabled("#create")


def test_browser_back_to_an_abandoned_wizard_shows_it_invalid(
    page, signed_in, live_server, admin_user, screenshot_dir
):
    _start_wizard(page, signed_in, live_server)
    page.click("nav.sidenav >> text=Home")
    page.wait_for_url(f"{live_server.url}/")
    wait_for(lambda: not EnrollmentProgramToken.objects.exists(), timeout=10)
    page.go_back()
    page.wait_for_url("**/tokens/add/*/")
    page.wait_for_selector("#wizard-invalid", state="visible")
    assert "This public key is no longer valid" in page.inner_text("#wizard-invalid")
    assert not page.is_visible("#wizard-warning")
    assert page.is_disabled("#create")
    assert page.is_disabled("button:text-is('Next: Apple token')")
    page.screenshot(path=f"{screenshot_dir}/token-wizard-back.png", full_page=True)


def test_each_wizard_step_checks_its_fields_as_it_is_left(
    abm, page, signed_in, live_server, admin_user, make_user, tag_a, tmp_path, screenshot_dir
):
    _start_wizard(page, signed_in, live_server)
    page.click("button:text-is('Next: Apple token')")
    assert "Download your public key first" in page.inner_text("#step-error")
    assert page.is_visible("#download-key")
    pem = _download(page, "#download-key", tmp_path)
    page.click("button:text-is('Next: Apple token')")

    page.click("button:text-is('Next: Scope tags')")
    assert "Enter the Apple ID" in page.inner_text("#id_apple_id_errors")
    assert "Choose the server token file" in page.inner_text("#id_token_file_errors")
    page.fill("#id_apple_id", "not an apple id")
    nonsense = tmp_path / "nonsense.p7m"
    nonsense.write_bytes(b"nonsense")
    page.set_input_files("#id_token_file", str(nonsense))
    page.click("button:text-is('Next: Scope tags')")
    page.wait_for_selector("#id_apple_id_errors")
    assert "looks like an email address" in page.inner_text("#id_apple_id_errors")
    page.fill("#id_apple_id", "it@acme.test")
    page.click("button:text-is('Next: Scope tags')")
    page.wait_for_selector("#id_token_file_errors")
    assert "is not a server token" in page.inner_text("#id_token_file_errors")
    page.screenshot(path=f"{screenshot_dir}/token-wizard-step-errors.png", full_page=True)

    server = abm.create_server("Acme Steps MDM", certificate_pem=pem.read_bytes())
    p7m = tmp_path / "acme.p7m"
    p7m.write_bytes(base64.b64decode(server["p7m"]))
    page.set_input_files("#id_token_file", str(p7m))
    page.click("button:text-is('Next: Scope tags')")
    page.wait_for_selector("#step3-heading", state="visible")
    assert page.is_disabled("#create")
    page.click("button:text-is('Next: Review + create')")
    page.wait_for_selector("#step4-heading", state="visible")
    review = page.inner_text("#wizard-review")
    assert "Acme Steps MDM" in review and "Example Org" in review and "Default" in review
    assert page.is_enabled("#create")
    # Going back and changing an answer takes Create away until the step is checked again.
    page.click("#wizard-form section[data-step='4'] button:text-is('Previous')")
    page.click("#wizard-form section[data-step='3'] button:text-is('Previous')")
    page.fill("#id_apple_id", "other@acme.test")
    page.dispatch_event("#id_apple_id", "change")
    assert page.is_disabled("#create")
    page.click("button:text-is('Next: Scope tags')")
    page.click("button:text-is('Next: Review + create')")
    page.wait_for_selector("#step4-heading", state="visible")
    assert "other@acme.test" in page.inner_text("#wizard-review")
    page.click("#create")
    page.wait_for_url("**/tokens/*/")
    assert EnrollmentProgramToken.objects.get().apple_id == "other@acme.test"


def test_a_page_restored_from_the_back_forward_cache_rechecks_its_key(page, signed_in, live_server, admin_user):
    # Chromium keeps no-store pages out of its cache today; the pageshow check covers browsers that do not.
    _start_wizard(page, signed_in, live_server)
    assert page.is_visible("#wizard-warning")
    token = EnrollmentProgramToken.objects.get()
    page.evaluate(
        """(url) => fetch(url, {method: "POST", body: new URLSearchParams({csrfmiddlewaretoken:
             document.querySelector("input[name=csrfmiddlewaretoken]").value})})""",
        f"/tokens/add/{token.pk}/abandon/",
    )
    assert not EnrollmentProgramToken.objects.exists()
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    page.wait_for_selector("#wizard-invalid", state="visible")
    assert not page.is_visible("#wizard-warning")
    assert page.is_disabled("button:text-is('Next: Apple token')")
    assert page.get_attribute("#download-key", "href") is None
