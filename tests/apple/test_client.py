"""DEPClient against the depsim simulator over real HTTP: every endpoint, session handling and every fault type."""

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings

from depportal.apple import (
    AccessDenied,
    AppleServerError,
    AuthenticationFailed,
    BadRequest,
    CursorExhausted,
    CursorExpired,
    CursorInvalid,
    DeadlineExceeded,
    DEPClient,
    MalformedResponse,
    NetworkError,
    NotFound,
    SessionRejected,
    TermsNotSigned,
    Throttled,
)
from depportal.apple.ratelimit import LocalRateLimiter, RedisRateLimiter, SlotTable
from depportal.apple.secrets_cache import LocalSecretCache, RedisSecretCache
from depportal.apple.transport import parse_retry_after


@pytest.fixture
def server(depsim):
    """A fresh MDM server at the simulator: its uuid plus the four OAuth values as attributes."""
    return SimpleNamespace(**depsim.create_server())


@pytest.fixture
def make_client(depsim, server):
    """Clients with a private session cache and limiter, and tiny backoff delays so retries stay fast."""
    clients = []
    key = f"test:{uuid.uuid4().hex}"

    def make(credentials=None, **options):
        options.setdefault("key", key)
        options.setdefault("base_url", depsim.base_url)
        options.setdefault("backoff_base", 0.01)
        options.setdefault("backoff_cap", 0.05)
        options.setdefault("rate_limiter", LocalRateLimiter(1000, None, table=SlotTable()))
        options.setdefault("session_store", LocalSecretCache())
        client = DEPClient(credentials or server, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def apple_calls(depsim, path=None, method=None):
    """The simulator's request log for Apple endpoints, optionally only one path (query ignored) and method."""
    entries = [entry for entry in depsim.requests() if not entry["path"].startswith("/_control")]
    if path is not None:
        entries = [entry for entry in entries if entry["path"].split("?")[0] == path]
    if method is not None:
        entries = [entry for entry in entries if entry["method"] == method]
    return entries


def settled_calls(depsim, path, count, method=None):
    """The log once it holds `count` calls to `path`: depsim logs a hung request only when it finally answers."""
    for _ in range(100):
        entries = apple_calls(depsim, path, method)
        if len(entries) >= count:
            return entries
        time.sleep(0.05)
    return entries


def statuses(depsim, path, method=None):
    return [entry["status"] for entry in apple_calls(depsim, path, method)]


# --- endpoints ---------------------------------------------------------------------------------------------


def test_account_details_and_headers_on_every_call(depsim, server, make_client):
    client = make_client(user_agent="depportal-tests/1.0")
    account = client.get_account()
    client.get_account()
    assert account["server_uuid"] == server.server_uuid
    assert account["org_name"] == "Example Org"
    log = apple_calls(depsim)
    assert [entry["path"].split("?")[0] for entry in log] == ["/session", "/account", "/account"]
    assert {entry["user_agent"] for entry in log} == {"depportal-tests/1.0"}
    assert {str(entry["protocol_version"]) for entry in log} == {"10"}


def test_defaults_come_from_settings(depsim, make_client):
    client = make_client(rate_limiter=None, session_store=None)
    # REDIS_URL is set for the test run, so the session cache and limiter are the shared Redis ones.
    assert isinstance(client.rate_limiter, RedisRateLimiter)
    assert isinstance(client.session_store, RedisSecretCache)
    assert client.read_timeout == settings.APPLE_DEP_READ_TIMEOUT_S
    client.get_account()
    client.get_account()
    assert {entry["user_agent"] for entry in apple_calls(depsim)} == {settings.APPLE_DEP_USER_AGENT}
    assert len(apple_calls(depsim, "/session")) == 1


def test_fetch_pages_through_every_device_then_sync_sees_changes(depsim, server, make_client):
    added = depsim.add_devices(server.server_uuid, count=2500)
    client = make_client()
    pages = list(client.fetch_devices(limit=1000))
    assert [len(page.devices) for page in pages] == [1000, 1000, 500]
    assert [page.more_to_follow for page in pages] == [True, True, False]
    assert {d["serial_number"] for page in pages for d in page.devices} == {d["serial_number"] for d in added}
    assert all(isinstance(page.fetched_until, datetime) and page.fetched_until.tzinfo for page in pages)
    assert len(set(page.cursor for page in pages)) == 3

    quiet = list(client.sync_devices(pages[-1].cursor))
    assert len(quiet) == 1 and quiet[0].devices == [] and not quiet[0].more_to_follow

    changed = added[0]["serial_number"]
    depsim.update_device(changed, asset_tag="A-1")
    fresh = depsim.add_devices(server.server_uuid, count=1)[0]["serial_number"]
    delta = [d for page in client.sync_devices(quiet[-1].cursor, limit=1000) for d in page.devices]
    ops = {(d["serial_number"], d["op_type"]) for d in delta}
    assert (changed, "modified") in ops and (fresh, "added") in ops


def test_device_details_are_chunked_by_1000(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=1200)]
    details = make_client().get_devices(serials + ["NOTMINE00001"])
    assert len(details) == 1201
    assert details[serials[0]]["response_status"] == "SUCCESS"
    assert details["NOTMINE00001"]["response_status"] == "NOT_ACCESSIBLE"
    assert statuses(depsim, "/devices") == [200, 200]


