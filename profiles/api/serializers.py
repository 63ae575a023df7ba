from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from depportal.accounts.api.serializers import scope_tags_field
from depportal.api.serializers import InputSerializer
from devices.csv_import import MAX_ROWS
from profiles.alerts import vpp_token_alerts
from profiles.apple_json import apple_profile_json
from profiles.models import (
    AssignmentJob,
    AuthMethod,
    ConfiguratorCertificate,
    EnrollmentProfile,
    Platform,
    SyncWithComputers,
    UserAffinity,
    VppToken,
)
from profiles.rules import SETTING_FIELDS
from profiles.services import CERTIFICATES_REFUSED, VPP_TOKEN_REFUSED
from tokens.api.serializers import ScopeTagBriefSerializer


class AlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["warning", "critical"])
    message = serializers.CharField()


class ProfileOutputSerializer(serializers.ModelSerializer):
    """A profile with every setting, its Apple state and the JSON Apple receives for it."""

    devices_assigned = serializers.IntegerField(read_only=True, default=0)
    apple_profile = serializers.SerializerMethodField()

    class Meta:
        model = EnrollmentProfile
        fields = [
            "id",
            "token",
            *SETTING_FIELDS,
            "is_default",
            "devices_assigned",
            "profile_uuid",
            "push_status",
            "pushed_at",
            "push_error",
            "apple_profile",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.DictField())
    def get_apple_profile(self, profile) -> dict:
        return apple_profile_json(profile)


class ProfileInputSerializer(InputSerializer):
    """Settings of a profile; the rules (shared with the console) are checked by the service."""

    token = serializers.IntegerField(required=False, help_text="The token the profile belongs to (create only).")
    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True)
    user_affinity = serializers.ChoiceField(choices=UserAffinity.choices, required=False)
    auth_method = serializers.ChoiceField(choices=AuthMethod.choices, required=False)
    install_company_portal = serializers.BooleanField(required=False)
    vpp_token = serializers.PrimaryKeyRelatedField(
        queryset=VppToken.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": VPP_TOKEN_REFUSED},
    )
    single_app_mode = serializers.BooleanField(required=False)
    supervised = serializers.BooleanField(required=False)
    locked_enrollment = serializers.BooleanField(required=False)
    sync_with_computers = serializers.ChoiceField(choices=SyncWithComputers.choices, required=False)
    configurator_certificates = serializers.PrimaryKeyRelatedField(
        queryset=ConfiguratorCertificate.objects.all(),
        many=True,
        required=False,
        error_messages={"does_not_exist": CERTIFICATES_REFUSED},
    )
    await_final_configuration = serializers.BooleanField(required=False)
    apply_device_name_template = serializers.BooleanField(required=False)
    device_name_template = serializers.CharField(required=False, allow_blank=True)
    department = serializers.CharField(required=False, allow_blank=True)
    department_phone = serializers.CharField(required=False, allow_blank=True)
    support_email = serializers.CharField(required=False, allow_blank=True, help_text="Apple's support_email_address.")
    org_magic = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(required=False, allow_blank=True, help_text="ISO 639 code (macOS, tvOS).")
    region = serializers.CharField(required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2 (macOS, tvOS).")
    auto_advance_setup = serializers.BooleanField(required=False, help_text="macOS, tvOS.")
    shared_ipad = serializers.BooleanField(required=False, help_text="Apple's is_multi_user (iOS/iPadOS).")
    mandatory_enrollment = serializers.BooleanField(required=False, help_text="Apple's is_mandatory.")
    anchor_certs = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Base64 DER certificates trusted for the MDM URL."
    )
    web_sign_in_url = serializers.CharField(
        required=False, allow_blank=True, help_text="Apple's configuration_web_url; only sent when set."
    )
    do_not_use_profile_from_backup = serializers.BooleanField(required=False, help_text="iOS, visionOS 26+.")
    return_to_service = serializers.BooleanField(required=False, help_text="Apple's is_return_to_service.")
    skip_setup_items = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Apple skip keys of the screens to hide."
    )


class SerialNumbersSerializer(InputSerializer):
    serial_numbers = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=64), allow_empty=False, max_length=MAX_ROWS
    )


class AssignmentJobSerializer(serializers.ModelSerializer):
    """An assignment request: progress, per-device Apple results and serials the token does not know."""

    percent = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentJob
        fields = [
            "id",
            "token",
            "profile",
            "profile_name",
            "action",
            "state",
            "total",
            "processed",
            "percent",
            "counts",
            "results",
            "unknown_serials",
            "refused",
            "removed",
            "retry_after_seconds",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, job) -> dict:
        return job.counts()


class DefaultProfileSerializer(InputSerializer):
    profile = serializers.IntegerField(allow_null=True, help_text="A profile of this token, or null to clear.")
    platform = serializers.ChoiceField(choices=Platform.choices, required=False, default=Platform.IOS)


class VppTokenOutputSerializer(serializers.ModelSerializer):
    """A VPP token as the API shows it: never its sToken."""

    scope_tags = ScopeTagBriefSerializer(many=True, read_only=True)
    licenses_left = serializers.IntegerField(read_only=True)
    alerts = serializers.SerializerMethodField()

    class Meta:
        model = VppToken
        fields = [
            "id",
            "name",
            "apple_id",
            "org_name",
            "expires_at",
            "cp_licenses_total",
            "cp_licenses_used",
            "licenses_left",
            "location_name",
            "licenses_checked_at",
            "licenses_error",
            "alerts",
            "scope_tags",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(AlertSerializer(many=True))
    def get_alerts(self, vpp_token) -> list[dict]:
        return [alert.as_dict() for alert in vpp_token_alerts(vpp_token)]


class VppTokenCreateSerializer(InputSerializer):
    token_file = serializers.FileField(help_text="The .vpptoken downloaded from Apple Business Manager.")
    name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    apple_id = serializers.CharField(max_length=254, required=False, allow_blank=True)
    licenses_total = serializers.IntegerField(
        required=False, default=0, help_text="Only kept while Apple's Apps and Books service cannot be reached."
    )
    licenses_used = serializers.IntegerField(
        required=False, default=0, help_text="Only kept while Apple's Apps and Books service cannot be reached."
    )
    scope_tags = scope_tags_field()


class VppTokenUpdateSerializer(InputSerializer):
    token_file = serializers.FileField(required=False, help_text="A renewed .vpptoken for this token.")
    name = serializers.CharField(max_length=128, required=False)
    apple_id = serializers.CharField(max_length=254, required=False, allow_blank=True)
    licenses_total = serializers.IntegerField(required=False)
    licenses_used = serializers.IntegerField(required=False)
    scope_tags = scope_tags_field()


class CertificateOutputSerializer(serializers.ModelSerializer):
    scope_tags = ScopeTagBriefSerializer(many=True, read_only=True)

    class Meta:
        model = ConfiguratorCertificate
        fields = ["id", "name", "subject", "issuer", "not_before", "not_after", "fingerprint_sha256", "scope_tags"]


class CertificateCreateSerializer(InputSerializer):
    certificate_file = serializers.FileField(help_text="The Apple Configurator certificate (.cer, .pem or .der).")
    name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    scope_tags = scope_tags_field()
