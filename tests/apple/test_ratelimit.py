"""The Apple call limiter: spacing per key and overall, shared between instances, in-process and on real Redis."""

import threading
import uuid

import pytest
import redis
from django.conf import settings

from depportal.apple.ratelimit import (
    LocalRateLimiter,
    RedisRateLimiter,
    SlotTable,
    default_rate_limiter,
)

EPSILON = 2e-6  # Redis slots are whole microseconds turned into float seconds


@pytest.fixture
def redis_url():
    url = settings.REDIS_URL
    if not url:
        pytest.fail("REDIS_URL must point at a real Redis for these tests")
    return url


@pytest.fixture(params=["local", "redis"])
def make_pair(request, redis_url):
    """Build two limiters that share state like two worker processes would (Redis: separate connections)."""
    prefix = f"test-ratelimit:{uuid.uuid4().hex}"
    table = SlotTable()
    connections = []

    def make(per_key, overall):
        if request.param == "local":
            return LocalRateLimiter(per_key, overall, table=table), LocalRateLimiter(per_key, overall, table=table)
        pair = []
        for _ in range(2):
            connection = redis.Redis.from_url(redis_url)
            connections.append(connection)
            pair.append(RedisRateLimiter(per_key, overall, prefix=prefix, connection=connection))
        return tuple(pair)

    yield make
    for connection in connections:
        connection.delete(f"{prefix}:global", *connection.keys(f"{prefix}:key:*"))
        connection.close()


def assert_spaced(slots, interval):
    ordered = sorted(slots)
    gaps = [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]
    assert all(gap >= interval - EPSILON for gap in gaps), gaps


def test_per_key_spacing_holds_across_two_instances(make_pair):
    first, second = make_pair(10, None)
    reservations = [(first if i % 2 else second).reserve("token:1") for i in range(6)]
    assert all(r.granted for r in reservations)
    assert_spaced([r.slot for r in reservations], 0.1)
    # Back-to-back bookings queue up: the last one waits about five intervals.
    assert reservations[-1].wait > 0.3


def test_keys_do_not_delay_each_other_without_a_global_limit(make_pair):
    first, second = make_pair(10, None)
    first.reserve("token:a")
    first.reserve("token:a")
    fresh = second.reserve("token:b")
    assert fresh.granted and fresh.wait == 0


def test_global_spacing_holds_across_keys_and_instances(make_pair):
    first, second = make_pair(None, 20)
    reservations = [(first if i % 2 else second).reserve(f"token:{i}") for i in range(6)]
    assert_spaced([r.slot for r in reservations], 0.05)


def test_the_stricter_of_both_limits_applies(make_pair):
    first, second = make_pair(5, 50)
    same_key = [first.reserve("token:x"), second.reserve("token:x")]
    assert_spaced([r.slot for r in same_key], 0.2)
    other_key = second.reserve("token:y")
    assert other_key.slot - same_key[-1].slot >= 0.02 - EPSILON


def test_a_refused_reservation_books_nothing(make_pair):
    first, second = make_pair(1, None)
    booked = first.reserve("token:1")
    refused = second.reserve("token:1", max_wait=0.5)
    assert not refused.granted and refused.wait > 0.5
    following = second.reserve("token:1")
    assert following.granted
    assert abs(following.slot - (booked.slot + 1.0)) < EPSILON


def test_acquire_returns_after_the_slot_started(make_pair):
    first, _ = make_pair(50, None)
    first.acquire("token:1")
    second = first.acquire("token:1")
    assert second.granted and second.wait > 0


def test_redis_bookings_are_atomic_under_concurrency(redis_url):
    prefix = f"test-ratelimit:{uuid.uuid4().hex}"
    slots, errors = [], []

    def worker():
        connection = redis.Redis.from_url(redis_url)
        limiter = RedisRateLimiter(None, 1000, prefix=prefix, connection=connection)
        try:
            for _ in range(25):
                slots.append(limiter.reserve("token:1").slot)
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(slots) == 100
    assert_spaced(slots, 0.001)
    cleanup = redis.Redis.from_url(redis_url)
    cleanup.delete(f"{prefix}:global")
    cleanup.close()


def test_default_limiter_follows_settings(settings, redis_url):
    settings.REDIS_URL = redis_url
    assert isinstance(default_rate_limiter(), RedisRateLimiter)
    settings.REDIS_URL = ""
    assert isinstance(default_rate_limiter(), LocalRateLimiter)
