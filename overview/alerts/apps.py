from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts about tokens, and their delivery by email and webhook."""

    name = "overview.alerts"
    label = "alerts"
    verbose_name = "Alerts and notifications"
