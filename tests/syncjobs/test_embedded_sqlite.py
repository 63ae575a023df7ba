"""The README's embedded run keeps its devices in step with Apple too: it runs on SQLite, which has no COPY,
no arrays and no LATERAL, so the sync's PostgreSQL paths must have SQLite counterparts that agree with them.

The suite runs on PostgreSQL, so this test runs the embedded settings in a process of their own (their SQLite
database in a temporary folder) against the session's depsim, and compares what that portal's API shows with
what depsim assigns, as tests/truth.py does on PostgreSQL.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def embedded_run() -> None:
    """The child: a fetch, a delta (modified, unassigned and new devices), a second fetch; prints what it saw."""
    import base64

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from depsim.control import DepSimControl
    from syncjobs.models import SyncJob, SyncKind, SyncTrigger
    from syncjobs.services import syncjob_run
    from tests.truth import run_sync, shown_serials
    from tokens.models import EnrollmentProgramToken
    from tokens.services import token_activate, token_start

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    call_command("migrate", verbosity=0)
    apple = DepSimControl(settings.APPLE_DEP_BASE_URL)
    admin = get_user_model().objects.create(username="admin", is_superuser=True)
    token = token_start(actor=admin, data_sharing_consent=True)
    server = apple.create_server("Embedded", certificate_pem=token.certificate_pem.encode())
    apple.add_devices(server["server_uuid"], count=40)
    token_activate(actor=admin, token=token, token_file=base64.b64decode(server["p7m"]), apple_id="it@example.com")
    first = SyncJob.objects.get(token=token)
    syncjob_run(job_id=first.pk)

    def seen() -> dict:
        job = SyncJob.objects.filter(token=token).order_by("-pk").first()
        return {
            "state": job.state,
            "error": job.error_message,
            "shown": sorted(shown_serials(token)),
            "count": EnrollmentProgramToken.objects.get(pk=token.pk).device_count,
            "apple": sorted(device["serial_number"] for device in apple.devices(server["server_uuid"])),
        }

    after_fetch = seen()
    serials = after_fetch["apple"]
    apple.update_device(serials[0], asset_tag="EMBEDDED-1")
    apple.unassign_devices(server["server_uuid"], serials[1:6])
    apple.add_devices(server["server_uuid"], count=3)
    run_sync(token)
    after_delta = seen()
    asset_tag = token.devices.get(serial_number=serials[0]).asset_tag
    # A second fetch compares every stored device with Apple's record, Apple's other fields included.
    apple.update_device(serials[7], color="EMBEDDED-2")
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(last_full_sync_at=None, last_manual_sync_at=None)
    run_sync(token, SyncKind.FULL, SyncTrigger.API)
    after_refetch = seen()
    color = token.devices.get(serial_number=serials[7]).color
    print(json.dumps({"fetch": after_fetch, "delta": after_delta, "refetch": after_refetch, "asset_tag": asset_tag,
                      "color": color}))  # fmt: skip


def test_the_embedded_run_syncs_on_sqlite(depsim, tmp_path):
    # As `./dev up` prepares them: kombu's file-system broker expects its folders to exist.
    for folder in ("broker/queue", "broker/processed", "broker/control"):
        (tmp_path / folder).mkdir(parents=True)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "depportal.settings",
        "DJANGO_DEBUG": "true",
        "DEPPORTAL_LOCAL_DIR": str(tmp_path),
        "DEPPORTAL_ENCRYPTION_KEY": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=",
        "APPLE_DEP_BASE_URL": depsim.base_url,
        "APPLE_VPP_BASE_URL": "http://127.0.0.1:9/mdm/v2",
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from tests.syncjobs.test_embedded_sqlite import embedded_run; embedded_run()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    for step in ("fetch", "delta", "refetch"):
        assert seen[step]["state"] == "succeeded", seen[step]["error"]
        assert seen[step]["shown"] == seen[step]["apple"]
        assert seen[step]["count"] == len(seen[step]["apple"])
    assert len(seen["fetch"]["apple"]) == 40 and len(seen["delta"]["apple"]) == 38
    assert seen["refetch"]["apple"] == seen["delta"]["apple"]
    assert seen["asset_tag"] == "EMBEDDED-1" and seen["color"] == "EMBEDDED-2"
