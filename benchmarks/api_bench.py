"""Benchmark of the partner API on a throwaway database: `make bench`, or

    .venv/bin/python benchmarks/api_bench.py [--cases 2000] [--requests 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench

It never touches real data. On SQLite (the default) the database is a file in a temporary
VAR_DIR. With DATABASE_URL pointing at PostgreSQL it connects to that database only to create
a database of its own, `casetracker_bench` (dropping one left over by an interrupted run), and
drops it at the end. The temporary VAR_DIR (SQLite file, throttle cache, key) goes too.

It creates N published cases, each with a person named in three scripts (Latin, Cyrillic,
Arabic), two events with charges, places and a facility, an incident, and four public
citations; then, with Django's test client and a real partner token (through every middleware,
the throttles and the request log, as in production with DEBUG off, less the WSGI server and
the network), it measures:

- requests per second and median / 95th-percentile latency of the case list at page_size 50
  and 500, a case by reference, a Cyrillic name search and a filtered list;
- SQL queries per list page at page_size 10, 50 and 500: they must not grow with the page size
  (the script exits 1 if they do);
- peak Python memory (tracemalloc) of one 500-case page;
- the 500-case page taken apart: fetching with prefetches, `serializer.data` alone, and JSON
  rendering, to tell whether DRF's per-field work matters.

It prints a table and writes the figures as JSON to benchmarks/results/ (not kept in git).
"""

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import throwaway

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
BENCH_DB = "casetracker_bench"
HOST = "testserver"

# Fictional Kazakh names, each in Latin, Cyrillic and Arabic script: 10 x 10 combinations, so
# that a surname search finds about a tenth of the cases.
GIVEN_NAMES = [
    ("Kanat", "Қанат", "قانات"),
    ("Serik", "Серік", "سەرىك"),
    ("Aigul", "Айгүл", "ايگۇل"),
    ("Nurlan", "Нұрлан", "نۇرلان"),
    ("Gulnar", "Гүлнар", "گۇلنار"),
    ("Yerlan", "Ерлан", "ەرلان"),
    ("Dana", "Дана", "دانا"),
    ("Marat", "Марат", "مارات"),
    ("Saule", "Сәуле", "ساۋلە"),
    ("Bolat", "Болат", "بولات"),
]
SURNAMES = [
    ("Yerezhep", "Ережеп", "ەرەجەپ"),
    ("Nurbek", "Нұрбек", "نۇربەك"),
    ("Sadyk", "Садық", "سادىق"),
    ("Tokhtar", "Тоқтар", "توقتار"),
    ("Zhakyp", "Жақып", "جاقىپ"),
    ("Abai", "Абай", "اباي"),
    ("Oral", "Орал", "ورال"),
    ("Myrzabek", "Мырзабек", "مىرزابەك"),
    ("Serikbai", "Серікбай", "سەرىكباي"),
    ("Tursyn", "Тұрсын", "تۇرسىن"),
]
SEARCH = "Ережеп"
FILTERS = {
    "status": "detained",
    "ethnicity": "kazakh",
    "date_from": "2020",
    "date_to": "2021",
    "min_evidence_level": "3",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="published cases to create")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per scenario")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--profile", action="store_true", help="also profile serializer.data on 500 cases"
    )
    args = parser.parse_args()
    if args.cases < 500:
        parser.error("--cases must be at least 500 (a 500-case page is measured)")
    if args.requests < 2:
        parser.error("--requests must be at least 2")
    return args


# --- Data --------------------------------------------------------------------------------


