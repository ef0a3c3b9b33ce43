from django.core.management.base import BaseCommand
from tqdm import tqdm

from website import downloads, portraits


class Command(BaseCommand):
    help = (
        "Write the public website's data download again (every published case as the export "
        "bundle partners get, with its manifest and SHA-256) and the copies of the portraits "
        "it shows. For a schedule (a daily timer), or where PUBLIC_DOWNLOADS_AFTER_PUBLISHING "
        "is off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue it as a background job for the worker, and return at once.",
        )

    def handle(self, *args, background=False, **options):
        if background:
            job = downloads.request_bundle()
            self.stdout.write(
                f"Queued as background job {job.pk}; the admin's jobs page shows it."
                if job
                else "A data download is already waiting for the worker."
            )
            return
        quiet = options["verbosity"] < 1 or not self.stderr.isatty()
        bars = []

        def progress(total):
            bar = tqdm(total=total, unit=" cases", desc="data download", disable=quiet)
            bars.append(bar)
            return bar.update

        try:
            download = downloads.write_bundle(progress)
        finally:
            for bar in bars:
                bar.close()
        shown = portraits.sync()
        self.stdout.write(
            f"{download.file_name}: {download.cases} cases, {download.size} bytes, "
            f"SHA-256 {download.sha256}. Portraits: {shown['portraits']} shown, "
            f"{shown['removed']} removed."
        )
