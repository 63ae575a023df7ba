"""depsim's Apps and Books service follows Apple's documents: Bearer sToken, paged assets, error bodies."""

import requests

from depsim.vpp import PAGE_SIZE


def test_client_config_and_paged_assets(depsim):
    location = depsim.vpp_create_location("Campus", org_name="Acme", days=30)
    for adam_id in ("100", "200", "300"):
        depsim.vpp_set_asset(location["s_token"], adam_id, total=5, assigned=2)
    headers = {"Authorization": f"Bearer {location['s_token']}"}
    config = requests.get(f"{depsim.base_url}/mdm/v2/client/config", headers=headers, timeout=10).json()
    assert config["locationName"] == "Campus" and config["tokenExpirationDate"].endswith("+0000")
    first = requests.get(f"{depsim.base_url}/mdm/v2/assets", headers=headers, timeout=10).json()
    assert len(first["assets"]) == PAGE_SIZE and first["nextPageIndex"] == 1 and first["totalPages"] == 2
    last = requests.get(
        f"{depsim.base_url}/mdm/v2/assets", params={"pageIndex": 1}, headers=headers, timeout=10
    ).json()
    assert [a["adamId"] for a in last["assets"]] == ["300"] and "nextPageIndex" not in last
    assert last["assets"][0]["availableCount"] == 3
    one = requests.get(f"{depsim.base_url}/mdm/v2/assets", params={"adamId": "200"}, headers=headers, timeout=10)
    assert [a["adamId"] for a in one.json()["assets"]] == ["200"]


def test_refusals_use_apples_error_body(depsim):
    location = depsim.vpp_create_location()
    url = f"{depsim.base_url}/mdm/v2/assets"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": location["s_token"]}):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 401 and response.json()["errorNumber"] == 9601
    good = {"Authorization": f"Bearer {location['s_token']}"}
    bad_page = requests.get(url, params={"pageIndex": "x"}, headers=good, timeout=10)
    assert bad_page.status_code == 400 and bad_page.json()["errorNumber"] == 9602
    depsim.vpp_revoke(location["s_token"])
    assert requests.get(url, headers=good, timeout=10).status_code == 401
    expiring = depsim.vpp_create_location(days=1)
    depsim.advance_clock(2 * 86400)
    headers = {"Authorization": f"Bearer {expiring['s_token']}"}
    assert requests.get(f"{depsim.base_url}/mdm/v2/client/config", headers=headers, timeout=10).status_code == 401


def test_mini_abm_downloads_a_vpptoken_with_company_portal_licences(depsim):
    import base64
    import json

    response = requests.post(
        f"{depsim.base_url}/abm/vpp", data={"location_name": "Lab 1", "licences": "7"}, timeout=10
    )
    assert response.status_code == 200 and 'filename="Lab_1.vpptoken"' in response.headers["Content-Disposition"]
    content = json.loads(base64.b64decode(response.content))
    headers = {"Authorization": f"Bearer {content['token']}"}
    assets = requests.get(f"{depsim.base_url}/mdm/v2/assets", headers=headers, timeout=10).json()["assets"]
    assert [(a["adamId"], a["totalCount"], a["assignedCount"]) for a in assets] == [("719171358", 7, 0)]
    refused = requests.post(f"{depsim.base_url}/abm/vpp", data={"licences": "many"}, timeout=10)
    assert refused.status_code == 400 and "number of Company Portal licences" in refused.text