def test_define_get_assign_and_remove_profile(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=3)]
    client = make_client()
    defined = client.define_profile(
        {"profile_name": "Staff iPads", "url": "https://mdm.example.org/enroll", "devices": serials[:1]}
    )
    profile_uuid = defined["profile_uuid"]
    assert defined["devices"] == {serials[0]: "SUCCESS"}
    stored = client.get_profile(profile_uuid)
    assert stored["profile_name"] == "Staff iPads" and stored["profile_uuid"] == profile_uuid

    assigned = client.assign_profile(profile_uuid, serials[1:] + ["NOTMINE00001"])
    assert assigned.devices == {serials[1]: "SUCCESS", serials[2]: "SUCCESS", "NOTMINE00001": "NOT_ACCESSIBLE"}
    assert assigned.retry_after_seconds is None
    assert client.get_devices([serials[2]])[serials[2]]["profile_status"] == "assigned"

    removed = client.remove_profile(serials[2:])
    assert removed == {serials[2]: "SUCCESS"}
    assert client.get_devices([serials[2]])[serials[2]]["profile_status"] == "removed"


def test_unknown_profile_and_invalid_profile(depsim, make_client):
    client = make_client()
    with pytest.raises(NotFound):
        client.get_profile("0123456789ABCDEF0123456789ABCDEF")
    with pytest.raises(BadRequest) as invalid:
        client.define_profile(
            {"profile_name": "x", "url": "https://mdm.example.org", "is_mdm_removable": False, "is_supervised": False}
        )
    assert invalid.value.code == "FLAGS_INVALID" and invalid.value.status == 400


def test_assign_and_remove_chunk_above_1000_serials_and_merge(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=2050)]
    client = make_client()
    profile_uuid = client.define_profile({"profile_name": "Bulk", "url": "https://mdm.example.org/e"})["profile_uuid"]
    result = client.assign_profile(profile_uuid, serials + ["NOTMINE00001"])
    assert len(result.devices) == 2051
    assert list(result.devices.values()).count("SUCCESS") == 2050
    assert result.devices["NOTMINE00001"] == "NOT_ACCESSIBLE"
    assert statuses(depsim, "/profile/devices", "POST") == [200, 200, 200]

    removed = client.remove_profile(serials)
    assert len(removed) == 2050 and set(removed.values()) == {"SUCCESS"}
    assert statuses(depsim, "/profile/devices", "DELETE") == [200, 200, 200]


def test_define_profile_with_more_than_1000_devices_assigns_the_rest(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=1100)]
    defined = make_client().define_profile(
        {"profile_name": "Big", "url": "https://mdm.example.org", "devices": serials}
    )
    assert len(defined["devices"]) == 1100 and set(defined["devices"].values()) == {"SUCCESS"}
    assert len(apple_calls(depsim, "/profile", "POST")) == 1
    assert len(apple_calls(depsim, "/profile/devices", "POST")) == 1


