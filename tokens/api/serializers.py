from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from depportal.accounts.api.serializers import scope_tags_field
from depportal.accounts.models import ScopeTag
from depportal.api.serializers import InputSerializer
from tokens.alerts import token_alerts
from tokens.models import EnrollmentProgramToken
from tokens.selectors import TOKEN_ORDERINGS


class ScopeTagBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScopeTag
        fields = ["id", "name"]


class TokenAlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["warning", "critical"])
    message = serializers.CharField()
    subject = serializers.CharField()
    subject_id = serializers.IntegerField()
    subject_name = serializers.CharField()
    url = serializers.CharField()


class TokenOutputSerializer(serializers.ModelSerializer):
    """A token as the API shows it: never a key, a secret or an OAuth value."""

    status = serializers.SerializerMethodField()
    status_level = serializers.SerializerMethodField()
    days_until_expiry = serializers.IntegerField(read_only=True, allow_null=True)
    alerts = serializers.SerializerMethodField()
    scope_tags = ScopeTagBriefSerializer(many=True, read_only=True)
    consent_given_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    renewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EnrollmentProgramToken
        fields = [
            "id",
            "name",
            "apple_id",
            "state",
            "status",
            "status_level",
            "access_token_expiry",
            "days_until_expiry",
            "alerts",
            "server_name",
            "server_uuid",
            "admin_id",
            "org_name",
            "org_email",
            "org_phone",
            "org_address",
            "org_id",
            "org_type",
            "last_successful_sync_at",
            "last_full_sync_at",
            "last_delta_sync_at",
            "next_auto_sync_at",
            "device_count",
            "scope_tags",
            "consent_given_at",
            "consent_given_by",
            "pending_expires_at",
            "created_by",
            "created_at",
            "activated_at",
            "renewed_by",
            "renewed_at",
        ]

    def get_status(self, token) -> str:
        return token.status[0]

    def get_status_level(self, token) -> str:
        return token.status[1]

    @extend_schema_field(TokenAlertSerializer(many=True))
    def get_alerts(self, token) -> list[dict]:
        return [alert.as_dict() for alert in token_alerts(token)]


class TokenListQuerySerializer(InputSerializer):
    """The token list's query: an unknown state or ordering is refused rather than ignored."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Name, Apple ID, Apple server or organisation contains",
    )
    state = serializers.ChoiceField(choices=["pending", "active", "terms_not_accepted", "error"], required=False)
    ordering = serializers.ChoiceField(choices=list(TOKEN_ORDERINGS), required=False, default="name")


class TokenStartInputSerializer(InputSerializer):
    data_sharing_consent = serializers.BooleanField(
        help_text="You agree that user and device information is sent to Apple. Required."
    )
    name = serializers.CharField(max_length=128, required=False, allow_blank=True)


class TokenUpdateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=128, required=False)
    apple_id = serializers.CharField(max_length=254, required=False)
    scope_tags = scope_tags_field()


class TokenUploadInputSerializer(InputSerializer):
    token_file = serializers.FileField(help_text="The server token (.p7m) downloaded from Apple Business Manager.")
    apple_id = serializers.CharField(max_length=254, help_text="The Apple ID used to create the token at Apple.")
    scope_tags = scope_tags_field()
    name = serializers.CharField(max_length=128, required=False, allow_blank=True)


class TokenRenewInputSerializer(InputSerializer):
    token_file = serializers.FileField(help_text="The new server token (.p7m) for the same Apple MDM server.")
    apple_id = serializers.CharField(max_length=254)
