"""The published snapshots on the synthetic population: writing them, and the exports that
write them out, each beside what PostgreSQL alone does with the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_snapshots.py

In one run:

- the writer (snapshots.writer.refresh) on BENCH_SNAPSHOT_CASES published cases (default
  5,000), in a transaction rolled back: cases per second, and the mean size of a document;
- the export of every published case in JSON and in CSV (exports.services.export_cases, as
  `manage.py export_cases` runs it), each in a process of its own so that its peak memory
  (ru_maxrss, Python and Django included) is its own;
- the references: `COPY … TO STDOUT` of the stored documents (for JSON), and of the rows of
  the CSV bundle's four tables (benchmarks/export_bench.py's queries, for CSV), read by
  psycopg and thrown away; the ratio of each export's rate to its reference.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import population


def write_rate(count: int) -> dict:
    from django.db import transaction

    from cases.models import Case
    from snapshots import writer
    from snapshots.models import PublishedCase

    ids = list(Case.objects.published().order_by("pk").values_list("pk", flat=True)[:count])
    with transaction.atomic():
        started = time.perf_counter()
        writer.refresh(ids)
        seconds = time.perf_counter() - started
        sizes = PublishedCase.objects.filter(case__in=ids).values_list("document", flat=True)
        mean = sum(len(text.encode()) for text in sizes) / max(1, len(ids))
        transaction.set_rollback(True)
    return {
        "cases": len(ids),
        "seconds": round(seconds, 2),
        "cases_per_second": round(len(ids) / seconds),
        "mean_document_bytes": round(mean),
    }


def export(fmt: str) -> dict:
    """One export of every published case, in this process (run as a child: --export F)."""
    from exports import services
    from exports.models import Channel

    work = Path(tempfile.mkdtemp(prefix="casetracker-bench-export-"))
    started = time.perf_counter()
    result = services.export_cases(
        work / "bundle", channel=Channel.COMMAND, formats=[fmt], base_url="https://example.org"
    )
    seconds = time.perf_counter() - started
    rows = sum(info["records"] for info in result.manifest["files"].values() if info["records"])
    subprocess.run(["rm", "-rf", str(work)], check=True)  # noqa: S603, S607
    return {
        "cases": result.case_count,
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def copy_documents() -> dict:
    from django.db import connection

    rows, size, started = 0, 0, time.perf_counter()
    with connection.cursor() as cursor, cursor.connection.cursor() as pg:
        query = "SELECT document FROM snapshots_publishedcase ORDER BY reference"
        with pg.copy(f"COPY ({query}) TO STDOUT") as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "rows": rows, "rows_per_second": round(rows / seconds)}


def child(fmt: str) -> dict:
    done = subprocess.run(  # noqa: S603 (this script, our arguments)
        [sys.executable, __file__, "--export", fmt],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    if sys.argv[1:2] == ["--export"]:
        with population.environment():
            import django

            django.setup()
            print(json.dumps(export(sys.argv[2])))
        return
    count = int(os.environ.get("BENCH_SNAPSHOT_CASES", "5000"))
    with population.environment() as bench:
        import django

        django.setup()
        import export_bench

        from cases.models import Case

        published = Case.objects.published().count()
        writing = write_rate(count)
        exports = {fmt: child(fmt) for fmt in ("json", "csv")}
        references = {"json": copy_documents(), "csv": export_bench.copy_reference()}
        ratios = {
            fmt: round(exports[fmt]["rows_per_second"] / references[fmt]["rows_per_second"], 3)
            for fmt in exports
        }
        result = {
            "published_cases": published,
            "writer": writing,
            "exports": exports,
            "copy": references,
            "export_over_copy": ratios,
        }
        lines = [
            f"Published snapshots: {bench.persons:,} people, {published:,} published cases",
            "",
            f"writer: {writing['cases']:,} cases in {writing['seconds']} s = "
            f"{writing['cases_per_second']:,} cases/s, "
            f"{writing['mean_document_bytes'] / 1024:.1f} KiB a document",
        ]
        for fmt, figures in exports.items():
            reference = references[fmt]
            lines.append(
                f"export {fmt}: {figures['rows']:,} rows in {figures['seconds']} s = "
                f"{figures['rows_per_second']:,} rows/s, peak RSS {figures['peak_rss_mb']} MB; "
                f"COPY {reference['rows_per_second']:,.0f} rows/s; export/COPY {ratios[fmt]}"
            )
        population.write_result("snapshots", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
