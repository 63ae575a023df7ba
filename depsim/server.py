"""HTTP front of the simulator: Apple's endpoints, the control API and the mini ABM, on the stdlib server."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from depsim import abm, business, control_api
from depsim.errors import AppleError, ControlError
from depsim.oauth import verify_session_request
from depsim.persist import Persister
from depsim.state import Simulator

log = logging.getLogger("depsim")

JSON_TYPE = "application/json;charset=UTF8"
METHODS = {
    "/session": ("GET",),
    "/account": ("GET",),
    "/server/devices": ("POST",),
    "/devices/sync": ("POST",),
    "/devices": ("POST",),
    "/profile": ("GET", "POST"),
    "/profile/devices": ("POST", "PUT", "DELETE"),
    "/devices/disown": ("POST",),
}
DEFAULT_FAULT_BODIES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
# Apple rejected this one in January 2024 (nanodep issue #42); the acceptance rule itself is unknown.
DENIED_USER_AGENT_PREFIXES = ("nanodep-godep/0",)
MALFORMED_BODY = b'{"devices": [{"serial_number": "C02T0HL0GGC0", "model": "MacBook Pro", "col'


@dataclass
class Reply:
    """An HTTP answer under construction."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def json_reply(payload: object, status: int = 200) -> Reply:
    """A JSON answer with Apple's content type."""
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def error_reply(exc: AppleError) -> Reply:
    """Apple's error shape: a quoted code string; 401 as the bare text/plain word; 405 empty."""
    if exc.status == 405:
        return Reply(405, b"", headers=dict(exc.headers), error="METHOD_NOT_ALLOWED")
    if exc.status == 401:
        body, content_type = exc.code.encode(), "text/plain;charset=UTF8"
    else:
        body, content_type = json.dumps(exc.code).encode(), JSON_TYPE
    return Reply(exc.status, body, content_type, dict(exc.headers), error=exc.code)


def protocol_version(raw: str | None) -> int:
    """X-Server-Protocol-Version as an int; clients that send none get the oldest behaviour."""
    try:
        return max(1, int((raw or "1").strip()))
    except ValueError:
        return 1


