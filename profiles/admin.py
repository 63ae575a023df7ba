from django.contrib import admin

from profiles.models import AssignmentJob, ConfiguratorCertificate, EnrollmentProfile, VppToken


@admin.register(EnrollmentProfile)
class EnrollmentProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "token", "platform", "is_default", "push_status", "pushed_at"]
    list_filter = ["platform", "push_status", "is_default"]
    search_fields = ["name", "profile_uuid"]
    readonly_fields = ["profile_uuid", "pushed_at", "push_status", "push_error"]


@admin.register(VppToken)
class VppTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "org_name", "expires_at", "cp_licenses_used", "cp_licenses_total"]
    search_fields = ["name", "org_name", "apple_id"]


@admin.register(ConfiguratorCertificate)
class ConfiguratorCertificateAdmin(admin.ModelAdmin):
    list_display = ["name", "subject", "not_after"]
    search_fields = ["name", "subject"]


@admin.register(AssignmentJob)
class AssignmentJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "action", "profile_name", "token", "state", "processed", "total", "created_at"]
    list_filter = ["action", "state"]
