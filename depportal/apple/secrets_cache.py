"""One cache for the short-lived credentials Apple hands out: DEP session tokens and Business API access tokens.

Each value lives until its own time to live; `get(..., extend_s=...)` slides that lifetime on use (a DEP
session expires when idle, a Business API token at a fixed time). With Redis every worker and web process
shares one value per key, so a fleet of workers opens one Apple session or token, not one each. A value acts
for the organisation until it expires, so in Redis it is sealed like the other secrets: whoever reads Redis (a
backup, a shared instance) gets nothing usable without the encryption key. The sealing is the project's
(depportal.apple.hooks), installed at start-up.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from . import hooks
from .ratelimit import redis_client


class SecretCache(Protocol):
    def get(self, key: str, *, extend_s: float | None = None) -> str | None: ...

    def set(self, key: str, value: str, *, ttl_s: float) -> None: ...

    def delete(self, key: str) -> None: ...


class LocalSecretCache:
    """The values of this process only (tests, and a portal run without Redis)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, *, extend_s: float | None = None) -> str | None:
        """The value for `key` while it lives (its lifetime restarted at `extend_s` when given), or None."""
        with self._lock:
            entry = self._values.get(key)
            now = time.monotonic()
            if entry is None or entry[1] <= now:
                self._values.pop(key, None)
                return None
            if extend_s is not None:
                self._values[key] = (entry[0], now + extend_s)
            return entry[0]

    def set(self, key: str, value: str, *, ttl_s: float) -> None:
        """Keep `value` for `ttl_s` seconds; a lifetime of zero or less keeps nothing."""
        with self._lock:
            if ttl_s > 0:
                self._values[key] = (value, time.monotonic() + ttl_s)
            else:
                self._values.pop(key, None)

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)


class RedisSecretCache:
    """Sealed values in Redis under `prefix`, each with its own expiry."""

    def __init__(self, redis_url: str, *, prefix: str) -> None:
        self.prefix = prefix
        self._redis = redis_client(redis_url)

    def get(self, key: str, *, extend_s: float | None = None) -> str | None:
        name = f"{self.prefix}:{key}"
        raw = self._redis.getex(name, px=int(extend_s * 1000)) if extend_s is not None else self._redis.get(name)
        if not raw:
            return None
        try:
            value = hooks.active_sealer().unseal(raw.decode())
        except UnicodeDecodeError:
            value = None
        if value is None:
            # Sealed with a retired key, or damaged: Apple simply issues a new one.
            self.delete(key)
        return value

    def set(self, key: str, value: str, *, ttl_s: float) -> None:
        if ttl_s > 0:
            sealed = hooks.active_sealer().seal(value)
            self._redis.set(f"{self.prefix}:{key}", sealed, px=max(1, int(ttl_s * 1000)))
        else:
            self.delete(key)

    def delete(self, key: str) -> None:
        self._redis.delete(f"{self.prefix}:{key}")


_local_caches: dict[str, LocalSecretCache] = {}
_local_lock = threading.Lock()


def default_secret_cache(redis_url: str, *, prefix: str) -> SecretCache:
    """Redis-backed when `redis_url` is set, else one cache per prefix shared by the whole process."""
    if redis_url:
        return RedisSecretCache(redis_url, prefix=prefix)
    with _local_lock:
        return _local_caches.setdefault(prefix, LocalSecretCache())
