"""Scale benchmark (issue 8): N tokens x M devices, Apple latency L, W worker processes.

Phases, each timed:
1. setup: N depsim MDM servers with M devices each, and N active tokens (tests/factories.py);
2. first sync: every token's full sync through the workers (gives each token its cursor);
3. the measured phase: every token's daily delta sync comes due at once (the worst case: after an outage,
   or all tokens added the same day) with L seconds of latency on every Apple answer; beat's task queues
   them through a worker, as in production. Reported: time until every delta sync has run, jobs/s, the
   spread of job durations and queue waits, and Apple requests per second, to show what limits it.

Run: .venv/bin/python bench/bench_scale.py [--tokens 1000] [--devices 1000] [--latency 0.05] [--workers 2]
Uses its own PostgreSQL database (dropped and recreated; DATABASE_URL names it) and Redis db 9 (flushed).
depsim and the workers run as separate processes, as Apple and the compose workers would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/depportal_bench_scale")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.test_settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from depsim.control import DepSimControl  # noqa: E402

PORT = 8597


def _recreate_database() -> None:
    db = settings.DATABASES["default"]
    admin = psycopg2.connect(dbname="postgres", host=db["HOST"], port=db["PORT"], user=db["USER"])
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _start_depsim() -> tuple[subprocess.Popen, DepSimControl]:
    process = subprocess.Popen(
        [sys.executable, "-m", "depsim", "--port", str(PORT), "--seed", "11", "--repeat-rate", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    control = DepSimControl(f"http://127.0.0.1:{PORT}", timeout=600)
    for _ in range(100):
        try:
            control.now()
            return process, control
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit("depsim did not start")


def _start_workers(count: int, concurrency: int, log_dir: Path) -> list[subprocess.Popen]:
    env = dict(os.environ, APPLE_DEP_BASE_URL=f"http://127.0.0.1:{PORT}", DEPPORTAL_LOG_FORMAT="plain")
    env["DJANGO_LOG_LEVEL"] = "WARNING"
    workers = []
    for number in range(count):
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "depportal", "worker", "--loglevel", "WARNING",
            "--concurrency", str(concurrency), "--hostname", f"bench{number}@%h",
        ]  # fmt: skip
        log = open(log_dir / f"worker{number}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def _wait_all_finished(since_pk: int, expected: int, timeout: float) -> float:
    from syncjobs.models import ACTIVE_STATES, SyncJob

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        jobs = SyncJob.objects.filter(pk__gt=since_pk)
        if jobs.count() >= expected and not jobs.filter(state__in=ACTIVE_STATES).exists():
            return time.perf_counter() - started
        time.sleep(0.25)
    raise SystemExit(f"not every sync finished within {timeout} s")


def _job_stats(since_pk: int) -> dict:
    from syncjobs.models import SyncJob

    rows = list(
        SyncJob.objects.filter(pk__gt=since_pk).values("state", "created_at", "started_at", "finished_at", "pages")
    )
    runs = [(r["finished_at"] - r["started_at"]).total_seconds() for r in rows if r["started_at"]]
    waits = [(r["started_at"] - r["created_at"]).total_seconds() for r in rows if r["started_at"]]
    first = min(r["created_at"] for r in rows)
    last_queued = max(r["created_at"] for r in rows)
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1

    def spread(values):
        values = sorted(values)
        return {
            "median": round(statistics.median(values), 3),
            "p95": round(values[int(0.95 * (len(values) - 1))], 3),
            "max": round(values[-1], 3),
        }

    return {
        "jobs": len(rows),
        "states": states,
        "pages": sum(r["pages"] for r in rows),
        "run_s": spread(runs),
        "queue_wait_s": spread(waits),
        "queueing_took_s": round((last_queued - first).total_seconds(), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="task processes per worker")
    parser.add_argument("--changes", type=int, default=2, help="new devices per token before the delta syncs")
    parser.add_argument("--log-dir", default="/tmp/bench_scale")
    args = parser.parse_args()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)

    from syncjobs.models import SyncJob, SyncKind, SyncTrigger
    from syncjobs.services import syncjob_request
    from syncjobs.tasks import syncjob_schedule_due_task
    from tests.factories import active_tokens
    from tokens.models import EnrollmentProgramToken

    _recreate_database()
    depsim, control = _start_depsim()
    settings.APPLE_DEP_BASE_URL = control.base_url
    workers = _start_workers(args.workers, args.concurrency, log_dir)
    report: dict = {"args": vars(args)}
    try:
        t = time.perf_counter()
        tokens = active_tokens(control, args.tokens, devices=args.devices, prefix="Bench")
        report["setup_s"] = round(time.perf_counter() - t, 1)
        print(f"setup: {args.tokens} tokens x {args.devices} devices in {report['setup_s']} s", flush=True)

        # Phase 2: the first (full) sync of every token, without latency.
        t = time.perf_counter()
        for token in tokens:
            syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.CLI)
        full_s = _wait_all_finished(0, args.tokens, timeout=7200)
        report["full_sync_s"] = round(full_s, 1)
        report["full_sync"] = _job_stats(0)
        rate = args.tokens * args.devices / full_s
        print(f"first full sync of every token: {full_s:.1f} s ({rate:,.0f} devices/s)", flush=True)

        # Phase 3: changes at Apple, latency on, every token's daily slot due now; beat's task queues them.
        for token in tokens:
            if args.changes:
                control.add_devices(token.server_uuid, count=args.changes)
        control.set_latency(args.latency)
        last_pk = SyncJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        EnrollmentProgramToken.objects.update(next_auto_sync_at=timezone.now())
        log_start = control.requests()[-1]["seq"]
        t = time.perf_counter()
        syncjob_schedule_due_task.delay()
        delta_s = _wait_all_finished(last_pk, args.tokens, timeout=7200)
        apple_requests = len(control.requests(since=log_start))
        report["delta_all_s"] = round(delta_s, 1)
        report["delta"] = _job_stats(last_pk)
        report["delta_jobs_per_s"] = round(args.tokens / delta_s, 1)
        report["apple_requests"] = apple_requests
        report["apple_requests_per_s"] = round(apple_requests / delta_s, 1)
        print(f"every token's delta sync ran within {delta_s:.1f} s after beat's run", flush=True)
        print(json.dumps(report, indent=2, default=str))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        depsim.terminate()
        try:
            depsim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            depsim.kill()


if __name__ == "__main__":
    main()
