"""What both Apple clients (DEP and Apple Business) do for each HTTP exchange, written once.

The shared rate limiter, the caller's deadline (time-outs shrink to it), bounded retries of 429, 5xx and
network errors with Retry-After honoured and full-jitter backoff otherwise, and counting every exchange.
A call that is not idempotent is retried only when Apple cannot have applied it (429, 503, or a request
that never left this machine).
"""

from __future__ import annotations

import logging
import os
import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import hooks
from .errors import AppleServerError, DeadlineExceeded, NetworkError, Throttled
from .ratelimit import RateLimiter, default_rate_limiter

logger = logging.getLogger(__name__)


def setting(name: str, default: Any) -> Any:
    """A Django setting, or `default` outside a configured project (scripts, the bench)."""
    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        return default


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached Apple (so even a non-idempotent call may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class RetryBudget:
    """Counts retries and time spent waiting for one logical call; refuses once either bound or the deadline hits."""

    def __init__(self, client: AppleTransport) -> None:
        self.client = client
        self.retries = 0
        self.waited = 0.0

    def pause(self, seconds: float, error: Exception) -> None:
        """Sleep `seconds` before a retry, or raise `error` when that would exceed a bound."""
        remaining = self.client.remaining_time()
        if (
            self.retries >= self.client.max_retries
            or self.waited + seconds > self.client.max_retry_wait
            or (remaining is not None and seconds >= remaining)
        ):
            raise error
        self.retries += 1
        self.waited += seconds
        time.sleep(seconds)

    def backoff(self) -> float:
        """Exponential backoff with full jitter for the next retry."""
        ceiling = min(self.client.backoff_cap, self.client.backoff_base * (2**self.retries))
        return self.client.random.uniform(0, ceiling)


class AppleTransport:
    """The HTTP side of an Apple client: subclasses add authentication and the endpoints."""

    service = "Apple"  # names the service in log lines

    def _init_transport(
        self,
        *,
        key: str,
        deadline: float | None,
        connect_timeout: float | None,
        read_timeout: float | None,
        max_retries: int | None,
        max_retry_wait: float | None,
        backoff_base: float,
        backoff_cap: float,
        rate_limiter: RateLimiter | None,
        user_agent: str | None,
    ) -> None:
        self.key = key
        self.deadline = deadline
        self.connect_timeout = float(connect_timeout or setting("APPLE_DEP_CONNECT_TIMEOUT_S", 5))
        self.read_timeout = float(read_timeout or setting("APPLE_DEP_READ_TIMEOUT_S", 60))
        self.max_retries = int(setting("APPLE_DEP_MAX_RETRIES", 5) if max_retries is None else max_retries)
        self.max_retry_wait = float(
            setting("APPLE_DEP_MAX_RETRY_WAIT_S", 300) if max_retry_wait is None else max_retry_wait
        )
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.random = random.Random()
        self.rate_limiter = rate_limiter if rate_limiter is not None else default_rate_limiter()
        self._http = requests.Session()
        self._http.headers.update({"User-Agent": user_agent or setting("APPLE_DEP_USER_AGENT", "depportal/1.0")})
        # requests reads the environment again for every request (each variable scanned twice for proxies, a
        # .netrc looked for): about 1 ms of each call, on the sync's fetch thread. It is read once per host here
        # instead (_from_environment). A .netrc is not read at all: every call carries Apple's own authorization.
        self._http.trust_env = False
        self._environment: dict[tuple[str, str], dict] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the pooled HTTP connections."""
        self._http.close()

    def remaining_time(self) -> float | None:
        """Seconds left before the caller's deadline, or None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _error_code(self, text: str) -> str:
        """Apple's error code in an error answer's body (each service words its errors its own way)."""
        raise NotImplementedError

    def _send(
        self,
        method: str,
        url: str,
        *,
        budget: RetryBudget,
        data: bytes | dict | None = None,
        json_body: dict | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        auth: Any = None,
        idempotent: bool = True,
    ) -> requests.Response:
        """Send until an answer that is not worth retrying (429/5xx/network errors are retried within `budget`)."""
        parts = urlsplit(url)
        path = parts.path
        environment = self._from_environment(parts)
        while True:
            self._wait_for_slot()
            try:
                response = self._http.request(
                    method,
                    url,
                    data=data,
                    json=json_body,
                    params=params,
                    headers=headers,
                    auth=auth,
                    timeout=self._timeouts(),
                    **environment,
                )
            except requests.RequestException as exc:
                hooks.call_counted(method, path, 0, error=type(exc).__name__)
                error = NetworkError(f"{method} {path} failed: {type(exc).__name__}.")
                if not (idempotent or never_sent(exc)):
                    raise error from exc
                delay = budget.backoff()
                logger.warning("%s %s %s: %s; retry in %.2fs", self.service, method, path, type(exc).__name__, delay)
                budget.pause(delay, error)
                continue
            status = response.status_code
            hooks.call_counted(method, path, status, response.text if status >= 400 else "")
            if status != 429 and status < 500:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error_cls = Throttled if status == 429 else AppleServerError
            error = error_cls(status=status, code=self._error_code(response.text), retry_after=retry_after)
            # Other 5xx may have been applied before failing; only 429/503 say the request was not processed.
            if not idempotent and status not in (429, 503):
                raise error
            delay = retry_after if retry_after is not None else budget.backoff()
            logger.warning("%s %s %s: HTTP %s; retry in %.2fs", self.service, method, path, status, delay)
            budget.pause(delay, error)

    def _from_environment(self, parts) -> dict:
        """The proxies (NO_PROXY honoured) and CA bundle the environment sets for a host, found as requests finds
        them."""
        host = (parts.scheme, parts.netloc)
        if host not in self._environment:
            self._environment[host] = {
                "proxies": requests.utils.get_environ_proxies(parts.geturl()),
                "verify": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True,
            }
        return self._environment[host]

    def _timeouts(self) -> tuple[float, float]:
        remaining = self.remaining_time()
        if remaining is None:
            return self.connect_timeout, self.read_timeout
        if remaining <= 0:
            raise DeadlineExceeded()
        return min(self.connect_timeout, remaining), min(self.read_timeout, remaining)

    def _wait_for_slot(self) -> None:
        remaining = self.remaining_time()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded()
        reservation = self.rate_limiter.acquire(self.key, max_wait=remaining)
        if not reservation.granted:
            raise DeadlineExceeded("The rate limit for Apple calls leaves no slot before the deadline.")
