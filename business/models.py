"""The organisation's Apple School or Business Manager API connection, its inventory and device activities."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tokens.models import EnrollmentProgramToken


class ConnectionKind(models.TextChoices):
    BUSINESS = "business", "Apple Business Manager"
    SCHOOL = "school", "Apple School Manager"


class ConnectionState(models.TextChoices):
    ACTIVE = "active", "Connected"
    ERROR = "error", "Error"


class BusinessConnection(models.Model):
    """The one API account the portal uses for the organisation (ABM or ASM); the private key is sealed."""

    # A constant unique column: the database itself allows one connection per portal.
    organisation = models.CharField(max_length=8, default="org", unique=True, editable=False)
    kind = models.CharField(max_length=8, choices=ConnectionKind.choices)
    client_id = models.CharField("client ID", max_length=128)
    key_id = models.CharField("key ID", max_length=128)
    private_key_encrypted = models.TextField(editable=False)
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    webhook_id = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, choices=ConnectionState.choices, default=ConnectionState.ACTIVE)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    inventory_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The inventory refresh under way: set while one runs (one at a time, held by its heartbeat), with its
    # progress; the claim counter fences out a run whose lease another has taken over.
    inventory_refresh_started_at = models.DateTimeField(null=True, blank=True)
    inventory_refresh_heartbeat_at = models.DateTimeField(null=True, blank=True)
    inventory_refresh_pages = models.PositiveIntegerField(default=0)
    inventory_refresh_devices = models.PositiveIntegerField(default=0)
    inventory_refresh_attempt = models.PositiveIntegerField(default=0)
    inventory_refresh_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.client_id})"


class BusinessServer(models.Model):
    """A device management service (MDM server) of the organisation, linked to the portal token holding it."""

    connection = models.ForeignKey(BusinessConnection, on_delete=models.CASCADE, related_name="servers")
    apple_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    server_type = models.CharField(max_length=32, blank=True)
    token = models.ForeignKey(
        EnrollmentProgramToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="business_servers"
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["connection", "apple_id"], name="business_server_unique")]

    def __str__(self) -> str:
        return self.name


class OrgDevice(models.Model):
    """A device the organisation owns, as Apple's orgDevices resource lists it, and the server that has it."""

    connection = models.ForeignKey(BusinessConnection, on_delete=models.CASCADE, related_name="devices")
    serial_number = models.CharField(max_length=64)
    device_model = models.CharField(max_length=255, blank=True)
    product_family = models.CharField(max_length=32, blank=True, db_index=True)
    product_type = models.CharField(max_length=64, blank=True)
    capacity = models.CharField(max_length=32, blank=True)
    color = models.CharField(max_length=64, blank=True)
    part_number = models.CharField(max_length=64, blank=True)
    order_number = models.CharField(max_length=64, blank=True, db_index=True)
    order_date = models.DateTimeField(null=True, blank=True)
    purchase_source_type = models.CharField(max_length=32, blank=True)
    purchase_source_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, blank=True, db_index=True)
    added_to_org_at = models.DateTimeField(null=True, blank=True)
    updated_at_apple = models.DateTimeField(null=True, blank=True)
    # The device's MDM migration as Apple's orgDevices resource gives it (MdmMigrationStatus: REQUESTED,
    # STARTED, SUCCESS, FAILED); empty where Apple gives none.
    migration_status = models.CharField(max_length=16, blank=True)
    migration_deadline_at_apple = models.DateTimeField(null=True, blank=True)
    server = models.ForeignKey(BusinessServer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["serial_number"]
        constraints = [models.UniqueConstraint(fields=["connection", "serial_number"], name="org_device_unique")]
        indexes = [models.Index(fields=["server", "serial_number"], name="org_device_server_serial")]

    def __str__(self) -> str:
        return self.serial_number


class ActivityKind(models.TextChoices):
    ASSIGN = "assign", "Assign to server"
    UNASSIGN = "unassign", "Unassign"
    RELEASE = "release", "Release from organisation"
    UPDATE_DEADLINE = "update_deadline", "Change migration deadline"
    CANCEL_MIGRATION = "cancel_migration", "Cancel migration"


class ActivityState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "In progress at Apple"
    SUCCEEDED = "succeeded", "Completed"
    PARTIAL = "partial", "Completed with failures"
    FAILED = "failed", "Failed"


APPLE_ACTIVITY_TYPES = {
    ActivityKind.ASSIGN: "ASSIGN_DEVICES",
    ActivityKind.UNASSIGN: "UNASSIGN_DEVICES",
    ActivityKind.RELEASE: "RELEASE_DEVICES",
    ActivityKind.UPDATE_DEADLINE: "UPDATE_MDM_MIGRATION_DEADLINE",
    ActivityKind.CANCEL_MIGRATION: "CANCEL_MDM_MIGRATION",
}
# Assigning with a deadline is Apple's own activity type; ours stays "assign" with the deadline set.
ASSIGN_WITH_DEADLINE = "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE"


class DeviceActivity(models.Model):
    """One confirmed assign / unassign / release: Apple's activities for it, their progress and per-device results."""

    connection = models.ForeignKey(BusinessConnection, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    server = models.ForeignKey(BusinessServer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The MDM migration deadline of an assignment with migration, or the new one of "change deadline".
    migration_deadline = models.DateTimeField(null=True, blank=True)
    serials = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=ActivityState.choices, default=ActivityState.QUEUED)
    apple_activity_ids = models.JSONField(default=list)
    apple_status = models.CharField(max_length=255, blank=True)
    results = models.JSONField(default=dict)
    devices_done = models.PositiveIntegerField(default=0)
    devices_failed = models.PositiveIntegerField(default=0)
    synced_tokens = models.JSONField(default=list)
    error_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="assign") | Q(server__isnull=False), name="assign_activity_has_server"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {len(self.serials)} devices"

    @property
    def is_active(self) -> bool:
        return self.state in (ActivityState.QUEUED, ActivityState.RUNNING)


class WebhookSync(models.Model):
    """The debounce state of webhook-driven syncs: at most one per token per window."""

    token = models.OneToOneField(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="+")
    last_requested_at = models.DateTimeField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Webhook syncs of token {self.token_id}"
