"""A tiny Apple DEP caller for the depsim tests: real HTTP, real OAuth 1.0a signatures."""

from __future__ import annotations

import requests
from requests_oauthlib import OAuth1

JSON_TYPE = "application/json;charset=UTF8"


def oauth(creds: dict, **overrides) -> OAuth1:
    """An OAuth1 signer for a token's four values (Apple's header style with realm ADM)."""
    values = {key: creds[key] for key in ("consumer_key", "consumer_secret", "access_token", "access_secret")}
    values.update({k: v for k, v in overrides.items() if k in values})
    extra = {k: v for k, v in overrides.items() if k not in values}
    return OAuth1(
        values["consumer_key"],
        values["consumer_secret"],
        values["access_token"],
        values["access_secret"],
        signature_type="auth_header",
        realm="ADM",
        **extra,
    )


class AppleSession:
    """Calls a depsim the way an MDM does: /session first, then X-ADM-Auth-Session on every call."""

    def __init__(self, base_url: str, creds: dict, *, version: int | None = 10, user_agent: str = "depsim-tests/1.0"):
        self.base_url = base_url
        self.creds = creds
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self.http.headers["Content-Type"] = JSON_TYPE
        if version is not None:
            self.http.headers["X-Server-Protocol-Version"] = str(version)
        self.token: str | None = None

    def session(self, auth: OAuth1 | None = None) -> requests.Response:
        """GET /session; keeps the session token on success."""
        response = self.http.get(f"{self.base_url}/session", auth=auth or oauth(self.creds), timeout=10)
        if response.status_code == 200:
            self.token = response.json()["auth_session_token"]
        return response

    def call(self, method: str, path: str, body: object = None, **kwargs) -> requests.Response:
        """One Apple call with the current session token (opens a session first if there is none)."""
        if self.token is None:
            assert self.session().status_code == 200
        headers = {"X-ADM-Auth-Session": self.token, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, f"{self.base_url}{path}", json=body, headers=headers, **kwargs)

    def ok(self, method: str, path: str, body: object = None, **kwargs) -> dict:
        """A call that must answer 200; its JSON."""
        response = self.call(method, path, body, **kwargs)
        if response.status_code == 401 or response.text == '"FORBIDDEN"':
            # What every client does: one new session, one retry (the clock may have jumped past the TTL).
            assert self.session().status_code == 200
            response = self.call(method, path, body, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.headers["Content-Type"] == JSON_TYPE
        return response.json()

    def fetch_all(self, limit: int | None = None) -> tuple[list[dict], str, int]:
        """A full fetch: every device, the last cursor and the number of pages."""
        devices, cursor, pages = [], None, 0
        while True:
            body = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
            page = self.ok("POST", "/server/devices", body)
            devices += page["devices"]
            cursor, pages = page["cursor"], pages + 1
            if not page["more_to_follow"]:
                return devices, cursor, pages

    def sync_all(self, cursor: str, limit: int | None = None) -> tuple[list[dict], str]:
        """A delta sync from `cursor` to the end: every op record and the new cursor."""
        records = []
        while True:
            body = {"cursor": cursor, **({"limit": limit} if limit else {})}
            page = self.ok("POST", "/devices/sync", body)
            records += page["devices"]
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                return records, cursor


def error_code(response: requests.Response) -> str:
    """Apple's code from an error body, quotes stripped (the way clients match them)."""
    return response.text.strip().strip('"')
