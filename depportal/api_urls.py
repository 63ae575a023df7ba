"""/api/v1/: every app registers its viewsets on one router, so the schema and root list them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from business.api.views import BusinessServerViewSet, ConnectionViewSet, DeviceActivityViewSet, OrgDeviceViewSet
from depportal.accounts.api.views import (
    ApiTokenViewSet,
    RoleAssignmentViewSet,
    RoleViewSet,
    ScopeTagViewSet,
    UserViewSet,
)
from depportal.api.renderers import JSONRenderer
from depportal.audit.api.views import AuditEventViewSet
from devices.api.views import CSVRenderer, DeviceViewSet
from overview.alerts.api.views import AlertViewSet, NotificationSettingsViewSet
from profiles.api.views import (
    AssignmentJobViewSet,
    ConfiguratorCertificateViewSet,
    ProfileViewSet,
    TokenDefaultProfileViewSet,
    VppTokenViewSet,
)
from syncjobs.api.views import SyncJobViewSet, TokenSyncViewSet
from tokens.api.views import TokenViewSet

router = DefaultRouter()
router.register("scope-tags", ScopeTagViewSet, basename="scope-tag")
router.register("roles", RoleViewSet, basename="role")
router.register("users", UserViewSet, basename="user")
router.register("role-assignments", RoleAssignmentViewSet, basename="role-assignment")
router.register("api-tokens", ApiTokenViewSet, basename="api-token")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
# These only add tokens/{id}/default-profile/, sync/ and reset-cursor/; registered before TokenViewSet
# so the API root's "tokens" stays its list.
router.register("tokens", TokenDefaultProfileViewSet, basename="token-default-profile")
router.register("tokens", TokenSyncViewSet, basename="token-sync")
router.register("tokens", TokenViewSet, basename="token")
router.register("profiles", ProfileViewSet, basename="profile")
router.register("assignment-jobs", AssignmentJobViewSet, basename="assignment-job")
router.register("vpp-tokens", VppTokenViewSet, basename="vpp-token")
router.register("configurator-certificates", ConfiguratorCertificateViewSet, basename="configurator-certificate")
router.register("sync-jobs", SyncJobViewSet, basename="sync-job")
router.register("alerts", AlertViewSet, basename="alert")
router.register("devices", DeviceViewSet, basename="device")
router.register("business/servers", BusinessServerViewSet, basename="business-server")
router.register("business/devices", OrgDeviceViewSet, basename="business-device")
router.register("business/activities", DeviceActivityViewSet, basename="business-activity")

# The one Apple Business connection, like the settings object below, has no list or id.
business_connection = [
    path(
        "business/connection/",
        ConnectionViewSet.as_view({"get": "retrieve", "post": "create", "delete": "destroy"}),
        name="business-connection",
    ),
    *(
        path(
            f"business/connection/{name}/",
            ConnectionViewSet.as_view({"post": name}),
            name=f"business-connection-{name}",
        )
        for name in ("validate", "refresh", "webhook")
    ),
    path(
        "business/activities/preview/",
        DeviceActivityViewSet.as_view({"post": "preview"}),
        name="business-activity-preview",
    ),
]

# A single settings object has no list or id, which the router's routes assume, so it is routed by hand.
notification_settings = [
    path(
        "notification-settings/",
        NotificationSettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="notification-settings",
    ),
    path(
        "notification-settings/test/",
        NotificationSettingsViewSet.as_view({"post": "send_test"}),
        name="notification-settings-test",
    ),
]

# The export's path ends in ".csv" with no slash, which the router's format-suffix routes would misread.
device_export = [
    path(
        "devices/export.csv",
        DeviceViewSet.as_view({"get": "export"}, renderer_classes=[CSVRenderer, JSONRenderer]),
        name="device-export",
    )
]

urlpatterns = [*notification_settings, *device_export, *business_connection, path("", include(router.urls))]
