"""Apple's Apps and Books for Organizations service (VPP, API v2), the part a DEP portal reads.

Written from Apple's documentation:
- Client Config, GET /mdm/v2/client/config
  (https://developer.apple.com/documentation/devicemanagement/client-config-71glv): the location's
  name, country and `tokenExpirationDate` ("2030-11-08T22:33:22+0000").
- Get Assets, GET /mdm/v2/assets
  (https://developer.apple.com/documentation/devicemanagement/get-assets-4ski1): per app (`adamId`)
  `totalCount`, `assignedCount`, `availableCount`, `retiredCount`, `pricingParam`, `productType`,
  `deviceAssignable`, `revocable`, `supportedPlatforms`; paged with `pageIndex`.
- Managing assets (https://developer.apple.com/documentation/devicemanagement/managing-assets): the
  content token (sToken of the .vpptoken) is sent as `Authorization: Bearer {sToken}`.
- Service Configuration (https://developer.apple.com/documentation/devicemanagement/service-configuration):
  errors carry `errorNumber` and `errorMessage`; 9601 is "Login required", 9602 "Invalid argument".
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

PAGE_SIZE = 2  # small, so clients' paging is exercised; Apple's page size is its own business
LOGIN_REQUIRED = {"errorNumber": 9601, "errorMessage": "Login required"}
INVALID_ARGUMENT = {"errorNumber": 9602, "errorMessage": "Invalid argument"}


def apple_time(ts: float) -> str:
    """Apple's VPP timestamp format: `2030-11-08T22:33:22+0000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))


@dataclass
class Location:
    """One Apps and Books location with its content token (an sToken) and licence counts."""

    s_token: str
    name: str
    org_name: str
    expires_ts: float
    revoked: bool = False
    assets: dict[str, dict] = field(default_factory=dict)


class VppService:
    """The simulated service's state; the HTTP layer and the control API both call it."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.locations: dict[str, Location] = {}

    def reset(self) -> None:
        with self.lock:
            self.locations.clear()

    # ----- control ---------------------------------------------------------------------------------------------

    def create_location(
        self, name: str = "Main location", *, org_name: str = "Example Org", days: float = 365
    ) -> dict:
        """A location as Apps and Books' settings page offers it; returns its .vpptoken (base64) and sToken."""
        with self.lock:
            s_token = base64.b64encode(secrets.token_bytes(48)).decode()
            location = Location(s_token, name, org_name, self.clock() + days * 86400)
            self.locations[s_token] = location
            payload = {"token": s_token, "expDate": apple_time(location.expires_ts), "orgName": org_name}
            return {"s_token": s_token, "vpptoken": base64.b64encode(json.dumps(payload).encode()).decode()}

    def set_asset(self, s_token: str, adam_id: str, *, total: int, assigned: int = 0, retired: int = 0) -> dict:
        """Buy (or change the count of) an app's licences at a location."""
        with self.lock:
            location = self.locations[s_token]
            asset = {
                "adamId": str(adam_id),
                "assignedCount": assigned,
                "availableCount": max(0, total - assigned),
                "deviceAssignable": True,
                "pricingParam": "STDQ",
                "productType": "App",
                "retiredCount": retired,
                "revocable": True,
                "supportedPlatforms": ["iOS"],
                "totalCount": total,
            }
            location.assets[str(adam_id)] = asset
            return asset

    def revoke(self, s_token: str) -> None:
        """The content manager downloaded a new token: the old one stops working."""
        with self.lock:
            self.locations[s_token].revoked = True

    # ----- HTTP ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, headers) -> tuple[int, dict]:
        """(status, JSON body) for one request to /mdm/v2/..."""
        if method != "GET" or path not in ("/mdm/v2/client/config", "/mdm/v2/assets"):
            return 404, {"errorNumber": 404, "errorMessage": "Not found"}
        auth = headers.get("Authorization", "")
        s_token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        with self.lock:
            location = self.locations.get(s_token)
            if location is None or location.revoked or location.expires_ts <= self.clock():
                return 401, LOGIN_REQUIRED
            if path == "/mdm/v2/client/config":
                return 200, self._client_config(location)
            return self._assets(location, query)

    def _client_config(self, location: Location) -> dict:
        return {
            "countryISO2ACode": "US",
            "defaultPlatform": "volumestore",
            "locationName": location.name,
            "tokenExpirationDate": apple_time(location.expires_ts),
            "uId": str(int(hashlib.sha256(location.s_token.encode()).hexdigest()[:12], 16)),
        }

    def _assets(self, location: Location, query: dict) -> tuple[int, dict]:
        try:
            page = int((query.get("pageIndex") or ["0"])[0])
        except ValueError:
            return 400, INVALID_ARGUMENT
        assets = sorted(location.assets.values(), key=lambda asset: asset["adamId"])
        wanted = (query.get("adamId") or [None])[0]
        if wanted is not None:
            assets = [asset for asset in assets if asset["adamId"] == wanted]
        total_pages = max(1, -(-len(assets) // PAGE_SIZE))
        if page < 0 or page >= total_pages:
            return 400, INVALID_ARGUMENT
        body = {
            "assets": assets[page * PAGE_SIZE : (page + 1) * PAGE_SIZE],
            "currentPageIndex": page,
            "size": PAGE_SIZE,
            "totalPages": total_pages,
            "tokenExpirationDate": apple_time(location.expires_ts),
        }
        if page + 1 < total_pages:
            body["nextPageIndex"] = page + 1
        return 200, body
