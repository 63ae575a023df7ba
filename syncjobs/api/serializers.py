from rest_framework import serializers

from depportal.api.serializers import InputSerializer
from syncjobs.models import SyncJob


class SyncJobOutputSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    devices_seen = serializers.IntegerField(read_only=True)
    devices_per_second = serializers.SerializerMethodField()

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "token",
            "kind",
            "trigger",
            "requested_by",
            "state",
            "ran_full",
            "full_reason",
            "fetch_job_id",
            "devices_listed",
            "created_at",
            "started_at",
            "heartbeat_at",
            "deadline_at",
            "finished_at",
            "pages",
            "devices_added",
            "devices_modified",
            "devices_removed",
            "devices_unchanged",
            "records_refused",
            "record_problem_count",
            "record_problems",
            "devices_seen",
            "devices_per_second",
            "default_profile_assigned",
            "estimated_total",
            "error_code",
            "error_message",
        ]

    def get_devices_per_second(self, job) -> float | None:
        if job.started_at is None:
            return None
        end = job.finished_at or job.heartbeat_at
        seconds = (end - job.started_at).total_seconds() if end else 0
        return round(job.devices_seen / seconds, 1) if seconds > 0 else None


class SyncRequestInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(
        choices=["delta", "full"],
        default="delta",
        help_text="delta: a manual sync of the changes (at most every 15 minutes); full: every device (7 days).",
    )
