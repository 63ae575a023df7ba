"""Liveness (/healthz) and readiness (/readyz: database, Redis, broker) for load balancers and orchestrators."""

import json

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

# Probes must answer fast even when a dependency hangs: a check gets this long before it counts as failed.
CHECK_TIMEOUT_S = 3


def check_database() -> str:
    """'ok', or why the default database cannot answer a query."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        return f"failed: {type(exc).__name__}"


def check_redis() -> str:
    """'ok', 'not configured' (embedded run), or why Redis does not answer PING."""
    url = settings.REDIS_URL
    if not url:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - as above
        return f"failed: {type(exc).__name__}"


def check_broker() -> str:
    """'ok', or why Celery cannot connect to its broker."""
    from depportal.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - as above
        return f"failed: {type(exc).__name__}"


def readiness() -> dict[str, str]:
    """Each dependency's state; the process is ready when none failed."""
    return {"database": check_database(), "redis": check_redis(), "broker": check_broker()}


def _json(payload: dict, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process serves requests; checks nothing else, so a database outage never restarts it."""
    return _json({"status": "ok"}, 200)


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, Redis and the broker answer; 503 naming the ones that do not."""
    checks = readiness()
    failed = sorted(name for name, state in checks.items() if state.startswith("failed"))
    payload = {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}
    return _json(payload, 503 if failed else 200)
