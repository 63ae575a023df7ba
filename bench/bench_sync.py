"""Sync engine speed against PostgreSQL and depsim (issue 17 targets), each compared with a baseline run in the
same process:

1. full sync of N devices (default 100,000) without Apple latency, in devices/s, against the COPY floor: the
   same rows and columns (every Device column) written with PostgreSQL COPY in pages of 1000, one commit per
   page, with each page's COPY text built before the clock starts (target: the sync at >= 0.8x the floor).
   The sync commits its pages without waiting for the flush to disk (syncjobs.services._commit_unflushed),
   so the floor is also run that way and the sync's ratio to it printed beside;
   CPU seconds per 100,000 devices are printed for this process (every thread), the database server's
   backends and depsim (Apple's side, not ours);
2. a delta sync of 1,000 changes (500 modified, 500 unassigned) into the token after (1) (target < 0.5 s);
3. with --latency seconds per Apple page: the sync's wall time against a fetch-only walk of the same pages,
   writing nothing (target <= 1.02x).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/depportal_bench .venv/bin/python bench/bench_sync.py
     [--devices 100000] [--rounds 3] [--latency 0.3] [--latency-devices 20000] [--latency-rounds 3]
     [--no-floor] [--no-latency]
     ... --delta-scale 1000000   only: load that many devices with COPY, then time a delta of 1,000 changes
     ... --devices 1000000 --rounds 1 --no-floor --no-latency   peak memory of a 1,000,000-device full sync
depsim runs in a separate process (as Apple would), so its JSON work does not share this process's GIL. The sync
runs in this process with the garbage collector set up as in a worker process (depportal.celery.worker_gc_setup).
The database named by DATABASE_URL is dropped and recreated.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import resource
import statistics
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
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from depportal.celery import worker_gc_setup  # noqa: E402
from depsim.control import DepSimControl  # noqa: E402
from devices.models import Device  # noqa: E402

PORT = 8599
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _recreate_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    admin = _connect("postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    call_command("migrate", verbosity=0)


def _connect(dbname: str | None = None):
    db = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=dbname or db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"]
    )


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


def _token(control: DepSimControl, name: str, devices: int = 0):
    from django.contrib.auth import get_user_model

    from syncjobs.models import SyncJob
    from tokens.services import token_activate, token_start

    admin, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    token = token_start(actor=admin, data_sharing_consent=True)
    server = control.create_server(name, certificate_pem=token.certificate_pem.encode())
    for start in range(0, devices, 10_000):
        control.add_devices(server["server_uuid"], count=min(10_000, devices - start))
    # Activation queues the token's own first sync (a full fetch) after commit; nothing runs it here.
    token_activate(actor=admin, token=token, token_file=base64.b64decode(server["p7m"]), apple_id="bench@example.com")
    token.refresh_from_db()
    assert SyncJob.objects.filter(token=token).count() <= 1
    return token


class _Cpu:
    """CPU seconds of this process (all its threads), of the database's backends and of depsim, over a span."""

    def __init__(self, depsim_pid: int) -> None:
        self.depsim_pid = depsim_pid

    def __enter__(self) -> _Cpu:
        self.pids = self._backends()
        self.start = (time.process_time(), self._of(self.pids), _proc_cpu(self.depsim_pid))
        return self

    def __exit__(self, *exc_info) -> None:
        pids = self.pids | self._backends()
        start_db = self.start[1]
        self.process = time.process_time() - self.start[0]
        self.database = self._of(pids) - start_db
        self.depsim = _proc_cpu(self.depsim_pid) - self.start[2]

    @staticmethod
    def _backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            return {pid for (pid,) in cursor.fetchall()}

    @staticmethod
    def _of(pids: set[int]) -> float:
        return sum(_proc_cpu(pid) for pid in pids)

    def per_100k(self, devices: int) -> str:
        scale = 100_000 / devices
        return (
            f"{self.process * scale:.2f} s this process, {self.database * scale:.2f} s database backends, "
            f"{self.depsim * scale:.2f} s depsim"
        )


