from django.db import models
from django.db.models import Exists, OuterRef, Q

from depportal.accounts.models import ScopeTag


class VppToken(models.Model):
    """An Apple Volume Purchase Program token, used to install Company Portal during enrollment."""

    name = models.CharField(max_length=128, unique=True)
    scope_tags = models.ManyToManyField(ScopeTag, related_name="vpp_tokens")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "VPP token"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, tag_ids) -> Q:
        through = cls.scope_tags.through
        return Q(Exists(through.objects.filter(vpptoken_id=OuterRef("pk"), scopetag_id__in=tag_ids)))
