"""The sync engine: request a sync under the throttle rules, run it page by page, reap what died.

Invariants (DESIGN.md sync rules): one active job per token (row lock + a partial unique constraint);
each page's device changes commit together with the cursor after it; a job is claimed with a
conditional update and kept alive by a heartbeat, so a redelivered task never runs a job twice.
"""

import contextvars
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from depportal.apple import (
    AccessDenied,
    AppleError,
    AuthenticationFailed,
    CursorError,
    CursorExhausted,
    TermsNotSigned,
)
from depportal.audit.services import audit_record
from depportal.core.exceptions import ApplicationError
from devices.models import Device
from profiles.services import profile_assign_default_to_new_devices
from syncjobs.models import (
    ACTIVE_STATES,
    ADMIN_TRIGGERS,
    RECORD_PROBLEMS_KEPT,
    SyncJob,
    SyncKind,
    SyncState,
    SyncTrigger,
)
from syncjobs.policy import Refusal, first_auto_sync_slot, full_sync_refusal, sync_refusal
from syncjobs.writer import (
    PreparedPage,
    device_apply_apple_page,
    device_count_assigned,
    device_mark_unlisted_removed,
    device_prepare_apple_page,
)
from tokens.models import EnrollmentProgramToken, TokenState
from tokens.services import token_client

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 15
# Pages each stage (fetching, preparing) runs ahead of the next: enough to hide Apple's latency, bounded memory.
PAGES_AHEAD = 2
# Preparing a page that has more after it starts this long after the page arrives, so the fetch thread's next
# request to Apple (session check, rate-limit slot and send: two Redis round trips and 2-3 ms of Python) leaves
# first instead of taking the interpreter lock back from the preparing at each round trip. With 300 ms of Apple
# latency the time from one page to the next request went from 6.3-7.9 to 3.6-4.3 ms (a walk alone: 3.1-3.4).
# Preparing runs ahead of the writer, so without latency the wait is hidden.
PREPARE_AFTER_S = 0.003


class SyncRefused(ApplicationError):
    """A sync that the rules do not allow now; says which rule and when it may run."""

    code = "sync_refused"
    status = 429

    def __init__(self, refusal: Refusal, now: datetime):
        super().__init__(
            refusal.message,
            extra={
                "rule": refusal.rule,
                "next_allowed_at": refusal.next_allowed_at.isoformat() if refusal.next_allowed_at else None,
                "retry_after": refusal.retry_after(now),
            },
        )
        self.refusal = refusal


def syncjob_active(token: EnrollmentProgramToken) -> SyncJob | None:
    return SyncJob.objects.filter(token=token, state__in=ACTIVE_STATES).first()


def sync_availability(token: EnrollmentProgramToken) -> dict[str, Refusal | None]:
    """For the console's buttons: whether a manual and a full sync may start now, and if not why."""
    now = timezone.now()
    active = syncjob_active(token)
    return {kind: sync_refusal(token, kind, now, active) for kind in (SyncKind.MANUAL, SyncKind.FULL)}


def syncjob_request(*, token: EnrollmentProgramToken, kind: str, trigger: str, actor=None) -> SyncJob:
    """Check the rules and queue the job in one transaction holding the token's row lock; raise SyncRefused."""
    from syncjobs.tasks import syncjob_run_task

    now = timezone.now()
    with transaction.atomic():
        token = EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        refusal = sync_refusal(token, kind, now, syncjob_active(token), trigger=trigger)
        if refusal is None and kind != SyncKind.FULL and not token.sync_cursor:
            # No cursor since an admin reset it: the fetch that follows is theirs, under the 7-day rule.
            refusal = full_sync_refusal(token, now)
        if refusal is not None:
            raise SyncRefused(refusal, now)
        try:
            with transaction.atomic():
                job = SyncJob.objects.create(
                    token=token,
                    kind=kind,
                    trigger=trigger,
                    requested_by=actor if actor is not None and actor.is_authenticated else None,
                    estimated_total=token.device_count or None,
                )
        except IntegrityError:
            # The constraint caught a race the lock did not (e.g. a job row created outside this path).
            raise SyncRefused(sync_refusal(token, kind, now, syncjob_active(token), trigger=trigger), now) from None
        if trigger in ADMIN_TRIGGERS:
            token.last_manual_sync_at = now
            token.save(update_fields=["last_manual_sync_at"])
        if trigger != SyncTrigger.SCHEDULE:
            audit_record(
                actor=actor,
                action="sync",
                obj=token,
                changes={"kind": kind, "trigger": trigger, "job": job.pk},
                scope_tags=list(token.scope_tags.all()),
            )
        transaction.on_commit(lambda: syncjob_run_task.delay(job.pk))
    return job


