"""The mini Apple Business Manager over plain HTTP: forms, uploads, token download, JSON twins."""

import requests

from depportal.apple.tokenfile import decrypt_server_token, generate_server_keypair
from tests.depsim.apple import AppleSession


def test_add_server_with_pem_upload_and_download_token(depsim):
    private_key, certificate = generate_server_keypair("abm test")
    http = requests.Session()
    created = http.post(
        f"{depsim.base_url}/abm/servers",
        data={"name": "Upload MDM"},
        files={"public_key": ("DEPPortal.pem", certificate, "application/x-pem-file")},
        allow_redirects=False,
        timeout=10,
    )
    assert created.status_code == 303
    server_url = depsim.base_url + created.headers["Location"].split("?")[0]
    page = http.get(server_url, timeout=10)
    assert page.status_code == 200 and "Upload MDM" in page.text and "Download token" in page.text
    download = http.get(server_url + "/token", timeout=10)
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Upload_MDM_Token_') and disposition.endswith('_smime.p7m"')
    assert download.content.startswith(b"Content-Type: application/pkcs7-mime")
    creds = decrypt_server_token(download.content, private_key).to_json()
    assert AppleSession(depsim.base_url, creds).session().status_code == 200

    renew = http.post(server_url + "/renew", allow_redirects=False, timeout=10)
    assert renew.status_code == 303
    renewed = decrypt_server_token(http.get(server_url + "/token", timeout=10).content, private_key).to_json()
    assert renewed["consumer_key"] == creds["consumer_key"] and renewed["access_token"] != creds["access_token"]


def test_add_server_requires_a_certificate(depsim):
    answer = requests.post(f"{depsim.base_url}/abm/servers", data={"name": "No key"}, timeout=10)
    assert answer.status_code == 400 and "public key" in answer.text
    junk = requests.post(
        f"{depsim.base_url}/abm/servers",
        data={"name": "Junk"},
        files={"public_key": ("x.pem", b"hello", "text/plain")},
        timeout=10,
    )
    assert junk.status_code == 400 and "PEM certificate" in junk.text


def test_assign_by_serial_list_and_csv(depsim):
    _, certificate = generate_server_keypair()
    http = requests.Session()
    made = http.post(f"{depsim.base_url}/abm/devices/demo", json={"count": 6}, timeout=10)
    assert made.status_code == 201
    serials = [d["serial_number"] for d in made.json()["devices"]]
    server = http.post(
        f"{depsim.base_url}/abm/servers",
        json={"name": "JSON MDM", "certificate_pem": certificate.decode()},
        timeout=10,
    ).json()
    assert server["server_name"] == "JSON MDM" and server["has_public_key"] is True
    url = f"{depsim.base_url}/abm/servers/{server['server_uuid']}"
    typed = http.post(
        url + "/assign",
        data={"serials": f"{serials[0]}, {serials[1].lower()}\nNOTREAL1"},
        allow_redirects=False,
        timeout=10,
    )
    assert typed.status_code == 303 and "2%20device" in typed.headers["Location"]
    csv_text = "Serial Number,Model\n" + "\n".join(f"{s},whatever" for s in serials[2:4]) + "\n"
    uploaded = http.post(
        url + "/assign",
        files={"csv": ("devices.csv", csv_text, "text/csv")},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert uploaded.json() == {"assigned": serials[2:4], "already": [], "not_found": []}
    assert {d["serial_number"] for d in depsim.devices(server["server_uuid"])} == set(serials[:4])
    rest = http.post(url + "/assign", json={"all_unassigned": True}, timeout=10).json()
    assert sorted(rest["assigned"]) == sorted(serials[4:])
    gone = http.post(url + "/unassign", json={"serials": [serials[0]]}, timeout=10).json()
    assert gone == {"unassigned": [serials[0]]}
    listing = http.get(f"{depsim.base_url}/abm/", params={"format": "json"}, timeout=10).json()
    assert listing["servers"][0]["device_count"] == 5 and listing["unassigned_devices"] == 1


def test_pages_render_and_escape(depsim):
    depsim.create_server("<script>alert(1)</script>")
    home = requests.get(f"{depsim.base_url}/", timeout=10)
    assert home.status_code == 200 and home.url.endswith("/abm/")
    assert "<script>alert" not in home.text and "&lt;script&gt;" in home.text
    assert "http://" not in home.text.replace(depsim.base_url, "")  # no external resources
    devices = requests.get(f"{depsim.base_url}/abm/devices", params={"q": "zzz"}, timeout=10)
    assert devices.status_code == 200 and "No devices" in devices.text
    missing = requests.get(f"{depsim.base_url}/abm/servers/NOPE", timeout=10)
    assert missing.status_code == 404


def test_assign_by_order_number_and_view_assignment_history(depsim):
    """The seed, steps 7 and 8: choose devices by order number; View Assignment History lists what was done."""
    _, certificate = generate_server_keypair()
    http = requests.Session()
    first = http.post(f"{depsim.base_url}/abm/devices/demo", json={"count": 3}, timeout=10).json()
    second = http.post(f"{depsim.base_url}/abm/devices/demo", json={"count": 2}, timeout=10).json()
    assert first["order_number"] != second["order_number"] and first["order_number"].startswith("D")
    server = http.post(
        f"{depsim.base_url}/abm/servers",
        json={"name": "Order MDM", "certificate_pem": certificate.decode()},
        timeout=10,
    ).json()
    url = f"{depsim.base_url}/abm/servers/{server['server_uuid']}"
    done = http.post(url + "/assign", json={"orders": first["order_number"].lower()}, timeout=10).json()
    assert sorted(done["assigned"]) == sorted(d["serial_number"] for d in first["devices"])
    unknown = http.post(url + "/assign", json={"orders": "D1"}, timeout=10)
    assert unknown.status_code == 400 and "No order D1" in unknown.json()["error"]
    one = second["devices"][0]["serial_number"]
    http.post(url + "/assign", json={"serials": [one]}, timeout=10)
    http.post(url + "/unassign", json={"serials": [one]}, timeout=10)

    history = http.get(f"{depsim.base_url}/abm/history", params={"format": "json"}, timeout=10).json()["history"]
    assert [(line["action"], len(line["serials"]), line["chosen_by"]) for line in history] == [
        ("unassign", 1, "serial numbers"),
        ("assign", 1, "serial numbers"),
        ("assign", 3, f"order {first['order_number']}"),
    ]
    assert history[0]["server_name"] == "Order MDM"
    mine = http.get(f"{depsim.base_url}/abm/history", params={"serial": one, "format": "json"}, timeout=10).json()
    assert len(mine["history"]) == 2
    page = http.get(f"{depsim.base_url}/abm/history", timeout=10).text
    assert 'id="history"' in page and first["order_number"] in page
    devices = http.get(f"{depsim.base_url}/abm/devices", timeout=10).text
    assert second["order_number"] in devices and "Order number" in http.get(url, timeout=10).text
