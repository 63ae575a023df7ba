from operator import attrgetter

from rest_framework import serializers

from depportal.api.serializers import InputSerializer
from devices.models import Device

LIST_FIELDS = [
    "id",
    "serial_number",
    "model",
    "description",
    "color",
    "os",
    "device_family",
    "asset_tag",
    "profile_status",
    "profile_uuid",
    "profile_assign_time",
    "profile_push_time",
    "device_assigned_date",
    "device_assigned_by",
    "op_type",
    "op_date",
    "token",
    "token_name",
    "assigned_profile",
    "assigned_profile_name",
    "assignment_result",
    "assignment_result_at",
    "first_seen_at",
    "removed_at",
    "deleted_here_at",
]


# List fields named differently on a list row (devices.columns.DeviceRow).
_ROW_ATTRIBUTES = {"token": "token_id", "assigned_profile": "assigned_profile_id"}
_list_values = attrgetter(*(_ROW_ATTRIBUTES.get(field, field) for field in LIST_FIELDS))


def device_row_data(row) -> dict:
    """A list row as the API returns it: DeviceSerializer's fields, without a model instance per row.

    The list endpoint serves up to 1000 rows per page within a 20 ms budget, which DRF field objects would use up;
    DeviceSerializer still documents the shape, and a test checks both stay the same.
    """
    return dict(zip(LIST_FIELDS, _list_values(row), strict=True))


class DeviceSerializer(serializers.ModelSerializer):
    """A device in a list: Apple's fields, the profile here, the last assignment result and the portal's state."""

    token_name = serializers.CharField(source="token.name", read_only=True)
    assigned_profile_name = serializers.CharField(source="assigned_profile.name", read_only=True, default=None)

    class Meta:
        model = Device
        fields = LIST_FIELDS
        read_only_fields = LIST_FIELDS


class DeviceDetailSerializer(DeviceSerializer):
    """One device with everything Apple reported (`extra` holds Apple's other keys) and its token's scope tags."""

    scope_tags = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            *LIST_FIELDS,
            "extra",
            "assignment_action",
            "assignment_attempts",
            "assignment_retry_at",
            "full_sync_job_id",
            "updated_at",
            "scope_tags",
        ]
        read_only_fields = fields

    def get_scope_tags(self, device) -> list[dict]:
        return [{"id": tag.pk, "name": tag.name} for tag in device.token.scope_tags.all()]


class DevicePageSerializer(serializers.Serializer):
    """A keyset page: follow `next` until it is null; `count` may be PostgreSQL's estimate (`count_is_estimate`)."""

    count = serializers.IntegerField()
    count_is_estimate = serializers.BooleanField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeviceSerializer(many=True)


class RestoreSerializer(InputSerializer):
    """Devices to restore: by id, or by serial number (optionally of one token)."""

    ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=50_000)
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=50_000
    )
    token = serializers.IntegerField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs["ids"] and not attrs["serial_numbers"]:
            raise serializers.ValidationError("Give `ids` or `serial_numbers`.")
        return attrs