def syncjob_token_activated(*, token: EnrollmentProgramToken, **_) -> None:
    """A token was added: give it its place in the daily schedule, and fetch its devices once it is committed.

    Intune syncs a token by itself once it is added; the fetch is the one Apple requires (no cursor yet), so
    no admin window or 7-day rule holds it back. Should the process stop before the fetch is queued, the
    token's first scheduled slot fetches instead.
    """
    token.next_auto_sync_at = first_auto_sync_slot(token.pk, timezone.now())
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(next_auto_sync_at=token.next_auto_sync_at)

    def first_sync():
        try:
            syncjob_request(token=token, kind=SyncKind.FULL, trigger=SyncTrigger.SETUP)
        except SyncRefused as refused:
            logger.info("token %s: first sync not queued: %s", token.pk, refused.message)

    transaction.on_commit(first_sync)


def syncjob_claim(job_id: int) -> SyncJob | None:
    """Take the job for this worker: a queued job, or a running one whose worker stopped beating.

    Each claim counts `attempt` up; the worker writes only while the job still carries its count.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DEP_SYNC_HEARTBEAT_LEASE_S)
    claimed = (
        SyncJob.objects.filter(pk=job_id)
        .filter(Q(state=SyncState.QUEUED) | Q(state=SyncState.RUNNING, heartbeat_at__lt=stale))
        .update(state=SyncState.RUNNING, heartbeat_at=now, attempt=F("attempt") + 1)
    )
    if not claimed:
        return None
    SyncJob.objects.filter(pk=job_id, started_at__isnull=True).update(
        started_at=now, deadline_at=now + timedelta(seconds=settings.DEP_SYNC_DEADLINE_S)
    )
    return SyncJob.objects.select_related("token").get(pk=job_id)


class SyncTimedOut(Exception):
    pass


class JobTakenOver(Exception):
    """The job is no longer this worker's: reaped (timed out) or handed to another worker. Stop, write nothing."""


@dataclass
class _Run:
    job: SyncJob
    token: EnrollmentProgramToken
    # A fetch into a token with no devices stored: its pages skip looking their devices up (see _apply).
    none_stored: bool = False

    def mine(self):
        """The job's row while this worker still holds it (the fencing condition of every write)."""
        return SyncJob.objects.filter(pk=self.job.pk, state=SyncState.RUNNING, attempt=self.job.attempt)


def syncjob_run(*, job_id: int) -> dict:
    """Run a queued job to its end; returns a small summary. Never raises for Apple's faults."""
    job = syncjob_claim(job_id)
    if job is None:
        return {"job": job_id, "status": "skipped"}
    run = _Run(job=job, token=job.token)
    remaining = (job.deadline_at - timezone.now()).total_seconds()
    client = token_client(job.token, deadline=time.monotonic() + max(1.0, remaining))
    try:
        if remaining <= 0:
            raise SyncTimedOut()
        _sync(run, client)
    except JobTakenOver:
        logger.warning("sync job %s: taken over by the reaper or another worker; this worker stops", job_id)
    except SyncTimedOut:
        _finish_failed(run, SyncState.TIMED_OUT, "DEADLINE", _deadline_message())
    except AppleError as error:
        _finish_apple_error(run, error)
    except Exception:  # the job must end in a state; the traceback (with the raw error) goes to the log only
        logger.exception("sync job %s failed", job_id)
        _finish_failed(
            run,
            SyncState.FAILED,
            "INTERNAL_ERROR",
            f"The sync stopped on an internal error (logged as sync job {job_id}); the next sync continues "
            "from the last page stored.",
        )
    else:
        _finish_succeeded(run)
    finally:
        client.close()
    job.refresh_from_db()
    return {"job": job.pk, "status": job.state, "pages": job.pages, "added": job.devices_added}