def _proc_cpu(pid: int) -> float:
    """utime + stime of a local process from /proc (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


def _fetch_pages(token) -> list[list[dict]]:
    from tokens.services import token_client

    client = token_client(token)
    try:
        return [page.devices for page in client.fetch_devices()]
    finally:
        client.close()


def _copy_escape(value) -> str:
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_APPLE_TEXT = ("model", "description", "color", "asset_tag", "os", "device_family", "profile_uuid")
_APPLE_TIMES = ("profile_assign_time", "profile_push_time", "device_assigned_date", "op_date")
_APPLE_KNOWN = {"serial_number", "profile_status", "device_assigned_by", "op_type", "response_status"}
_APPLE_COLUMNS = {*_APPLE_KNOWN, *_APPLE_TEXT, *_APPLE_TIMES}


def _floor_text(page: list[dict], token_id: int, now: datetime) -> str:
    """One page as COPY text: every Device column, Apple's values as sent, the model's defaults for the rest."""
    fields = [f for f in Device._meta.concrete_fields if not f.primary_key]
    defaults = {f.column: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    lines = []
    for device in page:
        values = dict(defaults)
        values.update({key: device.get(key) or "" for key in (*_APPLE_TEXT, "device_assigned_by", "op_type")})
        values.update({key: device.get(key) for key in _APPLE_TIMES})
        values.update(
            token_id=token_id,
            serial_number=device["serial_number"],
            profile_status=device.get("profile_status") or "empty",
            extra=json.dumps({k: v for k, v in device.items() if k not in _APPLE_COLUMNS}),
            default_profile_pending=not device.get("profile_uuid"),
            first_seen_at=now,
            updated_at=now,
        )
        lines.append("\t".join(_copy_escape(values[f.column]) for f in fields))
    return "\n".join(lines) + "\n"


def _copy_floor(texts: list[str], conn, *, unflushed: bool = False) -> float:
    """PostgreSQL's own intake: each page's prepared COPY text, a COPY and a commit per page; `unflushed`, with
    commits that do not wait for the flush to disk (synchronous_commit off, as the sync writes its pages)."""
    fields = [f for f in Device._meta.concrete_fields if not f.primary_key]
    sql = f"COPY {Device._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
    if unflushed:
        with conn.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        conn.commit()
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for text in texts:
            cursor.copy_expert(sql, io.StringIO(text))
            conn.commit()
    return time.perf_counter() - started


def _floor_round(control: DepSimControl, source, name: str, depsim_pid: int, *, unflushed: bool = False):
    """(seconds, CPU) of the COPY floor: `source`'s pages as the rows of a new token of that name."""
    other = _token(control, name)
    now = datetime.now(UTC)
    texts = [_floor_text(page, other.pk, now) for page in _fetch_pages(source)]
    conn = _connect()
    try:
        with _Cpu(depsim_pid) as cpu:
            elapsed = _copy_floor(texts, conn, unflushed=unflushed)
    finally:
        conn.close()
    return elapsed, cpu


def _delta_changes(control: DepSimControl, token) -> None:
    """500 devices modified at Apple and 500 unassigned: 1,000 changes for the next delta sync."""
    assigned = Device.objects.filter(token=token, removed_at__isnull=True).order_by("pk")
    serials = list(assigned.values_list("serial_number", flat=True)[:1000])
    for serial in serials[:500]:
        control.update_device(serial, asset_tag="BENCH")
    control.unassign_devices(token.server_uuid, serials[500:1000])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tokens_enrollmentprogramtoken SET last_manual_sync_at = NULL")
    token.refresh_from_db()


def _delta_at_scale(control: DepSimControl, devices: int, rounds: int) -> None:
    """Load N devices quickly (the floor's COPY), then time deltas of 1,000 changes into them."""
    from django.utils import timezone

    from syncjobs.models import SyncJob
    from tokens.models import EnrollmentProgramToken
    from tokens.services import token_client

    token = _token(control, "Bench delta", devices)
    SyncJob.objects.filter(token=token).delete()  # its own first sync: the load below stands in for it
    client = token_client(token)
    now = timezone.now()
    cursor = ""
    started = time.perf_counter()
    conn = _connect()
    fields = [f for f in Device._meta.concrete_fields if not f.primary_key]
    sql = f"COPY {Device._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
    with conn.cursor() as db:
        for page in client.fetch_devices():
            db.copy_expert(sql, io.StringIO(_floor_text(page.devices, token.pk, now)))
            conn.commit()
            cursor = page.cursor
        db.execute("UPDATE devices_device SET default_profile_pending = false")
        db.execute("ANALYZE devices_device")
        conn.commit()
    conn.close()
    client.close()
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(
        sync_cursor=cursor, last_full_sync_at=now, device_count=devices
    )
    print(f"loaded      : {devices} devices in {time.perf_counter() - started:.1f} s (fetch + COPY)")
    times = []
    for _ in range(rounds):
        _delta_changes(control, token)
        elapsed, job = _run_sync(token, "delta")
        times.append(elapsed)
        print(
            f"delta sync  : {job.devices_modified} modified + {job.devices_removed} removed into {devices} devices "
            f"in {elapsed:.3f} s"
        )
    print(f"delta median: {statistics.median(times):.3f} s (target < 0.5 s)")


