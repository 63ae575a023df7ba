"""Fixtures for alert tests: a real HTTP webhook receiver, and tokens whose dates are set in the database."""

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from overview.alerts.services import notification_settings_update
from tokens.models import EnrollmentProgramToken

SECRET = "receiver-shared-secret-0123456789"


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Delivery:
    headers: dict
    body: bytes
    status: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-DEPPortal-Signature", ""), expected)


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers the queued statuses in turn, then `default`."""

    statuses: list[int]
    default: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default


@pytest.fixture(autouse=True)
def _private_webhooks_allowed(settings):
    """The test receivers listen on 127.0.0.1, which the portal refuses unless allowed."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def webhook_receiver():
    """webhook_receiver(statuses=[500, 500], default=200) -> a running Receiver."""
    servers = []

    def start(statuses=(), default: int = 200) -> Receiver:
        receiver = Receiver(statuses=list(statuses), default=default)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.next_status()
                with receiver.lock:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/dep?channel=it"
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def expire_in():
    """expire_in(token, days) -> the token, its expiry set `days` (and a half) from now in the database."""

    def set_expiry(token: EnrollmentProgramToken, days: float) -> EnrollmentProgramToken:
        # Half a day past whole days keeps days_until_expiry at `days` however long the test runs.
        expiry = timezone.now() + timedelta(days=days, hours=12)
        EnrollmentProgramToken.objects.filter(pk=token.pk).update(access_token_expiry=expiry)
        token.refresh_from_db()
        return token

    return set_expiry


@pytest.fixture
def notify_by(admin_user):
    """notify_by(email=[...], webhook=url) -> the saved notification settings."""

    def configure(*, email: list[str] | None = None, webhook: str | None = None):
        return notification_settings_update(
            actor=admin_user,
            email_enabled=bool(email),
            email_recipients=email or [],
            webhook_enabled=bool(webhook),
            webhook_url=webhook or "",
            webhook_secret=SECRET if webhook else None,
        )

    return configure
