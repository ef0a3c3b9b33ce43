from django.core.management.base import BaseCommand, CommandError

from api.models import DEFAULT_TOKEN_DAYS, Partner
from casetracker.audit import because


class Command(BaseCommand):
    help = "Issue an API token for a partner. The key is printed once and stored only hashed."

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="The partner's name, exactly.")
        parser.add_argument("--expires-days", type=int, default=DEFAULT_TOKEN_DAYS)
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, partner, expires_days, name, **options):
        found = Partner.objects.filter(name=partner).first()
        if found is None:
            known = ", ".join(Partner.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No partner named “{partner}”. Partners: {known}.")
        if not found.is_active:
            raise CommandError(f"“{partner}” is not active: activate it in the admin first.")
        if expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        with because("Issued with the issue_token command"):
            token, key = found.issue_token(name, expires_days)
        self.stderr.write(
            f"Token “{token.name}” for {found}, valid until {token.expiry_date:%Y-%m-%d}. "
            "It is shown only now:"
        )
        self.stdout.write(key)
