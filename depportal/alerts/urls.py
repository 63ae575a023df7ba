from django.urls import path

from depportal.alerts import views

app_name = "alerts"

urlpatterns = [path("", views.NotificationSettingsView.as_view(), name="notification_settings")]
