"""GET /session (OAuth 1.0a), header checks and session lifetime over real HTTP."""

import time

import pytest
import requests

from tests.depsim.apple import AppleSession, error_code, oauth


def test_good_signature_issues_a_session_token(apple):
    response = apple.session()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF8"
    token = response.json()["auth_session_token"]
    assert len(token) >= 32 and token.isalnum()
    assert apple.ok("GET", "/account")["server_name"] == "Test MDM"


def test_signature_without_realm_is_accepted(depsim, creds, apple):
    from requests_oauthlib import OAuth1

    plain = OAuth1(
        creds["consumer_key"],
        creds["consumer_secret"],
        creds["access_token"],
        creds["access_secret"],
        signature_type="auth_header",
    )
    assert apple.session(plain).status_code == 200


@pytest.mark.parametrize("wrong", ["consumer_secret", "access_secret", "access_token", "consumer_key"])
def test_wrong_oauth_value_is_401(apple, wrong):
    response = apple.session(oauth(apple.creds, **{wrong: apple.creds[wrong][:-4] + "0000"}))
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHORIZED"
    assert apple.token is None


def test_signature_base_url_is_the_host_the_client_used(depsim, apple):
    # Signed and sent for the same Host header: valid, whatever the socket address.
    same_host = apple.http.get(
        f"{depsim.base_url}/session", auth=oauth(apple.creds), headers={"Host": "mdmenrollment.apple.com"}, timeout=10
    )
    # Signed for Apple's URL but sent to the simulator's own host: the base strings differ.
    signed_for_apple = requests.Request(
        "GET", "https://mdmenrollment.apple.com/session", auth=oauth(apple.creds), headers=dict(apple.http.headers)
    ).prepare()
    replay = apple.http.get(
        f"{depsim.base_url}/session", headers={"Authorization": signed_for_apple.headers["Authorization"]}, timeout=10
    )
    assert same_host.status_code == 200
    assert (replay.status_code, replay.text) == (401, "UNAUTHORIZED")


def test_reused_nonce_is_401(apple):
    stamp = str(int(time.time()))
    first = apple.session(oauth(apple.creds, nonce="fixed-nonce-0001", timestamp=stamp))
    again = apple.session(oauth(apple.creds, nonce="fixed-nonce-0001", timestamp=stamp))
    fresh = apple.session(oauth(apple.creds, nonce="fixed-nonce-0002", timestamp=stamp))
    assert (first.status_code, again.status_code, fresh.status_code) == (200, 401, 200)


def test_missing_authorization_is_400(apple):
    response = apple.http.get(f"{apple.base_url}/session", timeout=10)
    assert response.status_code == 400


def test_unsupported_signature_method_is_400(apple):
    response = apple.session(oauth(apple.creds, signature_method="HMAC-SHA256"))
    assert response.status_code == 400


def test_expired_server_token_is_401_and_renewal_fixes_it(depsim, creds, apple):
    depsim.advance_clock(366 * 24 * 3600)
    assert apple.session().status_code == 401
    renewed = depsim.renew_server(creds["server_uuid"])
    assert renewed["consumer_key"] == creds["consumer_key"]
    assert renewed["access_token"] != creds["access_token"]
    assert renewed["access_token_expiry"] > creds["access_token_expiry"]
    assert AppleSession(depsim.base_url, renewed).session().status_code == 200
    # The replaced token is dead.
    assert apple.session().status_code == 401


def test_terms_pending_blocks_session_and_calls(depsim, creds, apple):
    apple.session()
    depsim.set_terms_pending(creds["server_uuid"], True)
    later_call = apple.call("GET", "/account")
    assert (later_call.status_code, error_code(later_call)) == (403, "T_C_NOT_SIGNED")
    assert later_call.text == '"T_C_NOT_SIGNED"'
    new_session = apple.session()
    assert (new_session.status_code, error_code(new_session)) == (403, "T_C_NOT_SIGNED")
    depsim.set_terms_pending(creds["server_uuid"], False)
    assert apple.session().status_code == 200


def test_access_denied(depsim, creds, apple):
    depsim.set_access_denied(creds["server_uuid"], True)
    response = apple.session()
    assert (response.status_code, error_code(response)) == (403, "ACCESS_DENIED")


def test_missing_user_agent_is_400(depsim, creds):
    apple = AppleSession(depsim.base_url, creds, user_agent="")
    response = apple.session()
    assert (response.status_code, response.text) == (400, '"USER_AGENT_MISSING"')


def test_user_agent_apple_rejected_is_invalid(depsim, creds):
    response = AppleSession(depsim.base_url, creds, user_agent="nanodep-godep/0").session()
    assert (response.status_code, error_code(response)) == (400, "USER_AGENT_INVALID")


def test_idle_session_expires_with_401_unauthorized(depsim, apple):
    depsim.set_session_ttl(60)
    apple.session()
    depsim.advance_clock(45)
    assert apple.call("GET", "/account").status_code == 200
    # Sliding lifetime: 45 s more is within 60 s of the last use.
    depsim.advance_clock(45)
    assert apple.call("GET", "/account").status_code == 200
    depsim.advance_clock(61)
    response = apple.call("GET", "/account")
    assert response.status_code == 401
    assert response.text == "UNAUTHORIZED"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_unknown_and_forgotten_sessions_are_403_forbidden(depsim, apple):
    apple.session()
    garbage = apple.call("GET", "/account", headers={"X-ADM-Auth-Session": "NOT-A-SESSION"})
    assert (garbage.status_code, garbage.text) == (403, '"FORBIDDEN"')
    depsim.expire_sessions()
    forgotten = apple.call("GET", "/account")
    assert (forgotten.status_code, error_code(forgotten)) == (403, "FORBIDDEN")
    missing = apple.http.get(f"{apple.base_url}/account", timeout=10)
    assert missing.status_code == 403


def test_session_of_one_server_sees_only_its_account(depsim):
    first = AppleSession(depsim.base_url, depsim.create_server("First"))
    second = AppleSession(depsim.base_url, depsim.create_server("Second"))
    assert first.ok("GET", "/account")["server_name"] == "First"
    assert second.ok("GET", "/account")["server_name"] == "Second"


def test_account_fields_and_protocol_gating(depsim, creds):
    new = AppleSession(depsim.base_url, creds, version=10).ok("GET", "/account")
    old = AppleSession(depsim.base_url, creds, version=2).ok("GET", "/account")
    assert new["server_uuid"] == creds["server_uuid"]
    assert new["org_name"] == "Example Org"
    assert {"org_id", "org_id_hash", "org_type", "org_version", "urls"} <= set(new)
    assert "urls" not in old and "org_id" not in old
    limits = {u["uri"]: u.get("limit") for u in new["urls"]}
    assert limits["/server/devices"] == {"default": 100, "maximum": 1000}
    assert limits["/devices/sync"] == {"default": 100, "maximum": 1000}
    methods = {u["uri"]: u["http_method"] for u in new["urls"]}
    assert set(methods["/profile/devices"]) == {"DELETE", "POST", "PUT"}


def test_wrong_method_is_405_with_empty_body(apple):
    response = apple.call("POST", "/account", {})
    assert response.status_code == 405
    assert response.text == ""
