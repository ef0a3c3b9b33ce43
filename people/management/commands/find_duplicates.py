from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from casetracker.audit import acting_as
from jobs import services as jobs
from jobs.models import Kind
from people import scan as duplicate_scan
from people.tasks import scan_duplicates


class Command(BaseCommand):
    help = (
        "Find people who may be recorded twice (names in any script, birth date, place of "
        "origin, father's name) and list them for review under People › Possible duplicates. "
        "Compares the people added or changed since the last scan (everyone the first time, "
        "or with --all); a scan that stopped half-way is continued. Pairs marked “not the "
        "same person” stay so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="username",
            help="Record the scan in the audit trail as this staff user (default: the system).",
        )
        parser.add_argument(
            "--all",
            dest="everyone",
            action="store_true",
            help="Compare everyone again, not only the people changed since the last scan.",
        )
        parser.add_argument(
            "--rebuild-keys",
            action="store_true",
            help="First recompute every name's match keys (after the matching rules changed); "
            "implies --all.",
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the scan as a background job for the worker, and return at once.",
        )

    def handle(self, *args, username=None, everyone=False, rebuild_keys=False, **options):
        user = None
        if username:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user “{username}”.")
        if jobs.open_job(Kind.DUPLICATES) is not None:
            raise CommandError(
                "A duplicate scan is waiting or running as a background job (the admin's "
                "jobs page shows it); run this again when it has ended."
            )
        if options["background"]:
            parameters = {"rebuild_keys": rebuild_keys, "everyone": everyone}
            job = jobs.start(scan_duplicates, Kind.DUPLICATES, user=user, parameters=parameters)
            self.stdout.write(f"Queued as background job {job.pk}; the admin's jobs page shows it.")
            return
        interactive = self.stdout.isatty()
        with acting_as(user, "Duplicate scan (find_duplicates)."):
            if rebuild_keys:
                with transaction.atomic():
                    count = duplicate_scan.rebuild_keys(
                        lambda iterable, total: tqdm(
                            iterable, total=total, desc="Match keys", disable=not interactive
                        )
                    )
                self.stdout.write(f"Recomputed the match keys of {count} names.")
            bar = None

            def progress(total):
                nonlocal bar
                bar = tqdm(total=total, desc="Comparing", unit="key", disable=not interactive)
                return bar.update

            try:
                counts = duplicate_scan.scan_duplicates(
                    everyone=everyone or rebuild_keys, progress=progress
                )
            except duplicate_scan.ScanMovedOn:
                raise CommandError(
                    "Another run of the scan went on with it meanwhile; this one stopped."
                ) from None
            finally:
                if bar is not None:
                    bar.close()
        if "people changed" in counts:
            self.stdout.write(
                f"Compared the {counts['people changed']} people added or changed since the "
                "last scan."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Compared {counts['pairs compared']} pairs of people sharing a name key: "
                f"{counts['created']} new possible duplicates, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged, {counts['kept']} already decided by staff "
                f"and left so; of {counts['rechecked']} earlier pairs not listed again, "
                f"{counts['withdrawn']} no longer alike and withdrawn."
            )
        )
