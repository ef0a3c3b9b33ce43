from django.core.management.base import BaseCommand
from tqdm import tqdm

from snapshots import writer


class Command(BaseCommand):
    help = (
        "Write every published snapshot again from the live data (the cases in the published "
        "set, as the partner allow-list shows them) and remove those of cases no longer "
        "published. Safe to run at any time and to interrupt: each chunk of cases is its own "
        "transaction. migrate does it by itself when the allow-list or the publication "
        "settings changed."
    )

    def handle(self, *args, **options):
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
