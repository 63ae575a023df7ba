from django.conf import settings
from django.db import models
from django.db.models import Q

from tokens.models import EnrollmentProgramToken


class SyncKind(models.TextChoices):
    FULL = "full", "Full"
    DELTA = "delta", "Delta"
    MANUAL = "manual", "Manual"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    CONSOLE = "console", "Console"
    API = "api", "API"
    CLI = "cli", "Command line"
    SETUP = "setup", "Token added"
    BUSINESS = "business", "Apple Business activity"
    WEBHOOK = "webhook", "Apple webhook"


class SyncState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"


ACTIVE_STATES = (SyncState.QUEUED, SyncState.RUNNING)
# Triggers of an admin's own request: these share the 15-minute window (Sync and Full sync alike).
ADMIN_TRIGGERS = (SyncTrigger.CONSOLE, SyncTrigger.API, SyncTrigger.CLI)
RECORD_PROBLEMS_KEPT = 50


class SyncJob(models.Model):
    """One sync of a token's devices with Apple: its rule, its progress and its outcome."""

    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="sync_jobs")
    kind = models.CharField(max_length=8, choices=SyncKind.choices)
    trigger = models.CharField(max_length=8, choices=SyncTrigger.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Each claim of the job by a worker counts up; writes carry the count they were claimed with, so a worker
    # whose job was reaped or handed on can never write a page or finish the job (a fencing token).
    attempt = models.PositiveIntegerField(default=0)
    # The job ran (or continued) a fetch of every device; full_reason says why when it was not asked for.
    ran_full = models.BooleanField(default=False)
    full_reason = models.CharField(max_length=200, blank=True)
    # The job that began the fetch this job took part in (itself, or an earlier job it continued).
    fetch_job_id = models.BigIntegerField(null=True, blank=True)
    # Devices the fetch listed so far, across every job that took part in it.
    devices_listed = models.PositiveIntegerField(default=0)

    pages = models.PositiveIntegerField(default=0)
    devices_added = models.PositiveIntegerField(default=0)
    devices_modified = models.PositiveIntegerField(default=0)
    devices_removed = models.PositiveIntegerField(default=0)
    devices_unchanged = models.PositiveIntegerField(default=0)
    default_profile_assigned = models.PositiveIntegerField(default=0)
    # Apple records the portal could not store as sent: refused ones (no usable serial) and cleaned fields,
    # each {"serial", "field", "problem"}; the first RECORD_PROBLEMS_KEPT are kept, all are counted.
    records_refused = models.PositiveIntegerField(default=0)
    record_problems = models.JSONField(default=list, blank=True)
    record_problem_count = models.PositiveIntegerField(default=0)
    estimated_total = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The database itself forbids a second active sync of a token, whatever races above it.
            models.UniqueConstraint(
                fields=["token"], condition=Q(state__in=["queued", "running"]), name="one_active_sync_per_token"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync of {self.token} ({self.get_state_display()})"

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return Q(token__in=EnrollmentProgramToken.objects.filter(EnrollmentProgramToken.scope_q(tag_ids)))

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def progress_estimate(self) -> int | None:
        """ "About N" for a fetch's progress: the token's count before it, while the fetch has not passed it."""
        if not self.ran_full or not self.estimated_total or self.devices_listed > self.estimated_total:
            return None
        return self.estimated_total

    @property
    def devices_seen(self) -> int:
        return self.devices_added + self.devices_modified + self.devices_removed + self.devices_unchanged
