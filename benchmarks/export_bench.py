"""Benchmark of the case exports on a throwaway database: `make bench`, or

    .venv/bin/python benchmarks/export_bench.py [--cases 10000,100000] [--formats csv,json,xlsx]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/export_bench.py

It never touches real data. For each number of cases it makes a database of its own (SQLite:
a file in a temporary VAR_DIR; PostgreSQL: `casetracker_export_bench`, created through
DATABASE_URL's server and dropped at the end), fills it with published cases as
benchmarks/api_bench.py does (a person named in three scripts, two events with charges,
places and a facility, an incident, four public citations), then measures, each in a fresh
process so that its peak memory is its own:

- the export of each format alone (`exports.services.export_cases`, as `manage.py
  export_cases --format F` runs it, with the progress bar off): cases per second, rows
  written per second, the bundle's size, and the peak resident memory of the process
  (`ru_maxrss`, which includes Python and Django themselves, about 100 MB);
- on PostgreSQL, as the reference for what the database alone can do: `COPY (SELECT …) TO
  STDOUT` of the same four tables' rows (cases, events, names, sources with their
  citations), read by psycopg and thrown away.

Flat memory means the peak is about the same at 10,000 and 100,000 cases. It prints a table
and writes the figures as JSON to benchmarks/results/ (not kept in git).
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import throwaway

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
BENCH_DB = "casetracker_export_bench"
FORMATS = ("csv", "json", "xlsx")

# The four tables of an export, as PostgreSQL would write them itself (the reference).
COPY_QUERIES = {
    "cases": """
        SELECT c.reference, c.uid, c.status, c.evidence_level, c.verified_at, c.updated_at,
               c.public_summary, p.uid, p.display_name, p.gender, p.birth_date,
               p.birth_date_earliest, p.birth_date_latest, p.ethnicity, o.uid, o.name_en,
               p.occupation, p.public_summary,
               (SELECT string_agg(n.name, '|' ORDER BY n.is_preferred DESC, n.id)
                  FROM people_personname n WHERE n.person_id = p.id),
               (SELECT string_agg(i.name, '|' ORDER BY i.id) FROM cases_incident i
                  JOIN cases_case_incidents ci ON ci.incident_id = i.id
                 WHERE ci.case_id = c.id)
          FROM cases_case c JOIN people_person p ON p.id = c.person_id
          LEFT JOIN cases_location o ON o.id = p.place_of_origin_id
         WHERE c.id IN (SELECT id FROM published) ORDER BY c.reference""",
    "events": """
        SELECT c.reference, c.uid, e.uid, e.kind, e.date, e.date_earliest, e.date_latest,
               l.uid, l.name_en, l.name_kk, l.name_zh, f.uid, f.name_en, f.facility_type,
               a.uid, a.name, (SELECT string_agg(ch.name, '|' ORDER BY ch.name)
                  FROM cases_charge ch JOIN cases_detentionevent_charges ec
                    ON ec.charge_id = ch.id WHERE ec.detentionevent_id = e.id),
               e.charge_basis, e.sentence, e.description
          FROM cases_detentionevent e JOIN cases_case c ON c.id = e.case_id
          LEFT JOIN cases_location l ON l.id = e.location_id
          LEFT JOIN cases_location f ON f.id = e.facility_id
          LEFT JOIN people_organisation a ON a.id = e.authority_id
         WHERE c.id IN (SELECT id FROM published)
         ORDER BY c.reference, e.date_earliest, e.id""",
    "names": """
        SELECT c.reference, c.uid, p.uid, n.name, n.script, n.language, n.kind, n.is_preferred
          FROM people_personname n JOIN people_person p ON p.id = n.person_id
          JOIN cases_case c ON c.person_id = p.id
         WHERE c.id IN (SELECT id FROM published)
         ORDER BY c.reference, n.is_preferred DESC, n.id""",
    "sources": """
        WITH cited AS (
            SELECT ct.case_id AS case_id, ct.id, ct.source_id, ct.locator
              FROM sources_citation ct WHERE ct.case_id IN (SELECT id FROM published)
            UNION ALL
            SELECT c.id, ct.id, ct.source_id, ct.locator
              FROM sources_citation ct JOIN cases_case c ON c.person_id = ct.person_id
             WHERE c.id IN (SELECT id FROM published)
            UNION ALL
            SELECT e.case_id, ct.id, ct.source_id, ct.locator
              FROM sources_citation ct JOIN cases_detentionevent e ON e.id = ct.event_id
             WHERE e.case_id IN (SELECT id FROM published)
        )
        SELECT c.reference, c.uid, s.uid, s.title, s.kind, pub.uid, pub.name, s.author,
               s.url, s.archive_url, s.published, s.language, s.reliability,
               string_agg(cited.locator, '|' ORDER BY cited.id)
          FROM cited JOIN cases_case c ON c.id = cited.case_id
          JOIN sources_source s ON s.id = cited.source_id AND s.access = 'public'
               AND s.archived_at IS NULL
          LEFT JOIN people_organisation pub ON pub.id = s.publisher_id
         GROUP BY c.id, s.id, pub.id ORDER BY c.reference, s.title, s.id""",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", default="10000,100000", help="published cases, comma-separated sizes"
    )
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one measured step
    args = parser.parse_args()
    try:
        args.sizes = [int(n) for n in args.cases.split(",")]
    except ValueError:
        parser.error("--cases: whole numbers separated by commas, e.g. 10000,100000")
    args.formats = [f for f in args.formats.split(",") if f]
    if not args.sizes or min(args.sizes) < 1 or set(args.formats) - set(FORMATS):
        parser.error("--cases must be positive; --formats from csv, json, xlsx")
    return args


def run_child(env: dict, step: dict) -> dict:
    """Run one step in a fresh process; its answer, with its peak resident memory."""
    process = subprocess.Popen(  # noqa: S603 - this script, our own arguments
        [sys.executable, __file__, "--child", json.dumps(step)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"Step {step} failed (exit status {process.returncode}).")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


# --- Steps, each in its own process ---------------------------------------------------------


def child(step: dict) -> dict:
    import django

    django.setup()
    if step["step"] == "populate":
        return populate(step["cases"], step["seed"])
    if step["step"] == "export":
        return export(step["format"])
    if step["step"] == "copy":
        return copy_reference()
    raise ValueError(step)


def populate(cases: int, seed: int) -> dict:
    from django.core.management import call_command

    sys.path.insert(0, str(BASE_DIR / "benchmarks"))
    from api_bench import create_cases

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    create_cases(cases, random.Random(seed))  # noqa: S311 - made-up data
    created = time.perf_counter()
    # Planner statistics, as autovacuum (PostgreSQL) would gather them after a bulk load.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"migrate_s": migrated - started, "create_cases_s": created - migrated}


def export(fmt: str) -> dict:
    from exports import services
    from exports.models import Channel

    work = Path(tempfile.mkdtemp(prefix="casetracker-export-bench-"))
    try:
        started = time.perf_counter()
        result = services.export_cases(
            work / "bundle",
            channel=Channel.COMMAND,
            formats=[fmt],
            base_url="https://casetracker.example.org",
        )
        seconds = time.perf_counter() - started
        files = result.manifest["files"]
        rows = 0
        for info in files.values():
            records = info["records"]
            if isinstance(records, dict):
                rows += sum(n for sheet, n in records.items() if sheet != "Data dictionary")
            elif records:
                rows += records
        return {
            "seconds": seconds,
            "cases": result.case_count,
            "rows": rows,
            "bytes": sum(info["bytes"] for info in files.values()),
            "cases_per_second": result.case_count / seconds,
            "rows_per_second": rows / seconds,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def copy_reference() -> dict:
    from django.db import connection

    from cases.models import Case

    published_sql, params = Case.objects.published().values("id").query.sql_with_params()
    rows, size, started = 0, 0, time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg
        with raw.cursor() as pg:
            pg.execute(f"CREATE TEMP TABLE published AS {published_sql}", params)
            pg.execute("ANALYZE published")
            for query in COPY_QUERIES.values():
                with pg.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                    for block in copy:
                        size += len(block)
                        rows += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    rows -= len(COPY_QUERIES)  # the header lines
    return {"seconds": seconds, "rows": rows, "bytes": size, "rows_per_second": rows / seconds}


# --- The run ---------------------------------------------------------------------------------


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(args, size: int) -> dict:
    var_dir = tempfile.mkdtemp(prefix="casetracker-export-bench-")
    try:
        with throwaway.throwaway_database(BENCH_DB) as url:
            vendor = throwaway.vendor(url)
            # Production-like settings on the temporary VAR_DIR, for the child processes.
            pythonpath = os.pathsep.join([str(BASE_DIR), os.environ.get("PYTHONPATH", "")])
            env = throwaway.production_environment(var_dir, url, PYTHONPATH=pythonpath)
            setup = run_child(env, {"step": "populate", "cases": size, "seed": args.seed})
            progress(f"{size:,} cases on {vendor}: made in {setup['create_cases_s']:.0f} s")
            formats = {}
            for fmt in args.formats:
                formats[fmt] = run_child(env, {"step": "export", "format": fmt})
                progress(f"  {fmt}: {formats[fmt]['seconds']:.1f} s")
            reference = run_child(env, {"step": "copy"}) if vendor == "postgresql" else None
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return {"vendor": vendor, "setup": setup, "formats": formats, "copy_reference": reference}


def report(result) -> str:
    lines = [
        f"casetracker exports on {result['database']}, Python {result['python']} "
        f"({result['machine']['cpus']} CPUs, load average "
        f"{result['machine']['load_average_1min']['start']:.1f} at the start)",
        "",
        f"{'cases':>8} {'format':<8}{'seconds':>9}{'cases/s':>9}{'rows/s':>9}{'MiB out':>9}"
        f"{'peak RSS MiB':>14}",
    ]
    for size, run in result["runs"].items():
        for fmt, m in run["formats"].items():
            lines.append(
                f"{int(size):>8,} {fmt:<8}{m['seconds']:>9.1f}{m['cases_per_second']:>9.0f}"
                f"{m['rows_per_second']:>9.0f}{m['bytes'] / 2**20:>9.1f}{m['peak_rss_mib']:>14.0f}"
            )
        ref = run["copy_reference"]
        if ref:
            lines.append(
                f"{int(size):>8,} {'COPY':<8}{ref['seconds']:>9.1f}{'':>9}"
                f"{ref['rows_per_second']:>9.0f}{ref['bytes'] / 2**20:>9.1f}"
                f"{ref['peak_rss_mib']:>14.0f}"
            )
    return "\n".join(lines)


def main():
    args = parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    load_at_start = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    runs = {}
    for size in args.sizes:
        runs[str(size)] = measure(args, size)
        # Written after each size: a long run keeps what it has measured.
        path, result = write(args, runs, load_at_start, stamp)
    print(report(result))
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")


def write(args, runs, load_at_start, stamp):
    vendor = next(iter(runs.values()))["vendor"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "python": platform.python_version(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
        },
        "runs": runs,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"export-{vendor}-{'-'.join(map(str, args.sizes))}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path, result


if __name__ == "__main__":
    main()