def _deadline_message() -> str:
    return f"The sync did not finish within its {settings.DEP_SYNC_DEADLINE_S // 60} minutes and was stopped."


def _sync(run: _Run, client) -> None:
    """Continue a fetch part-way, run the fetch Apple requires or the admin asked for, or a delta sync.

    Apple (sync-devices): EXHAUSTED_CURSOR means "the cursor had returned all devices in previous calls", so
    there is nothing more to apply; EXPIRED_CURSOR and INVALID_CURSOR mean only a new fetch can continue,
    which runs at once (DESIGN.md rule 1: a fetch Apple requires is not held back by the 7-day rule).
    """
    token = run.token
    if token.sync_fetch_job_id is not None and token.sync_cursor:
        _full(run, client, token.sync_cursor, token.sync_fetch_job_id, "continues a fetch that stopped part-way")
        return
    if not token.sync_cursor:
        reason = "first sync of the token" if token.last_full_sync_at is None else "the cursor was reset"
        _full(run, client, None, run.job.pk, reason)
        return
    if run.job.kind == SyncKind.FULL:
        _full(run, client, None, run.job.pk, "")
        return
    try:
        _pages(run, client.sync_devices(token.sync_cursor), fetch_job_id=None)
    except CursorExhausted:
        logger.info("sync job %s: Apple reports no further changes (EXHAUSTED_CURSOR)", run.job.pk)
    except CursorError as error:
        logger.info("sync job %s: cursor rejected (%s); running the fetch Apple requires", run.job.pk, error.code)
        _full(run, client, None, run.job.pk, f"Apple rejected the cursor, {error.code}")


def _full(run: _Run, client, cursor: str | None, fetch_job_id: int, reason: str) -> None:
    listed_before = 0
    if fetch_job_id != run.job.pk:
        # Continuing: the devices the fetch listed in earlier jobs count for this one too.
        listed_before = (
            SyncJob.objects.filter(fetch_job_id=fetch_job_id).exclude(pk=run.job.pk).order_by("-pk")
            .values_list("devices_listed", flat=True).first() or 0
        )  # fmt: skip
    if not run.mine().update(
        ran_full=True, full_reason=reason[:200], fetch_job_id=fetch_job_id, devices_listed=listed_before
    ):
        raise JobTakenOver()
    run.none_stored = not Device.objects.filter(token_id=run.token.pk).exists()
    try:
        _pages(run, client.fetch_devices(cursor), fetch_job_id=fetch_job_id)
    except CursorExhausted:
        if cursor is None:
            raise
        # The stored fetch cursor had already returned every device: the fetch is complete.
    except CursorError as error:
        if cursor is None:
            raise
        logger.info("sync job %s: fetch cursor rejected (%s); fetching from the start", run.job.pk, error.code)
        _full(run, client, None, run.job.pk, f"Apple rejected the fetch cursor, {error.code}")
        return
    finally:
        all_new, run.none_stored = run.none_stored, False
    now = timezone.now()
    with transaction.atomic():
        if not run.mine().exists():
            raise JobTakenOver()
        # Every device of a token that had none came with this fetch, unless a page met one stored (and the
        # pages fell back to the lookup): then none is unlisted, and the scan of the token for them is skipped.
        removed = (
            0 if all_new else device_mark_unlisted_removed(token_id=run.token.pk, fetch_job_id=fetch_job_id, now=now)
        )
        run.mine().update(devices_removed=F("devices_removed") + removed)
        # A fetch is rare and reads everything anyway: recount exactly, whatever the pages counted.
        EnrollmentProgramToken.objects.filter(pk=run.token.pk).update(
            sync_fetch_job_id=None,
            last_full_sync_at=run.job.started_at,
            device_count=device_count_assigned(token_id=run.token.pk),
        )
    # The fetch saw Apple as it was when it began; what changed since (while it paged, or between the jobs of
    # a continued fetch) comes from a sync from its last cursor, as Apple's fetch-then-sync design intends.
    token_cursor = EnrollmentProgramToken.objects.filter(pk=run.token.pk).values_list("sync_cursor", flat=True).get()
    if token_cursor:
        try:
            _pages(run, client.sync_devices(token_cursor), fetch_job_id=None)
        except CursorExhausted:
            pass


