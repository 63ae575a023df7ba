"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "depportal.settings")

app = Celery("depportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Allocations between the garbage collector's youngest-generation passes (Python's default: 700).
WORKER_GC_THRESHOLD = 50_000


@worker_process_init.connect
def worker_gc_setup(**_) -> None:
    """Each worker process keeps the garbage collector off what it has loaded, and runs it less often.

    A sync holds pages of Apple's records in flight (thousands of dicts and lists each, freed by reference
    counting, never in cycles): at the default threshold the collector ran 450 passes per 100,000 devices and
    walked the pages and the whole loaded app each time, 0.6-0.8 s of CPU (bench/bench_sync.py). Cyclic garbage
    is still collected, after WORKER_GC_THRESHOLD allocations instead of 700.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])
