"""DepSimControl: the Python client of the simulator's /_control/ API (tests, demos, benchmarks)."""

from __future__ import annotations

from typing import Any

import requests


class DepSimControlError(Exception):
    """The simulator refused a control call (non-2xx); `status` and `message` say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"depsim control error {status}: {message}")
        self.status = status
        self.message = message


def _text(pem: bytes | str | None) -> str | None:
    return pem.decode("ascii") if isinstance(pem, bytes) else pem


class DepSimControl:
    """Drives a running depsim over HTTP: servers, devices, faults, clock, request log."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, operation: str, /, **kwargs: Any) -> Any:
        response = self.http.post(f"{self.base_url}/_control/{operation}", json=kwargs, timeout=self.timeout)
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text}
        if not response.ok:
            raise DepSimControlError(response.status_code, str(payload.get("error", payload)))
        return payload["result"]

    def reset(self) -> None:
        """Forget every server, device, profile, session, fault, latency, clock offset and log."""
        self._call("reset")

    def create_server(
        self,
        name: str = "Test MDM",
        *,
        org_name: str = "Example Org",
        certificate_pem: bytes | None = None,
        protocol_max: int = 10,
    ) -> dict:
        """A new MDM server with its token values (and base64 .p7m when a certificate is given)."""
        return self._call(
            "create_server",
            name=name,
            org_name=org_name,
            certificate_pem=_text(certificate_pem),
            protocol_max=protocol_max,
        )

    def renew_server(self, server_uuid: str, certificate_pem: bytes | None = None) -> dict:
        """New access token/secret/expiry for the server, same consumer key."""
        return self._call("renew_server", server_uuid=server_uuid, certificate_pem=_text(certificate_pem))

    def server_token(self, server_uuid: str) -> dict:
        """The server's current token values (and .p7m), without renewing."""
        return self._call("server_token", server_uuid=server_uuid)

    def servers(self) -> list[dict]:
        """Every MDM server, summarised."""
        return self._call("servers")

    def add_devices(
        self, server_uuid: str, *, count: int = 0, serials: list[str] | None = None, **fields: Any
    ) -> list[dict]:
        """Create devices assigned to that server (each emits `added`); returns their records."""
        return self._call("add_devices", server_uuid=server_uuid, count=count, serials=serials, fields=fields)

    def update_device(self, serial: str, **fields: Any) -> dict:
        """Change Apple-side fields of a device; emits `modified`."""
        return self._call("update_device", serial=serial, fields=fields)

    def unassign_devices(self, server_uuid: str, serials: list[str]) -> list[str]:
        """Unassign devices from the server; each emits `deleted`."""
        return self._call("unassign_devices", server_uuid=server_uuid, serials=list(serials))

    def assign_to_server(self, server_uuid: str, serials: list[str]) -> dict:
        """ABM-style assignment of existing organisation devices to a server."""
        return self._call("assign_to_server", server_uuid=server_uuid, serials=list(serials))

    def move_device(self, serial: str, to_server_uuid: str, *, modified_only: bool = False) -> dict:
        """`deleted` on the old server, `added` (or only `modified`) on the new one."""
        return self._call("move_device", serial=serial, to_server_uuid=to_server_uuid, modified_only=modified_only)

    def activate_device(self, serial: str) -> dict:
        """The device fetched its profile: `pushed` + push time; emits `modified`."""
        return self._call("activate_device", serial=serial)

    def repeat_ops(self, server_uuid: str, count: int) -> int:
        """Re-append copies of the last `count` ops; returns the log length."""
        return self._call("repeat_ops", server_uuid=server_uuid, count=count)

    def set_repeat_rate(self, rate: float) -> None:
        """Probability (seeded) that an op is followed by a repeat of a recent op."""
        self._call("set_repeat_rate", rate=rate)

    def set_terms_pending(self, server_uuid: str, pending: bool) -> None:
        """403 T_C_NOT_SIGNED on /session and every call while set."""
        self._call("set_terms_pending", server_uuid=server_uuid, pending=pending)

    def set_access_denied(self, server_uuid: str, denied: bool) -> None:
        """403 ACCESS_DENIED while set."""
        self._call("set_access_denied", server_uuid=server_uuid, denied=denied)

    def add_fault(
        self,
        endpoint: str,
        status: int,
        *,
        body: str | None = None,
        retry_after: str | int | None = None,
        delay_s: float = 0,
        count: int | None = 1,
        probability: float | None = None,
        malformed: bool = False,
        method: str | None = None,
        after: int = 0,
    ) -> None:
        """Script an answer for an Apple path (or "*"); `after` lets that many matching requests through first."""
        self._call(
            "add_fault",
            endpoint=endpoint,
            status=status,
            body=body,
            retry_after=retry_after,
            delay_s=delay_s,
            count=count,
            probability=probability,
            malformed=malformed,
            method=method,
            after=after,
        )

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        self._call("clear_faults")

    def set_latency(self, seconds: float, endpoint: str = "*") -> None:
        """Delay added before every response of that endpoint."""
        self._call("set_latency", seconds=seconds, endpoint=endpoint)

    def set_session_ttl(self, seconds: float) -> None:
        """Idle lifetime of auth session tokens (default 180 s)."""
        self._call("set_session_ttl", seconds=seconds)

    def expire_sessions(self) -> None:
        """Forget every issued session token."""
        self._call("expire_sessions")

    def set_session_rotation(self, every: int) -> None:
        """Every `every`-th answer carries a new X-ADM-Auth-Session; the replaced one stops working (0: off)."""
        self._call("set_session_rotation", every=every)

    def set_page_max(self, maximum: int) -> None:
        """The page `limit.maximum` GET /account advertises (and the paginated endpoints clamp to)."""
        self._call("set_page_max", maximum=maximum)

    def advance_clock(self, seconds: float) -> str:
        """Move the simulated clock forward; returns the new simulated now."""
        return self._call("advance_clock", seconds=seconds)

    def now(self) -> str:
        """The simulated now (ISO 8601, Z)."""
        return self._call("now")

    def set_throttled_serials(self, serials: list[str], retry_after_seconds: int = 60) -> None:
        """Profile assignment answers THROTTLED for these serials."""
        self._call("set_throttled_serials", serials=list(serials), retry_after_seconds=retry_after_seconds)

    def requests(self, since: int = 0) -> list[dict]:
        """Request log entries after `since` (no secrets, no session tokens)."""
        return self._call("requests", since=since)

    def devices(self, server_uuid: str) -> list[dict]:
        """Devices currently assigned to that server, as Apple sees them."""
        return self._call("devices", server_uuid=server_uuid)

    def profiles(self, server_uuid: str) -> list[dict]:
        """Profiles defined by that server."""
        return self._call("profiles", server_uuid=server_uuid)

    def vpp_create_location(
        self, name: str = "Main location", *, org_name: str = "Example Org", days: float = 365
    ) -> dict:
        """An Apps and Books location: {"s_token", "vpptoken"} (the .vpptoken file's content, base64)."""
        return self._call("vpp_create_location", name=name, org_name=org_name, days=days)

    def vpp_set_asset(self, s_token: str, adam_id: str, *, total: int, assigned: int = 0, retired: int = 0) -> dict:
        """Give the location `total` licences of an app, `assigned` of them in use."""
        return self._call(
            "vpp_set_asset", s_token=s_token, adam_id=adam_id, total=total, assigned=assigned, retired=retired
        )

    def vpp_revoke(self, s_token: str) -> None:
        """Revoke the location's content token (Apple does when a new one is downloaded)."""
        self._call("vpp_revoke", s_token=s_token)

    def business(self, operation: str, /, **kwargs: Any) -> Any:
        """A Business API control operation (depsim/business.py OPERATIONS, without the business_ prefix)."""
        return self._call(f"business_{operation}", **kwargs)
