from django.contrib.auth import get_user_model
from rest_framework import serializers

from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.api.serializers import InputSerializer


class ScopeTagOutputSerializer(serializers.ModelSerializer):
    is_default = serializers.BooleanField(read_only=True)

    class Meta:
        model = ScopeTag
        fields = ["id", "name", "description", "is_default", "created_at"]


class ScopeTagInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=128)
    description = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")


class RoleOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())


class RoleAssignmentOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    role_name = serializers.CharField(source="get_role_display", read_only=True)
    scope_tags = ScopeTagOutputSerializer(many=True, read_only=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "username", "role", "role_name", "scope_tags", "created_at"]


class RoleAssignmentInputSerializer(InputSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    scope_tags = serializers.PrimaryKeyRelatedField(queryset=ScopeTag.objects.all(), many=True, required=False)


class UserOutputSerializer(serializers.ModelSerializer):
    role_assignments = RoleAssignmentOutputSerializer(many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "is_active", "is_superuser", "last_login", "role_assignments"]


class UserCreateInputSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiTokenCreatedOutputSerializer(ApiTokenOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = [*ApiTokenOutputSerializer.Meta.fields, "key"]


class ApiTokenInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=128)
