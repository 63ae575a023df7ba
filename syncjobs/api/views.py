from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from depportal.api.permissions import RolePermission
from syncjobs import selectors
from syncjobs.api.serializers import SyncJobOutputSerializer
from syncjobs.models import SyncJob


class SyncJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sync history with live progress; filter with ?token=<id>."""

    permission_classes = [RolePermission]
    serializer_class = SyncJobOutputSerializer
    queryset = SyncJob.objects.none()  # for the schema generator

    def get_queryset(self):
        token = self.request.query_params.get("token")
        return selectors.syncjob_list(
            user=self.request.user, token_id=int(token) if token and token.isdigit() else None
        )

    @extend_schema(parameters=[OpenApiParameter("token", int, description="Only this token's jobs")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, pk=None):
        return Response(SyncJobOutputSerializer(selectors.syncjob_get(user=request.user, pk=pk)).data)
