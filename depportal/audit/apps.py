from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "depportal.audit"
    label = "audit"
    verbose_name = "Audit log"
