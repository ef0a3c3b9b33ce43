"""python manage.py verify_evidence [--source UID] [--as USERNAME]

Decrypts every evidence file, recomputes its SHA-256 and size and compares them with those
recorded at upload (sources.integrity). Lists every missing, changed or unreadable file by its
uid and its source; exit status 1 if there is any. Each run is in the security log.
"""

import argparse
import sys
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sources import integrity
from sources.models import Source


class Command(BaseCommand):
    help = (
        "Decrypt every evidence file, recompute its SHA-256 and size and compare them with "
        "those recorded at upload. Lists every missing, changed or unreadable file; exit "
        "status 1 if there is any. Each run is recorded in the security log."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", metavar="UID", help="check only the files of this source (its public id)"
        )
        parser.add_argument(
            "--as",
            dest="username",
            default="",
            help="the staff member the run is recorded for in the security log",
        )
        # A run started from the admin page, which logged its start with this id.
        parser.add_argument("--run", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        source = self._source(options["source"])
        username = self._username(options["username"])
        run = options["run"]
        if run is not None and not integrity.RUN_ID.fullmatch(run):
            raise CommandError(_("--run takes the id of a run started from the admin page."))
        from tqdm import tqdm

        bar = tqdm(
            total=integrity.evidence_files(source).count(),
            unit=" files",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        )
        with bar:

            def report(finding):
                with bar.external_write_mode():
                    self._report(finding)

            tally = integrity.check_evidence(
                source=source, username=username, run=run, on_problem=report, progress=bar.update
            )
        if tally.problems:
            raise CommandError(
                ngettext(
                    "%(problems)s of %(files)s evidence files is missing, changed or "
                    "unreadable (run %(run)s in the security log).",
                    "%(problems)s of %(files)s evidence files are missing, changed or "
                    "unreadable (run %(run)s in the security log).",
                    tally.problems,
                )
                % {"problems": tally.problems, "files": tally.files, "run": tally.run}
            )
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    ngettext(
                        "%(files)s evidence file (%(size)s) checked: as uploaded "
                        "(run %(run)s in the security log).",
                        "%(files)s evidence files (%(size)s) checked: all as uploaded "
                        "(run %(run)s in the security log).",
                        tally.files,
                    )
                    % {"files": tally.files, "size": filesizeformat(tally.bytes), "run": tally.run}
                )
            )

    def _source(self, text):
        if not text:
            return None
        try:
            uid = uuid.UUID(text)
        except ValueError:
            raise CommandError(_("--source takes a source's public id (a UUID).")) from None
        source = Source.objects.filter(uid=uid).first()
        if source is None:
            raise CommandError(_("No source has the public id %(uid)s.") % {"uid": uid})
        return source

    def _username(self, username):
        if username and not get_user_model().objects.filter(username=username).exists():
            raise CommandError(_("No user %(username)r.") % {"username": username})
        return username

    def _report(self, finding) -> None:
        if finding.source_title:
            source = _("source “%(title)s” (%(uid)s)") % {
                "title": finding.source_title,
                "uid": finding.source_uid,
            }
        else:
            source = _("confidential source %(uid)s") % {"uid": finding.source_uid}
        label = integrity.Problem(finding.problem).label
        self.stdout.write(
            self.style.ERROR(
                _("%(problem)s: evidence file %(file)s of %(source)s: %(reason)s.")
                % {
                    "problem": label.capitalize(),
                    "file": finding.evidence_uid,
                    "source": source,
                    "reason": finding.reason,
                }
            )
        )