def _full_rounds(control: DepSimControl, depsim_pid: int, args) -> object:
    rates, floor_rates, ratios, unflushed_ratios = [], [], [], []
    token = None
    for round_no in range(1, args.rounds + 1):
        token = _token(control, f"Bench full {round_no}", args.devices)
        # depsim builds each device's JSON on its first walk: walk once first, so the sync meets a warm
        # simulator, as it would meet Apple, and depsim's one-off work does not take this machine's CPU from it.
        if not args.no_floor:
            _fetch_pages(token)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with _Cpu(depsim_pid) as cpu:
            elapsed, job = _run_sync(token, "full")
        rate = args.devices / elapsed
        rates.append(rate)
        print(
            f"full sync   : {args.devices} devices in {elapsed:.2f} s = {rate:,.0f} devices/s ({job.pages} pages); "
            f"CPU per 100k: {cpu.per_100k(args.devices)}"
        )
        if round_no == 1:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak memory : {peak:.0f} MB for the whole process ({rss_before:.0f} MB before the sync)")
        if args.no_floor:
            continue
        floor_elapsed, floor_cpu = _floor_round(control, token, f"Bench floor {round_no}", depsim_pid)
        floor_rate = args.devices / floor_elapsed
        floor_rates.append(floor_rate)
        ratios.append(rate / floor_rate)
        print(
            f"COPY floor  : {args.devices} rows in {floor_elapsed:.2f} s = {floor_rate:,.0f} rows/s; "
            f"CPU per 100k: {floor_cpu.per_100k(args.devices)}"
        )
        print(f"ratio       : sync / COPY floor = {rate / floor_rate:.2f}x")
        unflushed_elapsed, _ = _floor_round(
            control, token, f"Bench unflushed floor {round_no}", depsim_pid, unflushed=True
        )
        unflushed_ratios.append(rate / (args.devices / unflushed_elapsed))
        print(
            f"COPY floor, unflushed commits (as the sync commits): {unflushed_elapsed:.2f} s; "
            f"sync / it = {unflushed_ratios[-1]:.2f}x"
        )
    if args.rounds > 1:
        print(f"full median : {statistics.median(rates):,.0f} devices/s over {args.rounds} rounds")
    if ratios:
        print(
            f"floor median: {statistics.median(floor_rates):,.0f} rows/s; sync / floor median "
            f"{statistics.median(ratios):.2f}x (target >= 0.8x); against the unflushed floor "
            f"{statistics.median(unflushed_ratios):.2f}x"
        )
    return token


def _latency_rounds(control: DepSimControl, args) -> None:
    ratios = []
    for round_no in range(1, args.latency_rounds + 1):
        slow = _token(control, f"Bench latency {round_no}", args.latency_devices)
        # depsim builds each device's JSON on its first walk: walk once first, so the sync and the fetch-only
        # walk below both meet a warm simulator, as they would meet Apple.
        control.set_latency(0, "/server/devices")
        _fetch_pages(slow)
        control.set_latency(args.latency, "/server/devices")
        started = time.perf_counter()
        fetched = len(_fetch_pages(slow))
        fetch_only = time.perf_counter() - started
        elapsed, job = _run_sync(slow, "full")
        ratios.append(elapsed / fetch_only)
        print(
            f"with latency: {args.latency_devices} devices, {job.pages} pages x {args.latency} s; sync took "
            f"{elapsed:.2f} s, a fetch-only walk of the same {fetched} pages {fetch_only:.2f} s = "
            f"{elapsed / fetch_only:.3f}x"
        )
    control.set_latency(0, "/server/devices")
    print(f"latency med.: sync / fetch-only walk {statistics.median(ratios):.3f}x (target <= 1.02x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="full syncs, each against its own COPY floor run")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--latency-devices", type=int, default=20_000)
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--delta-rounds", type=int, default=3)
    parser.add_argument("--no-floor", action="store_true", help="skip the COPY floor (it holds every page in memory)")
    parser.add_argument("--no-latency", action="store_true", help="skip the run with Apple latency")
    parser.add_argument("--delta-scale", type=int, help="only: load this many devices fast, then time deltas")
    args = parser.parse_args()

    _recreate_database()
    worker_gc_setup()
    depsim = _start_depsim()
    settings.APPLE_DEP_BASE_URL = f"http://127.0.0.1:{PORT}"
    settings.APPLE_DEP_RATE_PER_TOKEN = 1000
    settings.APPLE_DEP_RATE_GLOBAL = 1000
    control = DepSimControl(settings.APPLE_DEP_BASE_URL)
    try:
        if args.delta_scale:
            _delta_at_scale(control, args.delta_scale, args.delta_rounds)
            return
        token = _full_rounds(control, depsim.pid, args)
        times = []
        for _ in range(args.delta_rounds):
            _delta_changes(control, token)
            elapsed, job = _run_sync(token, "delta")
            times.append(elapsed)
            print(
                f"delta sync  : {job.devices_modified} modified + {job.devices_removed} removed into "
                f"{args.devices} devices in {elapsed:.3f} s"
            )
        print(f"delta median: {statistics.median(times):.3f} s (target < 0.5 s)")
        if not args.no_latency:
            _latency_rounds(control, args)
    finally:
        depsim.kill()
        depsim.wait(timeout=30)


if __name__ == "__main__":
    main()
