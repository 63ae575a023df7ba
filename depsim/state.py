"""The simulator itself: MDM servers, devices, change logs, cursors, sessions, profiles, faults, clock. No HTTP."""

from __future__ import annotations

import base64
import binascii
import bisect
import collections
import datetime as dt
import functools
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from depsim import data, profiles
from depsim.errors import AppleError, ControlError
from depsim.vpp import VppService

DEFAULT_SESSION_TTL = 180.0
CURSOR_MAX_AGE = 7 * 24 * 3600
PAGE_DEFAULT = 100
PAGE_MAX = 1000
# Apple documents no count limit for device lists; we refuse above this with TOO_MANY_DEVICES.
DEVICE_LIST_MAX = 1000
TOO_MANY_DEVICES = "TOO_MANY_DEVICES"
REQUEST_LOG_MAX = 50_000
NONCE_WINDOW = 660.0
ADMIN_EMAIL = "dep-admin@example.org"

APPLE_PATHS = (
    "/session",
    "/account",
    "/server/devices",
    "/devices/sync",
    "/devices",
    "/profile",
    "/profile/devices",
    "/devices/disown",
)

_BASE_KEYS = (
    "serial_number",
    "model",
    "description",
    "color",
    "asset_tag",
    "profile_status",
    "profile_uuid",
    "profile_assign_time",
    "profile_push_time",
    "device_assigned_date",
    "device_assigned_by",
)
_V10_KEYS = (
    "bluetooth_mac_address",
    "ethernet_mac_address",
    "wifi_mac_address",
    "imei",
    "meid",
    "eid",
    "is_replacement_device",
)
_PROFILE_KEYS = ("profile_status", "profile_uuid", "profile_assign_time", "profile_push_time")
_ASSIGNMENT_KEYS = ("device_assigned_date", "device_assigned_by")
# Keys a caller of add_devices/update_device may set; everything Apple reports about the hardware.
DEVICE_FIELD_KEYS = frozenset(
    ("model", "description", "color", "asset_tag", "os", "device_family", "mdm_migration_deadline", *_V10_KEYS)
)


def iso(ts: float) -> str:
    """Apple's timestamp format: UTC, second precision, Z suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def one_year_later(ts: float) -> float:
    """Same calendar date and time next year (29 February becomes 28 February)."""
    moment = dt.datetime.fromtimestamp(int(ts), dt.UTC)
    try:
        later = moment.replace(year=moment.year + 1)
    except ValueError:
        later = moment.replace(year=moment.year + 1, day=28)
    return later.timestamp()


def protocol_tier(version: int) -> int:
    """Collapse a protocol version onto the versions where device fields change."""
    for tier in (10, 8, 7, 2):
        if version >= tier:
            return tier
    return 1


def device_view(fields: dict, tier: int) -> dict:
    """The device record a client speaking protocol `tier` sees."""
    view = {key: fields[key] for key in _BASE_KEYS if fields.get(key) is not None}
    if tier >= 2:
        for key in ("os", "device_family"):
            if fields.get(key) is not None:
                view[key] = fields[key]
        # Before protocol 7 Apple reports iPads as iOS.
        if tier < 7 and view.get("os") == "iPadOS":
            view["os"] = "iOS"
    if tier >= 8 and fields.get("mdm_migration_deadline"):
        view["mdm_migration_deadline"] = fields["mdm_migration_deadline"]
    if tier >= 10:
        for key in _V10_KEYS:
            if fields.get(key) is not None:
                view[key] = fields[key]
    return view


class DeviceVersion:
    """An immutable snapshot of a device's Apple-side fields, with its JSON cached per protocol tier."""

    __slots__ = ("fields", "_json")

    def __init__(self, fields: dict) -> None:
        self.fields = fields
        self._json: dict[int, str] = {}

    def json_for(self, tier: int) -> str:
        """Compact JSON of the record for that protocol tier (cached: pages are served from these)."""
        text = self._json.get(tier)
        if text is None:
            text = json.dumps(device_view(self.fields, tier), separators=(",", ":"))
            self._json[tier] = text
        return text

    def evolve(self, **changes: Any) -> DeviceVersion:
        """A new version with some fields changed (None removes a field)."""
        fields = dict(self.fields)
        for key, value in changes.items():
            if value is None:
                fields.pop(key, None)
            else:
                fields[key] = value
        return DeviceVersion(fields)


class Device:
    """A device of the organisation and the MDM server it is assigned to (None: unassigned)."""

    __slots__ = ("serial", "server_uuid", "version")

    def __init__(self, serial: str, server_uuid: str | None, version: DeviceVersion) -> None:
        self.serial = serial
        self.server_uuid = server_uuid
        self.version = version


@dataclass
class LogEntry:
    """One change-log operation of a server, with the device as it was at that moment."""

    serial: str
    op_type: str
    op_ts: float
    version: DeviceVersion
    released_by_replacement: bool = False


@dataclass
class MdmServer:
    """One MDM server in the simulated Apple Business Manager, with its token and its change log."""

    uuid: str
    name: str
    org_name: str
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str
    access_token_expiry: float
    protocol_max: int = 10
    certificate_pem: str | None = None
    created_ts: float = 0.0
    token_ts: float = 0.0
    terms_pending: bool = False
    access_denied: bool = False
    log: list[LogEntry] = field(default_factory=list)
    positions: dict[str, list[int]] = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)
    device_count: int = 0


