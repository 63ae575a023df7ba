from rest_framework import serializers

from depportal.api.serializers import InputSerializer


class AlertOutputSerializer(serializers.Serializer):
    """One current alert and what it is about (an enrollment program token or a VPP token)."""

    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["critical", "warning"])
    message = serializers.CharField()
    subject = serializers.ChoiceField(choices=["token", "vpp_token"])
    subject_id = serializers.IntegerField()
    subject_name = serializers.CharField()
    url = serializers.CharField(help_text="The console page of the subject.")


class NotificationSettingsOutputSerializer(serializers.Serializer):
    """Where alerts go; says whether a webhook secret is set, never what it is."""

    email_enabled = serializers.BooleanField()
    email_recipients = serializers.ListField(child=serializers.CharField(), source="recipient_list")
    webhook_enabled = serializers.BooleanField()
    webhook_url = serializers.CharField(help_text="Readers who are not Administrators see scheme and host only.")
    webhook_secret_set = serializers.BooleanField(help_text="The secret itself is never returned.")
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)


class NotificationSettingsInputSerializer(InputSerializer):
    """PATCH body: only the fields given change; a blank or missing secret keeps the stored one."""

    email_enabled = serializers.BooleanField(required=False)
    email_recipients = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True)
    webhook_enabled = serializers.BooleanField(required=False)
    webhook_url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    webhook_secret = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False, max_length=256
    )
    webhook_secret_clear = serializers.BooleanField(required=False, default=False)


class ChannelResultSerializer(serializers.Serializer):
    """How sending the test message to one channel went."""

    status = serializers.ChoiceField(choices=["sent", "failed"])
    detail = serializers.CharField()


class NotificationTestOutputSerializer(serializers.Serializer):
    """Results per configured channel (email, webhook)."""

    email = ChannelResultSerializer(required=False)
    webhook = ChannelResultSerializer(required=False)
