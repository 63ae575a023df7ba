"""Scale-out: three Celery worker processes (the compose worker command, three times) and 200 tokens.

Every token is asked to sync three times at once from different threads, and every queued job is delivered
to the workers three times (as a broker redelivery would): each token still syncs exactly once, and no two
jobs of a token ever overlap in time.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from depportal import celery_app
from depportal.core.exceptions import ApplicationError
from syncjobs.models import ACTIVE_STATES, SyncJob, SyncKind, SyncState, SyncTrigger
from syncjobs.services import syncjob_request
from syncjobs.tasks import syncjob_run_task
from tests.factories import active_tokens
from tests.ops.processes import Processes, production_env, service_command, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKENS = 200
WORKERS = 3
DEVICES_PER_TOKEN = 3


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, depsim_server, tmp_path_factory):
    with django_db_blocker.unblock():
        env = production_env(depsim_server.base_url, WORKER_CONCURRENCY="1")
    processes = Processes(tmp_path_factory.mktemp("scale"))
    celery_app.control.purge()
    try:
        for number in range(WORKERS):
            command = [*service_command("worker", env), "--hostname", f"scale{number}@%h"]
            processes.start(f"worker{number}", command, env)
        for number in range(WORKERS):
            wait_until(lambda n=number: " ready" in processes.log(f"worker{n}"), 40, f"worker{number}", processes)
        yield processes
    finally:
        processes.stop_all()


def _request(token) -> str:
    try:
        syncjob_request(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API)
        return "queued"
    except ApplicationError as error:
        return error.code
    finally:
        # Threads own their connections; an open one would keep pytest-django from flushing the database.
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()


def _succeeded_runs(log: str) -> int:
    # One JSON line per finished task; skipped redeliveries end with status "skipped".
    return sum(1 for line in log.splitlines() if "syncjob_run_task[" in line and "'status': 'succeeded'" in line)


def test_many_workers_sync_every_token_once(workers, apple):
    tokens = active_tokens(apple, TOKENS, devices=DEVICES_PER_TOKEN)
    log_start = apple.requests()[-1]["seq"] if apple.requests() else 0

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = Counter(pool.map(_request, [token for token in tokens for _ in range(3)]))
    assert outcomes == {"queued": TOKENS, "sync_refused": 2 * TOKENS}, outcomes

    jobs = list(SyncJob.objects.filter(token__in=tokens).values_list("pk", flat=True))
    for job_id in jobs:  # redeliveries: a second and third copy of every task
        syncjob_run_task.delay(job_id)
        syncjob_run_task.delay(job_id)

    def all_done():
        return not SyncJob.objects.filter(state__in=ACTIVE_STATES).exists()

    wait_until(all_done, 90, "every sync job ends", workers, interval=0.5)

    rows = list(SyncJob.objects.filter(token__in=tokens).values("token_id", "state", "started_at", "finished_at"))
    assert len(rows) == TOKENS
    assert Counter(row["state"] for row in rows) == {SyncState.SUCCEEDED: TOKENS}
    assert Counter(row["token_id"] for row in rows) == {token.pk: 1 for token in tokens}
    by_token: dict[int, list] = {}
    for row in rows:
        by_token.setdefault(row["token_id"], []).append((row["started_at"], row["finished_at"]))
    for spans in by_token.values():
        spans.sort()
        assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))

    # Apple saw exactly one device fetch per token: the redelivered copies were claimed by nobody.
    fetches = [r for r in apple.requests(since=log_start) if r["path"] == "/server/devices" and r["status"] == 200]
    assert len(fetches) == TOKENS
    # And the work really was shared: every worker process ran syncs.
    ran = {name: _succeeded_runs(workers.log(name)) for name in workers.children}
    assert all(count > 0 for count in ran.values()), ran
    assert sum(ran.values()) == TOKENS