def create_cases(n: int, rng: random.Random) -> None:
    """N published cases written in bulk. The rows are what the admin and the workflow would
    leave; publishing goes around the workflow (four-eyes, citations) by a plain update."""
    from django.utils import timezone

    from cases import publication
    from cases.models import (
        Case,
        CaseStatus,
        Charge,
        ChargeBasis,
        DetentionEvent,
        EventKind,
        FacilityType,
        Incident,
        Location,
        LocationKind,
        ReviewState,
    )
    from casetracker.text import fold
    from people.models import (
        Consent,
        Ethnicity,
        Gender,
        NameKind,
        Organisation,
        OrganisationKind,
        Person,
        PersonName,
    )
    from sources.models import Access, Citation, Credibility, Reliability, Source, SourceKind

    prefectures = list(Location.objects.filter(kind=LocationKind.PREFECTURE))
    charges = list(Charge.objects.all())
    facilities = [
        Location.objects.create(
            kind=LocationKind.FACILITY,
            facility_type=FacilityType.DETENTION_CENTRE,
            parent=prefectures[i % len(prefectures)],
            name_en=f"Detention centre no. {i + 1}",
        )
        for i in range(20)
    ]
    authorities = Organisation.objects.bulk_create(
        Organisation(name=f"Public security bureau no. {i + 1}", kind=OrganisationKind.SECURITY)
        for i in range(20)
    )
    publishers = Organisation.objects.bulk_create(
        Organisation(name=f"News outlet no. {i + 1}", kind=OrganisationKind.MEDIA)
        for i in range(10)
    )
    sources = Source.objects.bulk_create(
        Source(
            title=f"Report no. {i + 1} on detentions in Xinjiang",
            kind=SourceKind.NEWS_REPORT,
            publisher=publishers[i % len(publishers)],
            published=f"2024-{i % 12 + 1:02d}",
            language="en",
            reliability=Reliability.B,
            access=Access.PUBLIC,
        )
        for i in range(100)
    )
    incidents = Incident.objects.bulk_create(
        Incident(name=f"Wave of arrests no. {i + 1}", date=f"{2017 + i}/{2018 + i}")
        for i in range(5)
    )

    spellings = [(rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)) for _ in range(n)]
    people = Person.objects.bulk_create(
        Person(
            display_name=f"{given[0]} {surname[0]}",
            gender=rng.choice([Gender.MALE, Gender.FEMALE]),
            ethnicity=Ethnicity.KAZAKH if rng.random() < 0.8 else Ethnicity.UYGHUR,
            birth_date=f"{rng.randint(1950, 1995)}",
            place_of_origin=rng.choice(prefectures),
            occupation="Teacher",
            public_summary="Reported detained in Xinjiang.",
            consent=Consent.PUBLIC_RECORD,
        )
        for given, surname in spellings
    )
    scripts = [("Latn", "en", NameKind.TRANSLITERATION), ("Cyrl", "kk", NameKind.NATIVE)]
    scripts.append(("Arab", "kk", NameKind.NATIVE))
    PersonName.objects.bulk_create(
        PersonName(
            person=person,
            name=f"{given[i]} {surname[i]}",
            search_name=fold(f"{given[i]} {surname[i]}"),
            script=script,
            language=language,
            kind=kind,
            is_preferred=i == 0,
        )
        for person, (given, surname) in zip(people, spellings, strict=True)
        for i, (script, language, kind) in enumerate(scripts)
    )
    sentenced = [rng.random() < 0.5 for _ in range(n)]
    cases = Case.objects.bulk_create(
        Case(
            reference=f"CT-2025-{i + 1:05d}",
            person=person,
            status=CaseStatus.SENTENCED if sentenced[i] else CaseStatus.DETAINED,
            public_summary="Detained in Xinjiang; the family learnt of it years later.",
        )
        for i, person in enumerate(people)
    )
    Case.incidents.through.objects.bulk_create(
        Case.incidents.through(case_id=case.pk, incident_id=rng.choice(incidents).pk)
        for case in cases
    )
    events = []
    for case, is_sentenced in zip(cases, sentenced, strict=True):
        year = rng.randint(2017, 2022)
        events.append(
            DetentionEvent(
                case=case,
                kind=EventKind.DETAINED,
                date=rng.choice([f"{year}", f"{year}-{rng.randint(1, 12):02d}", "2019/2023"]),
                location=rng.choice(prefectures),
                authority=rng.choice(authorities),
                charge_basis=ChargeBasis.REPORTED,
                description="Taken from home by local police.",
            )
        )
        events.append(
            DetentionEvent(
                case=case,
                kind=EventKind.SENTENCED if is_sentenced else EventKind.TRANSFERRED,
                date=f"{year + 1}-{rng.randint(1, 12):02d}",
                location=rng.choice(prefectures),
                facility=rng.choice(facilities),
                sentence=f"{rng.randint(5, 20)} years" if is_sentenced else "",
                description="Reported by a relative abroad.",
            )
        )
    events = DetentionEvent.objects.bulk_create(events)
    DetentionEvent.charges.through.objects.bulk_create(
        DetentionEvent.charges.through(detentionevent_id=event.pk, charge_id=charge.pk)
        for i, event in enumerate(events)
        for charge in rng.sample(charges, 2 if i % 2 == 0 else 1)
    )
    citations = []
    for i, case in enumerate(cases):
        subjects = [{"case": case}, {"person": case.person}]
        subjects += [{"event": events[2 * i]}, {"event": events[2 * i + 1]}]
        citations += [
            Citation(
                source=rng.choice(sources),
                locator=f"paragraph {j + 1}",
                claim="The source says so.",
                credibility=Credibility.PROBABLY_TRUE,
                **subject,
            )
            for j, subject in enumerate(subjects)
        ]
    Citation.objects.bulk_create(citations)
    now = timezone.now()
    Case._base_manager.update(
        review_state=ReviewState.VERIFIED,
        is_published=True,
        evidence_level=3,
        verified_at=now,
        published_at=now,
    )
    publication.sync(case.pk for case in cases)
    published = Case.objects.published().count()
    if published != n:
        raise RuntimeError(f"{published} cases published, {n} expected")


