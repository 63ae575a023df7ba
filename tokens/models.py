from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from depportal.accounts.models import ScopeTag, tagged_q
from depportal.core.alerts import BADGES, expiry_level


class TokenState(models.TextChoices):
    PENDING = "pending", "Waiting for the server token"
    ACTIVE = "active", "Active"
    TERMS_NOT_ACCEPTED = "terms_not_accepted", "Terms and conditions not accepted"
    ERROR = "error", "Error"


class EnrollmentProgramToken(models.Model):
    """An Apple enrollment program (DEP) server token held by this portal.

    Created "pending" by the add-token wizard with a fresh key pair; becomes active when the .p7m that
    Apple encrypted to that key is uploaded and Apple accepts its credentials.
    """

    name = models.CharField(max_length=128, blank=True)
    apple_id = models.CharField("Apple ID", max_length=254, blank=True)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="tokens")
    state = models.CharField(max_length=24, choices=TokenState.choices, default=TokenState.PENDING, db_index=True)

    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The pending key pair belongs to one wizard; past this instant it can no longer be used.
    pending_expires_at = models.DateTimeField(null=True, blank=True)

    certificate_pem = models.TextField(help_text="The public key (.pem) uploaded to Apple Business Manager.")
    private_key_encrypted = models.TextField(editable=False)
    oauth_encrypted = models.TextField(blank=True, editable=False)
    access_token_expiry = models.DateTimeField(null=True, blank=True, db_index=True)

    server_name = models.CharField(max_length=255, blank=True)
    server_uuid = models.CharField(max_length=64, blank=True, db_index=True)
    admin_id = models.CharField(max_length=254, blank=True)
    org_name = models.CharField(max_length=255, blank=True)
    org_email = models.CharField(max_length=254, blank=True)
    org_phone = models.CharField(max_length=64, blank=True)
    org_address = models.TextField(blank=True)
    org_id = models.CharField(max_length=64, blank=True)
    org_type = models.CharField(max_length=16, blank=True)

    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)

    # Sync bookkeeping (syncjobs owns the rules). Apple cursors may be up to 1000 characters: a TextField
    # never truncates one. While a fetch (full sync) is part-way, the cursor is a fetch cursor and
    # sync_fetch_job_id names the job that began the fetch: every device the fetch lists, in any of the jobs
    # that continue it, is marked with that id. Empty afterwards, when the cursor is a sync cursor.
    sync_cursor = models.TextField(blank=True)
    sync_fetch_job_id = models.BigIntegerField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_delta_sync_at = models.DateTimeField(null=True, blank=True)
    last_manual_sync_at = models.DateTimeField(null=True, blank=True)
    last_successful_sync_at = models.DateTimeField(null=True, blank=True)
    next_auto_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    device_count = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    renewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    renewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "enrollment program token"
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=~Q(name=""), name="token_name_unique"),
            # One portal token per Apple MDM server: two would fight over the same devices and cursor.
            models.UniqueConstraint(fields=["server_uuid"], condition=~Q(server_uuid=""), name="token_server_unique"),
        ]

    def __str__(self) -> str:
        return self.name or f"New token #{self.pk}"

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return tagged_q(cls, tag_ids)

    @property
    def is_pending(self) -> bool:
        return self.state == TokenState.PENDING

    @property
    def pending_key_usable(self) -> bool:
        return self.is_pending and self.pending_expires_at is not None and self.pending_expires_at > timezone.now()

    @property
    def days_until_expiry(self) -> int | None:
        if self.access_token_expiry is None:
            return None
        return (self.access_token_expiry - timezone.now()) // timedelta(days=1)

    @property
    def is_expired(self) -> bool:
        return self.access_token_expiry is not None and self.access_token_expiry <= timezone.now()

    @property
    def status(self) -> tuple[str, str]:
        """(label, level) for lists and badges: the most urgent thing about the token."""
        if self.is_pending:
            return "Waiting for the server token", "info"
        if self.is_expired:
            return "Expired", "err"
        if self.state == TokenState.TERMS_NOT_ACCEPTED:
            return "Terms and conditions not accepted", "err"
        if self.state == TokenState.ERROR:
            return "Sync error", "err"
        days = self.days_until_expiry
        level = expiry_level(days)
        if level is not None:
            return f"Expiring in {days} day{'s' if days != 1 else ''}", BADGES[level]
        return "Active", "ok"