@dataclass
class Fault:
    """A scripted answer for an Apple endpoint."""

    endpoint: str
    status: int
    body: str | None = None
    retry_after: str | int | None = None
    delay_s: float = 0.0
    count: int | None = 1
    probability: float | None = None
    malformed: bool = False
    method: str | None = None
    # Let this many matching requests through first: a fault in the middle of a paged walk.
    after: int = 0

    def matches(self, path: str, method: str) -> bool:
        """True when this fault applies to that request."""
        if self.endpoint not in ("*", path):
            return False
        return self.method is None or self.method.upper() == method


def locked(method):
    """Run a Simulator method under the state lock."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


class Simulator:
    """All simulator state behind one lock; the HTTP layer and the control API both call into it."""

    def __init__(self, seed: int | None = None, repeat_rate: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.default_repeat_rate = repeat_rate
        self.changed = threading.Event()
        self._reset_state()

    # ----- lifecycle -------------------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.rng = random.Random(self.seed)
        self.fault_rng = random.Random(None if self.seed is None else self.seed + 1)
        self.cursor_key = secrets.token_bytes(32)
        self.clock_offset = 0.0
        self.servers: dict[str, MdmServer] = {}
        self.devices: dict[str, Device] = {}
        self.sessions: dict[str, list] = {}
        self.nonces: dict[tuple, float] = {}
        self.session_ttl = DEFAULT_SESSION_TTL
        self.session_rotate_every = 0
        self.session_uses = 0
        self.page_max = PAGE_MAX
        # Sync cursors whose call already returned every change: answered EXHAUSTED_CURSOR while nothing is new.
        self.spent_cursors: collections.OrderedDict = collections.OrderedDict()
        self.faults: list[Fault] = []
        self.latency: dict[str, float] = {}
        self.throttled: dict[str, int] = {}
        self.repeat_rate = self.default_repeat_rate
        self.request_log: collections.deque = collections.deque(maxlen=REQUEST_LOG_MAX)
        self.request_seq = 0
        # Apple's Apps and Books service (VPP) for the same organisation, on the same clock.
        self.vpp = VppService(self.now_ts)
        # The mini ABM's records (depsim.orders): serial -> order number, and View Assignment History.
        self.orders: dict[str, str] = {}
        self.assignment_history: list[dict] = []

    @locked
    def reset(self) -> None:
        """Forget everything: servers, devices, profiles, sessions, faults, latency, clock offset and logs."""
        self._reset_state()
        self.changed.set()

    def mark_changed(self) -> None:
        """Tell the persister there is something new to write."""
        self.changed.set()

    # ----- clock -----------------------------------------------------------------------------------------------

    def now_ts(self) -> float:
        """Simulated now, in Unix seconds."""
        return time.time() + self.clock_offset

    @locked
    def advance_clock(self, seconds: float) -> str:
        """Move the simulated clock forward; returns the new now."""
        self.clock_offset += float(seconds)
        self.changed.set()
        return iso(self.now_ts())

    def now(self) -> str:
        """Simulated now as an ISO 8601 string."""
        return iso(self.now_ts())

    # ----- servers and tokens ----------------------------------------------------------------------------------

    def _hex(self, nbytes: int) -> str:
        return self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def _issue_access_token(self, server: MdmServer) -> None:
        now = self.now_ts()
        digits = "".join(str(self.rng.randrange(10)) for _ in range(10))
        server.access_token = f"AT_O{digits}O{self._hex(20)}O{int(now * 1000)}"
        server.access_secret = "AS_" + self._hex(20)
        server.access_token_expiry = one_year_later(now)
        server.token_ts = now

    @locked
    def create_server(
        self,
        name: str = "Test MDM",
        *,
        org_name: str = "Example Org",
        certificate_pem: str | None = None,
        protocol_max: int = 10,
    ) -> dict:
        """Add an MDM server (ABM's "Add MDM Server"); returns its token values (and .p7m when a cert is given)."""
        name = (name or "").strip()
        if not name:
            raise ControlError("The MDM server needs a name.")
        if certificate_pem is not None:
            certificate_pem = validate_certificate(certificate_pem)
        server_uuid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()
        server = MdmServer(
            uuid=server_uuid,
            name=name,
            org_name=org_name,
            consumer_key="CK_" + self._hex(64),
            consumer_secret="CS_" + self._hex(20),
            access_token="",
            access_secret="",
            access_token_expiry=0.0,
            protocol_max=int(protocol_max),
            certificate_pem=certificate_pem,
            created_ts=self.now_ts(),
        )
        self._issue_access_token(server)
        self.servers[server_uuid] = server
        self.changed.set()
        return self.server_token(server_uuid)

    @locked
    def renew_server(self, server_uuid: str, certificate_pem: str | None = None) -> dict:
        """New access token, secret and expiry for a server; the consumer key stays."""
        server = self.server(server_uuid)
        if certificate_pem is not None:
            server.certificate_pem = validate_certificate(certificate_pem)
        self._issue_access_token(server)
        # The old access token dies with the renewal, and so do sessions opened with it.
        self.sessions = {token: s for token, s in self.sessions.items() if s[0] != server_uuid}
        self.changed.set()
        return self.server_token(server_uuid)

    @locked
    def server_token(self, server_uuid: str) -> dict:
        """The server's current token values, plus the .p7m (base64) when it has a certificate."""
        server = self.server(server_uuid)
        result = {
            "server_uuid": server.uuid,
            "server_name": server.name,
            **token_values(server),
            "p7m": None,
        }
        if server.certificate_pem:
            result["p7m"] = base64.b64encode(token_p7m(server)).decode("ascii")
        return result

    @locked
    def server_info(self, server_uuid: str) -> dict:
        """Summary of one MDM server."""
        return server_summary(self.server(server_uuid))

    def server(self, server_uuid: str) -> MdmServer:
        """The server with that UUID, or a 404 ControlError."""
        server = self.servers.get(server_uuid)
        if server is None:
            raise ControlError(f"No MDM server {server_uuid!r}.", status=404)
        return server

    @locked
    def list_servers(self) -> list[dict]:
        """Summary of every MDM server, newest last."""
        return [server_summary(server) for server in self.servers.values()]

    @locked
    def set_terms_pending(self, server_uuid: str, pending: bool) -> None:
        """While set, /session and every call answer 403 T_C_NOT_SIGNED."""
        self.server(server_uuid).terms_pending = bool(pending)
        self.changed.set()

    @locked
    def set_access_denied(self, server_uuid: str, denied: bool) -> None:
        """While set, /session and every call answer 403 ACCESS_DENIED."""
        self.server(server_uuid).access_denied = bool(denied)
        self.changed.set()

    # ----- change log --------------------------------------------------------------------------------------------

    def _append(self, server: MdmServer, entry: LogEntry, *, may_repeat: bool = True) -> None:
        server.positions.setdefault(entry.serial, []).append(len(server.log))
        server.log.append(entry)
        # Apple warns that the same operation can come back more than once.
        if may_repeat and self.repeat_rate and self.fault_rng.random() < self.repeat_rate:
            window = server.log[-20:]
            self._append(server, self.fault_rng.choice(window), may_repeat=False)

    def _emit(self, server: MdmServer, device: Device, op_type: str, version: DeviceVersion | None = None) -> None:
        self._append(server, LogEntry(device.serial, op_type, self.now_ts(), version or device.version))

    @locked
    def repeat_ops(self, server_uuid: str, count: int) -> int:
        """Re-append copies of the last `count` ops of the server's change log."""
        server = self.server(server_uuid)
        for entry in server.log[-int(count) :] if count > 0 else []:
            self._append(server, entry, may_repeat=False)
        self.changed.set()
        return len(server.log)

    @locked
    def set_repeat_rate(self, rate: float) -> None:
        """Probability that an op is followed by a repeat of a recent op (seeded)."""
        self.repeat_rate = float(rate)

    # ----- devices (ABM side) -----------------------------------------------------------------------------------

    def _assignment_fields(self) -> dict:
        return {"device_assigned_date": self.now(), "device_assigned_by": ADMIN_EMAIL, "profile_status": "empty"}

    def _new_fields(self, serial: str | None, overrides: dict) -> dict:
        unknown = set(overrides) - DEVICE_FIELD_KEYS
        if unknown:
            raise ControlError(f"Unknown device fields: {', '.join(sorted(unknown))}.")
        family = overrides.get("device_family")
        fields = data.generate_device_fields(self.rng, serial, family if family in data.FAMILIES else None)
        while serial is None and fields["serial_number"] in self.devices:
            fields["serial_number"] = data.new_style_serial(self.rng)
        fields.update(overrides)
        return fields

    @locked
    def add_devices(
        self, server_uuid: str | None, *, count: int = 0, serials: list[str] | None = None, **fields: Any
    ) -> list[dict]:
        """Create devices (assigned to that server, or to nobody); each assignment emits `added`."""
        server = self.server(server_uuid) if server_uuid else None
        serials = [normalise_serial(s) for s in serials or []]
        duplicates = [s for s in serials if s in self.devices]
        if duplicates or len(set(serials)) != len(serials):
            raise ControlError(f"Serial numbers already exist: {', '.join(sorted(set(duplicates)) or serials)}.")
        if int(count) < 0 or int(count) > 1_000_000:
            raise ControlError("count must be between 0 and 1000000.")
        created = []
        for serial in [*serials, *([None] * int(count))]:
            device_fields = self._new_fields(serial, fields)
            if server:
                device_fields.update(self._assignment_fields())
            device = Device(
                device_fields["serial_number"], server.uuid if server else None, DeviceVersion(device_fields)
            )
            self.devices[device.serial] = device
            if server:
                server.device_count += 1
                self._emit(server, device, "added")
            created.append(device_record(device))
        self.changed.set()
        return created

    def device(self, serial: str) -> Device:
        """The device with that serial, or a 404 ControlError."""
        device = self.devices.get(normalise_serial(serial))
        if device is None:
            raise ControlError(f"No device {serial!r} in the organisation.", status=404)
        return device

    @locked
    def update_device(self, serial: str, **fields: Any) -> dict:
        """Change Apple-side hardware fields; emits `modified` on its server."""
        device = self.device(serial)
        unknown = set(fields) - DEVICE_FIELD_KEYS
        if unknown:
            raise ControlError(f"Unknown device fields: {', '.join(sorted(unknown))}.")
        device.version = device.version.evolve(**fields)
        if device.server_uuid:
            self._emit(self.servers[device.server_uuid], device, "modified")
        self.changed.set()
        return device_record(device)

    def _unassign(self, device: Device, *, released: bool = False) -> None:
        server = self.servers[device.server_uuid]
        self._append(server, LogEntry(device.serial, "deleted", self.now_ts(), device.version, released))
        server.device_count -= 1
        device.server_uuid = None
        device.version = device.version.evolve(**dict.fromkeys(_PROFILE_KEYS + _ASSIGNMENT_KEYS))

    def _assign(self, device: Device, server: MdmServer, *, op_type: str = "added") -> None:
        if device.server_uuid == server.uuid:
            return
        if device.server_uuid:
            self._unassign(device)
        device.server_uuid = server.uuid
        device.version = device.version.evolve(**self._assignment_fields())
        server.device_count += 1
        self._emit(server, device, op_type)

    @locked
    def unassign_devices(self, server_uuid: str, serials: list[str]) -> list[str]:
        """Take devices away from a server (ABM "unassign"); each emits `deleted`. Returns the serials done."""
        server = self.server(server_uuid)
        done = []
        for serial in serials:
            device = self.devices.get(normalise_serial(serial))
            if device is not None and device.server_uuid == server.uuid:
                self._unassign(device)
                done.append(device.serial)
        self.changed.set()
        return done

    @locked
    def assign_to_server(self, server_uuid: str, serials: list[str]) -> dict:
        """ABM "assign to server": moves known devices there; reports unknown serials."""
        server = self.server(server_uuid)
        result: dict[str, list[str]] = {"assigned": [], "already": [], "not_found": []}
        for raw in serials:
            serial = normalise_serial(raw)
            device = self.devices.get(serial)
            if device is None:
                result["not_found"].append(serial)
            elif device.server_uuid == server.uuid:
                result["already"].append(serial)
            else:
                self._assign(device, server)
                result["assigned"].append(serial)
        self.changed.set()
        return result

    @locked
    def unassigned_serials(self) -> list[str]:
        """Serials of organisation devices no MDM server has."""
        return [serial for serial, device in self.devices.items() if device.server_uuid is None]

    @locked
    def move_device(self, serial: str, to_server_uuid: str, *, modified_only: bool = False) -> dict:
        """`deleted` on the old server, `added` (or just `modified`, ABM's oddity) on the new one."""
        device = self.device(serial)
        server = self.server(to_server_uuid)
        if device.server_uuid == server.uuid:
            raise ControlError(f"{device.serial} is already assigned to that server.")
        self._assign(device, server, op_type="modified" if modified_only else "added")
        self.changed.set()
        return device_record(device)

    @locked
    def activate_device(self, serial: str) -> dict:
        """The device ran Setup Assistant and fetched its profile: `pushed` + push time, `modified`."""
        device = self.device(serial)
        if not device.server_uuid or device.version.fields.get("profile_status") != "assigned":
            raise ControlError(f"{device.serial} has no assigned profile to fetch.", status=409)
        device.version = device.version.evolve(profile_status="pushed", profile_push_time=self.now())
        self._emit(self.servers[device.server_uuid], device, "modified")
        self.changed.set()
        return device_record(device)

    @locked
    def server_devices(self, server_uuid: str) -> list[dict]:
        """Devices currently assigned to that server, as Apple sees them (newest protocol)."""
        self.server(server_uuid)
        return [device_record(d) for d in self.devices.values() if d.server_uuid == server_uuid]

    @locked
    def org_devices(self, limit: int | None = None, query: str = "") -> list[dict]:
        """Organisation devices with their server, optionally filtered by a serial/model substring."""
        query = query.strip().upper()
        result = []
        for device in self.devices.values():
            fields = device.version.fields
            if query and query not in device.serial and query not in fields.get("model", "").upper():
                continue
            record = device_record(device)
            record["server_uuid"] = device.server_uuid
            record["server_name"] = self.servers[device.server_uuid].name if device.server_uuid else None
            result.append(record)
            if limit is not None and len(result) >= limit:
                break
        return result

    @locked
    def server_profiles(self, server_uuid: str) -> list[dict]:
        """Profiles defined by that server."""
        return [dict(p) for p in self.server(server_uuid).profiles.values()]

    # ----- sessions ----------------------------------------------------------------------------------------------

    @locked
    def set_session_ttl(self, seconds: float) -> None:
        """Idle lifetime of auth session tokens."""
        self.session_ttl = float(seconds)

    @locked
    def expire_sessions(self) -> None:
        """Forget every issued session token."""
        self.sessions.clear()

    @locked
    def set_session_rotation(self, every: int) -> None:
        """Every `every`-th authenticated answer carries a new X-ADM-Auth-Session (0: never).

        Apple (Authenticating for Automated Device Enrollment): any response may carry a new session token in
        X-ADM-Auth-Session, and the client uses it from then on. Here the replaced token stops working at once
        (an unknown token answers 403 FORBIDDEN), so a client that ignores the header has to open a session.
        """
        self.session_rotate_every = max(0, int(every))
        self.session_uses = 0

    @locked
    def rotated_session(self, token: str) -> str | None:
        """The replacement session token when this answer is one that rotates it, else None."""
        if not self.session_rotate_every:
            return None
        self.session_uses += 1
        if self.session_uses % self.session_rotate_every:
            return None
        entry = self.sessions.pop(token, None)
        if entry is None:
            return None
        new = secrets.token_hex(64).upper()
        self.sessions[new] = [entry[0], self.now_ts()]
        return new

    @locked
    def set_page_max(self, maximum: int) -> None:
        """The `limit.maximum` GET /account advertises for the paginated endpoints, and the clamp they apply."""
        if not 1 <= int(maximum) <= 5000:
            raise ControlError("maximum must be between 1 and 5000.")
        self.page_max = int(maximum)

    @locked
    def server_by_consumer_key(self, consumer_key: str) -> MdmServer | None:
        """The server owning that consumer key."""
        for server in self.servers.values():
            if hmac.compare_digest(server.consumer_key, consumer_key):
                return server
        return None

    @locked
    def use_nonce(self, consumer_key: str, timestamp: str, nonce: str, token: str) -> bool:
        """Record a nonce; False when it was already used with that timestamp and token."""
        now = time.time()
        if len(self.nonces) > 10_000:
            self.nonces = {key: at for key, at in self.nonces.items() if now - at < NONCE_WINDOW}
        key = (consumer_key, timestamp, nonce, token)
        if key in self.nonces:
            return False
        self.nonces[key] = now
        return True

    @locked
    def open_session(self, server: MdmServer) -> str:
        """Check the server's standing and issue a new auth session token."""
        if self.now_ts() >= server.access_token_expiry:
            raise AppleError(401, "UNAUTHORIZED")
        check_standing(server)
        token = secrets.token_hex(64).upper()
        now = self.now_ts()
        if len(self.sessions) > 10_000:
            # Long-dead sessions may be forgotten (they then answer FORBIDDEN instead of UNAUTHORIZED).
            keep = max(self.session_ttl, 86400.0)
            self.sessions = {t: s for t, s in self.sessions.items() if now - s[1] < keep}
        self.sessions[token] = [server.uuid, now]
        return token

    @locked
    def check_session(self, token: str | None) -> MdmServer:
        """The server behind a session token; 401 when idle too long, 403 when unknown."""
        entry = self.sessions.get(token or "")
        if entry is None or entry[0] not in self.servers:
            raise AppleError(403, "FORBIDDEN")
        now = self.now_ts()
        if now - entry[1] > self.session_ttl:
            raise AppleError(401, "UNAUTHORIZED")
        entry[1] = now
        server = self.servers[entry[0]]
        check_standing(server)
        return server

    # ----- faults, latency, throttling, request log --------------------------------------------------------------

    @locked
    def add_fault(self, endpoint: str, status: int, **options: Any) -> None:
        """Script an answer for an Apple endpoint (see the control API)."""
        if endpoint != "*" and endpoint not in APPLE_PATHS:
            raise ControlError(f"Unknown endpoint {endpoint!r}; use an Apple path or '*'.")
        fault = Fault(endpoint=endpoint, status=int(status), **options)
        if fault.count is not None and fault.count < 1:
            raise ControlError("count must be at least 1, or null for forever.")
        self.faults.append(fault)

    @locked
    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        self.faults.clear()

    @locked
    def take_fault(self, path: str, method: str) -> Fault | None:
        """The first scripted fault that fires for this request, consuming one use of it."""
        for fault in self.faults:
            if not fault.matches(path, method):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            if fault.probability is not None and self.fault_rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    @locked
    def set_latency(self, seconds: float, endpoint: str = "*") -> None:
        """Delay added before every response of that endpoint (or all)."""
        if seconds:
            self.latency[endpoint] = float(seconds)
        else:
            self.latency.pop(endpoint, None)

    def latency_for(self, path: str) -> float:
        """Seconds to wait before answering a request on that path."""
        return self.latency.get(path, self.latency.get("*", 0.0))

    @locked
    def set_throttled_serials(self, serials: list[str], retry_after_seconds: int = 60) -> None:
        """Assigning a profile to these serials answers THROTTLED."""
        self.throttled = {normalise_serial(s): int(retry_after_seconds) for s in serials}

    @locked
    def log_request(self, **entry: Any) -> None:
        """Append to the request log (callers never pass secrets or session tokens)."""
        self.request_seq += 1
        self.request_log.append({"seq": self.request_seq, "at": self.now(), **entry})

    @locked
    def requests(self, since: int = 0) -> list[dict]:
        """Request log entries after sequence number `since`."""
        return [dict(e) for e in self.request_log if e["seq"] > since]

    # ----- Apple endpoints ---------------------------------------------------------------------------------------

    @locked
    def account(self, server: MdmServer, version: int) -> dict:
        """GET /account."""
        body = {
            "server_name": server.name,
            "server_uuid": server.uuid,
            "admin_id": ADMIN_EMAIL,
            "facilitator_id": ADMIN_EMAIL,
            "org_name": server.org_name,
            "org_email": ADMIN_EMAIL,
            "org_phone": "+1 408 555 0100",
            "org_address": "1 Infinite Loop, Cupertino CA 95014, United States",
        }
        if version >= 3:
            org_id = str(int(hashlib.sha256(server.org_name.encode()).hexdigest()[:10], 16))
            body.update(
                org_id=org_id,
                org_id_hash=hashlib.sha256(org_id.encode()).hexdigest(),
                org_type="org",
                org_version="v2",
                urls=account_urls(self.page_max),
            )
        return body

    def _make_cursor(self, server: MdmServer, phase: str, pos: int, end: int) -> str:
        payload = f"{phase}:{pos}:{end}:{int(self.now_ts() * 1000)}:{server.uuid}".encode()
        mac = hmac.new(self.cursor_key, payload, hashlib.sha256).digest()[:12]
        return (payload + mac).hex()

    def _read_cursor(self, server: MdmServer, cursor: Any) -> tuple[str, int, int, float]:
        if not isinstance(cursor, str) or not 24 < len(cursor) <= 1000:
            raise AppleError(400, "INVALID_CURSOR")
        try:
            raw = bytes.fromhex(cursor)
        except ValueError:
            raise AppleError(400, "INVALID_CURSOR") from None
        payload, mac = raw[:-12], raw[-12:]
        expected = hmac.new(self.cursor_key, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise AppleError(400, "INVALID_CURSOR")
        phase, pos, end, issued_ms, server_uuid = payload.decode().split(":", 4)
        pos, end = int(pos), int(end)
        if server_uuid != server.uuid or not 0 <= pos <= end <= len(server.log):
            raise AppleError(400, "INVALID_CURSOR")
        return phase, pos, end, int(issued_ms) / 1000

    def _fetch_emits(self, server: MdmServer, index: int, end: int) -> bool:
        # A fetch walks the log up to where it started and reports each device at its latest op before
        # that point, so the pages stay O(page) and no device is reported twice.
        entry = server.log[index]
        device = self.devices.get(entry.serial)
        if device is None or device.server_uuid != server.uuid or entry.op_type == "deleted":
            return False
        indices = server.positions[entry.serial]
        last = indices[-1] if indices[-1] < end else indices[bisect.bisect_left(indices, end) - 1]
        return last == index

    @locked
    def fetch_devices(self, server: MdmServer, cursor: Any, limit: Any, version: int) -> str:
        """POST /server/devices ("Get a List of Devices"); returns the JSON body.

        Apple (developer.apple.com/documentation/devicemanagement/fetch-devices): 400 EXHAUSTED_CURSOR when
        "the cursor had returned all devices in previous calls", INVALID_CURSOR for a cursor it did not issue.
        """
        limit = page_limit(limit, self.page_max)
        if cursor in (None, ""):
            pos, end = 0, len(server.log)
        else:
            phase, pos, end, _issued = self._read_cursor(server, cursor)
            if phase != "fetch" or pos >= end:
                raise AppleError(400, "EXHAUSTED_CURSOR")
        tier = protocol_tier(version)
        parts: list[str] = []
        log = server.log
        while pos < end and len(parts) < limit:
            if self._fetch_emits(server, pos, end):
                parts.append(self.devices[log[pos].serial].version.json_for(tier))
            pos += 1
        while pos < end and not self._fetch_emits(server, pos, end):
            pos += 1
        more = pos < end
        until = log[pos - 1].op_ts if more else self.now_ts()
        return page_body(parts, self._make_cursor(server, "fetch", pos, end), until, more)

    @locked
    def sync_devices(self, server: MdmServer, cursor: Any, limit: Any, version: int) -> str:
        """POST /devices/sync ("Sync the List of Devices"); returns the JSON body.

        Apple (developer.apple.com/documentation/devicemanagement/sync-devices): CURSOR_REQUIRED without a
        cursor, INVALID_CURSOR for one it did not issue, EXPIRED_CURSOR for one older than 7 days, and
        EXHAUSTED_CURSOR when "the cursor had returned all devices in previous calls": here, a cursor already
        answered with the last change, presented again while no change has come since.
        """
        if cursor in (None, ""):
            raise AppleError(400, "CURSOR_REQUIRED")
        limit = page_limit(limit, self.page_max)
        _phase, pos, _end, issued = self._read_cursor(server, cursor)
        if self.now_ts() - issued > CURSOR_MAX_AGE:
            raise AppleError(400, "EXPIRED_CURSOR")
        if pos == len(server.log) and cursor in self.spent_cursors:
            raise AppleError(400, "EXHAUSTED_CURSOR")
        tier = protocol_tier(version)
        stop = min(pos + limit, len(server.log))
        parts = [sync_record(entry, tier) for entry in server.log[pos:stop]]
        more = stop < len(server.log)
        if not more:
            self.spent_cursors[cursor] = True
            while len(self.spent_cursors) > 10_000:
                self.spent_cursors.popitem(last=False)
        until = server.log[stop - 1].op_ts if more else self.now_ts()
        return page_body(parts, self._make_cursor(server, "sync", stop, stop), until, more)

    @locked
    def device_details(self, server: MdmServer, serials: Any, version: int) -> dict:
        """POST /devices."""
        tier = protocol_tier(version)
        result = {}
        for serial in device_list(serials):
            device = self.devices.get(serial)
            if device is not None and device.server_uuid == server.uuid:
                record = device_view(device.version.fields, tier)
                record["response_status"] = "SUCCESS"
            else:
                record = {"response_status": "NOT_ACCESSIBLE"}
            result[serial] = record
        return {"devices": result}

    @locked
    def define_profile(self, server: MdmServer, body: Any, version: int) -> dict:
        """POST /profile: validate, store immutably, optionally assign to `devices`."""
        stored = profiles.validate_profile(body)
        serials = device_list(body.get("devices") or [], required=False)
        profile_uuid = uuid.UUID(int=self.rng.getrandbits(128), version=4).hex.upper()
        stored["profile_uuid"] = profile_uuid
        server.profiles[profile_uuid] = stored
        statuses, _ = self._assign_profile(server, profile_uuid, serials, version)
        self.changed.set()
        return {"profile_uuid": profile_uuid, "devices": statuses}

    @locked
    def get_profile(self, server: MdmServer, profile_uuid: str | None) -> dict:
        """GET /profile?profile_uuid=."""
        if not profile_uuid:
            raise AppleError(400, "PROFILE_UUID_REQUIRED")
        profile = server.profiles.get(profile_uuid.upper())
        if profile is None:
            raise AppleError(404, "NOT_FOUND")
        return dict(profile)

    def _assign_profile(
        self, server: MdmServer, profile_uuid: str, serials: list[str], version: int
    ) -> tuple[dict, int | None]:
        statuses: dict[str, str] = {}
        retry_after = None
        now = self.now()
        for serial in serials:
            device = self.devices.get(serial)
            if device is None or device.server_uuid != server.uuid:
                statuses[serial] = "NOT_ACCESSIBLE"
            elif serial in self.throttled:
                # Clients below protocol 9 do not know THROTTLED; they just see a failure.
                statuses[serial] = "THROTTLED" if version >= 9 else "FAILED"
                retry_after = max(retry_after or 0, self.throttled[serial])
            else:
                device.version = device.version.evolve(
                    profile_status="assigned",
                    profile_uuid=profile_uuid,
                    profile_assign_time=now,
                    profile_push_time=None,
                )
                self._emit(server, device, "modified")
                statuses[serial] = "SUCCESS"
        return statuses, retry_after if version >= 10 else None

    @locked
    def assign_profile(self, server: MdmServer, body: Any, version: int) -> dict:
        """POST/PUT /profile/devices."""
        if not isinstance(body, dict):
            raise AppleError(400, "MALFORMED_REQUEST_BODY")
        profile_uuid = body.get("profile_uuid")
        if not profile_uuid or not isinstance(profile_uuid, str):
            raise AppleError(400, "PROFILE_UUID_REQUIRED")
        serials = device_list(body.get("devices"))
        profile_uuid = profile_uuid.upper()
        if profile_uuid not in server.profiles:
            raise AppleError(404, "NOT_FOUND")
        statuses, retry_after = self._assign_profile(server, profile_uuid, serials, version)
        self.changed.set()
        answer: dict[str, Any] = {"profile_uuid": profile_uuid, "devices": statuses}
        if retry_after is not None:
            answer["retry_after_seconds"] = retry_after
        return answer

    @locked
    def remove_profile(self, server: MdmServer, body: Any) -> dict:
        """DELETE /profile/devices: profile_status `removed`, profile_uuid cleared.

        With `profile_uuid` (ClearProfileRequest) only that profile is removed: a device with another one keeps
        it and answers FAILED (Apple does not document this case).
        """
        if not isinstance(body, dict):
            raise AppleError(400, "MALFORMED_REQUEST_BODY")
        named = body.get("profile_uuid")
        statuses = {}
        for serial in device_list(body.get("devices")):
            device = self.devices.get(serial)
            if device is None or device.server_uuid != server.uuid:
                statuses[serial] = "NOT_ACCESSIBLE"
                continue
            if named and (device.version.fields.get("profile_uuid") or "").upper() != str(named).upper():
                statuses[serial] = "FAILED"
                continue
            if device.version.fields.get("profile_status") in ("assigned", "pushed"):
                device.version = device.version.evolve(profile_status="removed", profile_uuid=None)
                self._emit(server, device, "modified")
            statuses[serial] = "SUCCESS"
        self.changed.set()
        return {"devices": statuses}

    @locked
    def disown_devices(self, server: MdmServer, body: Any) -> dict:
        """POST /devices/disown: the devices leave the organisation (`deleted`)."""
        if not isinstance(body, dict):
            raise AppleError(400, "MALFORMED_REQUEST_BODY")
        statuses = {}
        for serial in device_list(body.get("devices")):
            device = self.devices.get(serial)
            if device is None or device.server_uuid != server.uuid:
                statuses[serial] = "NOT_ACCESSIBLE"
                continue
            self._unassign(device)
            del self.devices[serial]
            statuses[serial] = "SUCCESS"
        self.changed.set()
        return {"devices": statuses}


# ----- helpers without state ---------------------------------------------------------------------------------------


def check_standing(server: MdmServer) -> None:
    """403 when the organisation owes new terms or the server lost access."""
    if server.terms_pending:
        raise AppleError(403, "T_C_NOT_SIGNED")
    if server.access_denied:
        raise AppleError(403, "ACCESS_DENIED")


def normalise_serial(serial: Any) -> str:
    """Serials compare upper-case without surrounding blanks."""
    return str(serial).strip().upper()


def device_list(serials: Any, *, required: bool = True) -> list[str]:
    """Validate a request's `devices` array: present, strings, at most DEVICE_LIST_MAX."""
    if serials is None or serials == []:
        if required:
            raise AppleError(400, "DEVICE_ID_REQUIRED")
        return []
    if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
        raise AppleError(400, "MALFORMED_REQUEST_BODY")
    if len(serials) > DEVICE_LIST_MAX:
        raise AppleError(400, TOO_MANY_DEVICES)
    cleaned = [normalise_serial(s) for s in serials if s.strip()]
    if not cleaned:
        raise AppleError(400, "DEVICE_ID_REQUIRED")
    return cleaned


def page_limit(limit: Any, maximum: int = PAGE_MAX) -> int:
    """The page size asked for, defaulting to 100 and clamped to 1..maximum (Apple clamps silently)."""
    if limit is None:
        return min(PAGE_DEFAULT, maximum)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise AppleError(400, "MALFORMED_REQUEST_BODY")
    return max(1, min(limit, maximum))


def sync_record(entry: LogEntry, tier: int) -> str:
    """A sync record: the device snapshot plus op_type and op_date.

    A `deleted` record names the device only: serial_number, op_type and op_date, plus released_by_replacement
    from protocol 10 (Apple's Device object, developer.apple.com/documentation/devicemanagement/device: that key
    "is only present with Sync the List of Devices when op_type is deleted").
    """
    op = f'"op_type":"{entry.op_type}","op_date":"{iso(entry.op_ts)}"'
    if entry.op_type == "deleted":
        record = '{"serial_number":' + json.dumps(entry.serial) + "," + op
        if tier >= 10:
            record += ',"released_by_replacement":' + ("true" if entry.released_by_replacement else "false")
        return record + "}"
    return entry.version.json_for(tier)[:-1] + "," + op + "}"


def page_body(parts: list[str], cursor: str, until: float, more: bool) -> str:
    """FetchDeviceResponse JSON assembled from precomputed device JSON."""
    return (
        '{"devices":['
        + ",".join(parts)
        + '],"cursor":"'
        + cursor
        + '","fetched_until":"'
        + iso(until)
        + '","more_to_follow":'
        + ("true" if more else "false")
        + "}"
    )


def account_urls(maximum: int = PAGE_MAX) -> list[dict]:
    """The `urls` list of GET /account: every endpoint with methods, paginated ones with limits."""
    limit = {"default": min(PAGE_DEFAULT, maximum), "maximum": maximum}
    return [
        {"uri": "/session", "http_method": ["GET"]},
        {"uri": "/account", "http_method": ["GET"]},
        {"uri": "/server/devices", "http_method": ["POST"], "limit": limit},
        {"uri": "/devices/sync", "http_method": ["POST"], "limit": limit},
        {"uri": "/devices", "http_method": ["POST"]},
        {"uri": "/profile", "http_method": ["POST", "GET"]},
        {"uri": "/profile/devices", "http_method": ["DELETE", "POST", "PUT"]},
        {"uri": "/devices/disown", "http_method": ["POST"]},
    ]


def token_values(server: MdmServer) -> dict:
    """The four OAuth values and the expiry, with Apple's JSON keys."""
    return {
        "consumer_key": server.consumer_key,
        "consumer_secret": server.consumer_secret,
        "access_token": server.access_token,
        "access_secret": server.access_secret,
        "access_token_expiry": iso(server.access_token_expiry),
    }


def token_p7m(server: MdmServer) -> bytes:
    """The server token as ABM hands it out: S/MIME encrypted to the server's uploaded certificate."""
    from depportal.apple.tokenfile import ServerTokenCredentials, encrypt_server_token

    credentials = ServerTokenCredentials(
        consumer_key=server.consumer_key,
        consumer_secret=server.consumer_secret,
        access_token=server.access_token,
        access_secret=server.access_secret,
        access_token_expiry=dt.datetime.fromtimestamp(int(server.access_token_expiry), dt.UTC),
    )
    return encrypt_server_token(credentials, server.certificate_pem.encode("ascii"))


def token_filename(server: MdmServer) -> str:
    """ABM's download name: `<server>_Token_<date>_smime.p7m`."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in server.name) or "MDM"
    return f"{safe}_Token_{iso(server.token_ts).replace(':', '-')}_smime.p7m"


def validate_certificate(certificate_pem: str | bytes) -> str:
    """The PEM text of an uploaded public-key certificate; ControlError when it is not one."""
    from cryptography import x509

    if isinstance(certificate_pem, bytes):
        certificate_pem = certificate_pem.decode("ascii", "replace")
    try:
        x509.load_pem_x509_certificate(certificate_pem.encode("ascii", "replace"))
    except (ValueError, binascii.Error):
        raise ControlError("The public key file is not a PEM certificate (-----BEGIN CERTIFICATE-----).") from None
    return certificate_pem


def server_summary(server: MdmServer) -> dict:
    """What the ABM server list shows."""
    return {
        "server_uuid": server.uuid,
        "server_name": server.name,
        "org_name": server.org_name,
        "device_count": server.device_count,
        "profile_count": len(server.profiles),
        "has_public_key": bool(server.certificate_pem),
        "access_token_expiry": iso(server.access_token_expiry),
        "token_issued": iso(server.token_ts),
        "protocol_max": server.protocol_max,
        "terms_pending": server.terms_pending,
        "access_denied": server.access_denied,
    }


def device_record(device: Device) -> dict:
    """A device as Apple's newest protocol reports it."""
    return device_view(device.version.fields, 10)