def test_throttled_devices_keep_retry_after_seconds(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=1005)]
    depsim.set_throttled_serials([serials[0], serials[1003]], retry_after_seconds=30)
    client = make_client()
    profile_uuid = client.define_profile({"profile_name": "T", "url": "https://mdm.example.org"})["profile_uuid"]
    result = client.assign_profile(profile_uuid, serials)
    assert result.devices[serials[0]] == "THROTTLED" and result.devices[serials[1003]] == "THROTTLED"
    assert list(result.devices.values()).count("SUCCESS") == 1003
    assert result.retry_after_seconds == 30


def test_disown_devices(depsim, server, make_client):
    serials = [d["serial_number"] for d in depsim.add_devices(server.server_uuid, count=2)]
    assert make_client().disown_devices(serials[:1]) == {serials[0]: "SUCCESS"}
    assert [d["serial_number"] for d in depsim.devices(server.server_uuid)] == serials[1:]


def test_nothing_is_sent_for_empty_serial_lists_or_bad_limits(depsim, make_client):
    client = make_client()
    assert client.get_devices([]) == {}
    assert client.remove_profile([]) == {}
    assert client.assign_profile("0123456789ABCDEF0123456789ABCDEF", []).devices == {}
    with pytest.raises(ValueError):
        next(client.fetch_devices(limit=1001))
    with pytest.raises(ValueError):
        client.sync_devices("")
    assert apple_calls(depsim) == []


# --- sessions ----------------------------------------------------------------------------------------------


def test_session_expiring_between_pages_is_renewed_once(depsim, server, make_client):
    depsim.add_devices(server.server_uuid, count=30)
    pages = make_client().fetch_devices(limit=10)
    first = next(pages)
    depsim.expire_sessions()
    rest = list(pages)
    assert len(first.devices) + sum(len(page.devices) for page in rest) == 30
    assert len(apple_calls(depsim, "/session")) == 2
    assert statuses(depsim, "/server/devices")[1] in (401, 403)
    assert statuses(depsim, "/server/devices")[2:] == [200, 200]


def test_idle_session_past_its_ttl_gets_401_and_is_renewed(depsim, make_client):
    depsim.set_session_ttl(60)
    client = make_client()
    client.get_account()
    depsim.advance_clock(120)
    client.get_account()
    assert statuses(depsim, "/account") == [200, 401, 200]
    assert len(apple_calls(depsim, "/session")) == 2


def test_403_forbidden_renews_the_session_and_retries_once(depsim, make_client):
    depsim.add_fault("/account", 403, body='"FORBIDDEN"')
    make_client().get_account()
    assert [entry["path"].split("?")[0] for entry in apple_calls(depsim)] == [
        "/session",
        "/account",
        "/session",
        "/account",
    ]
    assert statuses(depsim, "/account") == [403, 200]


def test_a_fresh_session_refused_again_is_not_retried_forever(depsim, make_client):
    depsim.add_fault("/account", 401, body="UNAUTHORIZED", count=3)
    with pytest.raises(SessionRejected) as refused:
        make_client().get_account()
    assert refused.value.status == 401
    assert len(apple_calls(depsim, "/account")) == 2
    assert len(apple_calls(depsim, "/session")) == 2


def test_clients_of_one_token_share_the_cached_session_in_redis(depsim, server, make_client):
    prefix = f"test-dep-session:{uuid.uuid4().hex}"
    first = make_client(session_store=RedisSecretCache(settings.REDIS_URL, prefix=prefix))
    second = make_client(session_store=RedisSecretCache(settings.REDIS_URL, prefix=prefix))
    first.get_account()
    second.get_account()
    assert len(apple_calls(depsim, "/session")) == 1
    # A worker whose session went stale picks up the one another worker already renewed.
    depsim.expire_sessions()
    first.get_account()
    second.get_account()
    assert len(apple_calls(depsim, "/session")) == 2
    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.delete(*connection.keys(f"{prefix}:*"))
    connection.close()


