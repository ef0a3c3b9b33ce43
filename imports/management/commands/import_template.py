"""python manage.py import_template csv|xlsx --out FILE  ·  python manage.py import_template docs

The import template, as the admin serves it, for those who import with import_cases; and
``docs`` rewrites the column tables of imports/TEMPLATE.md from the template's columns."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from imports import template

DOCS = Path(template.__file__).with_name("TEMPLATE.md")


class Command(BaseCommand):
    help = (
        "Write the import template (csv, xlsx) with its example rows and instructions, or "
        "rewrite the column tables of imports/TEMPLATE.md (docs) from the template's columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["csv", "xlsx", "docs"])
        parser.add_argument("--out", help="the file to write (csv: standard output by default)")

    def handle(self, *args, **options):
        what, out = options["what"], options["out"]
        if what == "docs":
            with translation.override("en"):  # TEMPLATE.md is in English
                DOCS.write_text(template.with_columns_markdown(DOCS.read_text()))
            self.stdout.write(f"Rewrote the column tables of {DOCS.name}.")
            return
        data = template.template_csv() if what == "csv" else template.template_xlsx()
        if out:
            Path(out).write_bytes(data)
        elif what == "csv":
            sys.stdout.buffer.write(data)
        else:
            raise CommandError("An XLSX template needs --out FILE.")
