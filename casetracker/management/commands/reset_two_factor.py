from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp import devices_for_user

from casetracker.security import SecurityEvent, record


class Command(BaseCommand):
    help = (
        "Remove a staff member's two-factor devices (a lost or replaced phone). Their next "
        "sign-in, and any session they still have, goes to enrolment for a new device."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        devices = list(devices_for_user(user, confirmed=None))
        for device in devices:
            device.delete()
        record(SecurityEvent.Kind.OTP_RESET, username=username, detail="manage.py reset_two_factor")
        self.stdout.write(f"Removed {len(devices)} two-factor device(s) of {username}.")
