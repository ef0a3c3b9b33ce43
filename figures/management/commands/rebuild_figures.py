from django.core.management.base import BaseCommand
from tqdm import tqdm

from cases.models import Case
from figures import facts, staff, tally


class Command(BaseCommand):
    help = (
        "Write the staff statistics' facts of every case again from the live records "
        "(figures.staff), then count the kept counts of both the staff's and the published "
        "facts again from the facts (figures.tally). The write paths keep both current; this "
        "is for a change of the rules they are read by. Safe to run at any time and to "
        "interrupt: each chunk of cases is its own transaction, and the counting one more. "
        "The published facts follow the snapshots (rebuild_snapshots)."
    )

    def handle(self, *args, **options):
        quiet = options["verbosity"] < 1 or not self.stderr.isatty()
        with tqdm(total=Case.objects.count(), unit=" cases", desc="facts", disable=quiet) as bar:
            written = staff.rebuild(bar.update)
        self.stdout.write(f"Facts of {written} cases written.")
        keys = tally.recount(staff.MODELS) + tally.recount(facts.MODELS)
        self.stdout.write(f"Kept counts of {keys} keys counted again.")
