"""Spaces Apple DEP calls per token and overall, across every worker process (Redis) or within one process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import redis
from django.conf import settings

DEFAULT_PREFIX = "depportal:dep-ratelimit"


@dataclass(frozen=True)
class Reservation:
    """The outcome of asking for a slot: `slot` is its start on the backend's clock, `wait` the delay until then."""

    granted: bool
    wait: float
    slot: float


def _interval(rate: float | None) -> float:
    """Seconds between two calls for a rate in calls/second; 0 (no spacing) when the rate is unset."""
    return 1.0 / rate if rate and rate > 0 else 0.0


class SlotTable:
    """Next-free times of one process's limiters, guarded by a lock."""

    def __init__(self) -> None:
        self.next_free: dict[str, float] = {}
        self.lock = threading.Lock()


_PROCESS_SLOTS = SlotTable()


class LocalRateLimiter:
    """In-process limiter; instances share the process-wide table unless given their own."""

    def __init__(self, per_key_rate: float | None, global_rate: float | None, *, table: SlotTable | None = None):
        self.per_key_interval = _interval(per_key_rate)
        self.global_interval = _interval(global_rate)
        self._table = table if table is not None else _PROCESS_SLOTS

    def reserve(self, key: str, max_wait: float | None = None) -> Reservation:
        """Book the next free slot for `key` unless it is more than `max_wait` seconds away."""
        with self._table.lock:
            next_free = self._table.next_free
            now = time.monotonic()
            slot = max(now, next_free.get("key:" + key, 0.0), next_free.get("global", 0.0))
            wait = slot - now
            if max_wait is not None and wait > max_wait:
                return Reservation(False, wait, slot)
            if self.per_key_interval:
                next_free["key:" + key] = slot + self.per_key_interval
            if self.global_interval:
                next_free["global"] = slot + self.global_interval
            return Reservation(True, wait, slot)

    def acquire(self, key: str, max_wait: float | None = None) -> Reservation:
        """Reserve a slot and sleep until it starts (returns the reservation; sleeps nothing if refused)."""
        return _sleep_for(self.reserve(key, max_wait))


# One round trip, atomic: read both "next free" times, pick the later, book it on both. Times are integer
# microseconds from the Redis server clock so every worker host agrees; string.format keeps them exact
# (Lua's default number formatting would round 16-digit values).
_RESERVE_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = now
for i = 1, 2 do
  local v = redis.call('GET', KEYS[i])
  if v and tonumber(v) > slot then slot = tonumber(v) end
end
local max_wait = tonumber(ARGV[3])
if max_wait >= 0 and slot - now > max_wait then
  return {0, string.format('%.0f', slot - now), string.format('%.0f', slot)}
end
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local next_free = slot + interval
    local ttl_ms = math.floor((next_free - now) / 1000) + 1000
    redis.call('SET', KEYS[i], string.format('%.0f', next_free), 'PX', ttl_ms)
  end
end
return {1, string.format('%.0f', slot - now), string.format('%.0f', slot)}
"""


class RedisRateLimiter:
    """Limiter shared by every process that uses the same Redis and prefix (one atomic Lua script per call)."""

    def __init__(
        self,
        per_key_rate: float | None,
        global_rate: float | None,
        *,
        redis_url: str = "",
        prefix: str = DEFAULT_PREFIX,
        connection: redis.Redis | None = None,
    ) -> None:
        self.per_key_interval = _interval(per_key_rate)
        self.global_interval = _interval(global_rate)
        self.prefix = prefix
        self._redis = connection if connection is not None else redis_client(redis_url)
        self._script = self._redis.register_script(_RESERVE_LUA)

    def reserve(self, key: str, max_wait: float | None = None) -> Reservation:
        """Book the next free slot for `key` unless it is more than `max_wait` seconds away."""
        granted, wait_us, slot_us = self._script(
            keys=[f"{self.prefix}:key:{key}", f"{self.prefix}:global"],
            args=[
                round(self.per_key_interval * 1_000_000),
                round(self.global_interval * 1_000_000),
                -1 if max_wait is None else max(0, round(max_wait * 1_000_000)),
            ],
        )
        return Reservation(bool(int(granted)), int(wait_us) / 1_000_000, int(slot_us) / 1_000_000)

    def acquire(self, key: str, max_wait: float | None = None) -> Reservation:
        """Reserve a slot and sleep until it starts (returns the reservation; sleeps nothing if refused)."""
        return _sleep_for(self.reserve(key, max_wait))


class RateLimiter(Protocol):
    """What the client needs from a limiter."""

    def acquire(self, key: str, max_wait: float | None = None) -> Reservation:
        """Wait for and take the next slot for `key`, unless it is more than `max_wait` seconds away."""


def _sleep_for(reservation: Reservation) -> Reservation:
    if reservation.granted and reservation.wait > 0:
        time.sleep(reservation.wait)
    return reservation


@lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One Redis client (and connection pool) per URL for the whole process."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def default_rate_limiter() -> RateLimiter:
    """The limiter configured by settings: Redis-backed when REDIS_URL is set, in-process otherwise."""
    per_key = float(getattr(settings, "APPLE_DEP_RATE_PER_TOKEN", 10))
    overall = float(getattr(settings, "APPLE_DEP_RATE_GLOBAL", 100))
    url = getattr(settings, "REDIS_URL", "") or ""
    return _cached_limiter(per_key, overall, url)


@lru_cache(maxsize=8)
def _cached_limiter(per_key: float, overall: float, url: str) -> RateLimiter:
    if url:
        return RedisRateLimiter(per_key, overall, redis_url=url)
    return LocalRateLimiter(per_key, overall)
