from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations app: connects the log context to Celery tasks."""

    name = "depportal.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from depportal.ops import logs

        logs.connect_task_context()