def partner_key() -> str:
    from api.models import Partner

    partner = Partner.objects.create(name="Benchmark partner")
    _, key = partner.issue_token("benchmark")
    return key


# --- Measuring ---------------------------------------------------------------------------


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def get(client, path, params):
    response = client.get(path, params, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{path} {params}: {response.status_code} {response.content[:300]}")
    return response


def time_requests(client, paths, requests, warmup):
    """Time `requests` GETs cycling through `paths`, after `warmup` untimed ones."""
    latencies, sizes, rows = [], [], []
    for i in range(warmup + requests):
        path, params = paths[i % len(paths)]
        start = time.perf_counter()
        response = get(client, path, params)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            latencies.append(elapsed)
            sizes.append(len(response.content))
            body = response.json()
            rows.append(len(body["results"]) if "results" in body else 1)
    return {
        "requests": requests,
        "rows": round(statistics.mean(rows)),
        "bytes": round(statistics.mean(sizes)),
        "requests_per_second": requests / sum(latencies),
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
    }


def count_queries(client, path, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        get(client, path, params)
    return len(queries)


def peak_memory(client, path, params):
    """Peak memory Python allocated while serving one request (tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        get(client, path, params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def serialisation(repeats, profile=False):
    """The 500-case page taken apart: fetch (with prefetches), serializer.data, JSON."""
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request

    from api import public

    request = Request(RequestFactory().get("/api/v1/cases/", secure=True, HTTP_HOST=HOST))
    context = {"request": request}
    fetch, serialise, render = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            cases = list(public.case_queryset().order_by("-updated_at", "-pk")[:500])
        fetch.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = public.CaseSerializer(cases, many=True, context=context).data
        serialise.append(time.perf_counter() - start)
        start = time.perf_counter()
        JSONRenderer().render({"next": None, "previous": None, "results": data})
        render.append(time.perf_counter() - start)
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: public.CaseSerializer(cases, many=True, context=context).data)
        print("serializer.data on 500 cases, by cumulative time (cProfile slows it down):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)
    return {
        "cases": len(cases),
        "fetch_queries": len(queries),
        "fetch_ms": statistics.median(fetch) * 1000,
        "serializer_data_ms": statistics.median(serialise) * 1000,
        "serializer_data_us_per_case": statistics.median(serialise) / len(cases) * 1e6,
        "json_render_ms": statistics.median(render) * 1000,
    }


def run(args, vendor):
    import django
    from django.core.management import call_command
    from django.test import Client

    django.setup()
    load_at_start = os.getloadavg()[0]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    create_cases(args.cases, random.Random(args.seed))  # noqa: S311 (made-up data, no secret)
    created = time.perf_counter()
    client = Client(HTTP_AUTHORIZATION=f"Token {partner_key()}")

    from cases.models import Case

    references = list(
        Case.objects.published().order_by("?").values_list("reference", flat=True)[:50]
    )
    cases = "/api/v1/cases/"
    scenarios = {
        "list, page_size=50": [(cases, {"page_size": 50})],
        "list, page_size=500": [(cases, {"page_size": 500})],
        "detail, by reference": [(f"{cases}{ref}/", {}) for ref in references],
        f"search={SEARCH}": [(cases, {"search": SEARCH})],
        "filtered list": [(cases, FILTERS)],
    }
    results = {
        name: time_requests(client, paths, args.requests, args.warmup)
        for name, paths in scenarios.items()
    }
    for name, paths in scenarios.items():
        results[name]["queries"] = count_queries(client, *paths[0])
    page_queries = {
        size: count_queries(client, cases, {"page_size": size}) for size in (10, 50, 500)
    }
    memory = peak_memory(client, cases, {"page_size": 500})
    parts = serialisation(max(3, args.requests // 5), args.profile)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"vendor": vendor, "version": throwaway.database_version(vendor)},
        "python": platform.python_version(),
        "django": django.get_version(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            # Other work on the machine skews the figures: compare runs at a similar load.
            "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
        },
        "cases": args.cases,
        "requests_per_scenario": args.requests,
        "setup_seconds": {"migrate": migrated - started, "create_cases": created - migrated},
        "scenarios": results,
        "queries_per_list_page": page_queries,
        "queries_constant": len(set(page_queries.values())) == 1,
        "peak_memory_500_page_bytes": memory,
        "serialisation_500_cases": parts,
    }


def report(result) -> str:
    db = result["database"]
    lines = [
        f"casetracker partner API: {result['cases']:,} published cases on {db['vendor']} "
        f"{db['version']}, Python {result['python']}, Django {result['django']}",
        f"(setup: migrate {result['setup_seconds']['migrate']:.1f} s, "
        f"cases {result['setup_seconds']['create_cases']:.1f} s; "
        f"{result['requests_per_scenario']} timed requests per line, Django test client; "
        f"load average {result['machine']['load_average_1min']['start']:.1f} at the start on "
        f"{result['machine']['cpus']} CPUs)",
        "",
        f"{'scenario':<24}{'rows':>6}{'KiB':>8}{'req/s':>9}{'median ms':>11}{'p95 ms':>9}"
        f"{'queries':>9}",
    ]
    for name, s in result["scenarios"].items():
        lines.append(
            f"{name:<24}{s['rows']:>6}{s['bytes'] / 1024:>8.0f}{s['requests_per_second']:>9.1f}"
            f"{s['median_ms']:>11.1f}{s['p95_ms']:>9.1f}{s['queries']:>9}"
        )
    pages = result["queries_per_list_page"]
    verdict = "constant" if result["queries_constant"] else "GROWS WITH THE PAGE SIZE"
    parts = result["serialisation_500_cases"]
    lines += [
        "",
        "SQL queries per case-list page: "
        + ", ".join(f"page_size={size}: {count}" for size, count in pages.items())
        + f" ({verdict})",
        f"Peak Python memory serving one 500-case page: "
        f"{result['peak_memory_500_page_bytes'] / 2**20:.1f} MiB (tracemalloc)",
        f"500 cases taken apart: fetch with prefetches {parts['fetch_ms']:.0f} ms "
        f"({parts['fetch_queries']} queries), serializer.data {parts['serializer_data_ms']:.0f} ms "
        f"({parts['serializer_data_us_per_case']:.0f} µs a case), "
        f"JSON {parts['json_render_ms']:.0f} ms",
    ]
    return "\n".join(lines)


def main():
    args = parse_args()
    with throwaway.django_environment(
        "casetracker-bench-",
        BENCH_DB,
        ALLOWED_HOSTS=HOST,
        # Throttled like production (counters in the file cache), with rates it never reaches.
        API_RATE_BURST="1000000000/min",
        API_RATE_SUSTAINED="1000000000/day",
    ) as vendor:
        result = run(args, vendor)
    print(report(result))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"api-{result['database']['vendor']}-{result['cases']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")
    if not result["queries_constant"]:
        sys.exit("The number of queries per list page grows with the page size.")


if __name__ == "__main__":
    main()
