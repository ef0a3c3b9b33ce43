"""The duplicate scan on the synthetic population: a scan of everyone, then of the people
changed since, with the pairs the scan compares beside the pairs its blocks hold.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_duplicates.py

In one run:

- the pairs of people sharing a name key (what comparing every pair of every block would
  score: the reference for how the work grows), counted in SQL, and the biggest blocks;
- `find_duplicates --all` in a process of its own: seconds, people a second, pairs
  compared, possible duplicates, peak memory (ru_maxrss, Python and Django included);
- recall of the duplicates the generator planted (var/bench/<database>/planted.jsonl):
  how many of those pairs the scan lists;
- BENCH_CHANGED people (default 1,000) saved again (as an edit does), then `find_duplicates`
  (the people changed since the last scan): seconds, pairs compared;
- EXPLAIN (ANALYZE, BUFFERS) of the scan's reads: a batch of key rows, the big keys.

The population's earlier scans and pairs are removed first, so that each run measures the
same work.

BENCH_FULL_SCAN=false leaves out the scan of everyone (hours at 2,000,000 people): the run
then counts the blocks, records a finished scan as the last one, and measures the scan of the
people changed since, which is what a working day costs. That scan is run without
SINCE_MARGIN (nothing else writes meanwhile), so that the population's own history, written
less than two hours before, is not taken for changes.
"""

import json
import os
import random
import resource
import subprocess
import sys
import time

import population


def clear() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM people_duplicatescan")
        # The bench population's own pairs, not anyone's decisions: gone without history,
        # so that every run starts from the same state.
        cursor.execute("DELETE FROM people_duplicatecandidate")


def blocks() -> dict:
    """The blocks of match keys. The keys of initials are left out: the scan compares only
    the names with an initial in theirs, never every pair (people.scan._initial_blocks)."""
    from django.db import connection

    from people import names

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(n * (n - 1) / 2), max(n), "
            "count(*) FILTER (WHERE n > %s) FROM ("
            "  SELECT k.key, count(DISTINCT n.person_id) AS n"
            "  FROM people_personnamekey k JOIN people_personname n ON n.id = k.name_id"
            "  WHERE left(k.key, 1) NOT IN (%s, %s)"
            "  GROUP BY k.key) AS b",
            [scan_settings()["BLOCK_PAIRWISE"], names.INITIAL_KEY, names.INITIAL_MARK],
        )
        keys, pairs, biggest, big = cursor.fetchone()
    return {
        "keys": keys,
        "pairs_sharing_a_key": int(pairs or 0),
        "biggest_block": biggest,
        "big_blocks": big,
    }


def scan_settings() -> dict:
    from people import scan

    return {
        name: getattr(scan, name) for name in ("BLOCK_PAIRWISE", "WINDOW", "TOP_K", "BATCH_ROWS")
    }


def child(*args: str) -> dict:
    done = subprocess.run(  # noqa: S603 (this script, our arguments)
        [sys.executable, __file__, "--scan", *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def scan(everyone: bool, margin: bool = True) -> dict:
    """One scan in this process (run as a child: --scan [--all] [--no-margin])."""
    import datetime

    from people import scan as module
    from people.scan import scan_duplicates

    if not margin:
        module.SINCE_MARGIN = datetime.timedelta(0)

    started = time.perf_counter()
    counts = scan_duplicates(everyone=everyone)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "counts": counts,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def recall(bench) -> dict:
    from people.models import DuplicateCandidate, Person

    path = bench.var_dir / "planted.jsonl"
    if not path.exists():
        return {"planted": None}
    planted = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        planted.append((row["first"], row["duplicate"]))
    ids = dict(Person.objects.values_list("uid", "pk"))
    wanted = set()
    for first, copy in planted:
        a, b = ids.get(_uuid(first)), ids.get(_uuid(copy))
        if a and b:
            wanted.add((min(a, b), max(a, b)))
    found = set(DuplicateCandidate.objects.values_list("person_a_id", "person_b_id"))
    hits = len(wanted & found)
    return {
        "planted": len(wanted),
        "found": hits,
        "recall": round(hits / len(wanted), 4) if wanted else None,
        "candidates": len(found),
    }


def _uuid(text):
    import uuid

    return uuid.UUID(str(text))


def change(count: int, seed: int) -> int:
    from django.db import transaction

    from casetracker.audit import acting_as
    from people.models import Person

    ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))  # noqa: S311 - not security
    with acting_as(None, "Benchmark: people edited"), transaction.atomic():
        for person in Person.objects.filter(pk__in=chosen):
            person.save()
    return len(chosen)


def plans() -> dict:
    from django.db.models import Count

    from people.models import PersonNameKey
    from people.scan import BATCH_ROWS, BLOCK_PAIRWISE

    rows = PersonNameKey.objects.order_by("key").values_list("key", "name__person_id")
    big = (
        PersonNameKey.objects.order_by()
        .values("key")
        .annotate(names=Count("pk"))
        .filter(names__gt=BLOCK_PAIRWISE)
        .values_list("key", flat=True)
    )
    return {
        "batch of key rows": population.explain(*_sql(rows.filter(key__gt="m")[:BATCH_ROWS])),
        "big keys": population.explain(*_sql(big)),
    }


def _sql(queryset) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def main():
    if sys.argv[1:2] == ["--scan"]:
        with population.environment():
            import django

            django.setup()
            args = sys.argv[2:]
            print(json.dumps(scan("--all" in args, margin="--no-margin" not in args)))
        return
    changed = int(os.environ.get("BENCH_CHANGED", "1000"))
    everyone = os.environ.get("BENCH_FULL_SCAN", "true").lower() not in ("0", "false", "no")
    with population.environment() as bench:
        import django

        django.setup()
        from django.utils import timezone

        from people.models import DuplicateScan, Person

        people = Person.objects.count()
        clear()
        shape = blocks()
        if everyone:
            full = child("--all")
            found = recall(bench)
        else:
            full, found = None, {}
            DuplicateScan.objects.create(finished_at=timezone.now())
        edited = change(changed, bench.seed)
        again = child() if everyone else child("--no-margin")
        result = {
            "people": people,
            "settings": scan_settings(),
            "blocks": shape,
            "full_scan": full,
            "planted": found,
            "changed": edited,
            "changed_scan": again,
            "plans": plans(),
        }
        shared = shape["pairs_sharing_a_key"]
        lines = [
            f"Duplicate scan: {people:,} people, {shape['keys']:,} name keys, biggest block "
            f"{shape['biggest_block']:,} people, {shape['big_blocks']:,} blocks over "
            f"{scan_settings()['BLOCK_PAIRWISE']}",
            "",
            f"pairs sharing a key (every pair of every block): {shared:,}",
        ]
        if full is None:
            lines.append("scan of everyone: not run (BENCH_FULL_SCAN=false)")
        else:
            compared = full["counts"]["pairs compared"]
            lines += [
                f"scan of everyone: {full['seconds']} s = {people / full['seconds']:,.0f} "
                f"people/s, {compared:,} pairs compared ({compared / max(shared, 1):.1%} of "
                f"those sharing a key), {full['counts']['created']:,} possible duplicates, "
                f"peak RSS {full['peak_rss_mb']} MB",
                f"planted duplicates listed: {found.get('found')} of {found.get('planted')} "
                f"(recall {found.get('recall')})",
            ]
        lines += [
            f"after {edited:,} people edited: {again['seconds']} s, "
            f"{again['counts']['pairs compared']:,} pairs compared, "
            f"{again['counts'].get('people changed', 0):,} people (with their families)",
        ]
        population.write_result("duplicates", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
