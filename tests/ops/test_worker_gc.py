"""A worker process keeps the garbage collector off what it loaded and runs it less often (a sync's pages)."""

import os
import subprocess
import sys

CHECK = """
import gc
import django
django.setup()
from celery.signals import worker_process_init
from depportal.celery import WORKER_GC_THRESHOLD
default = gc.get_threshold()
worker_process_init.send(sender=None)
assert gc.get_threshold() == (WORKER_GC_THRESHOLD, *default[1:]), gc.get_threshold()
assert gc.get_freeze_count() > 20_000, gc.get_freeze_count()
# Cyclic garbage is still collected, once the threshold's allocations have been made.
import weakref
class Node: pass
node = Node(); node.self = node; gone = weakref.ref(node); del node
few = [Node() for _ in range(1_000)]
assert gone() is not None, "collected at the default threshold"
many = [Node() for _ in range(WORKER_GC_THRESHOLD)]
assert gone() is None, "a cycle outlived the threshold"
"""


def test_worker_processes_collect_less_and_never_walk_what_they_loaded():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "depportal.test_settings"}
    result = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
