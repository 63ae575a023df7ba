"""REST for the Apple Business connection: the same services, rules and errors as the console."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from business import selectors, services
from business.api import serializers as s
from business.models import BusinessServer, DeviceActivity, OrgDevice
from depportal.api.permissions import AdministratorOnly
from depportal.core.exceptions import ApplicationError


def _connection():
    connection = services.connection_get()
    if connection is None:
        raise NotFound("The organisation is not connected to Apple Business Manager or Apple School Manager.")
    return connection


class ConnectionViewSet(viewsets.ViewSet):
    """The organisation's API account (one per portal). The private key is write-only."""

    permission_classes = [AdministratorOnly]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=s.ConnectionOutputSerializer)
    def retrieve(self, request):
        return Response(s.ConnectionOutputSerializer(_connection()).data)

    @extend_schema(
        request={"multipart/form-data": s.ConnectionInputSerializer}, responses={201: s.ConnectionOutputSerializer}
    )
    def create(self, request):
        data = s.ConnectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.connection_create(
            actor=request.user,
            client_id=data.validated_data["client_id"],
            key_id=data.validated_data["key_id"],
            private_key=data.validated_data["private_key"].read(services.MAX_KEY_FILE_BYTES + 1),
        )
        return Response(s.ConnectionOutputSerializer(connection).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request):
        services.connection_delete(actor=request.user, connection=_connection())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.ConnectionOutputSerializer)
    def validate(self, request):
        """Get a new access token now; the connection's state says whether Apple accepted it."""
        connection = services.connection_validate(actor=request.user, connection=_connection())
        return Response(s.ConnectionOutputSerializer(connection).data)

    @extend_schema(request=None, responses={202: s.ConnectionOutputSerializer})
    def refresh(self, request):
        """Read the organisation's inventory from Apple again (in the background; 409 while one runs).

        Its progress is `inventory_refresh` of the connection."""
        connection = services.inventory_refresh_request(actor=request.user, connection=_connection())
        return Response(s.ConnectionOutputSerializer(connection).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.WebhookInputSerializer, responses=s.ConnectionOutputSerializer)
    def webhook(self, request):
        """Register this portal's receiver with Apple for device events."""
        data = s.WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.webhook_enable(
            actor=request.user, connection=_connection(), url=data.validated_data["url"]
        )
        return Response(s.ConnectionOutputSerializer(connection).data)


class BusinessServerViewSet(viewsets.GenericViewSet):
    """The organisation's MDM servers and the portal token holding each (null: not held here)."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.ServerSerializer
    queryset = BusinessServer.objects.none()
    pagination_class = None

    def list(self, request):
        return Response(s.ServerSerializer(selectors.server_list(_connection()), many=True).data)


class OrgDeviceViewSet(viewsets.GenericViewSet):
    """The organisation's inventory in keyset pages: pass `next` back as `cursor`. Devices are named by serial."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.OrgDeviceSerializer
    queryset = OrgDevice.objects.none()
    pagination_class = None
    lookup_value_regex = "[A-Za-z0-9]+"

    @extend_schema(responses=s.AppleCareSerializer(many=True))
    @action(detail=True, methods=["get"])
    def applecare(self, request, pk=None):
        """The device's AppleCare coverage as Apple reports it now."""
        coverages = services.device_apple_care(connection=_connection(), serial=(pk or "").upper())
        return Response(s.AppleCareSerializer(coverages, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Serial number prefix, or an exact order number"),
            OpenApiParameter("status", str, enum=["ASSIGNED", "UNASSIGNED"]),
            OpenApiParameter("server", int),
            OpenApiParameter("holder", str, enum=list(selectors.HOLDERS)),
            OpenApiParameter("family", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int, description=f"At most {selectors.MAX_PAGE_SIZE}"),
        ]
    )
    def list(self, request):
        params = request.query_params
        devices = selectors.inventory_queryset(
            _connection(), **{key: params.get(key, "") for key in ("search", "status", "server", "holder", "family")}
        )
        try:
            size = int(params.get("limit", selectors.PAGE_SIZE))
        except ValueError:
            raise ApplicationError("limit must be a number.", fields={"limit": ["Enter a whole number."]}) from None
        page = selectors.inventory_page(devices, cursor=params.get("cursor", ""), size=size)
        return Response({"results": s.OrgDeviceSerializer(page.rows, many=True).data, "next": page.next_cursor})


class DeviceActivityViewSet(viewsets.GenericViewSet):
    """Assign, unassign or release devices: preview first, then create with confirm=true; poll the result."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.ActivityOutputSerializer
    queryset = DeviceActivity.objects.none()

    def _server(self, connection, server_id):
        if server_id is None:
            return None
        server = selectors.server_get(connection, server_id)
        if server is None:
            raise ApplicationError("No such MDM server.", fields={"server": ["No such MDM server."]})
        return server

    @extend_schema(request=s.ActivityInputSerializer, responses=s.PreviewOutputSerializer)
    def preview(self, request):
        connection = _connection()
        data = s.ActivityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preview = services.activity_preview(
            connection=connection,
            kind=data.validated_data["kind"],
            server=self._server(connection, data.validated_data.get("server")),
            serials=data.validated_data["serials"],
            order_number=data.validated_data["order_number"],
            migration_deadline=data.validated_data["migration_deadline"],
        )
        return Response(
            {
                "kind": preview["kind"],
                "server": preview["server"].pk if preview["server"] else None,
                "serials": preview["serials"],
                "unchanged": preview["unchanged"],
                "unknown": preview["unknown"],
                "by_source": dict(preview["by_source"]),
                "migration_deadline": preview["migration_deadline"],
            }
        )

    @extend_schema(request=s.ActivityCreateSerializer, responses={201: s.ActivityOutputSerializer})
    def create(self, request):
        connection = _connection()
        data = s.ActivityCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise ApplicationError(
                "Set confirm to true: this changes which MDM server Apple gives the devices to "
                "(releasing removes them from the organisation for good).",
                fields={"confirm": ["Must be true."]},
            )
        server = self._server(connection, data.validated_data.get("server"))
        serials = data.validated_data["serials"]
        if data.validated_data["order_number"]:
            serials = services.activity_preview(
                connection=connection,
                kind=data.validated_data["kind"],
                server=server,
                order_number=data.validated_data["order_number"],
                migration_deadline=data.validated_data["migration_deadline"],
            )["serials"]
        activity = services.activity_start(
            actor=request.user,
            connection=connection,
            kind=data.validated_data["kind"],
            server=server,
            serials=serials,
            migration_deadline=data.validated_data["migration_deadline"],
        )
        return Response(s.ActivityOutputSerializer(activity).data, status=status.HTTP_201_CREATED)

    def list(self, request):
        activities = selectors.activity_list(_connection())
        page = self.paginate_queryset(activities)
        return self.get_paginated_response(s.ActivityOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        activity = selectors.activity_get(_connection(), pk)
        if activity is None:
            raise NotFound("No such activity.")
        return Response(s.ActivityOutputSerializer(activity).data)