def _pages(run: _Run, pages, *, fetch_job_id: int | None) -> None:
    """Write each page with its cursor while, on two other threads, the next pages are fetched and prepared.

    Three stages, so none waits for another's work: the fetch waits on Apple, the preparing is Python, the
    writing waits on the database (which releases the interpreter lock for the other two).
    """
    stop = threading.Event()
    fetched = _ahead(pages, stop, f"sync-{run.job.pk}-fetch")
    prepared = _ahead(_prepared(_drain(fetched, stop)), stop, f"sync-{run.job.pk}-prepare")
    try:
        for page, ready in _drain(prepared, stop, idle=lambda: _beat(run)):
            _apply(run, page, ready, fetch_job_id=fetch_job_id)
    finally:
        stop.set()
        for stage in (prepared, fetched):
            stage.thread.join(timeout=5)


def _prepared(pages):
    for page in pages:
        if page.more_to_follow:
            time.sleep(PREPARE_AFTER_S)
        yield page, device_prepare_apple_page(records=page.devices)


@dataclass
class _Stage:
    items: queue.Queue
    thread: threading.Thread


def _ahead(source, stop: threading.Event, name: str) -> _Stage:
    """Iterate `source` on a thread of its own, at most PAGES_AHEAD items ahead of the consumer (bounded memory)."""
    items: queue.Queue = queue.Queue(maxsize=PAGES_AHEAD)

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as error:  # handed to the consumer, which raises it in its own thread
            put(("error", error))

    # The stage logs Apple's retries and renewals: give it the task's log context (job and token ids).
    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=name, daemon=True)
    thread.start()
    return _Stage(items=items, thread=thread)


def _drain(stage: _Stage, stop: threading.Event, idle=None):
    """A stage's items in order; its error raised here. `idle` runs whenever HEARTBEAT_EVERY_S pass without one."""
    while not stop.is_set():
        try:
            kind, item = stage.items.get(timeout=HEARTBEAT_EVERY_S if idle else 1)
        except queue.Empty:
            if idle:
                idle()
            continue
        if kind == "done":
            return
        if kind == "error":
            raise item
        yield item


def _beat(run: _Run) -> None:
    now = timezone.now()
    if run.job.deadline_at and now > run.job.deadline_at:
        raise SyncTimedOut()
    if not run.mine().update(heartbeat_at=now):
        raise JobTakenOver()


def _apply(run: _Run, page, prepared: PreparedPage, *, fetch_job_id: int | None) -> None:
    """One page: device changes, the cursor after them and the job's counters commit together.

    A fetch into a token that had no devices writes its pages without looking their devices up (the lookup was
    7-10 ms of a page's 60-70). If a device is stored after all (Apple listed it on an earlier page), the
    insert is refused and the page rolls back whole; it is written again with the lookup, as are the rest.
    """
    if run.none_stored and fetch_job_id is not None:
        try:
            _write(run, page, prepared, fetch_job_id=fetch_job_id, none_stored=True)
            return
        except IntegrityError:
            logger.info("sync job %s: a device of the fetch is stored already; looking each one up", run.job.pk)
            run.none_stored = False
    _write(run, page, prepared, fetch_job_id=fetch_job_id, none_stored=False)


