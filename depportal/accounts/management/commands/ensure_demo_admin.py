from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from depportal.audit.services import audit_record


class Command(BaseCommand):
    help = "Create the embedded run's demo administrator if it does not exist, and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        if not User.objects.filter(username=username).exists():
            user = User.objects.create_superuser(username=username, email="", password=password)
            audit_record(actor=None, action="create", obj=user, object_type="user", changes={"username": username})
            self.stdout.write(f"Demo administrator created: {username} / {password}")
        else:
            self.stdout.write(f"Demo administrator: {username} (password unchanged)")
