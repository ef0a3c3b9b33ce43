from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from casetracker.backups import BackupError, verify_backup


class Command(BaseCommand):
    help = (
        "Restore a backup into a scratch database and compare it with the live one: row counts "
        "and row hashes of every table, media file hashes, and the copy's audit chain. Exit "
        "status 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file, database, **options):
        try:
            result = verify_backup(Path(file), using=database, media_root=settings.MEDIA_ROOT)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if not result.ok:
            raise CommandError(
                "The backup differs from the live database:\n  " + "\n  ".join(result.differences)
            )
        self.stdout.write(
            f"The backup is an exact copy: {result.tables} tables, {result.rows} rows, "
            f"{result.files} media files, audit chain intact."
        )
