"""The statistics (figures.breakdowns) on the synthetic population.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_statistics.py

In one run, on every published case:

- each breakdown alone, counted afresh (no cache), p50 and p95 of BENCH_STATISTICS_RUNS
  (default 5) runs: the issue's target is under a second each at 2,000,000 cases;
- all of them together, unfiltered and with the case list's filters (ethnicity, a prefecture,
  a date window), as GET /api/v1/statistics/ counts them when its cache is cold;
- the same request again, answered from the cache;
- EXPLAIN (ANALYZE, BUFFERS) of every query of one unfiltered count.
"""

import os

import population
from bench_api_list import partner_client


def main():
    runs = int(os.environ.get("BENCH_STATISTICS_RUNS", "5"))
    with population.environment() as bench:
        import django

        django.setup()
        from django.core.cache import caches

        from cases.models import Location, LocationKind
        from figures import breakdowns
        from figures.models import PublishedFacts

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
        plans = population.explain_request(lambda: breakdowns.compute())
        result = {
            "runs": runs,
            "facts": counted,
            "breakdowns": each,
            "api": api,
            "queries": len(plans),
            "explain": plans,
        }
        lines = [
            f"Statistics: {bench.persons:,} people, {counted:,} published cases counted "
            f"({runs} runs a line)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in each.items()),
            "",
            *(population.row(name, figures, width=46) for name, figures in api.items()),
            "",
            f"One unfiltered count: {len(plans)} queries; slowest "
            f"{plans[0]['execution_ms'] if plans else None} ms",
        ]
        for plan in plans[:5]:
            scans = "; ".join(plan["seq_scans"][:2]) or "no Seq Scan"
            lines.append(f"  {plan['execution_ms']} ms: {scans}")
        population.write_result("statistics", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
