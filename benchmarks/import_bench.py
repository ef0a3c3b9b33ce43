"""Benchmark of the bulk import on a throwaway database: `make bench-import`, or

    .venv/bin/python benchmarks/import_bench.py [--rows 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/import_bench.py --rows 10000

It never touches real data. On SQLite (the default) the database is a file in a temporary
VAR_DIR. With DATABASE_URL pointing at PostgreSQL it connects to that database only to create
a database of its own, `casetracker_import_bench` (dropping one left over by an interrupted
run), and drops it at the end.

It writes a CSV of N rows in the import template: N/2 fictional people, each with a Latin,
a Cyrillic and an Arabic-script name (a given name of thirty, a family name of four random
syllables), one case and two events (detained with two charges
and a source; family notified), and measures, through imports.services as the command runs
it (with the history rows, the duplicate search and the case-status updates):

- the import of the file into an empty database: checking, writing, rows per second;
- a re-import of the same file (everything found again, nothing written);
- on PostgreSQL, `COPY … FROM STDIN` of the same rows into a scratch table of text columns:
  the ceiling of getting the bytes into the database at all;
- peak memory (the process's maximum resident set size).

It prints a table and writes the figures as JSON to benchmarks/results/ (not kept in git).
"""

import argparse
import csv
import io
import json
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import throwaway

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
BENCH_DB = "casetracker_import_bench"
GROUP = "Benchmark group (fictional)"

