"""The mini ABM in a real browser: upload a .pem, download the .p7m, create and assign devices."""

import re

import pytest

from depportal.apple.tokenfile import decrypt_server_token, generate_server_keypair
from tests.depsim.apple import AppleSession

pytestmark = pytest.mark.browser


def test_abm_flow_in_chromium(depsim, page, tmp_path):
    private_key, certificate = generate_server_keypair("DEP Portal browser test")
    pem = tmp_path / "DEPPortal_public_key.pem"
    pem.write_bytes(certificate)

    page.goto(f"{depsim.base_url}/abm/")
    page.fill("#name", "Browser MDM")
    page.set_input_files("#public_key", str(pem))
    page.click("form[action='/abm/servers'] button[type=submit]")
    page.wait_for_url(re.compile(r"/abm/servers/[0-9A-F-]+"))
    assert "MDM server added" in page.inner_text("#notice")
    server_uuid = page.url.split("/abm/servers/")[1].split("?")[0]

    with page.expect_download() as download_info:
        page.click("#download-token")
    download = download_info.value
    assert re.fullmatch(r"Browser_MDM_Token_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_smime\.p7m", download.suggested_filename)
    download.save_as(tmp_path / "token.p7m")
    token = decrypt_server_token((tmp_path / "token.p7m").read_bytes(), private_key)
    assert AppleSession(depsim.base_url, token.to_json()).session().status_code == 200

    page.goto(f"{depsim.base_url}/abm/")
    page.fill("#count", "8")
    page.click("form[action='/abm/devices/demo'] button[type=submit]")
    page.wait_for_url(re.compile(r"/abm/devices"))
    assert "8 demo device(s) created" in page.inner_text("#notice")
    serials = page.locator("#devices tr td:first-child code").all_inner_texts()
    assert len(serials) == 8

    page.goto(f"{depsim.base_url}/abm/servers/{server_uuid}")
    page.fill("#serials", "\n".join(serials[:3]))
    page.click(f"form[action='/abm/servers/{server_uuid}/assign'] button[type=submit]")
    assert "3 device(s) assigned" in page.inner_text("#notice")
    assert sorted(page.locator("#devices tr td:first-child code").all_inner_texts()) == sorted(serials[:3])
    assert sorted(d["serial_number"] for d in depsim.devices(server_uuid)) == sorted(serials[:3])
    page.screenshot(path="/tmp/abm.png", full_page=True)
