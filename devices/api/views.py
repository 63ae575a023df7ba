from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from depportal.accounts.roles import CHANGE
from depportal.api.pagination import whole_number_param
from depportal.api.permissions import RolePermission
from depportal.api.schema import AutoSchema
from depportal.core.spreadsheet import CSV_CONTENT_TYPE
from devices import selectors, services
from devices.api.serializers import (
    DeviceDetailSerializer,
    DevicePageSerializer,
    DeviceSerializer,
    RestoreSerializer,
    device_row_data,
)
from devices.columns import COLUMNS, DEFAULT_COLUMNS, clean_columns
from devices.filters import DeviceFilter
from devices.models import Device

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_FILTER_PARAMETERS = [
    OpenApiParameter(name, description=str(flt.label or name), required=False, type=str)
    for name, flt in DeviceFilter.base_filters.items()
] + [
    OpenApiParameter(
        "ordering", description="A column key, `-` first for descending: " + ", ".join(c.key for c in COLUMNS)
    ),
]


class _KeysetPageSchema(AutoSchema):
    """The list answers one page object (count, next, previous, results), not the bare array a list implies."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class CSVRenderer(renderers.BaseRenderer):
    """Lets clients ask for text/csv; the export view streams its own body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return str(data).encode()


def _filtered(request):
    params = request.query_params.copy()
    for name in ("cursor", "limit", "ordering", "columns"):
        params.pop(name, None)
    filterset = selectors.device_filter(params, user=request.user, request=request)
    if not filterset.is_valid():
        raise exceptions.ValidationError(filterset.errors)
    return filterset.qs


class DeviceViewSet(viewsets.GenericViewSet):
    """Synced devices, scoped by the user's scope tags: the console list's filters, keyset (cursor) pages.

    DELETE removes a device from the portal only (a tombstone): unassign it from the MDM server in Apple Business
    Manager first, or the next full sync brings it back. POST /devices/restore/ removes tombstones.
    """

    permission_classes = [RolePermission]
    queryset = Device.objects.none()
    serializer_class = DeviceSerializer
    lookup_value_regex = r"\d+"
    schema = _KeysetPageSchema()
    pagination_class = None
    filter_backends = []

    @extend_schema(
        parameters=[
            *_FILTER_PARAMETERS,
            OpenApiParameter("cursor", description="The `next` or `previous` cursor of a page."),
            OpenApiParameter("limit", int, description=f"Page size, at most {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
        ],
        responses=DevicePageSerializer,
        operation_id="v1_devices_list",
    )
    def list(self, request):
        """Devices matching the filters, one keyset page at a time (follow `next`)."""
        queryset = _filtered(request)
        limit = whole_number_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        ordering = request.query_params.get("ordering", "")
        page = selectors.device_page(
            queryset, ordering=ordering, cursor=request.query_params.get("cursor", ""), size=limit
        )
        count = selectors.device_count(queryset, page)
        return Response(
            {
                "count": count.value,
                "count_is_estimate": count.estimated,
                "next": _page_url(request, page.next_cursor),
                "previous": _page_url(request, page.previous_cursor),
                "results": [device_row_data(row) for row in page.rows],
            }
        )

    @extend_schema(responses=DeviceDetailSerializer)
    def retrieve(self, request, pk=None):
        """One device with everything Apple reported."""
        return Response(DeviceDetailSerializer(selectors.device_get(user=request.user, pk=pk)).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted from the portal (tombstone).")})
    def destroy(self, request, pk=None):
        """Delete from the portal (a tombstone); Apple keeps the device assigned to the MDM server."""
        device = selectors.device_get(user=request.user, pk=pk, action=CHANGE)
        services.device_delete_here(actor=request.user, devices=Device.objects.filter(pk=device.pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RestoreSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def restore(self, request):
        """Remove the tombstone of devices deleted from the portal; answers how many were restored."""
        data = RestoreSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        devices = selectors.device_queryset(user=request.user, action=CHANGE)
        ids, serials, token = (
            data.validated_data["ids"],
            data.validated_data["serial_numbers"],
            data.validated_data.get("token"),
        )
        chosen = devices.filter(pk__in=ids) if ids else devices.none()
        if serials:
            by_serial = devices.filter(serial_number__in=[s.strip().upper() for s in serials])
            chosen = chosen | (by_serial.filter(token_id=token) if token else by_serial)
        restored = services.device_restore(actor=request.user, devices=chosen)
        return Response({"restored": restored})

    @extend_schema(
        parameters=[
            *_FILTER_PARAMETERS,
            OpenApiParameter("columns", description="Comma-separated column keys (default: the console's defaults)."),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def export(self, request):
        """CSV of every device matching the filters, streamed."""
        queryset = _filtered(request)
        wanted = [c.strip() for c in request.query_params.get("columns", "").split(",") if c.strip()]
        columns = clean_columns(wanted) if wanted else list(DEFAULT_COLUMNS)
        response = StreamingHttpResponse(
            services.device_export_lines(queryset, columns), content_type=CSV_CONTENT_TYPE
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="devices-{stamp}.csv"'
        return response


def _page_url(request, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()
