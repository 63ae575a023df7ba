"""The sync engine: request a sync under the throttle rules, run it page by page, reap what died.

Invariants (DESIGN.md sync rules): one active job per token (row lock + a partial unique constraint);
each page's device changes commit together with the cursor after it; a job is claimed with a
conditional update and kept alive by a heartbeat, so a redelivered task never runs a job twice.
"""

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
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
from depportal.exceptions import ApplicationError
from devices.services import device_apply_apple_page, device_count_assigned, device_mark_unlisted_removed
from profiles.services import profile_assign_default_to_new_devices
from syncjobs.models import ACTIVE_STATES, SyncJob, SyncKind, SyncState, SyncTrigger
from syncjobs.policy import Refusal, first_auto_sync_slot, full_sync_refusal, sync_refusal
from tokens.models import EnrollmentProgramToken, TokenState
from tokens.services import token_client

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 15
# Pages fetched ahead while the current one is written: enough to hide Apple's latency, bounded memory.
PAGES_AHEAD = 2


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
        refusal = sync_refusal(token, kind, now, syncjob_active(token))
        if refusal is None and kind != SyncKind.FULL and not token.sync_cursor:
            # No cursor yet (a new token, or one reset): this sync has to be a full fetch.
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
            raise SyncRefused(sync_refusal(token, kind, now, syncjob_active(token)), now) from None
        if kind == SyncKind.MANUAL:
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


