from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

SETTINGS_ROW_ID = 1


class NotificationSettings(models.Model):
    """Where alerts go: email recipients and an outbound webhook. A single row (id 1)."""

    email_enabled = models.BooleanField(default=False)
    email_recipients = models.TextField(blank=True, help_text="Comma-separated email addresses.")
    webhook_enabled = models.BooleanField(default=False)
    webhook_url = models.URLField(max_length=1000, blank=True)
    # Sealed with depportal.core.crypto; the console and API only ever say whether it is set.
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=SETTINGS_ROW_ID), name="notification_settings_single_row")
        ]

    def __str__(self) -> str:
        return "Notification settings"

    @property
    def webhook_secret_set(self) -> bool:
        return bool(self.webhook_secret_encrypted)

    @property
    def recipient_list(self) -> list[str]:
        return [item.strip() for item in self.email_recipients.split(",") if item.strip()]


class AlertDelivery(models.Model):
    """An alert that went out at a level; its row is what stops it going out again."""

    key = models.CharField(max_length=255)
    level = models.CharField(max_length=16)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "alert deliveries"
        constraints = [models.UniqueConstraint(fields=["key", "level"], name="alert_delivery_once_per_level")]

    def __str__(self) -> str:
        return f"{self.key} ({self.level})"
