"""The web process loads the whole app, then keeps the garbage collector off what it loaded."""

import os
import subprocess
import sys

CHECK = """
import gc, sys
import depportal.wsgi
assert "devices.views" in sys.modules and "depportal.api_urls" in sys.modules, "the URL conf was not loaded"
assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()
"""


def test_the_wsgi_app_is_loaded_whole_and_frozen():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "depportal.test_settings"}
    result = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
