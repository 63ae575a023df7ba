from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from syncjobs.models import SyncJob
from syncjobs.services import sync_availability, syncjob_active
from tokens.selectors import token_named


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


class Command(BaseCommand):
    help = (
        "Show a token's sync throttle state: last syncs, when a manual or full sync may run next and why, active job."
    )

    def add_arguments(self, parser):
        parser.add_argument("token", help="Token id or name")
        parser.add_argument("--jobs", type=int, default=5, help="How many recent jobs to list")

    def handle(self, *args, token, jobs, **options):
        found = token_named(token)
        if found is None:
            raise CommandError(f"No token {token!r}.")
        now = timezone.now()
        write = self.stdout.write
        write(f"Token {found.pk}: {found} ({found.get_state_display()})")
        write(f"  last full sync:        {_when(found.last_full_sync_at)}")
        write(f"  last delta sync:       {_when(found.last_delta_sync_at)}")
        write(f"  last manual request:   {_when(found.last_manual_sync_at)}")
        write(f"  last successful sync:  {_when(found.last_successful_sync_at)}")
        write(f"  next automatic sync:   {_when(found.next_auto_sync_at)}")
        write(f"  cursor:                {'stored' if found.sync_cursor else 'none (next sync is a full sync)'}")
        for kind, refusal in sync_availability(found).items():
            label = f"{kind} sync:"
            if refusal is None:
                write(f"  {label:<23}allowed now")
            else:
                write(f"  {label:<23}not before {_when(refusal.next_allowed_at)} ({refusal.rule})")
                write(f"      {refusal.message}")
        active = syncjob_active(found)
        if active is None:
            write("  active job:            none")
        else:
            write(
                f"  active job:            {active.pk} {active.kind} {active.state}, "
                f"started {_when(active.started_at)}, deadline {_when(active.deadline_at)}, {active.pages} page(s)"
            )
        recent = SyncJob.objects.filter(token=found).order_by("-created_at", "-pk")[:jobs]
        write("  recent jobs:")
        for job in recent:
            age = int((now - job.created_at).total_seconds())
            outcome = job.state + (f" {job.error_code}" if job.error_code else "")
            write(
                f"    {job.pk} {job.kind:<6} {job.trigger:<8} {outcome:<20} "
                f"created {_when(job.created_at)} ({age}s ago), "
                f"+{job.devices_added} ~{job.devices_modified} -{job.devices_removed}"
            )
