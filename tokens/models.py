from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from depportal.accounts.models import ScopeTag


class EnrollmentProgramToken(models.Model):
    """An Apple enrollment program (DEP) server token held by this portal."""

    name = models.CharField(max_length=128, unique=True)
    apple_id = models.CharField("Apple ID", max_length=254, blank=True)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="tokens")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "enrollment program token"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        through = cls.scope_tags.through
        return Q(Exists(through.objects.filter(enrollmentprogramtoken_id=OuterRef("pk"), scopetag_id__in=tag_ids)))
