import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from depportal.audit.services import audit_record


class Command(BaseCommand):
    help = (
        "Create an administrator (superuser). The password comes from DEPPORTAL_ADMIN_PASSWORD, or is generated "
        "and printed once. --reset-password sets a new one for an existing user."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--reset-password", action="store_true", help="The user exists: give it a new password")

    def handle(self, *args, username, email, reset_password, **options):
        User = get_user_model()
        supplied = os.environ.get("DEPPORTAL_ADMIN_PASSWORD", "")
        password = supplied or secrets.token_urlsafe(18)
        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=username).first()
            if user is not None and not reset_password:
                raise CommandError(f"A user named {username!r} exists; use --reset-password to set a new password.")
            if user is None:
                user = User.objects.create_superuser(username=username, email=email, password=password)
                audit_record(actor=None, action="create", obj=user, object_type="user", changes={"username": username})
                self.stdout.write(f"Administrator {username!r} created.")
            else:
                user.set_password(password)
                user.is_superuser = user.is_staff = user.is_active = True
                user.save()
                audit_record(
                    actor=None, action="update", obj=user, object_type="user", changes={"password": "changed"}
                )
                self.stdout.write(f"Password of {username!r} reset; it is an administrator.")
        if not supplied:
            self.stdout.write(f"Password (shown once): {password}")
