"""Sync engine speed against PostgreSQL and depsim (issue 6 targets), each compared with a baseline run in the
same process:

1. full sync of N devices (default 100,000) without Apple latency, in devices/s, against the raw baseline:
   the same rows upserted with psycopg2 execute_values in pages of 1000, one commit per page;
2. the same with --latency seconds per Apple page: wall time against the sum of the page latencies;
3. a delta sync of 1,000 changes into the token after (1).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/depportal_bench .venv/bin/python bench/bench_sync.py
     [--devices 100000] [--latency 0.3] [--latency-devices 20000]
depsim runs in a separate process (as Apple would), so its JSON work does not share this process's GIL.
The database named by DATABASE_URL is dropped and recreated.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/depportal_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.test_settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from depsim.control import DepSimControl  # noqa: E402
from devices.models import Device  # noqa: E402

PORT = 8599


def _recreate_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    params = {k: v for k, v in settings.DATABASES["default"].items() if k in ("HOST", "PORT", "USER", "PASSWORD")}
    admin = psycopg2.connect(
        dbname="postgres", host=params["HOST"], port=params["PORT"], user=params["USER"], password=params["PASSWORD"]
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    call_command("migrate", verbosity=0)


def _start_depsim() -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "depsim", "--port", str(PORT), "--seed", "7"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    control = DepSimControl(f"http://127.0.0.1:{PORT}")
    for _ in range(100):
        try:
            control.now()
            return process
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit("depsim did not start")


def _token(control: DepSimControl, name: str):
    from django.contrib.auth import get_user_model

    from tokens.services import token_activate, token_start

    admin, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    token = token_start(actor=admin, data_sharing_consent=True)
    server = control.create_server(name, certificate_pem=token.certificate_pem.encode())
    token_activate(actor=admin, token=token, token_file=base64.b64decode(server["p7m"]), apple_id="bench@example.com")
    token.refresh_from_db()
    return token


def _run_sync(token, kind: str) -> tuple[float, object]:
    from syncjobs.models import SyncTrigger
    from syncjobs.services import syncjob_active, syncjob_request, syncjob_run

    # A new token queues its own first sync (a full fetch): that is the one to run and time.
    job = syncjob_active(token) or syncjob_request(token=token, kind=kind, trigger=SyncTrigger.CLI)
    started = time.perf_counter()
    syncjob_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.state == "succeeded", job.error_message
    return elapsed, job


def _baseline(pages: list[list[dict]], token_id: int) -> float:
    """The same rows, upserted raw with execute_values, a commit per page (every column, as the sync writes)."""
    from devices.models import Device

    db = settings.DATABASES["default"]
    conn = psycopg2.connect(dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"])
    fields = [f for f in Device._meta.concrete_fields if not f.primary_key]
    now = datetime.now(UTC)
    defaults = {f.column: f.get_default() for f in fields}
    defaults.update(token_id=token_id, first_seen_at=now, updated_at=now, extra=json.dumps({}))
    apple = ("serial_number", "model", "description", "color", "os", "device_family", "device_assigned_by")
    sql = (
        f"INSERT INTO devices_device ({', '.join(f.column for f in fields)}) VALUES %s "
        "ON CONFLICT (token_id, serial_number) DO UPDATE SET model = excluded.model, updated_at = excluded.updated_at"
    )
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for page in pages:
            rows = []
            for device in page:
                values = {**defaults, **{key: device.get(key, "") for key in apple}}
                values["device_assigned_date"] = device.get("device_assigned_date")
                rows.append(tuple(values[f.column] for f in fields))
            psycopg2.extras.execute_values(cursor, sql, rows, page_size=1000)
            conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _fetch_pages(token) -> list[list[dict]]:
    from tokens.services import token_client

    client = token_client(token)
    try:
        return [page.devices for page in client.fetch_devices()]
    finally:
        client.close()


def _delta_at_scale(control: DepSimControl, devices: int) -> None:
    """Load N devices quickly (COPY, the sync's own insert path), then time a delta of 1,000 changes."""
    from django.utils import timezone

    from syncjobs.models import SyncJob
    from syncjobs.writer import _copy_new, _Problems, _row
    from tokens.models import EnrollmentProgramToken
    from tokens.services import token_client

    token = _token(control, "Bench delta")
    SyncJob.objects.filter(token=token).delete()  # its own first sync: the load below stands in for it
    for start in range(0, devices, 10_000):
        control.add_devices(token.server_uuid, count=min(10_000, devices - start))
    client = token_client(token)
    now = timezone.now()
    cursor = ""
    started = time.perf_counter()
    for page in client.fetch_devices():
        with connection.cursor():
            rows = [(d["serial_number"], _row(d["serial_number"], d, _Problems())) for d in page.devices]
            _copy_new(token.pk, rows, now, None)
        cursor = page.cursor
    client.close()
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(
        sync_cursor=cursor, last_full_sync_at=now, device_count=devices
    )
    with connection.cursor() as db:
        db.execute("ANALYZE devices_device")
    print(f"loaded      : {devices} devices in {time.perf_counter() - started:.1f} s (fetch + COPY)")
    serials = list(Device.objects.filter(token=token).values_list("serial_number", flat=True)[:1000])
    for serial in serials[:500]:
        control.update_device(serial, asset_tag="BENCH")
    control.unassign_devices(token.server_uuid, serials[500:1000])
    token.refresh_from_db()
    elapsed, job = _run_sync(token, "delta")
    print(
        f"delta sync  : {job.devices_modified} modified + {job.devices_removed} removed into {devices} devices "
        f"in {elapsed:.3f} s (target < 0.5 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--latency-devices", type=int, default=20_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline (it holds every page in memory)")
    parser.add_argument("--delta-scale", type=int, help="only: load this many devices fast, then time a delta")
    args = parser.parse_args()

    _recreate_database()
    depsim = _start_depsim()
    settings.APPLE_DEP_BASE_URL = f"http://127.0.0.1:{PORT}"
    settings.APPLE_DEP_RATE_PER_TOKEN = 1000
    settings.APPLE_DEP_RATE_GLOBAL = 1000
    control = DepSimControl(settings.APPLE_DEP_BASE_URL)
    try:
        if args.delta_scale:
            _delta_at_scale(control, args.delta_scale)
            return
        token = _token(control, "Bench full")
        for start in range(0, args.devices, 10_000):
            control.add_devices(token.server_uuid, count=min(10_000, args.devices - start))

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        elapsed, job = _run_sync(token, "full")
        sync_rate = args.devices / elapsed
        print(
            f"full sync   : {args.devices} devices in {elapsed:.2f} s = {sync_rate:,.0f} devices/s ({job.pages} pages)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory : {peak:.0f} MB for the whole process ({rss_before:.0f} MB before the sync)")

        if not args.no_baseline:
            pages = _fetch_pages(token)
            other = _token(control, "Bench baseline")
            base_elapsed = _baseline(pages, other.pk)
            base_rate = args.devices / base_elapsed
            print(
                f"baseline    : {args.devices} rows in {base_elapsed:.2f} s = {base_rate:,.0f} rows/s (execute_values)"
            )
            print(f"ratio       : sync / baseline = {sync_rate / base_rate:.2f}x")

        serials = list(Device.objects.filter(token=token).values_list("serial_number", flat=True)[:1000])
        for serial in serials[:500]:
            control.update_device(serial, asset_tag="BENCH")
        control.unassign_devices(token.server_uuid, serials[500:1000])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tokens_enrollmentprogramtoken SET last_manual_sync_at = NULL")
        token.refresh_from_db()
        elapsed, job = _run_sync(token, "delta")
        print(f"delta sync  : 1000 changes into {args.devices} devices in {elapsed:.3f} s (target < 0.5 s)")

        slow = _token(control, "Bench latency")
        control.add_devices(slow.server_uuid, count=args.latency_devices)
        # depsim builds each device's JSON on its first walk: walk once first, so the sync and the fetch-only
        # run below both meet a warm simulator, as they would meet Apple.
        _fetch_pages(slow)
        control.set_latency(args.latency, "/server/devices")
        elapsed, job = _run_sync(slow, "full")
        floor = job.pages * args.latency
        started = time.perf_counter()
        fetched = len(_fetch_pages(slow))
        fetch_only = time.perf_counter() - started
        print(
            f"with latency: {args.latency_devices} devices, {job.pages} pages x {args.latency}s = {floor:.2f} s of "
            f"Apple latency; sync took {elapsed:.2f} s = {elapsed / floor:.3f}x (target <= 1.05x)"
        )
        print(
            f"              fetching the same {fetched} pages alone, writing nothing, takes {fetch_only:.2f} s: "
            f"the sync adds {elapsed - fetch_only:+.2f} s of database work that the fetch did not hide"
        )
    finally:
        depsim.kill()
        depsim.wait(timeout=30)


if __name__ == "__main__":
    main()
