"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call."""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _Client(RedisCacheClient):
    """Django builds a new redis-py client for every cache call, and a client's constructor fills a table of some
    300 reply callbacks: a tenth of a millisecond, twice on every console page (the session and the list's columns).
    A client only wraps its connection pool and redis-py clients are thread-safe, so one per pool does the same."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
