"""A small client for Apple's Apps and Books for Organizations service (VPP, API v2): licence counts.

Apple's pages it follows:
- Managing assets, https://developer.apple.com/documentation/devicemanagement/managing-assets
  (base https://vpp.itunes.apple.com/mdm/v2, `Authorization: Bearer {sToken}`).
- Client Config, https://developer.apple.com/documentation/devicemanagement/client-config-71glv
  (GET /client/config: `locationName`, `tokenExpirationDate`).
- Get Assets, https://developer.apple.com/documentation/devicemanagement/get-assets-4ski1
  (GET /assets?pageIndex=N: `assets[]` with `adamId`, `totalCount`, `assignedCount`, `availableCount`).
- Service Configuration, https://developer.apple.com/documentation/devicemanagement/service-configuration
  (errors are `{"errorNumber", "errorMessage"}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings

# More pages than any location has assets for one app: a bound, so a misbehaving answer cannot loop.
MAX_PAGES = 50


class VppError(Exception):
    """A call to Apps and Books failed; `status` 0 means no answer, `error_number` is Apple's."""

    def __init__(self, message: str, *, status: int = 0, error_number: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_number = error_number


@dataclass(frozen=True)
class LicenceCount:
    total: int
    assigned: int
    available: int


class AppsAndBooksClient:
    """Reads a location's settings and one app's licence counts with its content token (sToken)."""

    def __init__(self, s_token: str, *, base_url: str | None = None, timeout: float | None = None) -> None:
        self.base_url = (base_url or settings.APPLE_VPP_BASE_URL).rstrip("/")
        self.timeout = timeout or settings.APPLE_VPP_TIMEOUT_S
        self._http = requests.Session()
        self._http.headers.update(
            {
                "Authorization": f"Bearer {s_token}",
                "User-Agent": settings.APPLE_DEP_USER_AGENT,
                "Accept": "application/json",
            }
        )

    def close(self) -> None:
        self._http.close()

    def client_config(self) -> dict:
        return self._get("/client/config")

    def licence_count(self, adam_id: str) -> LicenceCount | None:
        """The location's licences of one app, or None when the location holds none of it."""
        page: int | None = 0
        for _ in range(MAX_PAGES):
            body = self._get("/assets", params={"adamId": adam_id, "pageIndex": page})
            for asset in body.get("assets") or []:
                if str(asset.get("adamId")) == str(adam_id):
                    return LicenceCount(
                        total=int(asset.get("totalCount") or 0),
                        assigned=int(asset.get("assignedCount") or 0),
                        available=int(asset.get("availableCount") or 0),
                    )
            page = body.get("nextPageIndex")
            if page is None:
                return None
        raise VppError("Apple's asset list did not end; try again later.")

    def _get(self, path: str, params: dict | None = None) -> dict:
        try:
            response = self._http.get(f"{self.base_url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise VppError(f"Apple's Apps and Books service could not be reached ({type(exc).__name__}).") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            number = body.get("errorNumber") if isinstance(body, dict) else None
            text = body.get("errorMessage") if isinstance(body, dict) else ""
            if response.status_code in (401, 403) or number == 9601:
                message = (
                    "Apple refused this VPP token: it expired or was replaced by a newer one. Download the "
                    "current token in Apple Business Manager (Settings > Apps and Books) and upload it here."
                )
            else:
                message = f"Apple's Apps and Books service answered HTTP {response.status_code}"
                message += f" ({number}: {text})." if number else "."
            raise VppError(message, status=response.status_code, error_number=number)
        return body


def parse_apple_time(value) -> datetime | None:
    """`2030-11-08T22:33:22+0000` (Apple's VPP format) as an aware datetime."""
    if not isinstance(value, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value.replace("Z", "+0000"), pattern).astimezone(UTC)
        except ValueError:
            continue
    return None
