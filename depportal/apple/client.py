"""Client for Apple's DEP web service (Automated Device Enrollment): sessions, retries, paging, chunking."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import requests
from requests_oauthlib import OAuth1

from .errors import (
    AuthenticationFailed,
    MalformedResponse,
    SessionRejected,
    error_code_from_body,
    error_for_status,
)
from .ratelimit import RateLimiter
from .secrets_cache import SecretCache, default_secret_cache
from .transport import AppleTransport, RetryBudget, setting

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=UTF8"
PROTOCOL_VERSION = 10
MAX_SERIALS_PER_CALL = 1000
MAX_PAGE_LIMIT = 1000
# Apple documents no session lifetime; its simulator drops idle sessions after 3 minutes, so a shorter idle
# lifetime in our cache means we normally renew before Apple would answer 401.
SESSION_IDLE_TTL_S = 170
SESSION_CACHE_PREFIX = "depportal:dep-session"
_SESSION_PROBLEM_CODES = ("FORBIDDEN", "UNAUTHORIZED")
_NOT_SESSION_CODES = ("T_C_NOT_SIGNED", "ACCESS_DENIED")


class OAuthCredentials(Protocol):
    """The four OAuth 1.0a values of a server token (e.g. tokenfile.ServerTokenCredentials)."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str


@dataclass(frozen=True)
class DevicePage:
    """One page of POST /server/devices or POST /devices/sync."""

    devices: list[dict]
    cursor: str
    more_to_follow: bool
    fetched_until: datetime | None


@dataclass
class AssignResult:
    """Merged per-device results of assigning a profile, with Apple's longest requested pause for THROTTLED."""

    devices: dict[str, str]
    retry_after_seconds: int | None


# --- helpers -------------------------------------------------------------------------------------------------


def parse_apple_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from Apple's ISO 8601 text; None when absent, unparsable or Apple's zero date."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.year <= 1:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _chunks(serials: list[str], size: int = MAX_SERIALS_PER_CALL) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(serials))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


# --- the client ----------------------------------------------------------------------------------------------


