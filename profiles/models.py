from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from depportal.accounts.models import ScopeTag, tagged_q
from depportal.core.alerts import BADGES, expiry_level
from tokens.models import EnrollmentProgramToken


def max_profiles_per_token() -> int:
    """The seed's limit is 100 profiles per token (the default); Intune allows 1,000 today, so it is a setting."""
    return settings.DEP_MAX_PROFILES_PER_TOKEN


class Platform(models.TextChoices):
    IOS = "ios", "iOS/iPadOS"
    MACOS = "macos", "macOS"
    TVOS = "tvos", "tvOS"
    VISIONOS = "visionos", "visionOS"


class UserAffinity(models.TextChoices):
    WITH_USER = "with_user", "Enroll with User Affinity"
    WITHOUT_USER = "without_user", "Enroll without User Affinity"


class AuthMethod(models.TextChoices):
    COMPANY_PORTAL = "company_portal", "Company Portal"
    SETUP_ASSISTANT = "setup_assistant", "Setup Assistant"


class SyncWithComputers(models.TextChoices):
    DENY_ALL = "deny_all", "Deny All"
    ALLOW_ALL = "allow_all", "Allow All"
    CERTIFICATE = "certificate", "Allow Apple Configurator by certificate"


class PushStatus(models.TextChoices):
    NOT_PUSHED = "not_pushed", "Not pushed"
    PUSHED = "pushed", "Pushed"
    FAILED = "failed", "Push failed"


def _scope_via_token(tag_ids) -> Q:
    return Q(token__in=EnrollmentProgramToken.objects.filter(EnrollmentProgramToken.scope_q(tag_ids)))


class VppToken(models.Model):
    """An Apple Volume Purchase Program token, used to install Company Portal during enrollment."""

    name = models.CharField(max_length=128, unique=True)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="vpp_tokens")
    apple_id = models.CharField("Apple ID", max_length=254, blank=True)
    org_name = models.CharField(max_length=255, blank=True)
    # The sToken of the .vpptoken file: a credential for Apple's VPP service, so sealed at rest.
    s_token_encrypted = models.TextField(blank=True, editable=False)
    # SHA-256 of the sToken: finds a second upload of the same token without opening the sealed value.
    s_token_fingerprint = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Company Portal device licences, read from Apple's Apps and Books service (typed in only where it
    # cannot be reached: licenses_checked_at says which).
    cp_licenses_total = models.PositiveIntegerField("Company Portal licenses (total)", default=0)
    cp_licenses_used = models.PositiveIntegerField("Company Portal licenses (used)", default=0)
    location_name = models.CharField("Apps and Books location", max_length=255, blank=True)
    licenses_checked_at = models.DateTimeField(null=True, blank=True)
    licenses_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "VPP token"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return tagged_q(cls, tag_ids)

    @property
    def licenses_left(self) -> int:
        return max(0, self.cp_licenses_total - self.cp_licenses_used)

    @property
    def offer_label(self) -> str:
        """How pickers offer the token: its name, and why it would not install Company Portal."""
        if self.is_expired:
            return f"{self.name} (expired)"
        if self.licenses_left == 0:
            return f"{self.name} (no Company Portal licenses left)"
        return f"{self.name} ({self.licenses_left} Company Portal licenses left)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def days_until_expiry(self) -> int | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - timezone.now()) // timedelta(days=1)

    @property
    def status(self) -> tuple[str, str]:
        """(label, badge level) for the VPP token list, on the expiry rule its alerts use."""
        if self.is_expired:
            return "Expired", "err"
        if self.licenses_left == 0:
            return "No licenses left", "err"
        days = self.days_until_expiry
        level = expiry_level(days)
        if level is not None:
            return f"Expires in {days} day{'s' if days != 1 else ''}", BADGES[level]
        return "Active", "ok"


