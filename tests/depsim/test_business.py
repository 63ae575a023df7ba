"""depsim's Apple School and Business Manager API over plain HTTP: the token endpoint's checks, JSON:API
paging and errors, device activities and their DEP ops, webhook deliveries, the mini ABM's API page."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(account, *, key_pem=None, header=None, **claims) -> str:
    now = int(time.time())
    body = {"iss": account["client_id"], "sub": account["client_id"], "aud": AUDIENCE, "iat": now, "exp": now + 300}
    body.update({"jti": str(uuid.uuid4()), **claims})
    head = {"alg": "ES256", "kid": account["key_id"], "typ": "JWT", **(header or {})}
    key = serialization.load_pem_private_key((key_pem or account["private_key_pem"]).encode(), None)
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def token_request(depsim, account, **form):
    data = {
        "grant_type": "client_credentials",
        "client_id": account["client_id"],
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(account),
        "scope": "business.api",
        **form,
    }
    return requests.post(f"{depsim.base_url}/auth/oauth2/token", data=data, timeout=10)


@pytest.fixture
def account(depsim):
    return depsim.business("create_account", name="Tests")


@pytest.fixture
def api(depsim, account):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token_request(depsim, account).json()["access_token"]
    return session


def test_token_endpoint_issues_an_hour_long_bearer_token(depsim, account):
    answer = token_request(depsim, account)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "business.api"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_id": "BUSINESSAPI.unknown"}, "invalid_client"),
        ({"client_assertion_type": "urn:other"}, "invalid_client"),
        ({"scope": "school.api"}, "invalid_scope"),
        ({"client_assertion": "not.a.jwt"}, "invalid_client"),
        ({"client_assertion": "a.b"}, "invalid_client"),
    ],
)
def test_token_endpoint_refuses_bad_requests(depsim, account, form, error):
    answer = token_request(depsim, account, **form)
    assert answer.status_code == 400 and answer.json()["error"] == error


@pytest.mark.parametrize(
    ("claims", "header", "why"),
    [
        ({"exp": int(time.time()) - 1}, None, "expired"),
        ({"aud": "https://appleid.apple.com"}, None, "audience"),
        ({"iss": "someone-else"}, None, "iss and sub"),
        ({"iat": int(time.time()), "exp": int(time.time()) + 181 * 86400}, None, "lifetime"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, None, "lifetime"),
        ({}, {"alg": "RS256"}, "alg or kid"),
        ({}, {"kid": "other-key"}, "alg or kid"),
    ],
)
def test_token_endpoint_checks_the_assertion(depsim, account, claims, header, why):
    answer = token_request(depsim, account, client_assertion=assertion(account, header=header, **claims))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"
    assert why in answer.json()["error_description"]


def test_a_foreign_signature_and_a_replayed_assertion_are_refused(depsim, account):
    other = depsim.business("create_account", name="Other")
    forged = token_request(depsim, account, client_assertion=assertion(account, key_pem=other["private_key_pem"]))
    assert "does not verify" in forged.json()["error_description"]
    once = assertion(account)
    assert token_request(depsim, account, client_assertion=once).status_code == 200
    again = token_request(depsim, account, client_assertion=once)
    assert again.status_code == 400 and "already used" in again.json()["error_description"]


def test_resources_need_a_live_bearer_token(depsim, api):
    assert requests.get(f"{depsim.base_url}/v1/orgDevices", timeout=10).status_code == 401
    assert api.get(f"{depsim.base_url}/v1/orgDevices", timeout=10).status_code == 200
    depsim.business("expire_tokens")
    refused = api.get(f"{depsim.base_url}/v1/orgDevices", timeout=10)
    assert refused.status_code == 401 and refused.json()["errors"][0]["status"] == "401"


def test_paging_follows_apple_limits(depsim, api):
    depsim.add_devices(None, count=250)
    first = api.get(f"{depsim.base_url}/v1/orgDevices", timeout=10).json()
    assert len(first["data"]) == 100 and first["meta"]["paging"]["limit"] == 100
    assert first["links"]["next"].endswith(f"cursor={first['meta']['paging']['nextCursor']}&limit=100")
    last = api.get(f"{depsim.base_url}/v1/orgDevices?limit=1000&cursor={first['meta']['paging']['nextCursor']}").json()
    assert len(last["data"]) == 150 and "nextCursor" not in last["meta"]["paging"]
    for bad in ("limit=1001", "limit=0", "limit=x", "cursor=%%%"):
        answer = api.get(f"{depsim.base_url}/v1/orgDevices?{bad}", timeout=10)
        assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "PARAMETER_ERROR.INVALID"
    missing = api.get(f"{depsim.base_url}/v1/orgDevices/NOSUCHSERIAL", timeout=10)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NOT_FOUND"


def activity(serials, kind="ASSIGN_DEVICES", server_id=None, **attributes):
    relationships = {"devices": {"data": [{"type": "orgDevices", "id": s} for s in serials]}}
    if server_id:
        relationships["mdmServer"] = {"data": {"type": "mdmServers", "id": server_id}}
    return {
        "data": {
            "type": "orgDeviceActivities",
            "attributes": {"activityType": kind, **attributes},
            "relationships": relationships,
        }
    }


def test_an_assign_activity_moves_devices_and_emits_the_dep_ops(depsim, api):
    source = depsim.create_server("Source")
    target = depsim.create_server("Target")
    serials = [d["serial_number"] for d in depsim.add_devices(source["server_uuid"], count=2)]
    servers = api.get(f"{depsim.base_url}/v1/mdmServers", timeout=10).json()["data"]
    target_id = next(s["id"] for s in servers if s["attributes"]["serverName"] == "Target")
    assert target_id == target["server_uuid"].replace("-", "")
    created = api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=activity(serials, server_id=target_id))
    assert created.status_code == 201
    assert created.json()["data"]["attributes"] == {
        "status": "IN_PROGRESS",
        "subStatus": "SUBMITTED",
        "createdDateTime": created.json()["data"]["attributes"]["createdDateTime"],
    }
    done = api.get(created.json()["data"]["links"]["self"], timeout=10).json()["data"]["attributes"]
    assert done["status"] == "COMPLETED" and done["subStatus"] == "COMPLETED_WITH_SUCCESS"
    log = requests.get(done["downloadUrl"], headers=api.headers, timeout=10).text
    assert log.splitlines()[0] == "serialNumber,result"
    assert {d["serial_number"] for d in depsim.devices(target["server_uuid"])} == set(serials)
    assert depsim.devices(source["server_uuid"]) == []
    linked = api.get(f"{depsim.base_url}/v1/mdmServers/{target_id}/relationships/devices", timeout=10).json()
    assert sorted(d["id"] for d in linked["data"]) == sorted(serials)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (activity(["NOSUCHSERIAL"], kind="RELEASE_DEVICES"), 409),
        (activity([], kind="RELEASE_DEVICES"), 400),
        ({"data": {"type": "orgDevices"}}, 400),
        (activity(["X"], kind="TELEPORT_DEVICES"), 400),
    ],
)
def test_bad_activities_are_refused(depsim, api, body, status):
    answer = api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=body, timeout=10)
    assert answer.status_code == status and answer.json()["errors"]


def test_unknown_server_and_far_deadline_conflict(depsim, api):
    serial = depsim.add_devices(None, count=1)[0]["serial_number"]
    unknown = api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=activity([serial], server_id="F" * 32))
    assert unknown.status_code == 409
    server = depsim.create_server("Target")["server_uuid"].replace("-", "")
    far = activity(
        [serial],
        kind="ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
        server_id=server,
        activityTypeMetadata={"mdmMigrationDeadlineDateTime": "2099-01-01T00:00:00Z"},
    )
    assert api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=far).status_code == 409


def test_an_unassignment_names_the_server_that_gives_the_devices_up(depsim, api):
    first = depsim.create_server("First")["server_uuid"]
    second = depsim.create_server("Second")["server_uuid"]
    mine = depsim.add_devices(first, count=1)[0]["serial_number"]
    theirs = depsim.add_devices(second, count=1)[0]["serial_number"]
    unnamed = api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=activity([mine], kind="UNASSIGN_DEVICES"))
    assert unnamed.status_code == 409
    body = activity([mine, theirs], kind="UNASSIGN_DEVICES", server_id=first.replace("-", "").upper())
    created = api.post(f"{depsim.base_url}/v1/orgDeviceActivities", json=body).json()["data"]
    done = api.get(created["links"]["self"], timeout=10).json()["data"]["attributes"]
    assert done["status"] == "COMPLETED" and done["subStatus"] == "COMPLETED_WITH_FAILURE"
    assert depsim.devices(first) == []
    assert [d["serial_number"] for d in depsim.devices(second)] == [theirs]


def test_an_order_placed_in_the_mini_abm_is_the_devices_order_number_in_the_api(depsim, api):
    order = requests.post(f"{depsim.base_url}/abm/devices/demo", json={"count": 2}, timeout=10).json()
    for device in order["devices"]:
        attributes = api.get(f"{depsim.base_url}/v1/orgDevices/{device['serial_number']}", timeout=10).json()
        assert attributes["data"]["attributes"]["orderNumber"] == order["order_number"]
    # An order set through the control API is the mini ABM's order record as well.
    serial = order["devices"][0]["serial_number"]
    depsim.business("set_order", serials=[serial], order_number="ORDER-9")
    chosen = requests.get(f"{depsim.base_url}/abm/devices", params={"q": serial}, timeout=10).text
    assert "ORDER-9" in chosen


def test_webhook_deliveries_are_signed_with_the_secret(depsim, api):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["X-Apple-Signature"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        hook = {
            "data": {
                "type": "webhooks",
                "attributes": {
                    "name": "t",
                    "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                    "secret": "s3cret",
                    "eventTypes": ["ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED"],
                },
            }
        }
        assert api.post(f"{depsim.base_url}/v1/webhooks", json=hook, timeout=10).status_code == 201
        bad = {"data": {"type": "webhooks", "attributes": {**hook["data"]["attributes"], "eventTypes": ["NOPE"]}}}
        assert api.post(f"{depsim.base_url}/v1/webhooks", json=bad, timeout=10).status_code == 400
        server = depsim.create_server("Target")
        serial = depsim.add_devices(None, count=1)[0]["serial_number"]
        created = api.post(
            f"{depsim.base_url}/v1/orgDeviceActivities",
            json=activity([serial], server_id=server["server_uuid"].replace("-", "")),
        ).json()
        api.get(created["data"]["links"]["self"], timeout=10)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        signature, body = received[0]
        assert signature == "hmacsha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        event = json.loads(body)["included"][0]["attributes"]
        assert event["eventType"] == "ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED"
        assert json.loads(event["payload"])["orgDevice"]["id"] == serial
    finally:
        receiver.shutdown()


def test_mini_abm_creates_an_api_account_and_shows_its_key_once(depsim):
    page = requests.post(f"{depsim.base_url}/abm/api", data={"name": "Portal <b>"}, timeout=10)
    assert page.status_code == 201
    assert "BEGIN PRIVATE KEY" in page.text and "shown only this once" in page.text
    assert "Portal &lt;b&gt;" in page.text
    listing = requests.get(f"{depsim.base_url}/abm/api", timeout=10)
    assert "BEGIN PRIVATE KEY" not in listing.text and "BUSINESSAPI." in listing.text
    created = requests.post(f"{depsim.base_url}/abm/api", json={"name": "JSON", "kind": "school"}, timeout=10).json()
    assert created["client_id"].startswith("SCHOOLAPI.") and created["scope"] == "school.api"
    assert requests.post(f"{depsim.base_url}/abm/api", data={"name": ""}, timeout=10).status_code == 400


def test_api_accounts_and_order_numbers_survive_a_restart(tmp_path):
    from depsim.control import DepSimControl
    from depsim.server import start_in_thread

    path = str(tmp_path / "depsim.json")
    first = start_in_thread(seed=7, state_file=path)
    control = DepSimControl(first.base_url)
    created = control.business("create_account", name="Durable")
    serial = control.add_devices(None, count=1)[0]["serial_number"]
    control.business("set_order", serials=[serial], order_number="PO-9")
    first.shutdown()
    second = start_in_thread(seed=7, state_file=path)
    try:
        restarted = DepSimControl(second.base_url)
        assert [a["client_id"] for a in restarted.business("accounts")] == [created["client_id"]]
        answer = token_request(restarted, created)
        assert answer.status_code == 200
        api = requests.Session()
        api.headers["Authorization"] = "Bearer " + answer.json()["access_token"]
        device = api.get(f"{second.base_url}/v1/orgDevices/{serial}", timeout=10).json()["data"]
        assert device["attributes"]["orderNumber"] == "PO-9"
    finally:
        second.shutdown()