def test_session_tokens_are_sealed_in_redis():
    prefix = f"test-dep-session:{uuid.uuid4().hex}"
    store = RedisSecretCache(settings.REDIS_URL, prefix=prefix)
    store.set("token:1", "apple-session-token-value", ttl_s=60)
    connection = redis.Redis.from_url(settings.REDIS_URL)
    raw = connection.get(f"{prefix}:token:1")
    assert raw.startswith(b"v1:") and b"apple-session-token-value" not in raw
    assert store.get("token:1") == "apple-session-token-value"
    connection.set(f"{prefix}:token:1", b"plain-or-damaged")  # a value from before sealing, or a broken one
    assert store.get("token:1") is None and connection.get(f"{prefix}:token:1") is None
    connection.close()


def test_bad_credentials_fail_authentication_without_retry(depsim, server, make_client):
    forged = SimpleNamespace(**{**vars(server), "consumer_secret": "CS_" + "0" * 40})
    with pytest.raises(AuthenticationFailed) as failed:
        make_client(forged).get_account()
    assert failed.value.status == 401
    assert "server token" in failed.value.message
    assert statuses(depsim, "/session") == [401]
    assert apple_calls(depsim, "/account") == []


def test_expired_server_token_fails_authentication(depsim, make_client):
    depsim.advance_clock(400 * 24 * 3600)
    with pytest.raises(AuthenticationFailed):
        make_client().get_account()
    assert statuses(depsim, "/session") == [401]


@pytest.mark.parametrize(
    ("switch", "error", "code", "hint"),
    [
        ("set_terms_pending", TermsNotSigned, "T_C_NOT_SIGNED", "accept"),
        ("set_access_denied", AccessDenied, "ACCESS_DENIED", "denied"),
    ],
)
def test_terms_and_access_denied_are_not_session_problems(depsim, server, make_client, switch, error, code, hint):
    client = make_client()
    client.get_account()
    getattr(depsim, switch)(server.server_uuid, True)
    with pytest.raises(error) as during:
        client.get_account()
    assert during.value.code == code and during.value.status == 403 and hint in during.value.message
    # No session renewal: exactly one /session (before the switch) and one refused /account.
    assert len(apple_calls(depsim, "/session")) == 1
    assert statuses(depsim, "/account") == [200, 403]

    with pytest.raises(error):
        make_client(key=f"test:{uuid.uuid4().hex}").get_account()
    assert statuses(depsim, "/session") == [200, 403]


# --- retries -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "status"), [("/account", 429), ("/session", 429), ("/account", 503)])
def test_retry_after_is_honoured(depsim, make_client, endpoint, status):
    depsim.add_fault(endpoint, status, retry_after=1)
    make_client().get_account()
    assert statuses(depsim, endpoint) == [status, 200]


def test_retry_after_as_http_date(depsim, make_client):
    depsim.add_fault(
        "/account", 503, retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    )
    make_client().get_account()
    assert statuses(depsim, "/account") == [503, 200]


def test_retry_after_beyond_the_wait_budget_raises_throttled_at_once(depsim, make_client):
    depsim.add_fault("/account", 429, retry_after=600)
    with pytest.raises(Throttled) as throttled:
        make_client(max_retry_wait=30).get_account()
    assert throttled.value.retry_after == 600 and throttled.value.status == 429
    assert statuses(depsim, "/account") == [429]


def test_server_errors_then_success(depsim, server, make_client):
    depsim.add_devices(server.server_uuid, count=5)
    depsim.add_fault("/server/devices", 500, count=3)
    pages = list(make_client().fetch_devices())
    assert len(pages[0].devices) == 5
    assert statuses(depsim, "/server/devices") == [500, 500, 500, 200]


def test_server_errors_forever_give_up_after_bounded_tries(depsim, make_client):
    depsim.add_fault("/account", 502, count=None)
    with pytest.raises(AppleServerError) as failed:
        make_client(max_retries=3).get_account()
    assert failed.value.status == 502
    assert statuses(depsim, "/account") == [502] * 4