class ConfiguratorCertificate(models.Model):
    """An Apple Configurator host certificate: hosts holding it may pair with supervised devices."""

    name = models.CharField(max_length=128)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="configurator_certificates")
    certificate_der_b64 = models.TextField(editable=False)
    subject = models.CharField(max_length=512)
    issuer = models.CharField(max_length=512, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "Apple Configurator certificate"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return tagged_q(cls, tag_ids)

    @property
    def is_expired(self) -> bool:
        return self.not_after is not None and self.not_after <= timezone.now()


class EnrollmentProfile(models.Model):
    """An Apple enrollment profile of one token: every setting of the console's wizard, and its Apple copy.

    Apple profiles are immutable: each push defines a new one, whose UUID replaces `profile_uuid`.
    """

    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="profiles")
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.IOS)
    # Dynamic groups match enrollmentProfileName on this exact text, so it is stored as typed (trimmed).
    name = models.CharField(max_length=125)
    description = models.CharField(max_length=1024, blank=True)

    user_affinity = models.CharField(max_length=16, choices=UserAffinity.choices, default=UserAffinity.WITH_USER)
    auth_method = models.CharField(max_length=24, choices=AuthMethod.choices, default=AuthMethod.SETUP_ASSISTANT)
    install_company_portal = models.BooleanField(default=False)
    vpp_token = models.ForeignKey(VppToken, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles")
    single_app_mode = models.BooleanField(default=False)
    supervised = models.BooleanField(default=True)
    locked_enrollment = models.BooleanField(default=False)
    sync_with_computers = models.CharField(
        max_length=16, choices=SyncWithComputers.choices, default=SyncWithComputers.ALLOW_ALL
    )
    configurator_certificates = models.ManyToManyField(ConfiguratorCertificate, blank=True, related_name="profiles")
    await_final_configuration = models.BooleanField(default=True)
    apply_device_name_template = models.BooleanField(default=False)
    device_name_template = models.CharField(max_length=128, blank=True)

    department = models.CharField(max_length=125, blank=True)
    department_phone = models.CharField(max_length=50, blank=True)
    support_email = models.CharField(max_length=250, blank=True)
    org_magic = models.CharField(max_length=256, blank=True)
    # Preset in Setup Assistant (Apple: macOS 11+ and tvOS): ISO 639 language, ISO 3166-1 region.
    language = models.CharField(max_length=3, blank=True)
    region = models.CharField(max_length=2, blank=True)
    auto_advance_setup = models.BooleanField(default=False)
    shared_ipad = models.BooleanField(default=False)
    # Apple: all ADE enrollments are mandatory from iOS 13; earlier systems and Macs honour the flag.
    mandatory_enrollment = models.BooleanField(default=True)
    # Base64 DER certificates the device trusts for the MDM server URL (instead of the built-in roots).
    anchor_certs = models.JSONField(default=list, blank=True)
    # Apple's configuration_web_url: only sent when the admin has a web sign-in page for Setup Assistant.
    web_sign_in_url = models.CharField(max_length=2000, blank=True)
    do_not_use_profile_from_backup = models.BooleanField(default=False)
    return_to_service = models.BooleanField(default=False)
    # Apple skip keys of the Setup Assistant screens to hide (profiles.setup_screens lists them).
    skip_setup_items = models.JSONField(default=list, blank=True)

    is_default = models.BooleanField(default=False)

    profile_uuid = models.CharField(max_length=64, blank=True, db_index=True)
    push_status = models.CharField(max_length=16, choices=PushStatus.choices, default=PushStatus.NOT_PUSHED)
    pushed_at = models.DateTimeField(null=True, blank=True)
    push_error = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "enrollment profile"
        constraints = [
            models.UniqueConstraint(fields=["token", "name"], name="profile_name_per_token"),
            # One default per token and platform: the database refuses a second, whatever the race.
            models.UniqueConstraint(
                fields=["token", "platform"], condition=Q(is_default=True), name="profile_default_per_token_platform"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return _scope_via_token(tag_ids)


class JobAction(models.TextChoices):
    ASSIGN = "assign", "Assign"
    UNASSIGN = "unassign", "Unassign"
    REASSIGN = "reassign", "Re-assign after an edit"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


class AssignmentJob(models.Model):
    """One request to assign (or unassign) a profile to serial numbers, with progress and per-device results."""

    token = models.ForeignKey(EnrollmentProgramToken, on_delete=models.CASCADE, related_name="assignment_jobs")
    profile = models.ForeignKey(
        EnrollmentProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignment_jobs"
    )
    profile_name = models.CharField(max_length=125, blank=True)
    action = models.CharField(max_length=16, choices=JobAction.choices)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    serials = models.JSONField(default=list)
    unknown_serials = models.JSONField(default=list, blank=True)
    # {serial: SUCCESS | NOT_ACCESSIBLE | FAILED | THROTTLED}
    results = models.JSONField(default=dict, blank=True)
    # {serial: why the portal did not send it to Apple}: another platform, or (unassign) not this profile.
    refused = models.JSONField(default=dict, blank=True)
    # {serial: the profile Apple removed} for unassign jobs, as the device had it when asked.
    removed = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    retry_after_seconds = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "assignment job"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.profile_name} ({self.total} devices)"

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return _scope_via_token(tag_ids)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)

    @property
    def is_done(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    def counts(self) -> dict[str, int]:
        """How many devices ended in each Apple result."""
        tally: dict[str, int] = {}
        for status in self.results.values():
            tally[status] = tally.get(status, 0) + 1
        return tally
