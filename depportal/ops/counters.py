"""Counters shared by every process (web, workers), kept in Redis so /metrics sees the whole installation.

Only what cannot be derived from the database lives here: Apple calls and refused (throttled) requests.
Counting never breaks the caller: a Redis hiccup loses a count, never an Apple call.
"""

import logging

from django.conf import settings

from depportal.apple.errors import error_code_from_body
from depportal.apple.ratelimit import redis_client

logger = logging.getLogger(__name__)

PREFIX = "depportal:metrics"
APPLE_REQUESTS = f"{PREFIX}:apple_requests"
APPLE_ERRORS = f"{PREFIX}:apple_errors"
REFUSED = f"{PREFIX}:refused_requests"
# Hash fields join the labels with this; it never occurs in a method, path, status or Apple error code.
SEP = "|"


def _redis():
    url = getattr(settings, "REDIS_URL", "") or ""
    return redis_client(url) if url else None


def apple_call_counted(method: str, path: str, status: int, body: str = "", error: str = "") -> None:
    """Count one Apple HTTP exchange (status 0 with `error` when no answer came); errors also by Apple's code."""
    connection = _redis()
    if connection is None:
        return
    code = error or (error_code_from_body(body) if status >= 400 else "")
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.hincrby(APPLE_REQUESTS, SEP.join((method, path, str(status))), 1)
        if status >= 400 or status == 0:
            pipe.hincrby(APPLE_ERRORS, SEP.join((path, str(status), code or "-")), 1)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - metrics must never fail an Apple call
        logger.debug("metrics: could not count an Apple call: %s", type(exc).__name__)


def refused_request_counted(path_kind: str) -> None:
    """Count a request the portal refused with 429 (a sync the throttle rules do not allow now)."""
    connection = _redis()
    if connection is None:
        return
    try:
        connection.hincrby(REFUSED, path_kind, 1)
    except Exception as exc:  # noqa: BLE001 - as above
        logger.debug("metrics: could not count a refused request: %s", type(exc).__name__)


def read_counters(key: str) -> dict[tuple[str, ...], int]:
    """Every field of a counter hash, split back into its labels."""
    connection = _redis()
    if connection is None:
        return {}
    raw = connection.hgetall(key)
    return {tuple(field.decode().split(SEP)): int(value) for field, value in raw.items()}
