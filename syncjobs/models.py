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
    BUSINESS = "business", "Apple Business activity"
    WEBHOOK = "webhook", "Apple webhook"


class SyncState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"


ACTIVE_STATES = (SyncState.QUEUED, SyncState.RUNNING)


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
    # A manual or delta request that found no usable cursor ran as a full fetch.
    ran_full = models.BooleanField(default=False)

    pages = models.PositiveIntegerField(default=0)
    devices_added = models.PositiveIntegerField(default=0)
    devices_modified = models.PositiveIntegerField(default=0)
    devices_removed = models.PositiveIntegerField(default=0)
    devices_unchanged = models.PositiveIntegerField(default=0)
    default_profile_assigned = models.PositiveIntegerField(default=0)
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
    def devices_seen(self) -> int:
        return self.devices_added + self.devices_modified + self.devices_removed + self.devices_unchanged
