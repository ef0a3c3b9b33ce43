"""The public website (website app) on the synthetic population: what a visitor waits for.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_website.py

Each page is asked for as a first-time visitor does (no cookie, no ETag), BENCH_REQUESTS times
(default 100):

- a case page, a different published case each time (chosen by key, no sort of the table);
- a search page, for names of the population in four scripts (the names bench_search uses);
- a county's "held here" list and a charge's list (the busiest of each), first page;
- the home page and the statistics page (their counts cached per change of the published set:
  the first call counts, the others read the cache).

EXPLAIN (ANALYZE, BUFFERS) of every query of one case page, one search and one county list:
none may read a whole table.
"""

import os
import random

import population
from bench_search import sample_names


def main():
    requests = int(os.environ.get("BENCH_REQUESTS", "100"))
    with population.environment() as bench:
        import django

        django.setup()
        from urllib.parse import urlencode

        from django.db.models import Count
        from django.test import Client
        from django.urls import reverse

        from figures.models import PlaceRole, PublishedFactCharge, PublishedFactPlace
        from snapshots.models import PublishedCase

        client = Client()

        def get(address: str) -> int:
            response = client.get(address, secure=True)
            if response.status_code != 200:
                raise RuntimeError(f"{address}: {response.status_code}")
            return len(response.content)

        rng = random.Random(bench.seed)  # noqa: S311 (choosing pages, no secret)
        highest = PublishedCase.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        references = []
        for _ in range(requests):
            reference = (
                PublishedCase.objects.filter(pk__gte=rng.randrange(highest + 1))
                .order_by("pk")
                .values_list("reference", flat=True)
                .first()
            )
            if reference:
                references.append(reference)
        names = sample_names(bench.seed)
        searches = [
            f"{reverse('website:search')}?{urlencode({'q': name})}"
            for name in (names * (requests // max(len(names), 1) + 1))[:requests]
        ]
        # The busiest county and charge: their first page is the most a list reads.
        county = (
            PublishedFactPlace.objects.filter(role=PlaceRole.DETENTION, kind="county")
            .values("location__uid")
            .annotate(n=Count("facts"))
            .order_by("-n")
            .first()
        )
        charge = (
            PublishedFactCharge.objects.values("charge__uid")
            .annotate(n=Count("facts"))
            .order_by("-n")
            .first()
        )
        case_pages = [reverse("website:case", args=[r]) for r in references]
        results = {
            "case page": population.timings(get, case_pages),
            "search page": population.timings(get, searches),
            "home page": population.timings(get, [reverse("website:home")] * requests),
            "statistics page": population.timings(get, [reverse("website:statistics")] * requests),
        }
        plans = {
            "case page": population.explain_request(lambda: get(case_pages[0])),
            "search page": population.explain_request(lambda: get(searches[0])),
        }
        if county:
            place = reverse("website:place", args=[county["location__uid"]])
            results[f"county list ({county['n']:,} cases)"] = population.timings(
                get, [place] * requests
            )
            plans["county list"] = population.explain_request(lambda: get(place))
        if charge:
            address = reverse("website:charge", args=[charge["charge__uid"]])
            results[f"charge list ({charge['n']:,} cases)"] = population.timings(
                get, [address] * requests
            )
        scans = {
            page: [scan for plan in found for scan in plan["seq_scans"]]
            for page, found in plans.items()
        }
        result = {
            "requests_per_page": requests,
            "pages": results,
            "seq_scans": scans,
            "explain": plans,
        }
        lines = [
            f"Public website: {bench.persons:,} people ({requests} requests a line)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in results.items()),
            "",
            *(
                f"{page}: {len(found)} queries, slowest {found[0]['execution_ms']} ms, "
                + ("; ".join(scans[page][:2]) or "no Seq Scan")
                for page, found in plans.items()
                if found
            ),
        ]
        population.write_result("website", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