class DEPClient(AppleTransport):
    """One server token's view of Apple's DEP service; not thread-safe (one per worker task)."""

    def __init__(
        self,
        credentials: OAuthCredentials,
        *,
        key: str,
        base_url: str | None = None,
        deadline: float | datetime | None = None,
        user_agent: str | None = None,
        protocol_version: int = PROTOCOL_VERSION,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rate_limiter: RateLimiter | None = None,
        session_store: SecretCache | None = None,
    ) -> None:
        self._init_transport(
            key=key,
            deadline=_monotonic_deadline(deadline),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limiter=rate_limiter,
            user_agent=user_agent,
        )
        self.base_url = (base_url or setting("APPLE_DEP_BASE_URL", "https://mdmenrollment.apple.com")).rstrip("/")
        self.protocol_version = protocol_version
        self.session_store = (
            session_store
            if session_store is not None
            else default_secret_cache(setting("REDIS_URL", "") or "", prefix=SESSION_CACHE_PREFIX)
        )
        self._oauth = OAuth1(
            credentials.consumer_key,
            client_secret=credentials.consumer_secret,
            resource_owner_key=credentials.access_token,
            resource_owner_secret=credentials.access_secret,
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
            realm="ADM",
        )
        # A renewed server token must not reuse the old token's session, so the cache key includes its identity.
        identity = hashlib.sha256(f"{credentials.consumer_key}\0{credentials.access_token}".encode()).hexdigest()
        self._session_key = f"{key}:{identity[:16]}"
        self._session_token: str | None = None
        self._page_maximums: dict[str, int] | None = None
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)
        self._http.headers.update(
            {
                "X-Server-Protocol-Version": str(protocol_version),
                "Content-Type": JSON_CONTENT_TYPE,
                "Accept": JSON_CONTENT_TYPE,
            }
        )

    # --- endpoints -------------------------------------------------------------------------------------------

    def get_account(self) -> dict:
        """GET /account: the MDM server's and organisation's details."""
        return self._expect_dict(self._call("GET", "/account"))

    def fetch_devices(self, cursor: str | None = None, limit: int = MAX_PAGE_LIMIT) -> Iterator[DevicePage]:
        """POST /server/devices page by page: every device assigned to this MDM server (a full sync)."""
        return self._pages("/server/devices", cursor, limit)

    def sync_devices(self, cursor: str, limit: int = MAX_PAGE_LIMIT) -> Iterator[DevicePage]:
        """POST /devices/sync page by page: the changes (op_type/op_date) since `cursor`."""
        if not cursor:
            raise ValueError("sync_devices needs the cursor of an earlier fetch or sync")
        return self._pages("/devices/sync", cursor, limit)

    def get_devices(self, serials: list[str]) -> dict[str, dict]:
        """POST /devices: Apple's record (with response_status) per serial number."""
        merged: dict[str, dict] = {}
        for chunk in _chunks(serials):
            data = self._expect_dict(self._call("POST", "/devices", body={"devices": chunk}))
            merged.update(self._expect_dict(data.get("devices") or {}))
        return merged

    def define_profile(self, profile: dict) -> dict:
        """POST /profile: a new profile; serials beyond the first 1000 in `devices` are assigned separately."""
        body = dict(profile)
        serials = list(dict.fromkeys(body.pop("devices", None) or []))
        body["devices"] = serials[:MAX_SERIALS_PER_CALL]
        # Defining creates a new profile each time, so a retry after an unclear failure could leave a duplicate.
        data = self._expect_dict(self._call("POST", "/profile", body=body, idempotent=False))
        uuid = data.get("profile_uuid")
        if not isinstance(uuid, str) or not uuid:
            raise MalformedResponse("Apple defined a profile but returned no profile_uuid.", status=200)
        result = {"profile_uuid": uuid, "devices": dict(self._expect_dict(data.get("devices") or {}))}
        if len(serials) > MAX_SERIALS_PER_CALL:
            rest = self.assign_profile(uuid, serials[MAX_SERIALS_PER_CALL:])
            result["devices"].update(rest.devices)
            if rest.retry_after_seconds is not None:
                result["retry_after_seconds"] = rest.retry_after_seconds
        return result

    def get_profile(self, profile_uuid: str) -> dict:
        """GET /profile: the stored profile; NotFound when Apple does not know the UUID."""
        return self._expect_dict(self._call("GET", "/profile", params={"profile_uuid": profile_uuid}))

    def assign_profile(self, profile_uuid: str, serials: list[str]) -> AssignResult:
        """POST /profile/devices in chunks of 1000; per-device results merged, longest retry_after_seconds kept.

        POST as Apple documents it today ("Assign a Profile", developer.apple.com/documentation/devicemanagement/
        assign-profile); the service also takes the PUT older clients send.
        """
        result = AssignResult(devices={}, retry_after_seconds=None)
        for chunk in _chunks(serials):
            data = self._call("POST", "/profile/devices", body={"profile_uuid": profile_uuid, "devices": chunk})
            data = self._expect_dict(data)
            result.devices.update(self._expect_dict(data.get("devices") or {}))
            retry_after = data.get("retry_after_seconds")
            if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
                result.retry_after_seconds = max(int(retry_after), result.retry_after_seconds or 0)
        return result

    def remove_profile(self, serials: list[str], profile_uuid: str | None = None) -> dict[str, str]:
        """DELETE /profile/devices in chunks of 1000: per-device results."""
        merged: dict[str, str] = {}
        for chunk in _chunks(serials):
            body: dict[str, Any] = {"devices": chunk}
            if profile_uuid:
                body["profile_uuid"] = profile_uuid
            data = self._expect_dict(self._call("DELETE", "/profile/devices", body=body))
            merged.update(self._expect_dict(data.get("devices") or {}))
        return merged

    def disown_devices(self, serials: list[str]) -> dict[str, str]:
        """POST /devices/disown in chunks of 1000 (permanent): per-device results."""
        merged: dict[str, str] = {}
        for chunk in _chunks(serials):
            # Not retried after an unclear failure: a replay would report the already-disowned serials as failures.
            data = self._call("POST", "/devices/disown", body={"devices": chunk}, idempotent=False)
            merged.update(self._expect_dict(self._expect_dict(data).get("devices") or {}))
        return merged

    # --- paging ----------------------------------------------------------------------------------------------

    def _page_maximum(self, path: str) -> int:
        """The page size Apple allows on `path`: GET /account's `urls[].limit.maximum`, read once per client.

        Apple ("Get Account Details", developer.apple.com/documentation/devicemanagement/account-detail) lists
        each endpoint with, for the paginated ones, `limit.default` and `limit.maximum`; without that list
        (protocol below 3) the documented 1000 holds.
        """
        if self._page_maximums is None:
            maximums = {}
            for entry in self.get_account().get("urls") or []:
                limit = entry.get("limit") if isinstance(entry, dict) else None
                maximum = limit.get("maximum") if isinstance(limit, dict) else None
                if isinstance(maximum, int) and not isinstance(maximum, bool) and maximum >= 1:
                    maximums[str(entry.get("uri"))] = maximum
            self._page_maximums = maximums
        return min(MAX_PAGE_LIMIT, self._page_maximums.get(path, MAX_PAGE_LIMIT))

    def _pages(self, path: str, cursor: str | None, limit: int) -> Iterator[DevicePage]:
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_LIMIT}")
        limit = min(limit, self._page_maximum(path))
        seen: set[str] = set()
        while True:
            body: dict[str, Any] = {"limit": limit}
            if cursor:
                body["cursor"] = cursor
                seen.add(cursor)
            page = self._device_page(self._call("POST", path, body=body))
            yield page
            if not page.more_to_follow:
                return
            if page.cursor in seen:
                # Apple has been seen repeating a cursor with more_to_follow set; following it would never end.
                logger.warning("Apple repeated a cursor with more_to_follow on %s (%s); stopping", path, self.key)
                return
            cursor = page.cursor

    def _device_page(self, data: Any) -> DevicePage:
        data = self._expect_dict(data)
        devices = data.get("devices") or []
        cursor = data.get("cursor")
        if not isinstance(devices, list) or not isinstance(cursor, str) or not cursor:
            raise MalformedResponse("Apple returned a device page without a device list or cursor.", status=200)
        return DevicePage(
            devices=devices,
            cursor=cursor,
            more_to_follow=bool(data.get("more_to_follow")),
            fetched_until=parse_apple_datetime(data.get("fetched_until")),
        )

    @staticmethod
    def _expect_dict(data: Any) -> dict:
        if not isinstance(data, dict):
            raise MalformedResponse("Apple returned JSON of an unexpected shape.", status=200)
        return data

    # --- sessions --------------------------------------------------------------------------------------------

    def _current_session(self) -> str:
        # The shared store wins over our own copy: another worker may have renewed the session meanwhile.
        token = self.session_store.get(self._session_key, extend_s=SESSION_IDLE_TTL_S) or self._new_session()
        self._session_token = token
        return token

    def _renew_session(self, stale: str) -> str:
        # Another worker may already have replaced the stale token: reuse its session instead of making another.
        shared = self.session_store.get(self._session_key, extend_s=SESSION_IDLE_TTL_S)
        token = shared if shared and shared != stale else self._new_session()
        self._session_token = token
        return token

    def _new_session(self) -> str:
        response = self._send("GET", self.base_url + "/session", auth=self._oauth, budget=RetryBudget(self))
        if response.status_code != 200:
            code = error_code_from_body(response.text)
            if response.status_code == 401:
                raise AuthenticationFailed(status=401, code=code)
            raise error_for_status(response.status_code, code)
        token = self._parse_json(response, "/session")
        token = token.get("auth_session_token") if isinstance(token, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponse("Apple's GET /session answer carried no auth_session_token.", status=200)
        self.session_store.set(self._session_key, token, ttl_s=SESSION_IDLE_TTL_S)
        logger.info("New Apple DEP session for %s", self.key)
        return token

    def _adopt_session(self, response: requests.Response) -> None:
        rotated = response.headers.get("X-ADM-Auth-Session")
        if rotated and rotated != self._session_token:
            self._session_token = rotated
            self.session_store.set(self._session_key, rotated, ttl_s=SESSION_IDLE_TTL_S)

    # --- request machinery -----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        params: dict | None = None,
        idempotent: bool = True,
    ) -> Any:
        """One Apple call with session handling and bounded retries; the parsed JSON body."""
        budget = RetryBudget(self)
        data = json.dumps(body).encode() if body is not None else None
        token = self._current_session()
        renewed = False
        while True:
            response = self._send(
                method,
                self.base_url + path,
                data=data,
                params=params,
                headers={"X-ADM-Auth-Session": token},
                budget=budget,
                idempotent=idempotent,
            )
            self._adopt_session(response)
            if 200 <= response.status_code < 300:
                return self._parse_json(response, path)
            code = error_code_from_body(response.text)
            if not self._is_session_problem(response.status_code, code):
                raise error_for_status(response.status_code, code)
            if renewed:
                raise SessionRejected(status=response.status_code, code=code)
            logger.info("Apple DEP session refused on %s %s (%s); renewing once", method, path, response.status_code)
            token = self._renew_session(stale=token)
            renewed = True

    def _error_code(self, text: str) -> str:
        return error_code_from_body(text)

    @staticmethod
    def _is_session_problem(status: int, code: str) -> bool:
        if code in _NOT_SESSION_CODES:
            return False
        return status == 401 or (status == 403 and code in _SESSION_PROBLEM_CODES)

    @staticmethod
    def _parse_json(response: requests.Response, path: str) -> Any:
        """Apple's JSON body. orjson reads a page of 1,000 devices in half the time; what it refuses that
        Python's json reads (a NaN, a lone surrogate escape) is read by json, and the writer cleans the field."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(
                f"Apple's answer to {path} was not valid JSON.", status=response.status_code
            ) from None


def _monotonic_deadline(deadline: float | datetime | None) -> float | None:
    """A monotonic-clock deadline from either a monotonic float or an (aware or UTC-naive) datetime."""
    if deadline is None or isinstance(deadline, float | int):
        return deadline
    aware = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
    return time.monotonic() + (aware - datetime.now(UTC)).total_seconds()
