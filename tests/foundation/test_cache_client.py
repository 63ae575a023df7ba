"""The Redis cache keeps one redis-py client per connection pool (Django makes one per call)."""

from django.core.cache import cache, caches
from django.test import override_settings

from depportal.core.cache import ReusingRedisCache


def test_calls_share_one_client_and_read_what_they_wrote():
    # The suite runs on Redis (depportal/test_settings.py), so the default cache is the production backend.
    backend = caches["default"]
    assert isinstance(backend, ReusingRedisCache)
    first = backend._cache.get_client("a")
    assert backend._cache.get_client("b", write=True) is first
    cache.set("test:cache-client", {"n": 1}, 30)
    assert cache.get("test:cache-client") == {"n": 1}
    cache.delete("test:cache-client")
    assert cache.get("test:cache-client") is None


@override_settings(
    CACHES={"two": {"BACKEND": "depportal.core.cache.ReusingRedisCache", "LOCATION": "redis://a:1/0,redis://b:1/0"}}
)
def test_each_server_has_its_own_client():
    backend = caches["two"]
    written = backend._cache.get_client(write=True)
    read = backend._cache.get_client()  # reads go to the other server
    assert read is not written and read.connection_pool is not written.connection_pool
    assert backend._cache.get_client() is read
