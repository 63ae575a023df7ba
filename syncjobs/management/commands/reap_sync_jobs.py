from django.core.management.base import BaseCommand

from syncjobs.services import syncjob_reap


class Command(BaseCommand):
    help = "Time out sync jobs past their deadline and hand stalled ones to a worker (beat does this every minute)."

    def handle(self, *args, **options):
        result = syncjob_reap()
        self.stdout.write(f"Timed out {result['timed_out']} job(s); resumed {result['resumed']} stalled job(s).")
