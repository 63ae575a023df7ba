from django.apps import AppConfig


class SyncjobsConfig(AppConfig):
    name = "syncjobs"

    def ready(self):
        from syncjobs.services import syncjob_token_activated
        from tokens.signals import token_activated

        token_activated.connect(syncjob_token_activated, dispatch_uid="syncjobs.token_activated")
