import json
import multiprocessing
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from tqdm import tqdm

from cases.models import Case
from people.models import Person
from synthetic import reference
from synthetic.generator import Generator, identity
from synthetic.writer import BulkWriter


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Add made-up people with cases, events, sources and citations, for benchmarks and "
        "trials: realistic in names (Kazakh, Uyghur, Kyrgyz, in four scripts), dates, places "
        "and workflow, with history and audit chain as the application writes them. Every "
        "record is flagged synthetic and never reaches partners (unless the database is made "
        "for measuring: PUBLISH_SYNTHETIC_DATA). The same seed gives the same records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, required=True, help="How many people to add.")
        parser.add_argument("--seed", type=int, default=1, help="The seed (default 1).")
        parser.add_argument(
            "--start",
            type=int,
            default=0,
            help="Number of the first person of the seed (default 0): a later run with "
            "--start 200000 adds the next people of the same population.",
        )
        parser.add_argument(
            "--duplicates",
            type=_share,
            default=0.02,
            help="Share of people who are a second record of someone added before, spelled "
            "otherwise (default 0.02).",
        )
        parser.add_argument(
            "--batch", type=int, default=2000, help="People written per transaction (2000)."
        )
        parser.add_argument(
            "--planted",
            metavar="FILE",
            help="Write the planted duplicate pairs (uids, JSON lines) to FILE, to score a "
            "duplicate scan against.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="Processes drawing people at once, on PostgreSQL (default 2; SQLite: 1).",
        )
        parser.add_argument(
            "--alongside-real-data",
            action="store_true",
            help="Allow adding to a database that holds real cases (a trial copy).",
        )

    def handle(self, *args, persons, seed, start, duplicates, batch, planted, workers, **options):
        if persons < 1 or batch < 1 or start < 0:
            raise CommandError("--persons and --batch must be at least 1, --start at least 0.")
        if not options["alongside_real_data"] and Case.objects.filter(synthetic=False).exists():
            raise CommandError(
                "This database holds real cases. Synthetic records are for benchmark and trial "
                "databases; add --alongside-real-data if this is a trial copy."
            )
        if connection.vendor != "postgresql":
            workers = 1  # SQLite writes one transaction at a time anyway
        shared = reference.ensure(seed)
        batches = [
            (first, min(batch, start + persons - first))
            for first in range(start, start + persons, batch)
        ]
        todo = self._not_yet_written(batches, seed, shared)
        if len(todo) < len(batches):
            self.stdout.write(
                f"{len(batches) - len(todo)} of {len(batches)} batches are already here (an "
                "earlier run of this seed): adding the others."
            )
        began, rows, pairs = time.monotonic(), 0, []
        added = sum(count for _, count in todo)
        people = Person.objects.count()
        analysed = max(people, batch)
        with tqdm(total=added, unit="people", disable=not self.stderr.isatty()) as bar:
            for count, written, planted_pairs in _run(todo, seed, shared, duplicates, workers):
                rows += written
                pairs += planted_pairs
                people += count
                bar.update(count)
                if people >= 2 * analysed:
                    analyse()
                    analysed = people
        seconds = max(time.monotonic() - began, 1e-9)
        if planted:
            with open(planted, "w", encoding="utf-8") as out:
                for original, copy in sorted(pairs):
                    out.write(json.dumps({"first": str(original), "duplicate": str(copy)}) + "\n")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {added} synthetic people (seed {seed}, numbers {start}–"
                f"{start + persons - 1}): {rows} rows with their history and audit links, in "
                f"{seconds:.1f} s ({added / seconds:.0f} people/s, {rows / seconds:.0f} rows/s, "
                f"{workers} worker(s)); {len(pairs)} planted duplicates."
            )
        )

    @staticmethod
    def _not_yet_written(batches, seed, shared) -> list[tuple[int, int]]:
        """The batches whose first person is not in the database. A batch is written in one
        transaction, so it is there whole or not at all: a run stopped half-way is finished
        by running it again."""
        firsts = {identity(seed, first, shared).uid: (first, count) for first, count in batches}
        present = set()
        uids = list(firsts)
        for offset in range(0, len(uids), 1000):
            chunk = uids[offset : offset + 1000]
            present |= set(Person.objects.filter(uid__in=chunk).values_list("uid", flat=True))
        return [batch for uid, batch in firsts.items() if uid not in present]


def analyse() -> None:
    """Bring PostgreSQL's statistics of the tables up to date.

    The batches read what they wrote (the snapshot writer renders each batch's published
    cases), planned from those statistics. A load outgrows them long before autovacuum,
    if it runs at all, catches up: with the estimate of a smaller database, finding a
    batch's citations became a walk of every citation of the shared reports, longer each
    batch (a second a query at 300,000 people, not 4 ms). So handle() calls this each time
    the people in the database have doubled since the last time: a few seconds, a dozen
    times up to 2,000,000 people."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- the work, in this process or in several ------------------------------------------------

_state: dict = {}


def _start_worker(seed, shared, duplicates) -> None:
    _state["generator"] = Generator(seed, shared, duplicates=duplicates)
    _state["writer"] = BulkWriter()


def _write_batch(batch: tuple[int, int]) -> tuple[int, int, list]:
    generator, writer = _state["generator"], _state["writer"]
    first, count = batch
    generator.planted = []
    generator.batch(writer, first, count)
    rows = writer.flush()
    generator.record_publication()
    generator.record_facts()
    return count, rows, generator.planted


def _run(batches, seed, shared, duplicates, workers):
    """Yield (people, rows, planted pairs) of each batch as it is written."""
    if workers <= 1 or len(batches) <= 1:
        _start_worker(seed, shared, duplicates)
        try:
            yield from map(_write_batch, batches)
        finally:
            _state.clear()
        return
    # Forked workers must not share this process's database connection: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, _start_worker, (seed, shared, duplicates)) as pool:
        yield from pool.imap_unordered(_write_batch, batches)
