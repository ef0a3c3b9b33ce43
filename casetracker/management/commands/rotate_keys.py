import sys

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from tqdm import tqdm

from casetracker import crypto
from casetracker.fields import EvidenceIntegrityError, reseal_evidence_file
from jobs import services as jobs


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (live and history tables) and every evidence file "
        "under the newest key, the first in ENCRYPTION_KEYS or the key file. Resumable: "
        "interrupted, run it again; what is already under the newest key is skipped. "
        "Afterwards the older keys can be dropped from the keyring."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, batch_size, database, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        ring = crypto.keyring()
        connection = connections[database]
        quiet = not sys.stdout.isatty() or options["verbosity"] < 1
        rows_changed = 0
        try:
            for table, pk, columns in crypto.encrypted_columns(apps):
                with connection.cursor() as cursor:
                    qn = connection.ops.quote_name
                    cursor.execute(f"SELECT count(*) FROM {qn(table)}")  # noqa: S608 (model name)
                    total = cursor.fetchone()[0]
                with tqdm(total=total, desc=table, unit=" rows", disable=quiet) as bar:
                    changed = crypto.reseal_table(
                        connection, table, pk, columns, ring=ring, batch=batch_size, progress=bar
                    )
                rows_changed += changed
                if options["verbosity"] > 1:
                    self.stdout.write(f"{table}: {changed} of {total} rows re-encrypted.")
            files_changed, missing = self.rotate_files(ring, database, quiet)
            # Files of background jobs are copies kept a day: removed rather than re-sealed.
            discarded = jobs.discard_files_not_under(ring.newest)
        except (crypto.DecryptionError, EvidenceIntegrityError) as error:
            raise CommandError(f"{error} Nothing after this point was rotated.") from None
        self.stdout.write(
            f"Re-encrypted {rows_changed} rows and {files_changed} evidence files under key "
            f"{ring.newest}."
        )
        if discarded:
            self.stdout.write(
                f"Removed {discarded} files of background jobs made under an older key (whoever "
                "needs one runs the job again)."
            )
        for name in missing:
            self.stderr.write(f"Evidence file missing from MEDIA_ROOT: {name}")
        others = [kid for kid in ring.ids if kid != ring.newest]
        if others and not missing:
            self.stdout.write(
                f"Nothing is encrypted under key(s) {', '.join(others)} any more: they can be "
                "removed from the keyring (keep them with the backups made under them, offline)."
            )

    def rotate_files(self, ring, database, quiet):
        EvidenceFile = apps.get_model("sources", "EvidenceFile")
        files = EvidenceFile.objects.using(database).values_list("file", "sha256")
        changed, missing = 0, []
        with tqdm(total=files.count(), desc="evidence files", disable=quiet) as bar:
            for name, sha256 in files.iterator():
                try:
                    changed += reseal_evidence_file(settings.MEDIA_ROOT, name, sha256, ring)
                except FileNotFoundError:
                    missing.append(name)
                bar.update(1)
        return changed, missing
