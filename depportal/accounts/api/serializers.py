from django.contrib.auth import get_user_model
from rest_framework import serializers

from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.accounts.scoping import SCOPE_TAGS_REFUSED
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
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        style={"input_type": "password"},
        help_text="Leave out to create the account without one; then POST password-reset/ for a one-time link.",
    )


class UserUpdateInputSerializer(InputSerializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="false disables the account and its API tokens.")


class UserRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    scope_tags = serializers.PrimaryKeyRelatedField(queryset=ScopeTag.objects.all(), many=True, required=False)


class UserRolesInputSerializer(InputSerializer):
    roles = UserRoleInputSerializer(many=True, help_text="Every role the user holds; roles left out are taken away.")

    def validate_roles(self, roles):
        names = [entry["role"] for entry in roles]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("List each role once.")
        return roles


class PasswordResetLinkOutputSerializer(serializers.Serializer):
    link = serializers.CharField(help_text="Works once, until valid_until. Not stored: give it to the user now.")
    valid_until = serializers.DateTimeField()


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "is_active"]


class ApiTokenCreatedOutputSerializer(ApiTokenOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = [*ApiTokenOutputSerializer.Meta.fields, "key"]


class ApiTokenInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=128)
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=730, default=90, help_text="The token stops working this many days from now."
    )


def scope_tags_field(**kwargs) -> serializers.ManyRelatedField:
    """The scope tags of a scoped object's body: an unknown id is refused in the words of a foreign one."""
    return serializers.PrimaryKeyRelatedField(
        queryset=ScopeTag.objects.all(),
        many=True,
        required=False,
        error_messages={"does_not_exist": SCOPE_TAGS_REFUSED},
        **kwargs,
    )