def test_throttling_forever_gives_up_with_throttled(depsim, make_client):
    depsim.add_fault("/account", 429, count=None)
    with pytest.raises(Throttled):
        make_client(max_retries=2).get_account()
    assert statuses(depsim, "/account") == [429] * 3


def test_read_timeout_is_retried(depsim, make_client):
    depsim.add_fault("/account", 0, delay_s=1.0)
    make_client(read_timeout=0.2).get_account()
    assert len(settled_calls(depsim, "/account", 2)) == 2


def test_read_timeouts_forever_raise_network_error(depsim, make_client):
    depsim.add_fault("/account", 0, delay_s=1.0, count=None)
    with pytest.raises(NetworkError):
        make_client(read_timeout=0.2, max_retries=1).get_account()
    # Both hung requests answer eventually; wait so they land in this test's log, not the next one's.
    assert len(settled_calls(depsim, "/account", 2)) == 2


def test_connection_refused_raises_network_error(make_client):
    with pytest.raises(NetworkError):
        make_client(base_url="http://127.0.0.1:9", max_retries=1).get_account()


def test_calls_that_are_not_safe_to_replay_are_not_retried_after_unclear_failures(depsim, server, make_client):
    serial = depsim.add_devices(server.server_uuid, count=1)[0]["serial_number"]
    depsim.add_fault("/devices/disown", 500)
    client = make_client()
    with pytest.raises(AppleServerError):
        client.disown_devices([serial])
    assert statuses(depsim, "/devices/disown") == [500]
    depsim.add_fault("/profile", 0, delay_s=1.0, method="POST")
    with pytest.raises(NetworkError):
        make_client(read_timeout=0.2).define_profile({"profile_name": "P", "url": "https://mdm.example.org"})
    assert len(settled_calls(depsim, "/profile", 1, "POST")) == 1
    # 503 says the request was not processed, so it is replayed even for these calls.
    depsim.add_fault("/devices/disown", 503, retry_after=0)
    assert client.disown_devices([serial]) == {serial: "SUCCESS"}


def test_deadline_caps_waiting(depsim, make_client):
    depsim.add_fault("/account", 503, retry_after=5)
    with pytest.raises(AppleServerError) as failed:
        make_client(deadline=time.monotonic() + 1).get_account()
    assert failed.value.retry_after == 5
    assert statuses(depsim, "/account") == [503]


def test_past_deadline_sends_nothing(depsim, make_client):
    with pytest.raises(DeadlineExceeded):
        make_client(deadline=datetime.now(UTC) - timedelta(seconds=1)).get_account()
    assert apple_calls(depsim) == []


def test_malformed_json_is_reported(depsim, make_client):
    depsim.add_fault("/account", 200, malformed=True)
    with pytest.raises(MalformedResponse) as malformed:
        make_client().get_account()
    assert malformed.value.status == 200


def test_a_page_orjson_refuses_is_read_as_json_reads_it(depsim, server, make_client):
    """A lone surrogate escape is valid JSON that orjson refuses: the page is read all the same (the writer then
    cleans the field), never reported as malformed."""
    serial = depsim.add_devices(server.server_uuid, count=2)[0]["serial_number"]
    depsim.update_device(serial, asset_tag="bad\ud800tag")
    devices = {d["serial_number"]: d for page in make_client().fetch_devices() for d in page.devices}
    assert len(devices) == 2 and devices[serial]["asset_tag"] == "bad\ud800tag"


# --- cursors -----------------------------------------------------------------------------------------------


def test_cursor_errors_are_typed(depsim, server, make_client):
    depsim.add_devices(server.server_uuid, count=3)
    client = make_client()
    final = list(client.fetch_devices())[-1].cursor
    with pytest.raises(CursorExhausted) as exhausted:
        list(client.fetch_devices(cursor=final))
    assert exhausted.value.code == "EXHAUSTED_CURSOR"
    with pytest.raises(CursorInvalid):
        list(client.sync_devices(final[:-4] + "AAAA"))
    list(client.sync_devices(final))
    depsim.advance_clock(8 * 24 * 3600)
    with pytest.raises(CursorExpired):
        list(client.sync_devices(final))