# Fictional people's given names, each in Latin, Cyrillic and Arabic script, with the gender
# they usually go with: thirty common Kazakh given names, picked at random, so that the
# blocking keys (a given name with the start of a family name) are spread as in a real list
# rather than piled on a handful of given names.
GIVEN = [
    ("Kanat", "Қанат", "قانات", "male"),
    ("Serik", "Серік", "سەرىك", "male"),
    ("Aigul", "Айгүл", "ايگۇل", "female"),
    ("Nurlan", "Нұрлан", "نۇرلان", "male"),
    ("Gulnar", "Гүлнар", "گۇلنار", "female"),
    ("Yerlan", "Ерлан", "ەرلان", "male"),
    ("Dana", "Дана", "دانا", "female"),
    ("Marat", "Марат", "مارات", "male"),
    ("Saule", "Сәуле", "ساۋلە", "female"),
    ("Bolat", "Болат", "بولات", "male"),
    ("Askar", "Асқар", "اسقار", "male"),
    ("Yerzhan", "Ержан", "ەرجان", "male"),
    ("Dauren", "Дәурен", "داۋرەن", "male"),
    ("Aliya", "Әлия", "اليا", "female"),
    ("Zhanar", "Жанар", "جانار", "female"),
    ("Erbol", "Ербол", "ەربول", "male"),
    ("Asel", "Әсел", "اسەل", "female"),
    ("Temir", "Темір", "تەمىر", "male"),
    ("Madina", "Мадина", "مادينا", "female"),
    ("Ruslan", "Руслан", "رۋسلان", "male"),
    ("Aizhan", "Айжан", "ايجان", "female"),
    ("Bauyrzhan", "Бауыржан", "باۋىرجان", "male"),
    ("Kuralai", "Құралай", "قۇرالاي", "female"),
    ("Daniyar", "Данияр", "دانيار", "male"),
    ("Ainur", "Айнұр", "اينۇر", "female"),
    ("Arman", "Арман", "ارمان", "male"),
    ("Zhuldyz", "Жұлдыз", "جۇلدىز", "female"),
    ("Nurbol", "Нұрбол", "نۇربول", "male"),
    ("Bakhyt", "Бақыт", "باقىت", "male"),
    ("Saltanat", "Салтанат", "سالتانات", "female"),
]
# Family names are made of four of these syllables, at random: distinct people, so that the
# benchmark measures importing rather than an unusual number of possible duplicates.
SYLLABLES = [
    ("ba", "ба", "با"),
    ("ke", "ке", "كە"),
    ("ta", "та", "تا"),
    ("nur", "нұр", "نۇر"),
    ("bek", "бек", "بەك"),
    ("sa", "са", "سا"),
    ("mar", "мар", "مار"),
    ("to", "то", "تو"),
    ("zhan", "жан", "جان"),
    ("al", "ал", "ال"),
    ("dy", "ды", "دى"),
    ("er", "ер", "ەر"),
    ("gul", "гүл", "گۇل"),
    ("kan", "қан", "قان"),
    ("mu", "му", "مۇ"),
    ("ra", "ра", "را"),
    ("se", "се", "سە"),
    ("ly", "лы", "لى"),
    ("ab", "аб", "اب"),
    ("oz", "оз", "وز"),
]
PLACES = ["Ili Kazakh Autonomous Prefecture", "Altay Prefecture", "Tacheng Prefecture", "Ürümqi"]
CHARGES = ["Treason", "Splitting the state", "Inciting splitting the state"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the file (even)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    if args.rows < 2 or args.rows % 2:
        parser.error("--rows must be an even number of at least 2")
    return args


# --- The file ------------------------------------------------------------------------------

COLUMNS = [
    "person_external_id",
    "name_latin",
    "name_cyrillic",
    "name_arabic",
    "person_gender",
    "person_birth_date",
    "person_place_of_origin",
    "case_external_id",
    "case_public_summary",
    "event_kind",
    "event_date",
    "event_place",
    "event_charges",
    "source_title",
    "source_kind",
    "source_url",
    "source_access",
    "source_locator",
]


def family_names(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    seen, names = set(), []
    while len(names) < n:
        picks = tuple(rng.randrange(len(SYLLABLES)) for _ in range(4))
        if picks in seen:
            continue
        seen.add(picks)
        parts = [SYLLABLES[p] for p in picks]
        names.append(tuple("".join(p[script] for p in parts).capitalize() for script in range(3)))
    return names


def make_rows(n: int, rng: random.Random) -> list[list[str]]:
    rows = []
    families = family_names(n // 2, rng)
    for i in range(n // 2):
        *given, gender = rng.choice(GIVEN)
        names = [f"{g} {f}" for g, f in zip(given, families[i], strict=True)]
        person = [f"B-P-{i}", *names, gender, str(1950 + i % 40), rng.choice(PLACES)]
        case = [f"B-C-{i}", "Fictional detainee for the import benchmark."]
        detained = [
            "detained",
            f"{2017 + i % 5}/{2019 + i % 5}",
            "Xinjiang Uyghur Autonomous Region",
            "; ".join(rng.sample(CHARGES, 2)),
        ]
        source = ["Fictional list", "ngo_report", f"https://example.org/list/{i // 500}", "public"]
        rows.append([*person, *case, *detained, *source, f"row {i}"])
        notified = ["family_notified", f"2024-{i % 12 + 1:02d}", rng.choice(PLACES), ""]
        rows.append([*person, *case, *notified, "", "", "", "", ""])
    return rows


def to_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- Runs ----------------------------------------------------------------------------------


def timed_import(data: bytes, user, group) -> dict:
    from imports import services

    stages = {}

    def progress(stage, n):
        stages.setdefault(stage, time.perf_counter())

    started = time.perf_counter()
    result = services.import_file(data, "bench.csv", user=user, group=group, progress=progress)
    finished = time.perf_counter()
    if result.plan.errors:
        sys.exit(f"The benchmark file has errors: {result.plan.errors[:5]}")
    writing = stages.get("written")
    duplicates = stages.get("duplicates sought", finished)
    return {
        "status": result.batch.status,
        "seconds": finished - started,
        "checking_seconds": (writing or finished) - started,
        "writing_seconds": duplicates - writing if writing else 0.0,
        "duplicates_seconds": finished - duplicates,
        "counts": result.plan.counts(),
    }


def copy_rows(rows) -> float | None:
    """PostgreSQL COPY of the same rows into a scratch table of text columns."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    columns = ", ".join(f"{name} text" for name in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE import_bench_copy ({columns})")
        started = time.perf_counter()
        with cursor.copy(f"COPY import_bench_copy ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE import_bench_copy")
    return elapsed


def run(args, vendor):
    import django
    from django.core.management import call_command

    django.setup()
    from django.contrib.auth import get_user_model

    from casetracker import roles
    from people.models import Organisation, OrganisationKind

    load_at_start = os.getloadavg()[0]
    call_command("migrate", verbosity=0)
    roles.setup_roles()
    user = get_user_model().objects.create_user("bench-importer", is_staff=True)
    user.groups.add(roles.Group.objects.get(name=roles.DATA_ENTRY))
    group = Organisation.objects.create(name=GROUP, kind=OrganisationKind.NGO)
    rows = make_rows(args.rows, random.Random(args.seed))  # noqa: S311 (made-up data)
    data = to_csv(rows)
    first = timed_import(data, user, group)
    again = timed_import(data, user, group)
    copy_seconds = copy_rows(rows)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"vendor": vendor, "version": throwaway.database_version(vendor)},
        "python": platform.python_version(),
        "django": django.get_version(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
        },
        "rows": args.rows,
        "file_bytes": len(data),
        "first_import": first,
        "reimport": again,
        "copy_seconds": copy_seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def report(result) -> str:
    db, rows = result["database"], result["rows"]
    lines = [
        f"casetracker bulk import: {rows:,} rows ({result['file_bytes'] / 2**20:.1f} MB CSV) on "
        f"{db['vendor']} {db['version']}, Python {result['python']}, Django {result['django']} "
        f"(load average {result['machine']['load_average_1min']['start']:.1f} at the start on "
        f"{result['machine']['cpus']} CPUs)",
        "",
        f"{'run':<28}{'seconds':>9}{'checking':>10}{'writing':>9}{'duplicates':>12}{'rows/s':>9}",
    ]
    for name, key in (
        ("import into an empty db", "first_import"),
        ("re-import, no changes", "reimport"),
    ):
        r = result[key]
        lines.append(
            f"{name:<28}{r['seconds']:>9.1f}{r['checking_seconds']:>10.1f}"
            f"{r['writing_seconds']:>9.1f}{r['duplicates_seconds']:>12.1f}"
            f"{rows / r['seconds']:>9.0f}"
        )
    if result["copy_seconds"] is not None:
        c = result["copy_seconds"]
        lines.append(f"{'PostgreSQL COPY, text table':<28}{c:>9.2f}{'':>31}{rows / c:>9.0f}")
    lines.append("")
    lines.append(f"Peak memory (max RSS): {result['peak_rss_bytes'] / 2**20:.0f} MiB")
    counts = result["first_import"]["counts"]
    lines.append(
        "Written: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items() if v)
    )
    return "\n".join(lines)


def main():
    args = parse_args()
    with throwaway.django_environment("casetracker-import-bench-", BENCH_DB) as vendor:
        result = run(args, vendor)
    print(report(result))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"import-{result['database']['vendor']}-{result['rows']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
