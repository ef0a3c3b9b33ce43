from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casetracker.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo case, sample restricted data and one demo user per role (demo mode only)."

    def handle(self, *args, **options):
        if not settings.DEMO:
            raise CommandError(
                "load_demo creates users with printed passwords and sample data: it runs only "
                "with DEMO=true, never in production."
            )
        logins = load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("\nDemo logins (demo mode only), to sign in at /admin/:")
        for username, password, role, description in logins:
            self.stdout.write(f"  {username:<14} {password:<18} {role}: {description}")
