"""Client for Apple's School and Business Manager API: OAuth 2 with an ES256 client assertion, JSON:API pages.

Sources (read December 2026):
- Implementing OAuth for the Apple School Manager and Apple Business API:
  https://developer.apple.com/documentation/apple-school-and-business-manager-api/implementing-oauth-for-the-apple-school-manager-and-apple-business-api
  (client credentials grant; the client assertion is a JWT signed ES256 with the API account's key, `kid` the
  key ID, `iss` and `sub` the client ID, `aud` Apple's v2 token URL, at most 180 days long; bearer tokens).
  Only the start of that page could be read here; the token URL, the `aud` value, the scopes `business.api` /
  `school.api` and the one-hour token lifetime are as micromdm/nanoaxm (client/oauth.go) uses them.
  Public clients agree on that (micromdm/nanoaxm, hitoshiichikawa/apple-business-go, with live tests): POST
  to /auth/oauth2/token, `aud` .../auth/oauth2/v2/token, `iss` = `sub` = the client ID.
- Get Organization Devices: https://developer.apple.com/documentation/applebusinessapi/get-org-devices
  (GET /v1/orgDevices, `limit` at most 1000, `links.next` / `meta.paging.nextCursor`; 400/401/403/429; a 429
  is retried after its Retry-After within the retry budget, through the shared rate limiter).
- Get Device Management Services: https://developer.apple.com/documentation/applebusinessapi/get-mdm-servers
  (each mdmServers resource has an opaque `id`, 32 upper-case hex digits in the examples, and `serverName`,
  `serverType`, `createdDateTime`, `updatedDateTime`; nothing names the DEP server UUID, so the portal links
  a server to its token by that id against the UUID without dashes, and else by name; default page 100).
- Get the Device Serial Numbers for a Device Management Service:
  https://developer.apple.com/documentation/applebusinessapi/get-all-device-ids-for-an-mdmserver (limit 1000).
- Assign or Unassign Devices ... or Release Devices:
  https://developer.apple.com/documentation/applebusinessapi/create-an-orgdeviceactivity (POST /v1/orgDeviceActivities,
  201; 409 for an unknown server or serial or a deadline out of range; migration deadline at most 90 days ahead).
- OrgDeviceActivity.Attributes: https://developer.apple.com/documentation/applebusinessapi/orgdeviceactivity
  (status COMPLETED / IN_PROGRESS / STOPPED / FAILED and its subStatus values); OrgDeviceActivityType:
  https://developer.apple.com/documentation/applebusinessapi/orgdeviceactivitytype (the six activity types).
- MdmMigrationStatus: https://developer.apple.com/documentation/applebusinessapi/mdmmigrationstatus
  (REQUESTED / STARTED / SUCCESS / FAILED).
- Webhooks: https://developer.apple.com/documentation/applebusinessapi/create-a-webhook and
  https://developer.apple.com/documentation/apple-school-and-business-manager-api/understanding-apple-business-api-webhook-events
  (how the portal verifies a delivery: business/services.py, SIGNATURE_HEADER).
- AppleCareCoverage.Attributes: https://developer.apple.com/documentation/applebusinessapi/applecarecoverage/attributes-data.dictionary
- ErrorResponse: https://developer.apple.com/documentation/applebusinessapi/errorresponse (errors[].code/detail).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .errors import (
    AppleError,
    AuthenticationFailed,
    MalformedResponse,
    SessionRejected,
    error_for_status,
)
from .ratelimit import RateLimiter
from .secrets_cache import SecretCache, default_secret_cache
from .transport import AppleTransport, RetryBudget, setting

logger = logging.getLogger(__name__)

TOKEN_URL = "https://account.apple.com/auth/oauth2/token"
ASSERTION_AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_LIFETIME_S = 180 * 24 * 3600
# We hold the key, so each token request signs a fresh, short assertion instead of one that lives for months.
ASSERTION_LIFETIME_S = 600
API_URLS = {"business": "https://api-business.apple.com/v1", "school": "https://api-school.apple.com/v1"}
SCOPES = {"business": "business.api", "school": "school.api"}
CLIENT_ID_PREFIXES = {"business": "BUSINESSAPI.", "school": "SCHOOLAPI."}
MAX_PAGE_LIMIT = 1000
# Renew the shared access token this long before Apple's expiry so no call carries one about to lapse.
TOKEN_RENEW_MARGIN_S = 300
TOKEN_CACHE_PREFIX = "depportal:business-token"
# RFC 6749 section 5.2 error codes that mean the credentials themselves were refused.
_REFUSED_CREDENTIAL_CODES = ("invalid_client", "invalid_grant", "unauthorized_client")


class AssertionRejected(AuthenticationFailed):
    """Apple's token endpoint refused the client assertion or client ID (OAuth invalid_client / invalid_grant)."""

    default_message = (
        "Apple refused the API account's credentials. Check the client ID, the key ID and the private key in "
        "Apple Business Manager or Apple School Manager (the key may have been revoked), and this server's clock."
    )


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # Unix seconds


