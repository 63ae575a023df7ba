"""Model-based test of the sync and default-profile engines: random interleavings against a plain reference model.

Hypothesis drives depsim (Apple) and the real engine (real PostgreSQL, the real client over HTTP, the real Celery
task code run eagerly) through random sequences of Apple-side changes, faults, cursor trouble, workers that die
and admin actions. The reference model is deliberately plain: the set of devices Apple assigns now with their
asset tags, the tombstones of devices deleted here, and which arrivals owe the default profile. After every
successful sync, what the portal shows must equal the model:

- the default device list (the API, every page) = Apple's assigned set minus the tombstones, no serial twice;
- each listed device's asset tag = Apple's latest (NUL removed, the one character PostgreSQL refuses);
- the token's count = the list's count = the model's;
- every device that arrived without a profile while a default was set has that default at Apple;
- whether the job ran a fetch is what the model predicts (no cursor, a fetch part-way, an expired or rejected
  cursor, or an admin's Full sync).

The one case Apple's documents leave open is a fetch continued across jobs while Apple changes a device it
already listed, or the admin deletes one meanwhile: the model stays out of it (see the preconditions).

CI runs a small, derandomized budget. A long run (`--timeout 0` lifts the suite's 300-second limit per test):
    SYNC_MODEL_EXAMPLES=300 SYNC_MODEL_STEPS=40 SYNC_MODEL_RANDOM=1 \\
        ./dev test --timeout 0 tests/syncjobs/test_sync_model.py
"""

import math
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from devices.models import Device
from profiles.models import EnrollmentProfile
from syncjobs import services
from syncjobs.models import SyncJob, SyncKind, SyncState, SyncTrigger
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SYNC_MODEL_EXAMPLES", "8"))
STEPS = int(os.environ.get("SYNC_MODEL_STEPS", "15"))
DERANDOMIZE = not os.environ.get("SYNC_MODEL_RANDOM")
PAGE = 50  # depsim advertises this page maximum, so small bursts already span pages
TEXTS = ["", "plain", "nul\x00byte", "=SUM(A1)", "emoji \U0001f600", "rtl\u202emark", "tab\tand, comma"]
FATAL = {
    "500-forever": {"status": 500, "count": None},
    "malformed": {"status": 200, "malformed": True},
}
TRANSIENT = {
    "500-once": {"status": 500},
    "401": {"status": 401, "body": '"UNAUTHORIZED"'},
    "429": {"status": 429, "body": '"TOO_MANY_REQUESTS"', "retry_after": 1},
}
STEPS_SEEN: list[int] = []


def expected_text(text: str) -> str:
    return text.replace("\x00", "")


def _shown_rows(api, token) -> list[dict]:
    rows, url, params = [], "/api/v1/devices/", {"token": token.pk, "limit": 1000}
    while url:
        body = api.get(url, params).json()
        rows += body["results"]
        url, params = body["next"], None
    return rows


