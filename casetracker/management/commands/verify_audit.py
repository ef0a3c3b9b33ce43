import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from casetracker.integrity import AuditLink, verify_chain


def parse_head(value: str) -> tuple[int, str]:
    position, _, digest = value.partition(":")
    digest = digest.strip().lower()
    if not position.strip().isdigit() or len(digest) != 64:
        raise CommandError(f"--head {value!r}: expected POSITION:HASH, e.g. 1234:9f86d0…")
    return int(position), digest


class Command(BaseCommand):
    help = (
        "Walk the audit chain (history, workflow steps, security events) and report the first "
        "record or link that does not match. Exit status 1 on any problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            metavar="POSITION:HASH",
            help="A chain head copied earlier (admin index, export manifest): check that the "
            "chain still passes through it.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, head=None, database=DEFAULT_DB_ALIAS, **options):
        expected = parse_head(head) if head else None
        bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            total = AuditLink.objects.using(database).count()
            bar = tqdm(total=total, unit="record", file=sys.stderr)
        try:
            report = verify_chain(
                using=database, progress=bar.update if bar else None, expected_head=expected
            )
        finally:
            if bar is not None:
                bar.close()
        if not report.ok:
            raise CommandError(str(report))
        self.stdout.write(str(report))
