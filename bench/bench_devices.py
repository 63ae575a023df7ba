"""Console and API page speed at 1,000,000 devices over 20 tokens (issue 17 targets: device list p95 under
10 ms in the console and 5 ms in the API, server time).

Loads the devices with COPY into its own database (dropped and recreated), with 30 finished syncs per token and one
running, then times in-process with Django's test Client (server time: request in, response out, no network):

- the baselines: a static page through the same middleware (without and with the signed-in session and user), and
  a static DRF view (session authentication, IsAuthenticated);
- the device list, console and API, for: first page unfiltered, deep pages (keyset cursor), serial prefix search,
  profile-status filter, profile filter sorted by the Apple assignment date;
- the token list, a token's profile list, the sync panel the console polls while a sync runs, and Home, each with
  its API list beside it;
- the CSV export of 100,000 rows in rows per second.

Each case prints p50 and p95 of server time next to its baseline's p95, the p95 of the database's time (the
queries' round trips, planning included), the process's CPU time (p50) and the number of queries.
--profile URL prints a cProfile of that URL's requests instead.

Run: .venv/bin/python bench/bench_devices.py [--devices 1000000] [--tokens 20] [--requests 200] [--skip-load]
     [--no-export] [--profile URL]
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
from dataclasses import asdict, dataclass
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
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

import depportal.wsgi  # noqa: E402, F401 - the app loaded as gunicorn loads it (its URL conf, the frozen GC)
from devices.columns import BY_KEY  # noqa: E402
from devices.models import Device  # noqa: E402
from devices.selectors import encode_cursor  # noqa: E402
from profiles.models import EnrollmentProfile  # noqa: E402
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger  # noqa: E402
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
        "deleted_here_at", "full_sync_job_id", "first_seen_at", "updated_at", "default_profile_pending",
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
                seen.isoformat(), "f",
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


def load_sync_history(jobs_per_token: int) -> None:
    """Finished syncs for every token, and one running on the first: the panel the console polls meanwhile."""
    tokens = list(EnrollmentProgramToken.objects.order_by("pk"))
    jobs = []
    for token in tokens:
        for n in range(jobs_per_token):
            started = NOW - timedelta(hours=6 * (jobs_per_token - n))
            jobs.append(
                SyncJob(
                    token=token, kind=SyncKind.FULL if n == 0 else SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE,
                    state=SyncState.SUCCEEDED, started_at=started, heartbeat_at=started,
                    finished_at=started + timedelta(seconds=40), pages=1 + n % 7, devices_added=n * 3,
                    devices_modified=n * 11, devices_removed=n % 5, devices_unchanged=1000 - n,
                    records_refused=1 if n % 9 == 0 else 0, record_problem_count=1 if n % 9 == 0 else 0,
                    record_problems=[{"serial": f"BAD{n:05d}", "field": "color", "problem": "control character"}]
                    if n % 9 == 0 else [],
                )
            )  # fmt: skip
    running = NOW - timedelta(seconds=30)
    jobs.append(
        SyncJob(
            token=tokens[0], kind=SyncKind.MANUAL, trigger=SyncTrigger.CONSOLE, state=SyncState.RUNNING,
            started_at=running, heartbeat_at=running, deadline_at=running + timedelta(hours=1), pages=12,
            devices_listed=12_000, devices_added=40, devices_modified=300, estimated_total=50_000,
        )
    )  # fmt: skip
    SyncJob.objects.bulk_create(jobs)
    EnrollmentProgramToken.objects.update(last_successful_sync_at=NOW)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class _QueryClock:
    """Wraps every query of a request: how many ran and the database's time for them (driver round trips)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


@dataclass
class Timing:
    """Server time of one case over its requests (ms), with the database's share."""

    p50: float
    p95: float
    db_p95: float
    cpu_p50: float
    queries: int

    def line(self) -> str:
        return (
            f"p50 {self.p50:6.2f} p95 {self.p95:6.2f} ms (db p95 {self.db_p95:5.2f}, "
            f"cpu p50 {self.cpu_p50:5.2f} ms, {self.queries:2d} queries)"
        )


def time_requests(client: Client, urls: list[str], requests: int, headers: dict | None = None) -> Timing:
    """Server time over `requests` requests cycling through `urls`, after a warm-up of each URL."""
    headers = headers or {}
    for url in urls[:5]:
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
    samples, db_samples, cpu_samples, queries = [], [], [], 0
    for n in range(requests):
        url = urls[n % len(urls)]
        clock = _QueryClock()
        with connection.execute_wrapper(clock):
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **headers)
            samples.append((time.perf_counter() - started) * 1000)
            cpu_samples.append((time.process_time() - cpu) * 1000)
        db_samples.append(clock.seconds * 1000)
        queries = max(queries, clock.count)
        assert response.status_code == 200, (url, response.status_code)
    return Timing(
        p50=statistics.median(samples),
        p95=_percentile(samples, 0.95),
        db_p95=_percentile(db_samples, 0.95),
        cpu_p50=statistics.median(cpu_samples),
        queries=queries,
    )


