from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from depportal.accounts.roles import CHANGE
from depportal.accounts.scoping import is_administrator
from depportal.api.permissions import RolePermission
from syncjobs import selectors
from syncjobs.api.serializers import SyncJobOutputSerializer, SyncRequestInputSerializer
from syncjobs.models import SyncJob, SyncKind, SyncTrigger
from syncjobs.services import syncjob_request, token_sync_cursor_reset
from tokens.api.serializers import TokenOutputSerializer
from tokens.models import EnrollmentProgramToken
from tokens.selectors import token_get


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


class TokenSyncViewSet(viewsets.GenericViewSet):
    """tokens/{id}/sync/ and tokens/{id}/reset-cursor/: the sync engine's actions on a token."""

    permission_classes = [RolePermission]
    queryset = EnrollmentProgramToken.objects.none()  # for the schema generator
    serializer_class = TokenOutputSerializer

    @extend_schema(
        request=SyncRequestInputSerializer,
        responses={202: SyncJobOutputSerializer, 429: OpenApiResponse(description="Not allowed now: rule and time")},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Start a sync. Refused with 429, Retry-After and the next allowed time when a rule forbids it."""
        token = token_get(user=request.user, pk=pk, action=CHANGE)
        data = SyncRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind = SyncKind.FULL if data.validated_data["kind"] == "full" else SyncKind.MANUAL
        job = syncjob_request(token=token, kind=kind, trigger=SyncTrigger.API, actor=request.user)
        return Response(SyncJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=TokenOutputSerializer)
    @action(detail=True, methods=["post"], url_path="reset-cursor")
    def reset_cursor(self, request, pk=None):
        """Forget the stored cursor: the next sync is a full sync (Administrators only; 7-day rule applies)."""
        token = token_get(user=request.user, pk=pk, action=CHANGE)
        if not is_administrator(request.user):
            raise PermissionDenied("Only Administrators may reset a token's cursor.")
        token = token_sync_cursor_reset(actor=request.user, token=token)
        return Response(TokenOutputSerializer(token).data)