@dataclass(frozen=True)
class Page:
    """One JSON:API page: its resources and the cursor of the next page (None at the end)."""

    data: list[dict]
    next_cursor: str | None


def kind_for_client_id(client_id: str) -> str | None:
    """ "business" or "school" from the client ID's prefix, None when it has neither."""
    for kind, prefix in CLIENT_ID_PREFIXES.items():
        if client_id.startswith(prefix):
            return kind
    return None


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The API account's P-256 private key from its PEM file; ValueError when it is anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("The file is not an unencrypted PEM private key.") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("The key is not the P-256 elliptic-curve key Apple issues for API accounts.")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(
    *, client_id: str, key_id: str, private_key_pem: bytes, now: float, lifetime: int = ASSERTION_LIFETIME_S
) -> str:
    """A JWT signed ES256 (raw r||s signature, RFC 7518 section 3.4) that Apple's token endpoint accepts."""
    if not 0 < lifetime <= ASSERTION_MAX_LIFETIME_S:
        raise ValueError("Apple accepts client assertions of at most 180 days.")
    key = load_private_key(private_key_pem)
    header = {"alg": "ES256", "kid": key_id, "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": ASSERTION_AUDIENCE,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": str(uuid.uuid4()),
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# --- the shared access-token cache -------------------------------------------------------------------------


def _cached_token(cache: SecretCache, key: str) -> AccessToken | None:
    raw = cache.get(key)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        return AccessToken(str(value["value"]), float(value["expires_at"]))
    except (ValueError, KeyError, TypeError):
        cache.delete(key)
        return None


def _cache_token(cache: SecretCache, key: str, token: AccessToken) -> None:
    # Kept only until the renewal margin: a worker reading it then asks Apple for the next one.
    ttl = token.expires_at - TOKEN_RENEW_MARGIN_S - time.time()
    cache.set(key, json.dumps({"value": token.value, "expires_at": token.expires_at}), ttl_s=ttl)


def error_from_body(text: str) -> tuple[str, str]:
    """(code, detail) of Apple's JSON:API ErrorResponse, or of an OAuth error body; empty strings otherwise."""
    try:
        body = json.loads(text or "")
    except ValueError:
        return "", ""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
        return str(first.get("code") or ""), str(first.get("detail") or first.get("title") or "")
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("error_description") or "")
    return "", ""


# --- the client ----------------------------------------------------------------------------------------------


