from rest_framework import viewsets

from depportal.accounts.scoping import scoped
from depportal.api.permissions import RolePermission
from depportal.audit.api.serializers import AuditEventOutputSerializer
from depportal.audit.filters import AuditEventFilterSet
from depportal.audit.models import AuditEvent


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, read-only: events on objects within your scope tags, newest first."""

    permission_classes = [RolePermission]
    serializer_class = AuditEventOutputSerializer
    filterset_class = AuditEventFilterSet

    def get_queryset(self):
        return scoped(AuditEvent.objects.all(), self.request.user).prefetch_related("scope_tags")
