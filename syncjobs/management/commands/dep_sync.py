import time

from django.core.management.base import BaseCommand, CommandError

from depportal.core.exceptions import ApplicationError
from syncjobs.models import SyncJob, SyncKind, SyncTrigger
from syncjobs.services import syncjob_request
from tokens.selectors import token_named


class Command(BaseCommand):
    help = "Start a sync of a token (by id or name) under the same rules as the console; --wait shows progress."

    def add_arguments(self, parser):
        parser.add_argument("token", help="Token id or name")
        parser.add_argument("--full", action="store_true", help="A full sync (at most once every 7 days)")
        parser.add_argument("--wait", action="store_true", help="Wait for the sync to end, showing its progress")

    def handle(self, *args, token, full, wait, **options):
        found = token_named(token)
        if found is None:
            raise CommandError(f"No token {token!r}.")
        try:
            job = syncjob_request(
                token=found, kind=SyncKind.FULL if full else SyncKind.MANUAL, trigger=SyncTrigger.CLI
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Sync job {job.pk} queued for {found}.")
        if not wait:
            return
        while job.is_active:
            time.sleep(1)
            job = SyncJob.objects.get(pk=job.pk)
            total = job.estimated_total
            done = job.devices_seen
            bar = ""
            if total:
                filled = min(30, int(30 * done / total))
                bar = "[" + "#" * filled + "." * (30 - filled) + "] "
            self.stdout.write(f"\r{bar}{job.get_state_display()}: {job.pages} pages, {done} devices", ending="")
            self.stdout.flush()
        self.stdout.write("")
        if job.state != "succeeded":
            raise CommandError(f"Sync {job.get_state_display().lower()}: {job.error_message}")
        self.stdout.write(
            f"Done: {job.devices_added} added, {job.devices_modified} modified, {job.devices_removed} removed, "
            f"{job.devices_unchanged} unchanged."
        )
