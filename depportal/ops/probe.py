"""Container health checks: `python -m depportal.ops.probe web|worker|beat`; exit status 0 means healthy.

The slim image has no curl or pgrep, so the checks are Python: web asks its own /healthz, a worker answers a
Celery ping addressed to it alone, beat is alive when its process runs and the broker answers.
"""

import argparse
import os
import socket
import sys
import urllib.request
from pathlib import Path


def probe_web(port: int) -> bool:
    """The web process answers /healthz on its port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def _celery_app():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.settings")
    import django

    django.setup()
    from depportal.celery import app

    return app


def probe_worker(node: str, timeout: float = 5.0) -> bool:
    """This container's worker (celery@<hostname> unless named) answers a ping through the broker."""
    replies = _celery_app().control.ping(destination=[node], timeout=timeout, limit=1)
    return any(node in reply for reply in replies or [])


def _beat_running() -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"celery" in b" ".join(words) and b"beat" in words:
            return True
    return False


def probe_beat() -> bool:
    """A celery beat process runs here and the broker it sends to answers."""
    if not _beat_running():
        return False
    from depportal.ops.health import check_broker

    _celery_app()
    return check_broker() == "ok"


def main(argv: list[str] | None = None) -> int:
    """Run one probe; 0 when healthy, 1 when not."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["web", "worker", "beat"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--node", default=f"celery@{socket.gethostname()}")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the worker's answer")
    args = parser.parse_args(argv)
    if args.role == "web":
        healthy = probe_web(args.port)
    elif args.role == "worker":
        healthy = probe_worker(args.node, args.timeout)
    else:
        healthy = probe_beat()
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
