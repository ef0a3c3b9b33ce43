"""Benchmark of the audit chain (casetracker.integrity) on a throwaway database:

    .venv/bin/python benchmarks/audit_bench.py [--saves 1000] [--links 200000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/audit_bench.py

It never touches real data: SQLite in a temporary VAR_DIR, or on PostgreSQL a database of its
own, `casetracker_audit_bench`, created and dropped (benchmarks/throwaway.py). It measures

- single writes per second (a charge saved, each in its own transaction: UPDATE, history row
  and, with the chain, the advisory lock on PostgreSQL, the head read and the link), with and
  without the chain, in alternating rounds;
- bulk writes per second (bulk_update of 500 charges: history and links written in bulk);
- `verify_chain()` records per second over ``--links`` links, and its peak Python memory
  (tracemalloc, on a second, shorter walk).

It prints a table and writes the figures as JSON to benchmarks/results/ (not kept in git).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import throwaway

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
BENCH_DB = "casetracker_audit_bench"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=1000, help="single saves per variant")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per variant")
    parser.add_argument("--links", type=int, default=200_000, help="links to verify")
    return parser.parse_args()


@contextmanager
def chain_off():
    """The application without the chain: no links appended (history rows still written)."""
    from casetracker import integrity

    original = integrity.append
    integrity.append = lambda records, using=None: None
    try:
        yield
    finally:
        integrity.append = original


def single_saves(charges, n: int) -> float:
    from django.db import transaction

    started = time.perf_counter()
    for i in range(n):
        charge = charges[i % len(charges)]
        charge.description = f"Reworded {i}."
        with transaction.atomic():
            charge.save()
    return n / (time.perf_counter() - started)


def bulk_updates(charges, rounds: int) -> float:
    from cases.models import Charge

    started = time.perf_counter()
    for i in range(rounds):
        for charge in charges:
            charge.description = f"Bulk {i}."
        Charge.objects.bulk_update(charges, ["description"])
    return rounds * len(charges) / (time.perf_counter() - started)


def grow_chain(total: int) -> None:
    """Charges created in bulk until the chain has ``total`` links (one per history row)."""
    from cases.models import Charge
    from casetracker.integrity import chain_head

    batch, n = 5000, 0
    while (have := chain_head()[0]) < total:
        size = min(batch, total - have)
        Charge.objects.bulk_create([Charge(name=f"Bench charge {n + i}") for i in range(size)])
        n += size


def run(args, vendor):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cases.models import Charge
    from casetracker.integrity import chain_unlinked, verify_chain

    charges = Charge.objects.bulk_create([Charge(name=f"Saved charge {i}") for i in range(500)])
    with_chain, without_chain = [], []
    for _ in range(args.rounds):
        with chain_off():
            without_chain.append(single_saves(charges, args.saves // args.rounds))
        with_chain.append(single_saves(charges, args.saves // args.rounds))
    with chain_off():
        bulk_without = bulk_updates(charges, 4)
    bulk_with = bulk_updates(charges, 4)
    chain_unlinked()  # the rows written with the chain off

    started = time.perf_counter()
    grow_chain(args.links)
    grown = time.perf_counter() - started
    started = time.perf_counter()
    report = verify_chain()
    walked = time.perf_counter() - started
    if not report.ok:
        sys.exit(f"The chain does not verify: {report}")
    tracemalloc.start()
    verify_chain()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    median_with, median_without = statistics.median(with_chain), statistics.median(without_chain)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "single_saves_per_second": {
            "with_chain": round(median_with, 1),
            "without_chain": round(median_without, 1),
            "overhead_ms_per_write": round(1000 / median_with - 1000 / median_without, 3),
        },
        "bulk_update_rows_per_second": {
            "with_chain": round(bulk_with),
            "without_chain": round(bulk_without),
        },
        "links": report.records,
        "bulk_create_to_grow_chain_seconds": round(grown, 1),
        "verify_seconds": round(walked, 2),
        "verify_records_per_second": round(report.records / walked),
        "verify_peak_python_memory_mib": round(peak / 2**20, 1),
    }


def main():
    args = parse_args()
    with throwaway.django_environment(
        "casetracker-audit-bench-",
        BENCH_DB,
        DEMO="true",  # keys of its own under the temporary VAR_DIR
        ENCRYPTION_KEYS=None,
        AUDIT_DIGEST_KEY=None,
    ) as vendor:
        result = run(args, vendor)
    print(json.dumps(result, indent=2))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"audit-{result['database']}-{result['links']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
