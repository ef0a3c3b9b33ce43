"""python manage.py import_cases FILE --as USERNAME --group "Org name or uid" [--dry-run]"""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imports import services
from imports.models import COUNT_FIELDS, BatchStatus


class Command(BaseCommand):
    help = (
        "Import a case list (CSV or XLSX, the template in imports/TEMPLATE.md): all of it, or "
        "nothing if any row has an error. --dry-run checks it and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument(
            "--as", dest="username", required=True, help="the staff member importing"
        )
        parser.add_argument(
            "--group",
            required=True,
            help="the submitting group (an organisation's name, abbreviation or public id); "
            "its external ids are unique within it",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        try:
            group = services.find_group(options["group"])
            result = services.import_file(
                data,
                path.name,
                user=user,
                group=group,
                dry_run=options["dry_run"],
                progress=self._progress(),
            )
        except services.ImportRefused as refused:
            raise CommandError(str(refused)) from None
        finally:
            self._close_bars()
        self._report(result)
        if not result.ok:
            raise CommandError(
                f"Nothing was imported (batch #{result.batch.pk}, {result.batch.status})."
            )

    # --- progress: a bar per stage, only in a terminal ------------------------------------------

    def _progress(self):
        self._bars = {}
        if not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        def advance(stage: str, n: int) -> None:
            if stage not in self._bars:
                for bar in self._bars.values():
                    bar.close()
                self._bars[stage] = tqdm(desc=stage, unit=" rows", file=sys.stderr)
            self._bars[stage].update(n)

        return advance

    def _close_bars(self):
        for bar in getattr(self, "_bars", {}).values():
            bar.close()

    # --- what it did ----------------------------------------------------------------------------

    def _report(self, result) -> None:
        batch, plan, out = result.batch, result.plan, self.stdout
        out.write(
            f"Import batch #{batch.pk}: {batch.file_name} ({plan.format or 'unreadable'}, "
            f"{plan.rows} rows), SHA-256 {batch.sha256}"
        )
        for error in plan.errors:
            out.write(self.style.ERROR(str(error)))
        if plan.errors:
            out.write(self.style.ERROR(f"{len(plan.errors)} errors: nothing was written."))
            return
        for warning in plan.warnings:
            out.write(self.style.WARNING(warning))
        for person in plan.possible_duplicates:
            for match in person.matches:
                out.write(
                    self.style.WARNING(
                        f"Possible duplicate: {person.external_id} ({person.label}) may be "
                        f"{match.person} ({match.person.uid}), score {match.score:.2f}. "
                        + " ".join(match.reasons)
                    )
                )
        counts = plan.counts()
        summary = ", ".join(f"{name.replace('_', ' ')}: {counts[name]}" for name in COUNT_FIELDS)
        if batch.status == BatchStatus.VALIDATED:
            out.write(self.style.SUCCESS(f"Dry run, nothing written. Would do: {summary}."))
        elif batch.status == BatchStatus.IMPORTED:
            out.write(self.style.SUCCESS(f"Imported. {summary}."))
        else:
            out.write(self.style.ERROR(f"Failed and rolled back: {batch.failure}"))