def test_echoed_cursor_with_more_to_follow_stops_paging(depsim, server, make_client):
    depsim.add_devices(server.server_uuid, count=5)
    client = make_client()
    first = next(client.fetch_devices(limit=2))
    echo = {"devices": [], "cursor": first.cursor, "more_to_follow": True, "fetched_until": "2025-01-01T00:00:00Z"}
    depsim.add_fault("/server/devices", 200, body=json.dumps(echo), count=5)
    pages = list(client.fetch_devices(cursor=first.cursor, limit=2))
    assert len(pages) == 1 and pages[0].cursor == first.cursor
    assert len(apple_calls(depsim, "/server/devices")) == 2


# --- hygiene -----------------------------------------------------------------------------------------------


def test_logs_and_errors_never_carry_secrets_or_session_tokens(depsim, server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    store = LocalSecretCache()
    client = make_client(session_store=store)
    depsim.add_devices(server.server_uuid, count=3)
    list(client.fetch_devices())
    first_session = store.get(client._session_key)
    depsim.expire_sessions()
    depsim.add_fault("/account", 500)
    client.get_account()
    depsim.set_terms_pending(server.server_uuid, True)
    with pytest.raises(TermsNotSigned) as refused:
        client.get_account()
    secrets = [server.consumer_secret, server.access_secret, first_session, store.get(client._session_key)]
    assert all(secrets)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in str(refused.value)


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7
    assert parse_retry_after("-3") == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    later = parse_retry_after(format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True))
    assert 80 < later <= 90


def test_a_rotated_session_from_apple_is_adopted_without_a_new_session(depsim, server, make_client):
    """Apple may send a new X-ADM-Auth-Session on any response; the replaced one stops working in depsim."""
    depsim.add_devices(server.server_uuid, count=2500)
    depsim.set_session_rotation(2)
    client = make_client()
    start = depsim.requests()[-1]["seq"] if depsim.requests() else 0
    pages = list(client.fetch_devices(limit=500))
    assert sum(len(page.devices) for page in pages) == 2500
    log = depsim.requests(since=start)
    assert [entry["path"] for entry in log].count("/session") == 1
    assert all(entry["status"] == 200 for entry in log)


def test_the_page_size_apple_advertises_is_honoured(depsim, server, make_client):
    """GET /account lists `limit.maximum` per paginated endpoint; the client never asks for more."""
    depsim.add_devices(server.server_uuid, count=1000)
    depsim.set_page_max(300)
    pages = list(make_client().fetch_devices())
    assert [len(page.devices) for page in pages] == [300, 300, 300, 100]


# --- the environment ----------------------------------------------------------------------------------------


@pytest.fixture
def http_proxy():
    """A forwarding HTTP proxy on loopback that notes each request line it carries."""
    import http.server
    import threading
    import urllib.request

    seen = []
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    class Forward(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            request = urllib.request.Request(self.path, headers=dict(self.headers), method="GET")
            try:
                answer = direct.open(request, timeout=10)
            except urllib.error.HTTPError as error:
                answer = error
            body = answer.read()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{proxy.server_address[1]}", seen=seen)
    proxy.shutdown()


def test_calls_go_through_the_proxy_the_environment_names_unless_no_proxy_exempts_the_host(
    depsim, make_client, http_proxy, monkeypatch
):
    """The environment is read once per host, not per request: it must still be read, NO_PROXY included."""
    monkeypatch.setenv("HTTP_PROXY", http_proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = make_client()
    client.get_account()
    client.get_account()
    assert [url.split("?")[0] for url in http_proxy.seen] == [
        f"{depsim.base_url}/session",
        f"{depsim.base_url}/account",
        f"{depsim.base_url}/account",
    ]
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    make_client(key=f"test:{uuid.uuid4().hex}").get_account()
    assert len(http_proxy.seen) == 3