def make_machine(apple, onboard, admin_user, admin_api, capture):
    class SyncModel(RuleBasedStateMachine):
        """One token per example; the model knows nothing of the portal's tables."""

        @initialize()
        def start(self):
            STEPS_SEEN.append(0)
            self.token = onboard(admin_user, server_name=f"Model {len(STEPS_SEEN)}")
            self.server = self.token.server_uuid
            self.apple = {}  # serial -> {"asset_tag": str, "assigned": bool}
            self.tombstones = set()
            self.cursor = "none"  # none | fetch (part-way) | sync | expired
            self.default_uuid = None
            self.pending = set()  # arrived without a profile, not yet seen by a successful sync
            self.owed = {}  # serial -> the default profile's uuid it must have at Apple
            self.changed_since_sync = False
            self.profiles = 0
            self.visible = set()  # what the portal listed at the last check: what an admin can pick from

        # ----- Apple's side -------------------------------------------------------------------------------------

        def _apple_step(self):
            # One second between Apple's changes: op_date has second precision, and a tie is Apple's own ambiguity.
            apple.advance_clock(1)
            self.changed_since_sync = True
            STEPS_SEEN[-1] += 1

        def _arrived(self, serial):
            self.pending.add(serial)

        @rule(count=st.integers(1, 6), text=st.sampled_from(TEXTS))
        def add_devices(self, count, text):
            self._apple_step()
            for record in apple.add_devices(self.server, count=count, asset_tag=text, device_family="iPhone"):
                self.apple[record["serial_number"]] = {"asset_tag": text, "assigned": True}
                self._arrived(record["serial_number"])

        @rule(count=st.sampled_from([PAGE + 1, 2 * PAGE + 7, 1001]))
        def burst(self, count):
            """More changes than a page (1001: more than Apple's usual page of 1000 too)."""
            self._apple_step()
            for record in apple.add_devices(self.server, count=count, device_family="iPhone"):
                self.apple[record["serial_number"]] = {"asset_tag": record.get("asset_tag") or "", "assigned": True}
                self._arrived(record["serial_number"])

        def _pick(self, data, *, assigned: bool):
            candidates = sorted(
                s
                for s, d in self.apple.items()
                if d["assigned"] == assigned and not (self.cursor == "fetch" and s in self.tombstones)
            )
            return data.draw(st.sampled_from(candidates)) if candidates else None

        @rule(data=st.data(), text=st.sampled_from(TEXTS))
        def modify(self, data, text):
            serial = self._pick(data, assigned=True)
            if serial:
                self._apple_step()
                apple.update_device(serial, asset_tag=text)
                self.apple[serial]["asset_tag"] = text

        @rule(data=st.data())
        def unassign(self, data):
            serial = self._pick(data, assigned=True)
            if serial:
                self._apple_step()
                apple.unassign_devices(self.server, [serial])
                self.apple[serial]["assigned"] = False
                self.owed.pop(serial, None)
                self.pending.discard(serial)

        @rule(data=st.data())
        def assign_again(self, data):
            serial = self._pick(data, assigned=False)
            if serial:
                self._apple_step()
                apple.assign_to_server(self.server, [serial])
                self.apple[serial]["assigned"] = True
                self._arrived(serial)

        @rule(count=st.integers(1, 5))
        def apple_repeats_ops(self, count):
            self._apple_step()
            apple.repeat_ops(self.server, count)

        @precondition(lambda self: self.cursor == "sync")
        @rule()
        def cursor_expires(self):
            apple.advance_clock(8 * 86400)
            self.cursor = "expired"

        # ----- the admin's side ---------------------------------------------------------------------------------

        @precondition(lambda self: self.cursor != "fetch")
        @rule(data=st.data())
        def delete_here(self, data):
            shown = sorted(self.visible - self.tombstones)
            if shown:
                serial = data.draw(st.sampled_from(shown))
                device = Device.objects.get(token=self.token, serial_number=serial)
                assert admin_api.delete(f"/api/v1/devices/{device.pk}/").status_code == 204
                self.tombstones.add(serial)

        @precondition(lambda self: self.cursor != "fetch" and self.tombstones)
        @rule(data=st.data())
        def restore(self, data):
            serial = data.draw(st.sampled_from(sorted(self.tombstones)))
            response = admin_api.post("/api/v1/devices/restore/", {"serial_numbers": [serial]}, format="json")
            assert response.json() == {"restored": 1}
            self.tombstones.discard(serial)

        @precondition(lambda self: self.cursor != "fetch")
        @rule()
        def reset_cursor(self):
            assert admin_api.post(f"/api/v1/tokens/{self.token.pk}/reset-cursor/").status_code == 200
            self.cursor = "none"

        @precondition(lambda self: self.profiles < 3)
        @rule()
        def set_default_profile(self):
            from profiles.services import profile_create, token_default_profile_set

            self.profiles += 1
            profile = profile_create(actor=admin_user, token=self.token, values={"name": f"Default {self.profiles}"})
            token_default_profile_set(actor=admin_user, token=self.token, profile=profile)
            self.default_uuid = EnrollmentProfile.objects.get(pk=profile.pk).profile_uuid
            assert self.default_uuid

        # ----- syncs ------------------------------------------------------------------------------------------

        def _time_passes(self):
            # The portal's own throttles (15 minutes, 7 days) are not under test here: let their time pass.
            EnrollmentProgramToken.objects.filter(pk=self.token.pk).update(
                last_manual_sync_at=None, last_full_sync_at=timezone.now() - timedelta(days=8)
            )

        def _fetch_pages(self) -> int:
            return max(1, math.ceil(sum(d["assigned"] for d in self.apple.values()) / PAGE))

        def _run(self, job_id: int):
            with capture(execute=True):  # the job's follow-up task (default profile) runs as a worker would
                services.syncjob_run(job_id=job_id)

        def _sync(self, kind: str, *, fault: tuple[str, str, dict, int] | None = None):
            self._time_passes()
            token = EnrollmentProgramToken.objects.get(pk=self.token.pk)
            rejected = fault is not None and fault[0] == "invalid"
            fetch = self.cursor in ("none", "fetch", "expired") or kind == "full" or rejected
            if fault:
                name, endpoint, options, after = fault
                apple.add_fault(endpoint, after=after, **options)
            trigger = SyncTrigger.SCHEDULE if kind == "scheduled" else SyncTrigger.API
            job_kind = {"scheduled": SyncKind.DELTA, "sync": SyncKind.MANUAL, "full": SyncKind.FULL}[kind]
            job = services.syncjob_request(token=token, kind=job_kind, trigger=trigger)
            self._run(job.pk)
            apple.clear_faults()
            self._settle(SyncJob.objects.get(pk=job.pk), fetch=fetch, fault=fault)

        def _settle(self, job, *, fetch: bool, fault):
            fatal = fault is not None and fault[0] in FATAL
            fetch_done = fetch
            if fetch and fatal and fault[1] == "/server/devices" and fault[3] < self._fetch_pages():
                fetch_done = False
                if fault[3] >= 1:
                    self.cursor = "fetch"
            if fetch and fatal and fault[1] == "/devices/sync" and fault[3] == 0 and self.cursor == "expired":
                fetch_done = False  # the sync that would have been answered EXPIRED_CURSOR failed first
            if fetch_done:
                self.cursor = "sync"
                back = {s for s in self.tombstones if self.apple[s]["assigned"]}
                self.tombstones -= back
                self.pending |= {s for s in back if s not in self.owed}
            if not fatal:
                assert job.state == SyncState.SUCCEEDED, (job.error_code, job.error_message)
            if job.state != SyncState.SUCCEEDED:
                return
            assert job.ran_full == fetch, (job.ran_full, fetch, job.full_reason)
            self.changed_since_sync = False
            for serial in self.pending:
                if self.apple[serial]["assigned"] and serial not in self.tombstones and self.default_uuid:
                    self.owed[serial] = self.default_uuid
            self.pending.clear()
            self.check()

        def check(self):
            token = EnrollmentProgramToken.objects.get(pk=self.token.pk)
            assigned = {s for s, d in self.apple.items() if d["assigned"]}
            at_apple = {d["serial_number"]: d for d in apple.devices(self.server)}
            assert set(at_apple) == assigned, "the model and Apple disagree: the test itself is wrong"
            rows = _shown_rows(admin_api, token)
            serials = [row["serial_number"] for row in rows]
            assert len(serials) == len(set(serials)), "a serial listed twice"
            assert set(serials) == assigned - self.tombstones
            self.visible = set(serials)
            assert token.device_count == len(serials)
            assert admin_api.get("/api/v1/devices/", {"token": token.pk}).json()["count"] == len(serials)
            for row in rows:
                assert row["asset_tag"] == expected_text(self.apple[row["serial_number"]]["asset_tag"]), row
            for serial, uuid in self.owed.items():
                assert at_apple[serial].get("profile_uuid") == uuid, f"{serial} lacks the default profile"

        @rule(kind=st.sampled_from(["scheduled", "sync", "full"]))
        def sync(self, kind):
            self._sync(kind)

        @precondition(lambda self: self.cursor != "fetch")
        @rule(
            kind=st.sampled_from(["scheduled", "sync"]),
            name=st.sampled_from(sorted(FATAL)),
            endpoint=st.sampled_from(["/server/devices", "/devices/sync"]),
            after=st.integers(0, 3),
        )
        def sync_hit_by_a_fault(self, kind, name, endpoint, after):
            self._sync(kind, fault=(name, endpoint, dict(FATAL[name]), after))

        @rule(
            kind=st.sampled_from(["scheduled", "sync", "full"]),
            name=st.sampled_from(sorted(TRANSIENT)),
            endpoint=st.sampled_from(["/server/devices", "/devices/sync"]),
            after=st.integers(0, 3),
        )
        def sync_with_a_passing_fault(self, kind, name, endpoint, after):
            self._sync(kind, fault=(name, endpoint, dict(TRANSIENT[name]), after))

        @precondition(lambda self: self.cursor == "sync")
        @rule()
        def apple_rejects_the_cursor(self):
            """INVALID_CURSOR: the fetch Apple then requires runs at once, and the job says why."""
            self._sync("scheduled", fault=("invalid", "/devices/sync", {"status": 400, "body": '"INVALID_CURSOR"'}, 0))
            job = SyncJob.objects.filter(token=self.token).order_by("-pk").first()
            assert job.full_reason == "Apple rejected the cursor, INVALID_CURSOR"

        @precondition(lambda self: self.cursor == "sync" and not self.changed_since_sync)
        @rule()
        def apple_says_the_cursor_is_exhausted(self):
            """Apple answers EXHAUSTED_CURSOR only when there is nothing more; the sync ends cleanly."""
            exhausted = {"status": 400, "body": '"EXHAUSTED_CURSOR"'}
            self._sync("scheduled", fault=("exhausted", "/devices/sync", exhausted, 0))

        @precondition(lambda self: self.cursor != "fetch")
        @rule()
        def worker_dies_and_the_reaper_hands_the_job_on(self):
            self._time_passes()
            fetch = self.cursor in ("none", "expired")
            job = services.syncjob_request(token=self.token, kind=SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE)
            assert services.syncjob_claim(job.pk) is not None  # a worker took it and died before its first page
            SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
            with capture(execute=True):
                assert services.syncjob_reap()["resumed"] == 1  # the handed-on task runs eagerly here
            self._settle(SyncJob.objects.get(pk=job.pk), fetch=fetch, fault=None)

    return SyncModel


def test_the_sync_engine_follows_the_reference_model(
    apple, onboard, admin_user, admin_api, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.APPLE_DEP_MAX_RETRIES = 1
    settings.APPLE_DEP_MAX_RETRY_WAIT_S = 5
    apple.set_page_max(PAGE)
    apple.set_session_rotation(7)  # Apple may hand out a new session token on any answer
    machine = make_machine(apple, onboard, admin_user, admin_api, django_capture_on_commit_callbacks)
    STEPS_SEEN.clear()
    run_state_machine_as_test(
        machine,
        settings=settings_for_ci(),
    )
    print(f"sync model: {len(STEPS_SEEN)} examples, {sum(STEPS_SEEN)} Apple-side changes")  # noqa: T201


def settings_for_ci():
    return hypothesis_settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
        print_blob=True,
        # SYNC_MODEL_NO_SHRINK=1 reports the first failing sequence as found (faster to read in a long run).
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        if os.environ.get("SYNC_MODEL_NO_SHRINK")
        else list(Phase),
    )
