import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from exports import bundle, services
from exports.models import Channel


class Command(BaseCommand):
    help = (
        "Export verified, published cases as a bundle: cases, events, names and sources as "
        "CSV, the API's JSON, an XLSX workbook, a data dictionary and a SHA-256 manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--out",
            required=True,
            help="The bundle to write: a new directory, or with --zip a zip file (.zip is "
            "added if missing). It must not exist yet.",
        )
        parser.add_argument(
            "--format",
            default=",".join(bundle.FORMATS),
            help="Formats, comma-separated: csv, json, xlsx (default: all three).",
        )
        parser.add_argument("--jsonl", action="store_true", help="cases.jsonl (JSON Lines).")
        parser.add_argument("--zip", action="store_true", help="Write one zip file.")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A filter of the partner API, e.g. --filter status=detained --filter "
            "date_from=2020; repeat for several. Accepted: "
            + ", ".join(services.accepted_filters())
            + ".",
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="Where records' API addresses point, e.g. https://casetracker.example.org "
            "(default: none, addresses start at /api/v1/).",
        )
        parser.add_argument(
            "--include-unpublished",
            action="store_true",
            help="Staff export: every case the --as user may see, published or not (only "
            "Verifiers may; logged). Still only the public fields.",
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="The staff member making the export (required with --include-unpublished).",
        )
        parser.add_argument(
            "--language",
            default="en",
            help="Language of the data dictionary and of cases.xlsx's column headings: "
            + ", ".join(services.language_codes())
            + " (default: en). CSV and JSON keep their English column codes.",
        )
        parser.add_argument("--chunk-size", type=int, default=services.CHUNK_SIZE)

    def handle(self, *args, **options):
        out = Path(options["out"])
        if options["zip"] and out.suffix.lower() != ".zip":
            out = out.with_name(out.name + ".zip")
        user = self._user(options["username"])
        if options["include_unpublished"] and user is None:
            raise CommandError("--include-unpublished needs --as USERNAME (a Verifier).")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        bar = None

        def progress(total):
            nonlocal bar
            # A progress bar only for a person at a terminal, never in logs or pipes.
            bar = tqdm(total=total, unit=" cases", disable=not sys.stderr.isatty(), file=sys.stderr)
            return lambda: bar.update(1)

        try:
            result = services.export_cases(
                out,
                channel=Channel.COMMAND,
                formats=options["format"].split(","),
                jsonl=options["jsonl"],
                as_zip=options["zip"],
                filters=self._filters(options["filter"]),
                include_unpublished=options["include_unpublished"],
                user=user,
                base_url=options["base_url"],
                chunk_size=options["chunk_size"],
                progress=progress,
                language=options["language"],
            )
        except services.FilterError as error:
            lines = [f"  {name}: {' '.join(msgs)}" for name, msgs in error.errors.items()]
            raise CommandError("Filters refused:\n" + "\n".join(lines)) from None
        except (services.ExportError, bundle.BundleError) as error:
            raise CommandError(str(error)) from None
        finally:
            if bar is not None:
                bar.close()
        files = result.manifest["files"]
        self.stdout.write(f"{result.case_count} cases exported to {result.path}")
        for name, info in files.items():
            records = info["records"]
            if isinstance(records, dict):
                records = ", ".join(f"{sheet} {n}" for sheet, n in records.items())
            self.stdout.write(f"  {name}: {records if records is not None else '-'}")
        self.stdout.write(f"manifest.json SHA-256: {result.manifest_sha256}")

    def _user(self, username):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user “{username}”.")
        return user

    def _filters(self, pairs) -> dict[str, list[str]]:
        filters: dict[str, list[str]] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                raise CommandError(f"--filter {pair}: write it NAME=VALUE, e.g. status=detained.")
            filters.setdefault(name.strip(), []).append(value.strip())
        return filters
