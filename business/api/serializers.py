from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from business.models import ActivityKind, BusinessConnection, BusinessServer, DeviceActivity, OrgDevice
from business.selectors import inventory_refresh_running
from depportal.api.serializers import InputSerializer


class ConnectionInputSerializer(InputSerializer):
    client_id = serializers.CharField(max_length=128)
    key_id = serializers.CharField(max_length=128)
    private_key = serializers.FileField(help_text="The API account's private key (.pem).")


class InventoryRefreshSerializer(serializers.Serializer):
    running = serializers.BooleanField()
    started_at = serializers.DateTimeField(allow_null=True)
    pages = serializers.IntegerField(help_text="Pages of Apple's orgDevices read so far (or by the last refresh).")
    devices = serializers.IntegerField(help_text="Devices read so far (or by the last refresh).")
    last_error = serializers.CharField()


class ConnectionOutputSerializer(serializers.ModelSerializer):
    webhooks_enabled = serializers.SerializerMethodField()
    inventory_refresh = serializers.SerializerMethodField()

    class Meta:
        model = BusinessConnection
        fields = [
            "kind",
            "client_id",
            "key_id",
            "state",
            "last_validated_at",
            "access_token_expires_at",
            "last_error_code",
            "last_error_message",
            "inventory_refreshed_at",
            "inventory_refresh",
            "webhooks_enabled",
            "created_at",
        ]

    def get_webhooks_enabled(self, connection) -> bool:
        return bool(connection.webhook_id)

    @extend_schema_field(InventoryRefreshSerializer)
    def get_inventory_refresh(self, connection) -> dict:
        running = inventory_refresh_running(connection)
        return {
            "running": running,
            "started_at": connection.inventory_refresh_started_at if running else None,
            "pages": connection.inventory_refresh_pages,
            "devices": connection.inventory_refresh_devices,
            "last_error": connection.inventory_refresh_error,
        }


class WebhookInputSerializer(InputSerializer):
    url = serializers.URLField()


class ServerSerializer(serializers.ModelSerializer):
    token = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = BusinessServer
        fields = ["id", "apple_id", "name", "server_type", "token"]


class OrgDeviceSerializer(serializers.ModelSerializer):
    server = serializers.SerializerMethodField()
    token = serializers.SerializerMethodField()

    class Meta:
        model = OrgDevice
        fields = [
            "serial_number",
            "device_model",
            "product_family",
            "product_type",
            "capacity",
            "color",
            "part_number",
            "order_number",
            "order_date",
            "purchase_source_type",
            "purchase_source_id",
            "status",
            "added_to_org_at",
            "updated_at_apple",
            "migration_status",
            "migration_deadline_at_apple",
            "server",
            "token",
        ]

    def get_server(self, device) -> str | None:
        return device.server.name if device.server else None

    def get_token(self, device) -> int | None:
        return device.server.token_id if device.server else None


class AppleCareSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField(allow_null=True, required=False)
    paymentType = serializers.CharField(allow_null=True, required=False)
    description = serializers.CharField(allow_null=True, required=False)
    startDateTime = serializers.CharField(allow_null=True, required=False)
    endDateTime = serializers.CharField(allow_null=True, required=False)
    isRenewable = serializers.BooleanField(required=False)
    isCanceled = serializers.BooleanField(required=False)
    contractCancelDateTime = serializers.CharField(allow_null=True, required=False)
    agreementNumber = serializers.CharField(allow_null=True, required=False)


class ActivityInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    server = serializers.IntegerField(required=False, allow_null=True, help_text="id of a business server")
    serials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    order_number = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    migration_deadline = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Assign with an MDM migration deadline (at most 90 days ahead), or the new deadline to set.",
    )


class ActivityCreateSerializer(ActivityInputSerializer):
    confirm = serializers.BooleanField(
        help_text="Must be true: the activity changes Apple's assignment of the devices (release is irreversible)."
    )


class PreviewOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    server = serializers.IntegerField(allow_null=True)
    serials = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    unknown = serializers.ListField(child=serializers.CharField())
    by_source = serializers.DictField(child=serializers.IntegerField())
    migration_deadline = serializers.DateTimeField(allow_null=True)


class ActivityOutputSerializer(serializers.ModelSerializer):
    server = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = DeviceActivity
        fields = [
            "id",
            "kind",
            "server",
            "migration_deadline",
            "serials",
            "state",
            "apple_activity_ids",
            "apple_status",
            "results",
            "devices_done",
            "devices_failed",
            "synced_tokens",
            "error_message",
            "created_at",
            "finished_at",
        ]