def _write(run: _Run, page, prepared: PreparedPage, *, fetch_job_id: int | None, none_stored: bool) -> None:
    now = timezone.now()
    if run.job.deadline_at and now > run.job.deadline_at:
        raise SyncTimedOut()
    with transaction.atomic():
        _commit_unflushed()
        result = device_apply_apple_page(
            token_id=run.token.pk,
            page=prepared,
            now=now,
            fetch_job_id=fetch_job_id,
            job_id=run.job.pk,
            none_stored=none_stored,
        )
        updates = {
            # An empty page (nothing changed since the cursor) only moves the cursor on.
            "pages": F("pages") + (1 if page.devices else 0),
            "devices_added": F("devices_added") + len(result.added),
            "devices_modified": F("devices_modified") + result.modified,
            "devices_removed": F("devices_removed") + result.removed,
            "devices_unchanged": F("devices_unchanged") + result.unchanged,
            "heartbeat_at": now,
        }
        if fetch_job_id is not None:
            updates["devices_listed"] = F("devices_listed") + result.listed
        if result.problems or result.refused:
            # Few pages have problems: only theirs read (and lock) the ones the job keeps so far.
            kept = run.mine().select_for_update().values_list("record_problems", flat=True).first()
            if kept is None:
                raise JobTakenOver()
            kept = kept[:RECORD_PROBLEMS_KEPT]
            updates.update(
                records_refused=F("records_refused") + result.refused,
                record_problem_count=F("record_problem_count") + len(result.problems),
                record_problems=kept + result.problems[: RECORD_PROBLEMS_KEPT - len(kept)],
            )
            for problem in result.problems[:5]:
                logger.warning(
                    "sync job %s: %s %s: %s", run.job.pk, problem["serial"], problem["field"], problem["problem"]
                )
        # The fence, after the devices: a job reaped or handed to another worker since the page began matches
        # nothing here, and the whole page rolls back. From here to the commit the row lock holds any takeover
        # off. (Locking the job row before the devices cost a round trip that met the next page's preparing on
        # the interpreter lock: 8 ms a page.)
        if not run.mine().update(**updates):
            raise JobTakenOver()
        EnrollmentProgramToken.objects.filter(pk=run.token.pk).update(
            sync_cursor=page.cursor,
            sync_fetch_job_id=fetch_job_id,
            device_count=Greatest(F("device_count") + result.assigned_delta, 0),
        )


