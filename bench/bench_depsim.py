"""Benchmark: devices/s served by depsim for a full fetch of 100,000 devices in pages of 1000, over real HTTP.

Compared, in the same process, with a trivial stdlib HTTP handler that answers a prebuilt 1000-device page:
the baseline is the ceiling of http.server + requests on this machine, depsim's number shows its own cost.
Run: .venv/bin/python bench/bench_depsim.py [--devices N]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from requests_oauthlib import OAuth1

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from depsim.control import DepSimControl  # noqa: E402
from depsim.server import start_in_thread  # noqa: E402

PAGE = 1000
HEADERS = {
    "User-Agent": "depsim-bench/1.0",
    "X-Server-Protocol-Version": "10",
    "Content-Type": "application/json;charset=UTF8",
}


def fetch_everything(base_url: str, http: requests.Session) -> int:
    """Walk POST /server/devices to the end; the number of devices received."""
    total, cursor = 0, None
    while True:
        body = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        page = http.post(f"{base_url}/server/devices", json=body, timeout=60)
        page.raise_for_status()
        data = page.json()
        total += len(data["devices"])
        cursor = data["cursor"]
        if not data["more_to_follow"]:
            return total


def bench_depsim(count: int) -> tuple[float, int]:
    """devices/s of depsim for a full fetch of `count` devices."""
    server = start_in_thread(seed=1)
    try:
        control = DepSimControl(server.base_url)
        creds = control.create_server("Bench MDM")
        started = time.perf_counter()
        for _ in range(count // 10_000):
            control.add_devices(creds["server_uuid"], count=10_000)
        control.add_devices(creds["server_uuid"], count=count % 10_000)
        print(f"setup: {count} devices created in {time.perf_counter() - started:.1f} s")
        http = requests.Session()
        http.headers.update(HEADERS)
        auth = OAuth1(
            creds["consumer_key"],
            creds["consumer_secret"],
            creds["access_token"],
            creds["access_secret"],
            signature_type="auth_header",
            realm="ADM",
        )
        token = http.get(f"{server.base_url}/session", auth=auth, timeout=10).json()["auth_session_token"]
        http.headers["X-ADM-Auth-Session"] = token
        # First walk fills the per-device JSON cache; the second is the steady state.
        cold_start = time.perf_counter()
        fetch_everything(server.base_url, http)
        cold = time.perf_counter() - cold_start
        warm_start = time.perf_counter()
        received = fetch_everything(server.base_url, http)
        warm = time.perf_counter() - warm_start
        print(f"depsim cold walk: {received / cold:,.0f} devices/s ({cold:.2f} s)")
        return received / warm, received
    finally:
        server.shutdown()


def bench_baseline(count: int, page_body: bytes) -> float:
    """devices/s of a stdlib handler answering the same prebuilt page, as many times as depsim needs."""

    class Prebuilt(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=UTF8")
            self.send_header("Content-Length", str(len(page_body)))
            self.end_headers()
            self.wfile.write(page_body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Prebuilt)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        http = requests.Session()
        http.headers.update(HEADERS)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/server/devices"
        started = time.perf_counter()
        received = 0
        for _ in range(count // PAGE):
            received += len(http.post(url, json={"limit": PAGE, "cursor": "x" * 160}, timeout=60).json()["devices"])
        return received / (time.perf_counter() - started)
    finally:
        httpd.shutdown()
        httpd.server_close()


def sample_page() -> bytes:
    """A real 1000-device depsim page, to serve prebuilt in the baseline."""
    server = start_in_thread(seed=2)
    try:
        control = DepSimControl(server.base_url)
        creds = control.create_server("Sample")
        control.add_devices(creds["server_uuid"], count=PAGE + 1)
        http = requests.Session()
        http.headers.update(HEADERS)
        auth = OAuth1(
            creds["consumer_key"],
            creds["consumer_secret"],
            creds["access_token"],
            creds["access_secret"],
            signature_type="auth_header",
            realm="ADM",
        )
        http.headers["X-ADM-Auth-Session"] = http.get(f"{server.base_url}/session", auth=auth, timeout=10).json()[
            "auth_session_token"
        ]
        return http.post(f"{server.base_url}/server/devices", json={"limit": PAGE}, timeout=60).content
    finally:
        server.shutdown()


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    page_body = sample_page()
    print(f"page of {PAGE} devices: {len(page_body) / 1024:.0f} KiB")
    rate, received = bench_depsim(args.devices)
    baseline = bench_baseline(args.devices, page_body)
    print(f"depsim:   {rate:,.0f} devices/s ({received} devices, pages of {PAGE})")
    print(f"baseline: {baseline:,.0f} devices/s (stdlib handler, prebuilt page)")
    print(f"depsim / baseline: {rate / baseline:.0%}")


if __name__ == "__main__":
    main()
