"""/api/v1/: every app registers its viewsets on one router, so the schema and root list them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from depportal.accounts.api.views import (
    ApiTokenViewSet,
    RoleAssignmentViewSet,
    RoleViewSet,
    ScopeTagViewSet,
    UserViewSet,
)
from depportal.audit.api.views import AuditEventViewSet

router = DefaultRouter()
router.register("scope-tags", ScopeTagViewSet, basename="scope-tag")
router.register("roles", RoleViewSet, basename="role")
router.register("users", UserViewSet, basename="user")
router.register("role-assignments", RoleAssignmentViewSet, basename="role-assignment")
router.register("api-tokens", ApiTokenViewSet, basename="api-token")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = [path("", include(router.urls))]
