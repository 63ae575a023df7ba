"""Device list speed at 1,000,000 devices over 20 tokens (issue 7 targets: p95 under 20 ms of server time).

Loads the devices with COPY into its own database (dropped and recreated), then times, in-process with Django's
test Client (server time: request in, response out, no network), the console list page and the API list for:
first page unfiltered, deep pages (keyset cursor), serial prefix search, profile-status filter, profile filter
sorted by the Apple assignment date; and the CSV export of 100,000 rows in rows per second.

Run: .venv/bin/python bench/bench_devices.py [--devices 1000000] [--tokens 20] [--requests 60] [--skip-load]
The database is BENCH_DEVICES_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/depportal_bench_devices);
DATABASE_URL is ignored so the bench can never drop the working database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DEVICES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/depportal_bench_devices"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.test_settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from devices.columns import BY_KEY  # noqa: E402
from devices.models import Device  # noqa: E402
from devices.selectors import encode_cursor  # noqa: E402
from profiles.models import EnrollmentProfile  # noqa: E402
from tokens.models import EnrollmentProgramToken, TokenState  # noqa: E402

ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# (family, os, model, description stem): every tenth device is an Apple TV, so that filter matches exactly 10%.
CATALOGUE = [
    ("AppleTV", "tvOS", "Apple TV 4K", "APPLE TV 4K 64GB"),
    ("iPhone", "iOS", "iPhone 15", "IPHONE 15 128GB"),
    ("iPhone", "iOS", "iPhone 15 Pro", "IPHONE 15 PRO 256GB"),
    ("iPhone", "iOS", "iPhone 14", "IPHONE 14 128GB"),
    ("iPad", "iPadOS", "iPad (10th generation)", "IPAD WI-FI 64GB"),
    ("iPad", "iPadOS", "iPad Air 11-inch (M2)", "IPAD AIR 11 WI-FI 128GB"),
    ("iPad", "iPadOS", "iPad Pro 13-inch (M4)", "IPAD PRO 13 WI-FI 256GB"),
    ("Mac", "OSX", "MacBook Air (13-inch, M3)", "MBA 13.6 M3 8C CPU"),
    ("Mac", "OSX", "MacBook Pro (14-inch, M3)", "MBP 14.2 M3 8C CPU"),
    ("iPhone", "iOS", "iPhone SE (3rd generation)", "IPHONE SE 64GB"),
]
COLORS = ["SILVER", "SPACE GRAY", "BLUE", "MIDNIGHT", "STARLIGHT", "PINK"]
STATUSES = ["empty"] * 4 + ["assigned"] * 3 + ["pushed"] * 2 + ["removed"]
PROFILES_PER_TOKEN = 5
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _serial(i: int) -> str:
    # An odd multiplier coprime to 34**10 permutes the range: unique serials in a random-looking order.
    n = (i * 2654435761 + 12345) % 34**10
    chars = []
    for _ in range(10):
        n, digit = divmod(n, 34)
        chars.append(ALPHABET[digit])
    return "".join(chars)


def recreate_database() -> None:
    """Drop and create the bench database, then migrate it."""
    db = settings.DATABASES["default"]
    admin = psycopg2.connect(
        dbname="postgres", host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"]
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)


def load(devices: int, tokens: int) -> None:
    """Tokens, profiles and the devices (COPY, in batches), then VACUUM ANALYZE."""
    rng = random.Random(7)
    token_ids = [
        EnrollmentProgramToken.objects.create(
            name=f"Token {t:02d}", state=TokenState.ACTIVE, server_name=f"MDM {t}"
        ).pk
        for t in range(tokens)
    ]
    profiles = {
        token_id: [
            EnrollmentProfile.objects.create(
                token_id=token_id, name=f"Profile {p}", profile_uuid=f"{token_id:04d}{p:028d}"
            )
            for p in range(PROFILES_PER_TOKEN)
        ]
        for token_id in token_ids
    }
    columns = [
        "token_id", "serial_number", "model", "description", "color", "asset_tag", "os", "device_family",
        "profile_status", "profile_uuid", "profile_assign_time", "profile_push_time", "device_assigned_date",
        "device_assigned_by", "op_type", "op_date", "extra", "assigned_profile_id", "assignment_action",
        "assignment_result", "assignment_result_at", "assignment_attempts", "assignment_retry_at", "removed_at",
        "deleted_here_at", "full_sync_job_id", "first_seen_at", "updated_at",
    ]  # fmt: skip
    started = time.perf_counter()
    batch = 100_000
    for start in range(0, devices, batch):
        buffer = io.StringIO()
        for i in range(start, min(devices, start + batch)):
            token_id = token_ids[i % tokens]
            family, os_name, model, stem = CATALOGUE[i % len(CATALOGUE)]
            color = COLORS[rng.randrange(len(COLORS))]
            status = STATUSES[rng.randrange(len(STATUSES))]
            profile = profiles[token_id][rng.randrange(PROFILES_PER_TOKEN)] if rng.random() < 0.4 else None
            assigned = NOW - timedelta(seconds=rng.randrange(90 * 86400))
            seen = NOW - timedelta(seconds=rng.randrange(60 * 86400))
            row = [
                token_id, _serial(i), model, f"{stem} {color}-USA", color,
                f"AT{i:07d}" if i % 3 == 0 else "", os_name, family, status,
                profile.profile_uuid if profile else "", assigned.isoformat() if profile else "\\N",
                "\\N", seen.isoformat(), "abm-admin@example.com", "added", seen.isoformat(), "{}",
                profile.pk if profile else "\\N", "assign" if profile else "", "SUCCESS" if profile else "",
                assigned.isoformat() if profile else "\\N", 0, "\\N", "\\N", "\\N", "\\N", seen.isoformat(),
                seen.isoformat(),
            ]  # fmt: skip
            buffer.write("\t".join(str(value) for value in row) + "\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY devices_device ({', '.join(columns)}) FROM STDIN", buffer)
        print(f"  loaded {min(devices, start + batch):,} devices", flush=True)
    EnrollmentProgramToken.objects.update(device_count=devices // tokens)
    print(f"load: {devices:,} devices in {time.perf_counter() - started:.1f} s", flush=True)
    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"load + vacuum analyze: {time.perf_counter() - started:.1f} s", flush=True)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def time_requests(client: Client, urls: list[str], requests: int) -> tuple[float, float]:
    """p50 and p95 in ms of server time over `requests` requests cycling through `urls` (after a warm-up)."""
    for url in urls[:3]:
        assert client.get(url).status_code == 200, url
    samples = []
    for n in range(requests):
        url = urls[n % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return _percentiles(samples)


def _deep_cursors(positions: list[int]) -> list[str]:
    column = BY_KEY["serial_number"]
    cursors = []
    for position in positions:
        device = (
            Device.objects.filter(deleted_here_at__isnull=True)
            .order_by("serial_number", "pk")
            .only("pk", "serial_number")[position : position + 1]
            .get()
        )
        cursors.append(encode_cursor(column, False, device, backwards=False))
    return cursors


def scenarios(devices: int) -> dict[str, list[str]]:
    """Query strings per scenario; several variants each so no single cached plan or row flatters the numbers."""
    rng = random.Random(11)
    prefixes = [_serial(rng.randrange(devices))[:4] for _ in range(10)]
    deep = _deep_cursors([devices // 2, devices - 1000, devices // 3, (devices * 9) // 10])
    profile_ids = list(EnrollmentProfile.objects.order_by("?").values_list("pk", flat=True)[:10])
    return {
        "first page, unfiltered": [""],
        "deep page (keyset)": [f"cursor={cursor}" for cursor in deep],
        "serial prefix search": [f"search={prefix}" for prefix in prefixes],
        "profile-status filter": ["profile_status=pushed", "profile_status=assigned", "profile_status=removed"],
        "profile filter + sort by assigned date": [
            f"profile={pk}&ordering=-profile_assign_time" for pk in profile_ids
        ],
    }


def export_rate(client: Client, url: str) -> tuple[int, float]:
    """(rows, rows per second) of one streamed export."""
    started = time.perf_counter()
    response = client.get(url)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    elapsed = time.perf_counter() - started
    return lines - 1, (lines - 1) / elapsed


def main() -> None:
    """Load (unless --skip-load), then time every scenario and the export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--skip-load", action="store_true", help="reuse the database of an earlier run")
    args = parser.parse_args()
    if not args.skip_load:
        recreate_database()
        load(args.devices, args.tokens)
    admin, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    results = {}
    for name, queries in scenarios(args.devices).items():
        console = time_requests(client, [f"/devices/?{q}" for q in queries], args.requests)
        api = time_requests(client, [f"/api/v1/devices/?limit=50&{q}" for q in queries], args.requests)
        results[name] = {
            "console_p50_ms": console[0],
            "console_p95_ms": console[1],
            "api_p50_ms": api[0],
            "api_p95_ms": api[1],
        }
        line = f"console p50 {console[0]:6.1f} p95 {console[1]:6.1f} ms | api p50 {api[0]:6.1f} p95 {api[1]:6.1f} ms"
        print(f"{name:42s} {line}", flush=True)
    for label, url in (
        ("api", "/api/v1/devices/export.csv?device_family=AppleTV"),
        ("console", "/devices/export.csv?device_family=AppleTV"),
    ):
        rows, rate = export_rate(client, url)
        results[f"export ({label})"] = {"rows": rows, "rows_per_s": rate}
        print(f"export of {rows:,} rows ({label}): {rate:,.0f} rows/s", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
