"""The statistics (figures.breakdowns) on the synthetic population.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_statistics.py

In one run, on every published case:

- each breakdown alone (no cache), p50 and p95 of BENCH_STATISTICS_RUNS (default 5) runs,
  both ways it can be counted: from the counts the write paths keep (figures.tally: what
  every page without a filter reads), and by query over the facts of every published case
  (what a filter that selects them all costs): the issue's target is under a second each at
  2,000,000 cases;
- all of them together, unfiltered and with the case list's filters (ethnicity, a prefecture,
  a date window), as GET /api/v1/statistics/ counts them when its cache is cold;
- the same request again, answered from the cache;
- the staff's statistics page (/admin/statistics/, every case, published or not),
  cache cold: unfiltered for a superuser and for a data-entry member (need to know), and for
  the case list's filters (a situation, a prefecture);
- what keeping the counts costs a write: figures.staff.refresh of one case (its facts and
  counts written again, rolled back);
- EXPLAIN (ANALYZE, BUFFERS) of every query of one unfiltered count, and of the staff's.
"""

import os

import population
from bench_admin import load, staff_client
from bench_api_list import partner_client


def main():
    runs = int(os.environ.get("BENCH_STATISTICS_RUNS", "5"))
    with population.environment() as bench:
        import django

        django.setup()
        from django.core.cache import caches
        from django.db import transaction

        from cases.models import Case, Location, LocationKind
        from figures import breakdowns
        from figures import staff as staff_facts
        from figures.models import PublishedFacts, Tally
        from snapshots.models import PublishedCase

        counted = PublishedFacts.objects.count()
        prefecture = (
            Location.objects.filter(kind=LocationKind.PREFECTURE)
            .order_by("pk")
            .values_list("uid", flat=True)
            .first()
        )
        each = {
            name: population.timings(
                lambda name: breakdowns.compute(only={name}), [name] * runs, warmup=1, unit="rows"
            )
            for name in breakdowns.NAMES
        }
        every_published = PublishedCase.objects.all()
        each_by_query = {
            f"{name} (by query)": population.timings(
                lambda name: breakdowns.compute(every_published, only={name}),
                [name] * runs,
                warmup=1,
            )
            for name in breakdowns.NAMES
        }

        def rewrite(case_id: int) -> int:
            with transaction.atomic():
                staff_facts.refresh([case_id])
                transaction.set_rollback(True)
            return 1

        step = max(1, Case.objects.count() // 200)
        sample = list(Case.objects.order_by("pk").values_list("pk", flat=True)[::step][:50])
        write = population.timings(rewrite, sample, warmup=3)
        client = partner_client()
        statistics = caches["statistics"]

        def cold(params: dict) -> int:
            statistics.clear()
            response = client.get("/api/v1/statistics/", params, secure=True)
            if response.status_code != 200:
                raise RuntimeError(f"{params}: {response.status_code} {response.content[:300]!r}")
            return len(response.content)

        def warm(params: dict) -> int:
            response = client.get("/api/v1/statistics/", params, secure=True)
            return len(response.content)

        requests = {
            "all breakdowns, no filter (cold cache)": [{}],
            "all breakdowns, ethnicity=uyghur": [{"ethnicity": "uyghur"}],
            "all breakdowns, one prefecture": [{"location": str(prefecture)}],
            "all breakdowns, date_from=2018&date_to=2019": [
                {"date_from": "2018", "date_to": "2019"}
            ],
        }
        api = {
            name: population.timings(cold, params * runs, warmup=1)
            for name, params in requests.items()
        }
        warm({})
        api["all breakdowns, no filter (cached)"] = population.timings(
            warm, [{}] * (runs * 10), warmup=1
        )
        from casetracker.roles import DATA_ENTRY
        from figures.models import CaseFacts

        page = "/admin/statistics/"
        admin, member = staff_client(), staff_client(DATA_ENTRY)
        place = Location.objects.filter(kind=LocationKind.PREFECTURE).order_by("pk").first()

        def staff_cold(visit) -> int:
            statistics.clear()
            return load(*visit)

        visits = {
            "staff page, superuser, every case (cold cache)": (admin, page),
            "staff page, data-entry member (need to know)": (member, page),
            "staff page, status__exact=detained": (admin, f"{page}?status__exact=detained"),
            "staff page, one prefecture": (admin, f"{page}?place={place.pk}"),
        }
        staff = {
            name: population.timings(staff_cold, [visit] * runs, warmup=1)
            for name, visit in visits.items()
        }
        staff_plans = population.explain_request(
            lambda: breakdowns.compute_staff(admin_user(), only=set(breakdowns.STAFF_NAMES))
        )
        member_plans = population.explain_request(
            lambda: breakdowns.compute_staff(
                member_user(DATA_ENTRY), only=set(breakdowns.STAFF_NAMES)
            )
        )
        plans = population.explain_request(lambda: breakdowns.compute())
        result = {
            "runs": runs,
            "facts": counted,
            "breakdowns": each,
            "breakdowns_by_query": each_by_query,
            "kept_counts": Tally.objects.count(),
            "write_one_case": write,
            "api": api,
            "case_facts": CaseFacts.objects.count(),
            "staff": staff,
            "queries": len(plans),
            "explain": plans,
            "staff_queries": len(staff_plans),
            "staff_explain": staff_plans,
            "member_queries": len(member_plans),
            "member_explain": member_plans,
        }
        lines = [
            f"Statistics: {bench.persons:,} people, {counted:,} published cases counted "
            f"({runs} runs a line)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in each.items()),
            *(population.row(name, figures, width=46) for name, figures in each_by_query.items()),
            "",
            population.row("refresh one case's facts and counts", write, width=46),
            f"Kept counts: {Tally.objects.count():,} rows",
            "",
            *(population.row(name, figures, width=46) for name, figures in api.items()),
            "",
            *(population.row(name, figures, width=46) for name, figures in staff.items()),
            "",
            f"One unfiltered count: {len(plans)} queries; slowest "
            f"{plans[0]['execution_ms'] if plans else None} ms",
            f"The staff's, every case: {len(staff_plans)} queries; slowest "
            f"{staff_plans[0]['execution_ms'] if staff_plans else None} ms",
            f"A data-entry member's: {len(member_plans)} queries; slowest "
            f"{member_plans[0]['execution_ms'] if member_plans else None} ms",
        ]
        for plan in [*plans[:3], *staff_plans[:3], *member_plans[:3]]:
            scans = "; ".join(plan["seq_scans"][:2]) or "no Seq Scan"
            lines.append(f"  {plan['execution_ms']} ms: {scans}")
        population.write_result("statistics", bench, result, "\n".join(lines))


def admin_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="benchmark-admin")


def member_user(role: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="benchmark-" + role.lower().replace(" ", "-"))


if __name__ == "__main__":
    main()