def _commit_unflushed() -> None:
    """The page's commit does not wait for PostgreSQL to flush it to disk (synchronous_commit off): that wait was
    a quarter of a page's time.

    What this gives up is only the last moments of pages (PostgreSQL flushes within a few hundred milliseconds)
    should the database server itself crash, and those go with their cursors, so the next sync fetches them
    again: each page still commits whole, with its cursor, in order. A worker that crashes loses nothing that
    committed. SET LOCAL ends with the transaction: nothing else on the connection (or on a pooled server
    connection) is written this way.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _finish_succeeded(run: _Run) -> None:
    from syncjobs.tasks import syncjob_default_profile_task

    now = timezone.now()
    token = run.token
    with transaction.atomic():
        if not run.mine().update(state=SyncState.SUCCEEDED, finished_at=now):
            logger.warning("sync job %s: taken over before it could finish; left as it is", run.job.pk)
            return
        ran_full = SyncJob.objects.filter(pk=run.job.pk).values_list("ran_full", flat=True).get()
        updates = {"last_successful_sync_at": now, "last_error_code": "", "last_error_message": ""}
        if not ran_full:
            updates["last_delta_sync_at"] = now
        EnrollmentProgramToken.objects.filter(pk=token.pk).update(**updates)
        EnrollmentProgramToken.objects.filter(
            pk=token.pk, state__in=[TokenState.ERROR, TokenState.TERMS_NOT_ACCEPTED]
        ).update(state=TokenState.ACTIVE)
        # Rule 10, as its own job: devices that arrived without a profile get the default for their platform.
        if Device.objects.filter(token_id=token.pk, default_profile_pending=True).exists():
            transaction.on_commit(lambda: syncjob_default_profile_task.delay(run.job.pk))


DEFAULT_PROFILE_BATCH = 10_000


def syncjob_assign_default_profiles(*, job_id: int) -> int:
    """Give the token's default profile (per platform) to its devices that arrived without one; returns how many.

    Runs after the sync job that found them, in its own task, so a long assignment never holds the sync job's
    heartbeat or deadline. Devices stay marked until handled, so a crash here loses none of them.
    """
    job = SyncJob.objects.select_related("token").get(pk=job_id)
    assigned = 0
    while True:
        serials = list(
            Device.objects.filter(token_id=job.token_id, default_profile_pending=True)
            .order_by("pk")
            .values_list("serial_number", flat=True)[:DEFAULT_PROFILE_BATCH]
        )
        if not serials:
            break
        jobs = profile_assign_default_to_new_devices(token=job.token, serials=serials)
        assigned += sum(assignment.total for assignment in jobs)
        Device.objects.filter(token_id=job.token_id, serial_number__in=serials).update(default_profile_pending=False)
    if assigned:
        SyncJob.objects.filter(pk=job_id).update(default_profile_assigned=F("default_profile_assigned") + assigned)
    return assigned


def _finish_apple_error(run: _Run, error: AppleError) -> None:
    state = TokenState.ERROR
    if isinstance(error, TermsNotSigned):
        state = TokenState.TERMS_NOT_ACCEPTED
    message = error.message
    if isinstance(error, (AccessDenied, AuthenticationFailed)):
        message = f"{error.message} Renew the token if it was replaced at Apple."
    # Apple's own code when it sent one; otherwise the kind of failure, in the same UPPER_SNAKE style.
    code = error.code or re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).upper()
    _finish_failed(run, SyncState.FAILED, code, message, token_state=state)


def _finish_failed(run: _Run, state: str, code: str, message: str, *, token_state: str = TokenState.ERROR) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not run.mine().update(state=state, finished_at=now, error_code=code[:64], error_message=message):
            return
        EnrollmentProgramToken.objects.filter(pk=run.token.pk).update(
            state=token_state, last_error_code=code[:64], last_error_message=message
        )


def syncjob_reap() -> dict:
    """Time out jobs past their deadline (their worker died or hung) and hand stalled ones to a new worker."""
    from syncjobs.tasks import syncjob_run_task

    now = timezone.now()
    timed_out = SyncJob.objects.filter(state=SyncState.RUNNING, deadline_at__lt=now).update(
        state=SyncState.TIMED_OUT, finished_at=now, error_code="DEADLINE", error_message=_deadline_message()
    )
    never_started = SyncJob.objects.filter(
        state=SyncState.QUEUED, created_at__lt=now - timedelta(seconds=settings.DEP_SYNC_DEADLINE_S)
    ).update(
        state=SyncState.TIMED_OUT,
        finished_at=now,
        error_code="NOT_STARTED",
        error_message="No worker started this sync within its time; check that the workers are running.",
    )
    stalled = list(
        SyncJob.objects.filter(
            state=SyncState.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.DEP_SYNC_HEARTBEAT_LEASE_S)
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        syncjob_run_task.delay(job_id)
    return {"timed_out": timed_out + never_started, "resumed": len(stalled)}


def syncjob_schedule_due(*, now: datetime | None = None) -> dict:
    """Queue the daily delta sync of every token whose slot has come; slots are spread over the interval."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.DEP_DELTA_SYNC_INTERVAL_S)
    queued = refused = 0
    tokens = EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING).filter(
        Q(next_auto_sync_at__lte=now) | Q(next_auto_sync_at__isnull=True)
    )
    for token in tokens.iterator():
        if token.next_auto_sync_at is None:
            EnrollmentProgramToken.objects.filter(pk=token.pk).update(
                next_auto_sync_at=first_auto_sync_slot(token.pk, now)
            )
            continue
        try:
            syncjob_request(token=token, kind=SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE)
            queued += 1
        except SyncRefused:
            refused += 1
        missed = (now - token.next_auto_sync_at) // interval + 1
        # Step by whole intervals from the old slot, so a token keeps its place in the day.
        EnrollmentProgramToken.objects.filter(pk=token.pk).update(
            next_auto_sync_at=token.next_auto_sync_at + missed * interval
        )
    return {"queued": queued, "refused": refused}


@transaction.atomic
def token_sync_cursor_reset(*, actor, token: EnrollmentProgramToken) -> EnrollmentProgramToken:
    """Forget the stored cursor so the next sync is a full sync (still under the 7-day rule)."""
    if syncjob_active(token) is not None:
        raise ApplicationError("A sync of this token is running; reset the cursor when it has ended.")
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(sync_cursor="", sync_fetch_job_id=None)
    audit_record(actor=actor, action="reset_cursor", obj=token, scope_tags=list(token.scope_tags.all()))
    token.refresh_from_db()
    return token
