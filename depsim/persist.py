"""The --state file: the simulator's durable state as JSON, written atomically after changes."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading

from depsim import business
from depsim.state import Device, DeviceVersion, LogEntry, MdmServer, Simulator

log = logging.getLogger("depsim")

FORMAT = "depsim-state/1"
# Sessions, nonces, faults, latency and throttling are deliberately not kept: Apple's own simulator
# also forgets sessions on restart and answers FORBIDDEN to them.
_SERVER_SCALARS = (
    "uuid",
    "name",
    "org_name",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_secret",
    "access_token_expiry",
    "protocol_max",
    "certificate_pem",
    "created_ts",
    "token_ts",
    "terms_pending",
    "access_denied",
)


def snapshot(sim: Simulator) -> dict:
    """The durable state as plain data (device versions shared between devices and logs are stored once)."""
    with sim.lock:
        version_ids: dict[int, int] = {}
        versions: list[dict] = []

        def ref(version: DeviceVersion) -> int:
            key = id(version)
            if key not in version_ids:
                version_ids[key] = len(versions)
                versions.append(version.fields)
            return version_ids[key]

        servers = []
        for server in sim.servers.values():
            record = {name: getattr(server, name) for name in _SERVER_SCALARS}
            record["profiles"] = list(server.profiles.values())
            record["log"] = [
                [e.serial, e.op_type, e.op_ts, ref(e.version), e.released_by_replacement] for e in server.log
            ]
            servers.append(record)
        rng_state = sim.rng.getstate()
        return {
            "format": FORMAT,
            "seed": sim.seed,
            "clock_offset": sim.clock_offset,
            "cursor_key": sim.cursor_key.hex(),
            "session_ttl": sim.session_ttl,
            "rng_state": [rng_state[0], list(rng_state[1]), rng_state[2]],
            "devices": [[d.serial, d.server_uuid, ref(d.version)] for d in sim.devices.values()],
            "servers": servers,
            "versions": versions,
            "orders": dict(sim.orders),
            "assignment_history": list(sim.assignment_history),
            "business": business.snapshot(sim),
        }


def restore(sim: Simulator, state: dict) -> None:
    """Replace the simulator's durable state with a snapshot()."""
    if state.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    versions = [DeviceVersion(fields) for fields in state["versions"]]
    with sim.lock:
        sim.reset()
        sim.clock_offset = float(state["clock_offset"])
        sim.cursor_key = bytes.fromhex(state["cursor_key"])
        sim.session_ttl = float(state["session_ttl"])
        version, internal, gauss = state["rng_state"]
        sim.rng.setstate((version, tuple(internal), gauss))
        for record in state["servers"]:
            server = MdmServer(**{name: record[name] for name in _SERVER_SCALARS})
            server.profiles = {p["profile_uuid"]: p for p in record["profiles"]}
            for index, (serial, op_type, op_ts, ref, released) in enumerate(record["log"]):
                server.log.append(LogEntry(serial, op_type, op_ts, versions[ref], released))
                server.positions.setdefault(serial, []).append(index)
            sim.servers[server.uuid] = server
        for serial, server_uuid, ref in state["devices"]:
            sim.devices[serial] = Device(serial, server_uuid, versions[ref])
            if server_uuid:
                sim.servers[server_uuid].device_count += 1
        sim.orders = dict(state.get("orders") or {})
        sim.assignment_history = list(state.get("assignment_history") or [])
        business.restore(sim, state.get("business"))
        sim.changed.clear()


def write_atomically(path: str, payload: bytes) -> None:
    """Write to a temporary file next to `path`, fsync, then rename over it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".depsim-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Persister:
    """Loads the state file at start and rewrites it (at most every `interval` s) after changes."""

    def __init__(self, sim: Simulator, path: str, interval: float = 1.0) -> None:
        self.sim = sim
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def load(self) -> bool:
        """Restore from the file when it exists; True when something was loaded."""
        if not os.path.exists(self.path):
            return False
        with open(self.path, "rb") as handle:
            restore(self.sim, json.loads(handle.read()))
        return True

    def save(self) -> None:
        """Write the current state now."""
        with self._write_lock:
            self.sim.changed.clear()
            state = snapshot(self.sim)
            write_atomically(self.path, json.dumps(state, separators=(",", ":")).encode())

    def start(self) -> None:
        """Begin writing in the background after each change."""
        self._thread = threading.Thread(target=self._run, name="depsim-persist", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sim.changed.wait(timeout=0.5) and not self._stop.is_set():
                try:
                    self.save()
                except OSError:
                    log.exception("could not write the depsim state file %s", self.path)
                # Coalesce bursts of changes (e.g. a big import) into one write per interval.
                self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop the background writer and write a final time."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self.save()