def profile_requests(client: Client, urls: list[str], requests: int, top: int) -> None:
    """cProfile of `requests` requests (for finding where the time goes), top functions by own time."""
    import cProfile
    import pstats

    for url in urls[:3]:
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(requests):
        client.get(urls[n % len(urls)])
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


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


def page_cases() -> dict[str, tuple[list[str], list[str]]]:
    """(console URLs, API URLs) of the other pages: token list, profile list, sync panel (polled), Home."""
    tokens = list(EnrollmentProgramToken.objects.order_by("pk").values_list("pk", flat=True))
    some = tokens[:5]
    return {
        "token list": (["/tokens/"], ["/api/v1/tokens/"]),
        "profile list": ([f"/tokens/{pk}/profiles/" for pk in some], [f"/api/v1/profiles/?token={pk}" for pk in some]),
        "sync panel (running sync)": ([f"/tokens/{tokens[0]}/sync/panel/"], [f"/api/v1/sync-jobs/?token={tokens[0]}"]),
        "dashboard (Home)": (["/"], ["/api/v1/alerts/"]),
    }


def export_rate(client: Client, url: str) -> tuple[int, float]:
    """(rows, rows per second) of one streamed export."""
    started = time.perf_counter()
    response = client.get(url)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    elapsed = time.perf_counter() - started
    return lines - 1, (lines - 1) / elapsed


# The baselines: what any request costs before a view does anything, through the same middleware and session.
def _static_view(request):
    return HttpResponse(b"<!doctype html><title>static</title><p>static</p>")


def _signed_in_view(request):
    # A console page's least work: the session and the user behind it.
    assert request.user.is_authenticated
    return HttpResponse(b"<!doctype html><title>static</title><p>static</p>")


class _StaticApiView(APIView):
    def get(self, request):
        return Response({"static": True})


urlpatterns = [
    path("bench/static/", _static_view),
    path("bench/signed-in/", _signed_in_view),
    path("api/v1/bench/static/", _StaticApiView.as_view()),
    path("", include("depportal.urls")),
]


def main() -> None:
    """Load (unless --skip-load), then time the baselines, every scenario, the other pages and the export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-load", action="store_true", help="reuse the database of an earlier run")
    parser.add_argument("--no-export", action="store_true", help="skip the CSV export rates")
    parser.add_argument("--profile", metavar="URL", help="print a cProfile of this URL's requests instead")
    args = parser.parse_args()
    if not args.skip_load:
        recreate_database()
        load(args.devices, args.tokens)
        load_sync_history(30)
    else:
        args.devices = Device.objects.count()
    admin, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    settings.ROOT_URLCONF = sys.modules[__name__]
    if args.profile:
        profile_requests(client, [args.profile], args.requests, 40)
        return
    results: dict[str, dict] = {}

    def record(section: str, name: str, timing: Timing, baseline: Timing) -> None:
        results.setdefault(section, {})[name] = {**asdict(timing), "baseline_p95": baseline.p95}
        print(f"  {name:40s} {timing.line()} | baseline p95 {baseline.p95:5.2f} ms", flush=True)

    print("baselines (same middleware, session and user; no view work):", flush=True)
    baselines = {
        "static page, no session": time_requests(client, ["/bench/static/"], args.requests),
        "static page, signed in": time_requests(client, ["/bench/signed-in/"], args.requests),
        "static DRF view, signed in": time_requests(client, ["/api/v1/bench/static/"], args.requests),
    }
    for name, timing in baselines.items():
        results.setdefault("baselines", {})[name] = asdict(timing)
        print(f"  {name:40s} {timing.line()}", flush=True)
    console_base, api_base = baselines["static page, signed in"], baselines["static DRF view, signed in"]
    print(f"device list ({args.devices:,} devices; console target p95 < 10 ms, API < 5 ms):", flush=True)
    for name, queries in scenarios(args.devices).items():
        console = time_requests(client, [f"/devices/?{q}" for q in queries], args.requests)
        api = time_requests(client, [f"/api/v1/devices/?limit=50&{q}" for q in queries], args.requests)
        record("console device list", name, console, console_base)
        record("api device list", f"{name} (API)", api, api_base)
    print("other pages:", flush=True)
    for name, (console_urls, api_urls) in page_cases().items():
        record("console pages", name, time_requests(client, console_urls, args.requests), console_base)
        record("api pages", f"{name} (API)", time_requests(client, api_urls, args.requests), api_base)
    if not args.no_export:
        for label, url in (
            ("api", "/api/v1/devices/export.csv?device_family=AppleTV"),
            ("console", "/devices/export.csv?device_family=AppleTV"),
        ):
            rows, rate = export_rate(client, url)
            results.setdefault("export", {})[label] = {"rows": rows, "rows_per_s": rate}
            print(f"export of {rows:,} rows ({label}): {rate:,.0f} rows/s", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
