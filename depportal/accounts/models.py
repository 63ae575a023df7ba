from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

DEFAULT_SCOPE_TAG = "Default"


class ScopeTag(models.Model):
    """A label on tokens (and through them profiles and devices) that limits which admins see them."""

    name = models.CharField(max_length=128, unique=True)
    description = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_SCOPE_TAG

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        return Q(pk__in=tag_ids)


def tagged_q(model, tag_ids) -> Q:
    """Rows of `model` whose own `scope_tags` include one of `tag_ids` (an EXISTS on the through table)."""
    field = model._meta.get_field("scope_tags")
    links = field.remote_field.through.objects.filter(
        **{field.m2m_column_name(): OuterRef("pk"), f"{field.m2m_reverse_name()}__in": tag_ids}
    )
    return Q(Exists(links))


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    ENROLLMENT_MANAGER = "enrollment_manager", "Enrollment manager"
    READ_ONLY = "read_only", "Read-only operator"


class RoleAssignment(models.Model):
    """One role for one user, limited to the objects carrying one of its scope tags."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="role_assignments", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_assignment_per_user_and_role")]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class ApiToken(models.Model):
    """A per-user REST API key; only its SHA-256 is stored, the prefix identifies it in lists."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=128)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # None: never expires (tokens made on the command line for automation).
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired
