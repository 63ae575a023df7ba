"""Server side of the control API: POST /_control/<name> with JSON keyword arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from depsim import business
from depsim.errors import ControlError
from depsim.state import Simulator


def _add_devices(
    sim: Simulator, server_uuid: str, count: int = 0, serials: list[str] | None = None, fields: dict | None = None
) -> list[dict]:
    return sim.add_devices(server_uuid, count=count, serials=serials, **(fields or {}))


def _update_device(sim: Simulator, serial: str, fields: dict | None = None) -> dict:
    return sim.update_device(serial, **(fields or {}))


def _add_fault(sim: Simulator, endpoint: str, status: int, **options: Any) -> None:
    return sim.add_fault(endpoint, status, **options)


# Only these names are callable from outside; each maps onto one Simulator method.
OPERATIONS: dict[str, Callable[..., Any]] = {
    "reset": lambda sim: sim.reset(),
    "create_server": lambda sim, **kw: sim.create_server(**kw),
    "renew_server": lambda sim, **kw: sim.renew_server(**kw),
    "server_token": lambda sim, server_uuid: sim.server_token(server_uuid),
    "servers": lambda sim: sim.list_servers(),
    "add_devices": _add_devices,
    "update_device": _update_device,
    "unassign_devices": lambda sim, server_uuid, serials: sim.unassign_devices(server_uuid, serials),
    "assign_to_server": lambda sim, server_uuid, serials: sim.assign_to_server(server_uuid, serials),
    "move_device": lambda sim, serial, to_server_uuid, modified_only=False: sim.move_device(
        serial, to_server_uuid, modified_only=modified_only
    ),
    "activate_device": lambda sim, serial: sim.activate_device(serial),
    "repeat_ops": lambda sim, server_uuid, count: sim.repeat_ops(server_uuid, count),
    "set_repeat_rate": lambda sim, rate: sim.set_repeat_rate(rate),
    "set_terms_pending": lambda sim, server_uuid, pending: sim.set_terms_pending(server_uuid, pending),
    "set_access_denied": lambda sim, server_uuid, denied: sim.set_access_denied(server_uuid, denied),
    "add_fault": _add_fault,
    "clear_faults": lambda sim: sim.clear_faults(),
    "set_latency": lambda sim, seconds, endpoint="*": sim.set_latency(seconds, endpoint),
    "set_session_ttl": lambda sim, seconds: sim.set_session_ttl(seconds),
    "expire_sessions": lambda sim: sim.expire_sessions(),
    "set_session_rotation": lambda sim, every: sim.set_session_rotation(every),
    "set_page_max": lambda sim, maximum: sim.set_page_max(maximum),
    "advance_clock": lambda sim, seconds: sim.advance_clock(seconds),
    "now": lambda sim: sim.now(),
    "set_throttled_serials": lambda sim, serials, retry_after_seconds=60: sim.set_throttled_serials(
        serials, retry_after_seconds
    ),
    "requests": lambda sim, since=0: sim.requests(since),
    "devices": lambda sim, server_uuid: sim.server_devices(server_uuid),
    "profiles": lambda sim, server_uuid: sim.server_profiles(server_uuid),
    "vpp_create_location": lambda sim, **kw: sim.vpp.create_location(**kw),
    "vpp_set_asset": lambda sim, s_token, adam_id, **kw: sim.vpp.set_asset(s_token, adam_id, **kw),
    "vpp_revoke": lambda sim, s_token: sim.vpp.revoke(s_token),
    **business.OPERATIONS,
}


def call(sim: Simulator, name: str, kwargs: dict) -> Any:
    """Run one control operation; ControlError for unknown names."""
    operation = OPERATIONS.get(name)
    if operation is None:
        raise ControlError(f"Unknown control operation {name!r}.", status=404)
    return operation(sim, **kwargs)
