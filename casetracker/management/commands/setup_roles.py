from django.core.management.base import BaseCommand

from casetracker.roles import setup_roles


class Command(BaseCommand):
    help = "Create the staff roles (Data entry, Verifier, Administrator) with their permissions."

    def handle(self, *args, **options):
        for role, count in setup_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
