from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from depportal.accounts.scoping import is_administrator
from depportal.api.permissions import IsAdministrator, RolePermission
from overview.alerts import selectors, services
from overview.alerts.api import serializers as s
from overview.alerts.display import webhook_url_for


class AlertViewSet(viewsets.GenericViewSet):
    """Current alerts of the tokens you may see, most urgent first (critical before warning)."""

    permission_classes = [RolePermission]
    serializer_class = s.AlertOutputSerializer
    filter_backends: list = []  # alerts are computed, not rows: nothing to filter in the database

    @extend_schema(responses=s.AlertOutputSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(selectors.alert_list(user=request.user))
        return self.get_paginated_response(s.AlertOutputSerializer(page, many=True).data)


class NotificationSettingsViewSet(viewsets.GenericViewSet):
    """Where alerts go. Anyone with a view role reads; Administrators change. The secret is never returned."""

    permission_classes = [IsAdministrator]
    serializer_class = s.NotificationSettingsOutputSerializer
    filter_backends: list = []

    def _output(self, config):
        data = s.NotificationSettingsOutputSerializer(config).data
        data["webhook_url"] = webhook_url_for(config.webhook_url, full=is_administrator(self.request.user))
        return data

    @extend_schema(responses=s.NotificationSettingsOutputSerializer)
    def retrieve(self, request):
        return Response(self._output(selectors.notification_settings_get()))

    @extend_schema(request=s.NotificationSettingsInputSerializer, responses=s.NotificationSettingsOutputSerializer)
    def partial_update(self, request):
        data = s.NotificationSettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.notification_settings_update(actor=request.user, **data.validated_data)
        return Response(self._output(config))

    @extend_schema(request=None, responses=s.NotificationTestOutputSerializer)
    def send_test(self, request):
        return Response(services.notification_test_send(actor=request.user))
