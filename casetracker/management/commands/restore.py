from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from casetracker.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup (manage.py backup) into an EMPTY database and media folder. The "
        "whole file is decrypted and checked first: a wrong key or a damaged file restores "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file, database, **options):
        try:
            manifest = restore_backup(Path(file), using=database, media_root=settings.MEDIA_ROOT)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Restored the backup of {manifest['created']} ({len(manifest['media'])} media "
            "files). Run `manage.py migrate` if this code is newer than the backup, then "
            "`manage.py verify_audit`."
        )
