"""Per-page overhead of DEPClient: pull N pages of 1000 devices from depsim through the client and through a bare
requests session in the same process, and print ms/page for both.

Run: .venv/bin/python bench/bench_client.py [--pages 20] [--rounds 5]
The client gets an unthrottled limiter here: the production spacing (10 calls/s per token) would measure the
limit, not the client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.settings")

import requests  # noqa: E402
from requests_oauthlib import OAuth1  # noqa: E402

from depportal.apple.client import JSON_CONTENT_TYPE, DEPClient  # noqa: E402
from depportal.apple.ratelimit import LocalRateLimiter, RedisRateLimiter, SlotTable  # noqa: E402
from depportal.apple.secrets_cache import LocalSecretCache, RedisSecretCache  # noqa: E402
from depsim.control import DepSimControl  # noqa: E402
from depsim.server import start_in_thread  # noqa: E402

PAGE = 1000


def bare_fetch(base_url: str, creds: SimpleNamespace) -> int:
    """The baseline: one session call then every fetch page with a plain requests session; returns pages."""
    headers = {
        "User-Agent": "depportal-bench/1.0",
        "X-Server-Protocol-Version": "10",
        "Content-Type": JSON_CONTENT_TYPE,
        "Accept": JSON_CONTENT_TYPE,
    }
    with requests.Session() as http:
        http.headers.update(headers)
        oauth = OAuth1(
            creds.consumer_key,
            client_secret=creds.consumer_secret,
            resource_owner_key=creds.access_token,
            resource_owner_secret=creds.access_secret,
            realm="ADM",
        )
        token = http.get(f"{base_url}/session", auth=oauth, timeout=30).json()["auth_session_token"]
        http.headers["X-ADM-Auth-Session"] = token
        body: dict = {"limit": PAGE}
        pages = 0
        while True:
            data = http.post(f"{base_url}/server/devices", json=body, timeout=60).json()
            pages += 1
            if not data["more_to_follow"]:
                return pages
            body = {"limit": PAGE, "cursor": data["cursor"]}


def client_fetch(base_url: str, creds: SimpleNamespace, round_no: int, redis_url: str = "") -> int:
    """The same walk through DEPClient (fresh client and session each round, like a sync job).

    With redis_url, the session cache and the limiter (still unthrottled) live in Redis as in production.
    """
    if redis_url:
        limiter = RedisRateLimiter(None, None, redis_url=redis_url, prefix="bench-ratelimit")
        store = RedisSecretCache(redis_url, prefix="bench-dep-session")
    else:
        limiter, store = LocalRateLimiter(None, None, table=SlotTable()), LocalSecretCache()
    client = DEPClient(
        creds,
        key=f"bench:{round_no}",
        base_url=base_url,
        user_agent="depportal-bench/1.0",
        rate_limiter=limiter,
        session_store=store,
    )
    with client:
        return sum(1 for _ in client.fetch_devices(limit=PAGE))


def measure(fn, *args) -> tuple[float, int]:
    started = time.perf_counter()
    pages = fn(*args)
    return (time.perf_counter() - started) * 1000, pages


def main() -> None:
    """Run the comparison and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages of 1000 devices per walk")
    parser.add_argument("--rounds", type=int, default=5, help="walks per variant (median reported)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""), help="also time the Redis-backed path")
    args = parser.parse_args()

    server = start_in_thread(port=0)
    try:
        control = DepSimControl(server.base_url)
        control.reset()
        creds = SimpleNamespace(**control.create_server("Bench"))
        control.add_devices(creds.server_uuid, count=args.pages * PAGE)
        bare_fetch(server.base_url, creds)  # warm-up: imports, connection set-up, simulator caches
        client_fetch(server.base_url, creds, -1)
        bare, local, shared = [], [], []
        for round_no in range(args.rounds):
            ms, pages = measure(bare_fetch, server.base_url, creds)
            bare.append(ms / pages)
            ms, pages = measure(client_fetch, server.base_url, creds, round_no)
            local.append(ms / pages)
            if args.redis_url:
                ms, pages = measure(client_fetch, server.base_url, creds, round_no, args.redis_url)
                shared.append(ms / pages)
    finally:
        server.shutdown()

    bare_ms = statistics.median(bare)
    print(f"pages per walk: {pages} x {PAGE} devices, rounds: {args.rounds} (median)")
    print(f"bare requests            : {bare_ms:7.2f} ms/page")
    for label, samples in (("DEPClient, in-process", local), ("DEPClient, Redis-backed", shared)):
        if samples:
            ms = statistics.median(samples)
            percent = (ms / bare_ms - 1) * 100
            print(f"{label:25s}: {ms:7.2f} ms/page  overhead {ms - bare_ms:+6.2f} ms/page ({percent:+.1f}%)")


if __name__ == "__main__":
    main()
