from rest_framework import serializers

from depportal.audit.models import AuditEvent


class AuditEventOutputSerializer(serializers.ModelSerializer):
    scope_tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "scope_tags",
            "source_ip",
        ]
