from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: the log context of Celery tasks; Apple-call counting and sealing plugged into the clients."""

    name = "depportal.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from depportal.apple import hooks
        from depportal.core import crypto
        from depportal.ops import counters, logs

        logs.connect_task_context()
        hooks.install(counter=counters.apple_call_counted, seal_with=crypto.SEALER)
