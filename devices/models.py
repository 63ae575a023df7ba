from django.conf import settings
from django.db import models
from django.db.models import Q

from tokens.models import EnrollmentProgramToken


class ProfileStatus(models.TextChoices):
    EMPTY = "empty", "Empty"
    ASSIGNED = "assigned", "Assigned"
    PUSHED = "pushed", "Pushed"
    REMOVED = "removed", "Removed"


# Devices not deleted from the portal: every list query but the "deleted" view has this condition.
_LIVE = Q(deleted_here_at__isnull=True)


class Device(models.Model):
    """A device Apple assigns (or assigned) to a token's MDM server, as last reported by Apple.

    Scope tags are the token's: a device is visible to whoever may see its token.
    """

    # No index of its own: the unique (token, serial_number) index serves token lookups too.
    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="devices", db_index=False)
    serial_number = models.CharField(max_length=64)
    model = models.CharField(max_length=256, blank=True)
    description = models.CharField(max_length=256, blank=True)
    color = models.CharField(max_length=256, blank=True)
    asset_tag = models.CharField(max_length=256, blank=True)
    os = models.CharField(max_length=64, blank=True)
    device_family = models.CharField(max_length=64, blank=True)
    profile_status = models.CharField(max_length=16, choices=ProfileStatus.choices, default=ProfileStatus.EMPTY)
    profile_uuid = models.CharField(max_length=64, blank=True)
    profile_assign_time = models.DateTimeField(null=True, blank=True)
    profile_push_time = models.DateTimeField(null=True, blank=True)
    device_assigned_date = models.DateTimeField(null=True, blank=True)
    device_assigned_by = models.CharField(max_length=256, blank=True)
    op_type = models.CharField(max_length=16, blank=True)
    op_date = models.DateTimeField(null=True, blank=True)
    # Apple's newer fields (MAC addresses, IMEI, replacement flags, ...): kept as reported.
    extra = models.JSONField(default=dict, blank=True)

    # Profile assignment made here (profiles app): the profile we asked Apple for, Apple's last answer,
    # and when a THROTTLED or FAILED answer is retried (bounded attempts, never in a tight loop).
    assigned_profile = models.ForeignKey(
        "profiles.EnrollmentProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    assignment_action = models.CharField(max_length=16, blank=True)
    assignment_result = models.CharField(max_length=16, blank=True)
    assignment_result_at = models.DateTimeField(null=True, blank=True)
    assignment_attempts = models.PositiveSmallIntegerField(default=0)
    assignment_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # It arrived (new, or back after Apple removed it) without a profile: the sync's default-profile step gives
    # it the token's default profile for its platform, then clears this.
    default_profile_pending = models.BooleanField(default=False)
    # Apple stopped assigning it to this server (a `deleted` op, or absent from a full sync).
    removed_at = models.DateTimeField(null=True, blank=True)
    # Deleted from the portal by an admin; a delta sync must not bring it back, a full sync does.
    deleted_here_at = models.DateTimeField(null=True, blank=True)
    # The last full sync that listed it; after a full sync, devices it did not list are marked removed.
    full_sync_job_id = models.BigIntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial_number"]
        constraints = [models.UniqueConstraint(fields=["token", "serial_number"], name="device_serial_per_token")]
        # The list's keyset queries walk these in order (sort value, id) and stop after one page; see selectors.py.
        indexes = [
            models.Index(fields=["serial_number", "id"], name="device_serial_id_idx"),
            models.Index(fields=["profile_status", "serial_number", "id"], name="device_status_idx", condition=_LIVE),
            # removed_at included: a profile's devices are counted from the index alone (the default list
            # leaves removed devices out), not from one heap page per device.
            models.Index(
                fields=["assigned_profile", "profile_assign_time", "id"],
                name="device_profile_time_idx",
                condition=_LIVE,
                include=["removed_at"],
            ),
            models.Index(fields=["profile_assign_time", "id"], name="device_assign_time_idx", condition=_LIVE),
            models.Index(fields=["op_date", "id"], name="device_op_date_idx", condition=_LIVE),
            models.Index(fields=["first_seen_at", "id"], name="device_first_seen_idx", condition=_LIVE),
            models.Index(fields=["model", "id"], name="device_model_idx", condition=_LIVE),
            models.Index(fields=["asset_tag", "id"], name="device_asset_tag_idx", condition=_LIVE),
            models.Index(fields=["description", "id"], name="device_description_idx", condition=_LIVE),
            models.Index(
                fields=["token"], name="device_default_pending_idx", condition=Q(default_profile_pending=True)
            ),
            # Few rows: the devices whose profile assignment Apple refused for good (the alert counts them).
            models.Index(
                fields=["token"],
                name="device_assignment_gave_up_idx",
                condition=Q(assignment_result__in=["FAILED", "THROTTLED"], assignment_retry_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.serial_number

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return Q(token__in=EnrollmentProgramToken.objects.filter(EnrollmentProgramToken.scope_q(tag_ids)))


class DeviceOp(models.Model):
    """One change Apple reported for a device in a delta sync: the device's history of sync ops."""

    # No foreign key to Device: Apple may report ops for serials the portal never stored (a `deleted` op).
    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="+", db_index=False)
    serial_number = models.CharField(max_length=64)
    op_type = models.CharField(max_length=16)
    op_date = models.DateTimeField(null=True, blank=True)
    sync_job_id = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-op_date", "-pk"]
        indexes = [models.Index(fields=["token", "serial_number", "-op_date"], name="device_op_history_idx")]

    def __str__(self) -> str:
        return f"{self.serial_number} {self.op_type} {self.op_date}"


class DeviceListColumns(models.Model):
    """The device-list columns a user chose to see (the export uses the same ones)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_columns")
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} device columns"


class DeviceImport(models.Model):
    """A CSV of serial numbers checked against one token: a preview that changes nothing until confirmed."""

    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="device_imports")
    profile = models.ForeignKey(
        "profiles.EnrollmentProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    # One entry per input line: [line number, text as given, serial, outcome, reason].
    rows = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "profiles.AssignmentJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "device import"

    def __str__(self) -> str:
        return f"Import of {self.filename or 'pasted serial numbers'} for {self.token}"

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return Q(token__in=EnrollmentProgramToken.objects.filter(EnrollmentProgramToken.scope_q(tag_ids)))
