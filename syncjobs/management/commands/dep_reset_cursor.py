from django.core.management.base import BaseCommand, CommandError

from depportal.core.exceptions import ApplicationError
from syncjobs.services import token_sync_cursor_reset
from tokens.selectors import token_named


class Command(BaseCommand):
    help = "Forget a token's sync cursor (by id or name) so its next sync is a full sync (7-day rule still applies)."

    def add_arguments(self, parser):
        parser.add_argument("token", help="Token id or name")

    def handle(self, *args, token, **options):
        found = token_named(token)
        if found is None:
            raise CommandError(f"No token {token!r}.")
        try:
            token_sync_cursor_reset(actor=None, token=found)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"The cursor of {found} was reset: its next sync is a full sync.")
