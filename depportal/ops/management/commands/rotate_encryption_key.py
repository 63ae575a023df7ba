from django.core.management.base import BaseCommand, CommandError

from depportal.core.crypto import key_id
from depportal.ops.keys import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the current DEPPORTAL_ENCRYPTION_KEY. Put the previous key in "
        "DEPPORTAL_ENCRYPTION_OLD_KEYS first; once this reports no failures the old key can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; change nothing")

    def handle(self, *args, dry_run, **options):
        from django.conf import settings

        self.stdout.write(f"Current key: {key_id(settings.DEPPORTAL_ENCRYPTION_KEY)}")
        reports = rotate_all(dry_run=dry_run)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        failed = 0
        for name, report in reports.items():
            self.stdout.write(
                f"{name}: {verb} {report.rotated}, already current {report.current}, empty {report.empty}, "
                f"unreadable {len(report.failed)}"
            )
            failed += len(report.failed)
            if report.failed:
                ids = ", ".join(str(pk) for pk in report.failed[:20])
                self.stderr.write(f"  unreadable rows (id): {ids}")
        total = sum(report.rotated for report in reports.values())
        self.stdout.write(f"Total: {verb} {total}.")
        if failed:
            raise CommandError(
                f"{failed} value(s) could not be opened with the current or old keys: add the key that sealed them "
                "to DEPPORTAL_ENCRYPTION_OLD_KEYS and run this again. Keep the old keys until then."
            )
