"""The Business API client against depsim over HTTP: token flow, sharing, paging and Apple's faults."""

import time

import pytest
import redis
from django.conf import settings

from depportal.apple import SessionRejected, Throttled
from depportal.apple.business import TOKEN_CACHE_PREFIX, AssertionRejected, BusinessClient, client_assertion
from depportal.apple.ratelimit import LocalRateLimiter, SlotTable
from depportal.apple.secrets_cache import LocalSecretCache, default_secret_cache


def make_client(account, *, store=None, key="business:test", **options):
    return BusinessClient(
        client_id=account["client_id"],
        key_id=account["key_id"],
        private_key_pem=account["private_key_pem"].encode(),
        key=key,
        token_store=store if store is not None else LocalSecretCache(),
        rate_limiter=LocalRateLimiter(None, None, table=SlotTable()),
        **options,
    )


def token_requests(apple):
    return [r for r in apple.requests() if r["path"] == "/auth/oauth2/token"]


def test_access_token_is_fetched_once_and_shared_through_redis(db, api_account, business_apple):
    first = make_client(api_account, store=None)
    # Two clients, as two workers would build them, with the default (Redis) store.
    a = make_client(
        api_account, store=default_secret_cache(settings.REDIS_URL, prefix=TOKEN_CACHE_PREFIX), key="business:shared"
    )
    b = make_client(
        api_account, store=default_secret_cache(settings.REDIS_URL, prefix=TOKEN_CACHE_PREFIX), key="business:shared"
    )
    token = a.access_token()
    assert b.access_token() == token
    assert token.expires_at - time.time() == pytest.approx(3600, abs=5)
    assert len(token_requests(business_apple)) == 1
    assert first.mdm_servers() == []


def test_access_tokens_are_sealed_in_redis_and_kept_only_until_renewal(db, api_account, business_apple):
    cache = default_secret_cache(settings.REDIS_URL, prefix=TOKEN_CACHE_PREFIX)
    client = make_client(api_account, store=cache, key="business:sealed")
    token = client.access_token()
    connection = redis.Redis.from_url(settings.REDIS_URL)
    [name] = connection.keys(f"{TOKEN_CACHE_PREFIX}:business:sealed:*")
    raw = connection.get(name)
    assert raw.startswith(b"v1:") and token.value.encode() not in raw
    # Gone from the cache the renewal margin before Apple's expiry, so no worker uses a token about to lapse.
    assert connection.pttl(name) / 1000 == pytest.approx(3600 - 300, abs=5)
    connection.set(name, b"damaged")
    assert client.access_token() != token and len(token_requests(business_apple)) == 2
    connection.close()


def test_a_token_apple_revoked_is_renewed_once(db, api_account, business_apple):
    client = make_client(api_account)
    client.mdm_servers()
    business_apple.business("expire_tokens")
    client.mdm_servers()
    assert len(token_requests(business_apple)) == 2


def test_a_second_401_is_not_retried_again(db, api_account, business_apple):
    client = make_client(api_account)
    client.access_token()
    business_apple.business("add_fault", endpoint="/v1/mdmServers", status=401, count=2)
    with pytest.raises(SessionRejected):
        client.mdm_servers()
    assert len(token_requests(business_apple)) == 2


def test_expired_assertion_is_refused_with_a_clear_error(db, api_account, business_apple):
    # Apple's clock is ahead of ours by more than the assertion's lifetime: Apple sees it expired.
    business_apple.advance_clock(3600)
    with pytest.raises(AssertionRejected) as caught:
        make_client(api_account).access_token()
    assert caught.value.code == "invalid_client"
    assert "clock" in caught.value.message


def test_revoked_key_and_wrong_key_are_refused(db, api_account, business_apple):
    other = business_apple.business("create_account", name="Other")
    wrong_key = {**api_account, "private_key_pem": other["private_key_pem"]}
    with pytest.raises(AssertionRejected):
        make_client(wrong_key).access_token()
    business_apple.business("revoke_account", client_id=api_account["client_id"])
    with pytest.raises(AssertionRejected):
        make_client(api_account).access_token()


def test_assertion_is_es256_with_apple_claims(api_account):
    import base64
    import json

    jwt = client_assertion(
        client_id=api_account["client_id"],
        key_id=api_account["key_id"],
        private_key_pem=api_account["private_key_pem"].encode(),
        now=1_700_000_000,
    )
    head, claims, signature = (base64.urlsafe_b64decode(p + "==") for p in jwt.split("."))
    assert json.loads(head) == {"alg": "ES256", "kid": api_account["key_id"], "typ": "JWT"}
    claims = json.loads(claims)
    assert claims["iss"] == claims["sub"] == api_account["client_id"]
    assert claims["aud"] == "https://account.apple.com/auth/oauth2/v2/token"
    assert claims["exp"] - claims["iat"] == 600
    assert len(signature) == 64
    with pytest.raises(ValueError, match="180 days"):
        client_assertion(
            client_id="x",
            key_id="y",
            private_key_pem=api_account["private_key_pem"].encode(),
            now=0,
            lifetime=181 * 86400,
        )


def test_org_devices_page_by_1000(db, api_account, business_apple):
    business_apple.add_devices(None, count=2500)
    pages = list(make_client(api_account).org_device_pages())
    assert [len(p.data) for p in pages] == [1000, 1000, 500]
    serials = [d["id"] for p in pages for d in p.data]
    assert len(set(serials)) == 2500
    assert pages[-1].next_cursor is None
    assert {d["attributes"]["status"] for d in pages[0].data} == {"UNASSIGNED"}


def test_429_with_retry_after_is_honoured(db, api_account, business_apple):
    client = make_client(api_account)
    client.access_token()
    business_apple.business("add_fault", endpoint="/v1/mdmServers", status=429, retry_after=1, count=1)
    started = time.monotonic()
    assert client.mdm_servers() == []
    assert time.monotonic() - started >= 1


def test_429_past_the_retry_budget_raises_throttled(db, api_account, business_apple):
    client = make_client(api_account, max_retries=1)
    client.access_token()
    business_apple.business("add_fault", endpoint="/v1/mdmServers", status=429, retry_after=0, count=5)
    with pytest.raises(Throttled):
        client.mdm_servers()
