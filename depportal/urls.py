from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from depportal.accounts.forms import AdminSignInForm, SignInForm
from depportal.accounts.views import PasswordSetView
from overview.views import HomeView

urlpatterns = [
    # First: no console pattern can match /api/v1/..., and every API call skipped past them all before, trying
    # (and failing) each app's patterns: about 7% of an API call.
    path("api/v1/", include("depportal.api_urls")),
    path("", HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/<uidb64>/<token>/", PasswordSetView.as_view(), name="password_reset_confirm"),
    path("tokens/", include("tokens.urls")),
    path("tokens/", include("syncjobs.urls")),
    path("", include("profiles.urls")),
    path("", include("devices.urls")),
    path("tenant/", include("depportal.accounts.urls")),
    path("tenant/audit/", include("depportal.audit.urls")),
    path("tenant/notifications/", include("overview.alerts.urls")),
    path("tenant/business/", include("business.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, which the Content-Security-Policy allows.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
] + ([path("admin/", admin.site.urls)] if settings.DJANGO_ADMIN_ENABLED else [])
admin.site.login_form = AdminSignInForm
