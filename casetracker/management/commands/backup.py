from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from casetracker import crypto
from casetracker.backups import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write an encrypted, authenticated backup of the database and the media folder to "
        "FILE, while the application keeps running. Keep the keys elsewhere than the backups."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="FILE")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, out, database, **options):
        try:
            manifest = create_backup(Path(out), using=database, media_root=settings.MEDIA_ROOT)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Backup written to {out}: {manifest['vendor']} database and "
            f"{len(manifest['media'])} media files, encrypted under key {crypto.keyring().newest}."
        )
