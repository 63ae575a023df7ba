from django.urls import path

from overview.alerts import views

app_name = "alerts"

urlpatterns = [path("", views.NotificationSettingsView.as_view(), name="notification_settings")]