def syncjob_claim(job_id: int) -> SyncJob | None:
    """Take the job for this worker: a queued job, or a running one whose worker stopped beating."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DEP_SYNC_HEARTBEAT_LEASE_S)
    claimed = (
        SyncJob.objects.filter(pk=job_id)
        .filter(Q(state=SyncState.QUEUED) | Q(state=SyncState.RUNNING, heartbeat_at__lt=stale))
        .update(state=SyncState.RUNNING, heartbeat_at=now)
    )
    if not claimed:
        return None
    SyncJob.objects.filter(pk=job_id, started_at__isnull=True).update(
        started_at=now, deadline_at=now + timedelta(seconds=settings.DEP_SYNC_DEADLINE_S)
    )
    return SyncJob.objects.select_related("token").get(pk=job_id)


class SyncTimedOut(Exception):
    pass


@dataclass
class _Run:
    job: SyncJob
    token: EnrollmentProgramToken
    added: list[str] = field(default_factory=list)


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
        _assign_default_profile(run)
    except SyncTimedOut:
        _finish_failed(run, SyncState.TIMED_OUT, "DEADLINE", _deadline_message())
    except SyncRefused as refused:
        _finish_failed(run, SyncState.FAILED, refused.refusal.rule.upper(), refused.message)
    except AppleError as error:
        _finish_apple_error(run, error)
    except Exception as error:  # the job must end in a state; the traceback goes to the log
        logger.exception("sync job %s failed", job_id)
        _finish_failed(run, SyncState.FAILED, "INTERNAL_ERROR", f"The sync stopped on an internal error: {error}")
    else:
        _finish_succeeded(run)
    finally:
        client.close()
    job.refresh_from_db()
    return {"job": job.pk, "status": job.state, "pages": job.pages, "added": job.devices_added}


def _deadline_message() -> str:
    return f"The sync did not finish within its {settings.DEP_SYNC_DEADLINE_S // 60} minutes and was stopped."


def _sync(run: _Run, client) -> None:
    token = run.token
    resuming_fetch = token.sync_cursor_is_fetch and bool(token.sync_cursor)
    if run.job.kind == SyncKind.FULL or not token.sync_cursor or resuming_fetch:
        _full(run, client, token.sync_cursor if resuming_fetch else None)
        return
    try:
        _pages(run, client.sync_devices(token.sync_cursor), full=False)
    except CursorError as error:
        if isinstance(error, CursorExhausted):
            raise
        refusal = full_sync_refusal(run.token, timezone.now())
        if refusal is not None:
            raise SyncRefused(
                Refusal(
                    "cursor_rejected",
                    f"Apple no longer accepts this token's cursor ({error.code}), so only a full sync can "
                    f"continue. {refusal.message}",
                    refusal.next_allowed_at,
                ),
                timezone.now(),
            ) from None
        logger.info("sync job %s: cursor rejected (%s); running a full sync", run.job.pk, error.code)
        _full(run, client, None)


def _full(run: _Run, client, cursor: str | None) -> None:
    SyncJob.objects.filter(pk=run.job.pk).update(ran_full=True)
    try:
        _pages(run, client.fetch_devices(cursor), full=True)
    except CursorExhausted:
        pass  # a resumed fetch whose cursor had already returned everything: the fetch is complete
    now = timezone.now()
    with transaction.atomic():
        removed = device_mark_unlisted_removed(token_id=run.token.pk, full_sync_job_id=run.job.pk, now=now)
        SyncJob.objects.filter(pk=run.job.pk).update(devices_removed=F("devices_removed") + removed)
        # A full sync is rare and reads everything anyway: recount exactly, whatever the pages counted.
        EnrollmentProgramToken.objects.filter(pk=run.token.pk).update(
            sync_cursor_is_fetch=False,
            last_full_sync_at=run.job.started_at,
            device_count=device_count_assigned(token_id=run.token.pk),
        )


def _pages(run: _Run, pages, *, full: bool) -> None:
    """Write each page with its cursor while the next pages are fetched on another thread."""
    ahead: queue.Queue = queue.Queue(maxsize=PAGES_AHEAD)
    stop = threading.Event()

    def fetch():
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        ahead.put(("page", page), timeout=1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(("done", None))
        except BaseException as error:  # handed to the writer, which raises it in the job's thread
            ahead.put(("error", error))

    fetcher = threading.Thread(target=fetch, name=f"sync-{run.job.pk}-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            try:
                kind, item = ahead.get(timeout=HEARTBEAT_EVERY_S)
            except queue.Empty:
                _beat(run)
                continue
            if kind == "done":
                return
            if kind == "error":
                raise item
            _apply(run, item, full=full)
    finally:
        stop.set()
        fetcher.join(timeout=5)


def _assign_default_profile(run: _Run) -> None:
    """Rule 10: new devices of a token with a default profile get it at Apple (results recorded per device)."""
    if not run.added:
        return
    jobs = profile_assign_default_to_new_devices(token=run.token, serials=run.added)
    SyncJob.objects.filter(pk=run.job.pk).update(default_profile_assigned=sum(job.total for job in jobs))


def _beat(run: _Run) -> None:
    now = timezone.now()
    if run.job.deadline_at and now > run.job.deadline_at:
        raise SyncTimedOut()
    SyncJob.objects.filter(pk=run.job.pk).update(heartbeat_at=now)


def _apply(run: _Run, page, *, full: bool) -> None:
    """One page: device changes, the cursor after them and the job's counters commit together."""
    now = timezone.now()
    if run.job.deadline_at and now > run.job.deadline_at:
        raise SyncTimedOut()
    with transaction.atomic():
        result = device_apply_apple_page(
            token_id=run.token.pk,
            records=page.devices,
            now=now,
            full_sync_job_id=run.job.pk if full else None,
            job_id=run.job.pk,
        )
        EnrollmentProgramToken.objects.filter(pk=run.token.pk).update(
            sync_cursor=page.cursor,
            sync_cursor_is_fetch=full,
            device_count=Greatest(F("device_count") + result.assigned_delta, 0),
        )
        SyncJob.objects.filter(pk=run.job.pk).update(
            pages=F("pages") + 1,
            devices_added=F("devices_added") + len(result.added),
            devices_modified=F("devices_modified") + result.modified,
            devices_removed=F("devices_removed") + result.removed,
            devices_unchanged=F("devices_unchanged") + result.unchanged,
            heartbeat_at=now,
        )
    run.added.extend(result.added)


def _finish_succeeded(run: _Run) -> None:
    now = timezone.now()
    token = run.token
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=run.job.pk)
        updates = {"last_successful_sync_at": now, "last_error_code": "", "last_error_message": ""}
        if not job.ran_full:
            updates["last_delta_sync_at"] = now
        EnrollmentProgramToken.objects.filter(pk=token.pk).update(**updates)
        EnrollmentProgramToken.objects.filter(
            pk=token.pk, state__in=[TokenState.ERROR, TokenState.TERMS_NOT_ACCEPTED]
        ).update(state=TokenState.ACTIVE)
        job.state = SyncState.SUCCEEDED
        job.finished_at = now
        job.save(update_fields=["state", "finished_at"])


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
        SyncJob.objects.filter(pk=run.job.pk, state=SyncState.RUNNING).update(
            state=state, finished_at=now, error_code=code[:64], error_message=message
        )
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
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(sync_cursor="", sync_cursor_is_fetch=False)
    audit_record(actor=actor, action="reset_cursor", obj=token, scope_tags=list(token.scope_tags.all()))
    token.refresh_from_db()
    return token
