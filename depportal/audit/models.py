from django.conf import settings
from django.db import models
from django.db.models import Q

from depportal.accounts.models import ScopeTag, tagged_q


class AuditEvent(models.Model):
    """An immutable record of one change: who, what, on which object, when and from where."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept as text too, so the trail still names the actor after the account is deleted.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="+", blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_repr}"

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return tagged_q(cls, tag_ids)