class BusinessClient(AppleTransport):
    """One API account's view of Apple School or Business Manager; not thread-safe (one per task or request)."""

    def __init__(
        self,
        *,
        client_id: str,
        key_id: str,
        private_key_pem: bytes,
        key: str,
        kind: str | None = None,
        api_url: str | None = None,
        token_url: str | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rate_limiter: RateLimiter | None = None,
        token_store: SecretCache | None = None,
    ) -> None:
        self._init_transport(
            key=key,
            deadline=deadline,
            connect_timeout=None,
            read_timeout=None,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limiter=rate_limiter,
            user_agent=None,
        )
        self.kind = kind or kind_for_client_id(client_id) or "business"
        self.client_id = client_id
        self.key_id = key_id
        self._private_key_pem = private_key_pem
        self.api_url = (api_url or setting("APPLE_BUSINESS_API_URL", "") or API_URLS[self.kind]).rstrip("/")
        self.token_url = token_url or setting("APPLE_BUSINESS_TOKEN_URL", "") or TOKEN_URL
        self.token_store = (
            token_store
            if token_store is not None
            else default_secret_cache(setting("REDIS_URL", "") or "", prefix=TOKEN_CACHE_PREFIX)
        )
        # A replaced key or client ID must not reuse the old credentials' token.
        identity = hashlib.sha256(f"{client_id}\0{key_id}\0".encode() + private_key_pem).hexdigest()[:16]
        self._token_key = f"{key}:{identity}"
        # The access token this client last used: callers record its expiry for the console.
        self.token: AccessToken | None = None

    # --- access tokens ---------------------------------------------------------------------------------------

    def access_token(self, *, renew: bool = False) -> AccessToken:
        """The shared cached token, or a new one from Apple (also when `renew`, e.g. after a 401)."""
        if not renew:
            cached = _cached_token(self.token_store, self._token_key)
            if cached is not None:
                self.token = cached
                return cached
        assertion = client_assertion(
            client_id=self.client_id, key_id=self.key_id, private_key_pem=self._private_key_pem, now=time.time()
        )
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": SCOPES[self.kind],
        }
        response = self._send("POST", self.token_url, data=form, budget=RetryBudget(self))
        if response.status_code != 200:
            code, detail = error_from_body(response.text)
            if response.status_code in (400, 401) and code in _REFUSED_CREDENTIAL_CODES:
                raise AssertionRejected(status=response.status_code, code=code)
            raise error_for_status(response.status_code, code)
        body = self._json(response)
        value, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
            raise MalformedResponse("Apple's token answer carried no access token or lifetime.", status=200)
        token = AccessToken(value, time.time() + float(expires_in))
        _cache_token(self.token_store, self._token_key, token)
        self.token = token
        logger.info("New Apple Business API access token for %s", self.key)
        return token

    # --- endpoints -------------------------------------------------------------------------------------------

    def mdm_servers(self) -> list[dict]:
        """GET /v1/mdmServers, every page."""
        return [item for page in self._pages("/mdmServers", {"limit": MAX_PAGE_LIMIT}) for item in page.data]

    def org_device_pages(self, *, limit: int = MAX_PAGE_LIMIT, cursor: str | None = None) -> Iterator[Page]:
        """GET /v1/orgDevices page by page: every device of the organisation, assigned or not."""
        return self._pages("/orgDevices", {"limit": limit}, cursor)

    def server_device_serials(self, server_id: str) -> Iterator[str]:
        """GET /v1/mdmServers/{id}/relationships/devices: the serials Apple assigns to that server."""
        for page in self._pages(f"/mdmServers/{server_id}/relationships/devices", {"limit": MAX_PAGE_LIMIT}):
            for item in page.data:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    yield item["id"]

    def org_device(self, serial: str) -> dict:
        """GET /v1/orgDevices/{id}; NotFound when Apple does not know (or no longer has) the device."""
        return self._expect_resource(self._call("GET", f"/orgDevices/{serial}"))

    def apple_care_coverage(self, serial: str) -> list[dict]:
        """GET /v1/orgDevices/{id}/appleCareCoverage: the device's coverage resources (Limited Warranty, AppleCare+).

        https://developer.apple.com/documentation/applebusinessapi/get-all-applecare-coverage-for-an-orgdevice and
        https://developer.apple.com/documentation/applebusinessapi/applecarecoverage/attributes-data.dictionary
        """
        pages = self._pages(f"/orgDevices/{serial}/appleCareCoverage", {"limit": MAX_PAGE_LIMIT})
        return [item for page in pages for item in page.data if isinstance(item, dict)]

    def create_activity(
        self,
        activity_type: str,
        serials: list[str],
        *,
        server_id: str | None = None,
        metadata: dict | None = None,
    ) -> dict:
        """POST /v1/orgDeviceActivities: the new activity (IN_PROGRESS / SUBMITTED); poll it with get_activity."""
        attributes: dict[str, Any] = {"activityType": activity_type}
        if metadata:
            attributes["activityTypeMetadata"] = metadata
        relationships: dict[str, Any] = {"devices": {"data": [{"type": "orgDevices", "id": s} for s in serials]}}
        if server_id:
            relationships["mdmServer"] = {"data": {"type": "mdmServers", "id": server_id}}
        body = {"data": {"type": "orgDeviceActivities", "attributes": attributes, "relationships": relationships}}
        # Not retried after an unclear failure: a replay would start a second activity for the same devices.
        return self._expect_resource(self._call("POST", "/orgDeviceActivities", body=body, idempotent=False))

    def get_activity(self, activity_id: str) -> dict:
        """GET /v1/orgDeviceActivities/{id}: status, subStatus, completedDateTime, downloadUrl."""
        return self._expect_resource(self._call("GET", f"/orgDeviceActivities/{activity_id}"))

    def create_webhook(self, *, name: str, url: str, secret: str, event_types: list[str]) -> dict:
        """POST /v1/webhooks (https://developer.apple.com/documentation/applebusinessapi/create-a-webhook)."""
        attributes = {"name": name, "enabled": True, "eventTypes": event_types, "secret": secret, "url": url}
        body = {"data": {"type": "webhooks", "attributes": attributes}}
        return self._expect_resource(self._call("POST", "/webhooks", body=body, idempotent=False))

    # --- machinery -------------------------------------------------------------------------------------------

    def _pages(self, path: str, params: dict, cursor: str | None = None) -> Iterator[Page]:
        seen: set[str] = set()
        while True:
            query = dict(params)
            if cursor:
                query["cursor"] = cursor
                seen.add(cursor)
            body = self._call("GET", path, params=query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedResponse(f"Apple's page of {path} had no data list.", status=200)
            paging = (body.get("meta") or {}).get("paging") or {}
            cursor = paging.get("nextCursor") if isinstance(paging, dict) else None
            if not cursor:
                cursor = _cursor_from_link((body.get("links") or {}).get("next"))
            yield Page(body["data"], cursor or None)
            if not cursor or cursor in seen:
                return

    def _call(
        self, method: str, path: str, *, body: dict | None = None, params: dict | None = None, idempotent: bool = True
    ) -> Any:
        budget = RetryBudget(self)
        token = self.access_token()
        renewed = False
        while True:
            response = self._send(
                method,
                self.api_url + path,
                json_body=body,
                params=params,
                headers={"Authorization": f"Bearer {token.value}"},
                budget=budget,
                idempotent=idempotent,
            )
            if 200 <= response.status_code < 300:
                return self._json(response)
            code, detail = error_from_body(response.text)
            if response.status_code != 401:
                error = error_for_status(response.status_code, code)
                if detail:
                    error.message = f"{error.message} Apple says: {detail}"
                raise error
            if renewed:
                raise SessionRejected("Apple refused a freshly issued access token.", status=401, code=code)
            # Apple may revoke a token before its expiry; one new token, then give up.
            self.token_store.delete(self._token_key)
            token = self.access_token(renew=True)
            renewed = True

    def _error_code(self, text: str) -> str:
        return error_from_body(text)[0]

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse("Apple's answer was not valid JSON.", status=response.status_code) from None

    @staticmethod
    def _expect_resource(body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise MalformedResponse("Apple's answer had no resource.", status=200)
        return body["data"]


def _cursor_from_link(link: Any) -> str | None:
    if not isinstance(link, str):
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None


__all__ = [
    "AccessToken",
    "AppleError",
    "AssertionRejected",
    "BusinessClient",
    "Page",
    "client_assertion",
    "kind_for_client_id",
    "load_private_key",
]
