"""The throttle rules of DESIGN.md (sync rules 1-4, 6): when may a token sync, and if not, why and until when."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from syncjobs.models import ADMIN_TRIGGERS, SyncJob, SyncKind, SyncTrigger
from tokens.models import EnrollmentProgramToken


@dataclass(frozen=True)
class Refusal:
    """Why a sync may not run now, and the earliest time it may (None: not until something changes)."""

    rule: str
    message: str
    next_allowed_at: datetime | None

    def retry_after(self, now: datetime) -> int:
        if self.next_allowed_at is None:
            return settings.DEP_SYNC_DEADLINE_S
        return max(1, int((self.next_allowed_at - now).total_seconds() + 0.999))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def full_sync_refusal(token: EnrollmentProgramToken, now: datetime) -> Refusal | None:
    """Apple's rule: a full fetch at most once every 7 days (by default)."""
    if token.last_full_sync_at is None:
        return None
    allowed = token.last_full_sync_at + timedelta(seconds=settings.DEP_FULL_SYNC_MIN_INTERVAL_S)
    if now >= allowed:
        return None
    return Refusal(
        "full_sync_interval",
        f"A full sync runs at most once every {settings.DEP_FULL_SYNC_MIN_INTERVAL_S // 86400} days; "
        f"the last one ran {_when(token.last_full_sync_at)}. The next is possible from {_when(allowed)}.",
        allowed,
    )


def sync_refusal(
    token: EnrollmentProgramToken,
    kind: str,
    now: datetime,
    active_job: SyncJob | None,
    *,
    trigger: str = SyncTrigger.CONSOLE,
) -> Refusal | None:
    """None when a sync of this kind may start now; otherwise the rule that forbids it.

    An admin's Sync and Full sync share one window (the seed: one admin sync per 15 minutes); the token's
    own first sync and the schedule do not use it up.
    """
    if token.is_pending:
        return Refusal("token_not_ready", "This token is not set up yet: finish adding it first.", None)
    if token.is_expired:
        return Refusal(
            "token_expired", "This token has expired. Renew it with a new server token from Apple first.", None
        )
    if active_job is not None:
        kind_label, state_label = active_job.get_kind_display().lower(), active_job.get_state_display().lower()
        return Refusal(
            "sync_in_progress",
            f"A {kind_label} sync of this token is {state_label}; a new one can start when it ends.",
            active_job.deadline_at,
        )
    refusals = [full_sync_refusal(token, now)] if kind == SyncKind.FULL else []
    if trigger in ADMIN_TRIGGERS and token.last_manual_sync_at is not None:
        allowed = token.last_manual_sync_at + timedelta(seconds=settings.DEP_MANUAL_SYNC_MIN_INTERVAL_S)
        if now < allowed:
            minutes = settings.DEP_MANUAL_SYNC_MIN_INTERVAL_S // 60
            refusals.append(
                Refusal(
                    "manual_sync_interval",
                    f"Sync and Full sync run at most once every {minutes} minutes together; they can be used "
                    f"again at {_when(allowed)}.",
                    allowed,
                )
            )
    # Where both rules hold, the one that ends later is the one to tell: that is when the sync may run.
    return max((r for r in refusals if r is not None), key=lambda r: r.next_allowed_at, default=None)


def first_auto_sync_slot(token_id: int, now: datetime) -> datetime:
    """A token's fixed place in the daily sync interval (golden-ratio spacing spreads any number evenly)."""
    interval = settings.DEP_DELTA_SYNC_INTERVAL_S
    offset = timedelta(seconds=(token_id * 0.6180339887498949 % 1.0) * interval)
    slot = now.replace(hour=0, minute=0, second=0, microsecond=0) + offset
    while slot <= now:
        slot += timedelta(seconds=interval)
    return slot
