from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from casetracker.audit import acting_as
from jobs import services as jobs
from jobs.models import Kind
from people import matching
from people.tasks import scan_duplicates


class Command(BaseCommand):
    help = (
        "Find people who may be recorded twice (names in any script, birth date, place of "
        "origin, father's name) and list them for review under People › Possible duplicates. "
        "Re-running updates the list; pairs marked “not the same person” stay so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="username",
            help="Record the scan in the audit trail as this staff user (default: the system).",
        )
        parser.add_argument(
            "--rebuild-keys",
            action="store_true",
            help="First recompute every name's match keys (after the matching rules changed).",
        )

        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the scan as a background job for the worker, and return at once.",
        )

    def progress(self, description):
        interactive = self.stdout.isatty()

        def wrap(iterable, total):
            return tqdm(iterable, total=total, desc=description, disable=not interactive)

        return wrap

    def handle(self, *args, username=None, rebuild_keys=False, background=False, **options):
        user = None
        if username:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user “{username}”.")
        if background:
            parameters = {"rebuild_keys": rebuild_keys}
            job = jobs.start(scan_duplicates, Kind.DUPLICATES, user=user, parameters=parameters)
            self.stdout.write(f"Queued as background job {job.pk}; the admin's jobs page shows it.")
            return
        with acting_as(user, "Duplicate scan (find_duplicates)."), transaction.atomic():
            if rebuild_keys:
                count = matching.rebuild_keys(self.progress("Match keys"))
                self.stdout.write(f"Recomputed the match keys of {count} names.")
            counts = matching.scan_duplicates(self.progress("Comparing"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Compared {counts['pairs compared']} pairs of people sharing a name key: "
                f"{counts['created']} new possible duplicates, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged, {counts['kept']} already decided by staff "
                f"and left so, {counts['withdrawn']} no longer alike and withdrawn."
            )
        )
        if counts["keys skipped"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{counts['keys skipped']} keys are shared by more than "
                    f"{matching.MAX_BLOCK} people and were not compared pair by pair."
                )
            )
