from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from depportal.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="created with manage.py")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        _, key = api_token_create(actor=None, user=user, name=name)
        self.stdout.write(key)
