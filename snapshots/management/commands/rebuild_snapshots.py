from django.core.management.base import BaseCommand
from tqdm import tqdm

from jobs import services as jobs
from jobs.models import Kind
from snapshots import writer
from snapshots.tasks import rebuild_snapshots


class Command(BaseCommand):
    help = (
        "Write every published snapshot again from the live data (the cases in the published "
        "set, as the partner allow-list shows them) and remove those of cases no longer "
        "published. Safe to run at any time and to interrupt: each chunk of cases is its own "
        "transaction. migrate does it by itself when the allow-list or the publication "
        "settings changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the rebuild as a background job for the worker, and return at once.",
        )

    def handle(self, *args, background=False, **options):
        if background:
            job = jobs.start(rebuild_snapshots, Kind.SNAPSHOTS)
            self.stdout.write(f"Queued as background job {job.pk}; the admin's jobs page shows it.")
            return
        quiet = options["verbosity"] < 1 or not self.stderr.isatty()
        bars = []

        def progress(total):
            bar = tqdm(total=total, unit=" cases", desc="snapshots", disable=quiet)
            bars.append(bar)
            return bar.update

        try:
            result = writer.rebuild(progress)
        finally:
            for bar in bars:
                bar.close()
        self.stdout.write(
            f"{result['written']} published snapshots written, {result['removed']} removed."
        )
