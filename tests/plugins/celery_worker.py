"""A real Celery worker for integration tests: depportal's app, on the real Redis broker, in a thread.

How a test uses it: ask for ``celery_worker`` together with ``transactional_db`` (the worker's thread
has its own database connection, so it only sees committed rows), enqueue with ``.delay()`` as the
code under test does, then poll for the effect with ``wait_for`` instead of asserting on timing::

    from tests.plugins.celery_worker import wait_for

    def test_sync_runs(celery_worker, transactional_db):
        some_task.delay(42)
        wait_for(lambda: Thing.objects.filter(done=True).exists())

The worker is module-scoped: it starts when the first test of a module asks for it and stops after
that module, so it never picks up tasks that tests elsewhere enqueue without expecting them to run.
The broker queue is purged before it starts, so leftovers of earlier runs are not executed. It uses
the "solo" pool (tasks run one at a time in the worker's thread) and no result backend.
"""

import time
from collections.abc import Callable

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from depportal import celery_app


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05):
    """Poll until predicate() is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Condition not met within {timeout} s: {getattr(predicate, '__name__', predicate)}")
        time.sleep(interval)


def _close_idle_connections(**_kwargs) -> None:
    # The worker thread keeps its own connections (CONN_MAX_AGE); an open one would stop pytest-django
    # from flushing or dropping the test database. Connections inside a transaction belong to a test
    # that ran a task eagerly in its own thread, so they are left alone.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup):
    """A running Celery worker of depportal.celery_app on settings.CELERY_BROKER_URL (the test Redis)."""
    hijack = celery_app.conf.worker_hijack_root_logger
    # Leave the root logger to pytest, whose log capture would otherwise lose its handlers.
    celery_app.conf.worker_hijack_root_logger = False
    celery_app.control.purge()
    task_postrun.connect(_close_idle_connections, weak=False)
    try:
        with start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_idle_connections)
        celery_app.conf.worker_hijack_root_logger = hijack