class Handler(BaseHTTPRequestHandler):
    """One request: route to Apple's endpoints, /_control/ or the mini ABM."""

    protocol_version = "HTTP/1.1"
    server_version = "depsim/1.0"
    sys_version = ""
    # Pages are large and requests small: Nagle's delay would dominate keep-alive round trips.
    disable_nagle_algorithm = True

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def read_body(self) -> bytes:
        """The request body (Content-Length framed)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self, method: str) -> None:
        """Route by path prefix and send the reply."""
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        body = self.read_body()
        try:
            if path.startswith("/_control/"):
                reply = self.control(method, path.removeprefix("/_control/"), body)
            elif path in METHODS:
                reply = self.apple(method, path, query, body)
            elif path.startswith("/mdm/v2/"):
                status, payload = self.sim.vpp.handle(method, path, query, self.headers)
                reply = json_reply(payload, status)
            elif business.handles(path):
                status, headers, payload, content_type = business.answer(
                    self.sim, method, path, query, body, self.headers, self.base_url()
                )
                reply = Reply(status, payload, content_type, headers)
            elif path == "/" or path.startswith("/abm"):
                status, headers, payload, content_type = abm.handle(self.sim, method, path, query, body, self.headers)
                reply = Reply(status, payload, content_type, headers)
            else:
                reply = error_reply(AppleError(404, "NOT_FOUND"))
        except Exception:
            log.exception("depsim failed on %s %s", method, path)
            reply = json_reply("INTERNAL_SERVER_ERROR", 500)
        self.send(reply)

    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.headers.get('X-Forwarded-Proto', 'http')}://{self.headers.get('Host') or f'{host}:{port}'}"

    def send(self, reply: Reply) -> None:
        """Write status, headers and body in one go."""
        self.send_response(reply.status)
        if reply.body or reply.status != 405:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def control(self, method: str, name: str, body: bytes) -> Reply:
        """POST /_control/<name> with JSON keyword arguments."""
        if method != "POST":
            return json_reply({"error": "use POST"}, 405)
        try:
            kwargs = json.loads(body or b"{}")
            if not isinstance(kwargs, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            return json_reply({"error": f"bad JSON: {exc}"}, 400)
        try:
            return json_reply({"result": control_api.call(self.sim, name, kwargs)})
        except ControlError as exc:
            return json_reply({"error": exc.message}, exc.status)
        except (TypeError, ValueError) as exc:
            return json_reply({"error": f"bad arguments for {name}: {exc}"}, 400)

    def apple(self, method: str, path: str, query: dict, body: bytes) -> Reply:
        """An Apple endpoint, with faults, latency and the request log around it."""
        sim = self.sim
        user_agent = self.headers.get("User-Agent", "")
        version_header = self.headers.get("X-Server-Protocol-Version")
        fault = sim.take_fault(path, method)
        if fault and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault and (fault.status or fault.malformed):
            reply = self.fault_reply(fault)
        else:
            try:
                reply = self.apple_answer(method, path, query, body, user_agent, version_header)
            except AppleError as exc:
                reply = error_reply(exc)
            if path != "/session" and reply.status < 400:
                rotated = sim.rotated_session(self.headers.get("X-ADM-Auth-Session") or "")
                if rotated:
                    reply.headers["X-ADM-Auth-Session"] = rotated
        sim.log_request(
            method=method,
            path=path,
            status=reply.status,
            error=reply.error,
            user_agent=user_agent or None,
            protocol_version=version_header,
        )
        delay = sim.latency_for(path)
        if delay:
            time.sleep(delay)
        return reply

    @staticmethod
    def fault_reply(fault) -> Reply:
        """The scripted answer of a fault."""
        if fault.malformed:
            return Reply(200, MALFORMED_BODY, error="MALFORMED")
        body = fault.body if fault.body is not None else json.dumps(DEFAULT_FAULT_BODIES.get(fault.status, ""))
        if body == '""':
            body = ""
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        code = body.strip().strip('"') or None
        return Reply(fault.status, body.encode(), JSON_TYPE, headers, error=code or f"HTTP_{fault.status}")

    def apple_answer(
        self, method: str, path: str, query: dict, body: bytes, user_agent: str, version_header: str | None
    ) -> Reply:
        """Apple's own checks and the endpoint's answer."""
        sim = self.sim
        if method not in METHODS[path]:
            raise AppleError(405, headers={"Allow": ", ".join(METHODS[path])})
        if not user_agent.strip():
            raise AppleError(400, "USER_AGENT_MISSING")
        if user_agent.startswith(DENIED_USER_AGENT_PREFIXES):
            raise AppleError(400, "USER_AGENT_INVALID")
        if path == "/session":
            scheme = self.headers.get("X-Forwarded-Proto", "http")
            host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            server = verify_session_request(sim, f"{scheme}://{host}/session", dict(self.headers.items()))
            return json_reply({"auth_session_token": sim.open_session(server)})
        server = sim.check_session(self.headers.get("X-ADM-Auth-Session"))
        version = min(protocol_version(version_header), server.protocol_max)
        if path == "/account":
            return json_reply(sim.account(server, version))
        if path == "/profile" and method == "GET":
            return json_reply(sim.get_profile(server, (query.get("profile_uuid") or [""])[0]))
        payload = parse_json(body)
        if path in ("/server/devices", "/devices/sync"):
            if not isinstance(payload, dict):
                raise AppleError(400, "MALFORMED_REQUEST_BODY")
            page = sim.fetch_devices if path == "/server/devices" else sim.sync_devices
            return Reply(200, page(server, payload.get("cursor"), payload.get("limit"), version).encode())
        if path == "/devices":
            if not isinstance(payload, dict):
                raise AppleError(400, "MALFORMED_REQUEST_BODY")
            return json_reply(sim.device_details(server, payload.get("devices"), version))
        if path == "/profile":
            return json_reply(sim.define_profile(server, payload, version))
        if path == "/profile/devices":
            if method == "DELETE":
                return json_reply(sim.remove_profile(server, payload))
            return json_reply(sim.assign_profile(server, payload, version))
        return json_reply(sim.disown_devices(server, payload))


def parse_json(body: bytes) -> object:
    """A request's JSON body ({} when empty), or 400 MALFORMED_REQUEST_BODY."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise AppleError(400, "MALFORMED_REQUEST_BODY") from None


class DepSimHTTPServer(ThreadingHTTPServer):
    """The stdlib threading server carrying the simulator."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, Handler)


class RunningServer:
    """A simulator served from a background thread (tests, demos, benchmarks)."""

    def __init__(self, httpd: DepSimHTTPServer, thread: threading.Thread, persister: Persister | None) -> None:
        self.httpd = httpd
        self.thread = thread
        self.persister = persister
        self.sim = httpd.sim
        host, port = httpd.server_address[:2]
        self.host, self.port = host, port
        self.base_url = f"http://{host}:{port}"

    def shutdown(self) -> None:
        """Stop serving, close the socket and write the state file one last time."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
        if self.persister:
            self.persister.stop()


def build_simulator(
    *, seed: int | None = None, state_file: str | None = None, repeat_rate: float = 0.0, demo_devices: int = 0
) -> tuple[Simulator, Persister | None]:
    """A simulator, loaded from and saved to `state_file` when given, with optional demo devices."""
    sim = Simulator(seed=seed, repeat_rate=repeat_rate)
    persister = None
    if state_file:
        persister = Persister(sim, state_file)
        persister.load()
    if demo_devices and not sim.devices:
        sim.add_devices(None, count=demo_devices)
    if persister:
        persister.start()
    return sim, persister


def start_in_thread(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    seed: int | None = None,
    state_file: str | None = None,
    repeat_rate: float = 0.0,
    demo_devices: int = 0,
) -> RunningServer:
    """Serve a new simulator on host:port (0 = any free port) from a daemon thread."""
    sim, persister = build_simulator(
        seed=seed, state_file=state_file, repeat_rate=repeat_rate, demo_devices=demo_devices
    )
    httpd = DepSimHTTPServer((host, port), sim)
    thread = threading.Thread(target=httpd.serve_forever, name=f"depsim:{httpd.server_address[1]}", daemon=True)
    thread.start()
    return RunningServer(httpd, thread, persister)
