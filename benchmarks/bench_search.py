"""Name search on the synthetic population, beside a plain ILIKE.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_search.py

Twenty names of the population, five in each script (Latin, Cyrillic, Arabic, Chinese), are
looked up, each several times round, in one run:

- ``search_people`` (people.matching: folded text and cross-script match keys, what the admin's
  and the API's search use), its first 100 people; and the same for the first word of each
  name alone (a given name or a family name, as staff type into a picker);
- the partner API's case list with ``search=``, page_size=50;
- the reference: a plain ``name ILIKE '%…%'`` over the names, its first 100 people.

EXPLAIN (ANALYZE, BUFFERS) of search_people's query and of the reference for one common name.
BENCH_REQUESTS (default 100) lookups per scenario.
"""

import os
import random

import population
from bench_api_list import fetch, partner_client

SCRIPTS = ("Latn", "Cyrl", "Arab", "Hans")


def sample_names(seed: int) -> list[str]:
    """Five names of each script, spread over the population (by key, no sort of the table)."""
    from people.models import PersonName

    rng = random.Random(seed)  # noqa: S311 (choosing names, no secret)
    highest = PersonName.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    names: list[str] = []
    for script in SCRIPTS:
        found: list[str] = []
        for _ in range(50):
            if len(found) == 5:
                break
            name = (
                PersonName.objects.filter(script=script, pk__gte=rng.randrange(highest + 1))
                .order_by("pk")
                .values_list("name", flat=True)
                .first()
            )
            if name and name not in found:
                found.append(name)
        names += found
    return names


def main():
    requests = int(os.environ.get("BENCH_REQUESTS", "100"))
    with population.environment() as bench:
        import django

        django.setup()
        from urllib.parse import urlencode

        from django.db import connection

        from people.matching import search_people
        from people.models import Person, PersonName

        names = sample_names(bench.seed)
        rounds = (names * (requests // len(names) + 1))[:requests]
        client = partner_client()

        def ours(term):
            return len(list(search_people(term, Person.objects.all()).values_list("pk")[:100]))

        def ilike(term):
            matches = PersonName.objects.filter(name__icontains=term).values_list("person_id")
            return len(list(matches[:100]))

        def api(term):
            return len(fetch(client, "/api/v1/cases/?" + urlencode({"search": term})))

        given = [name.replace("·", " ").split()[0] for name in names]
        given_rounds = (given * (requests // len(given) + 1))[:requests]
        results = {
            "search_people (100 people)": population.timings(ours, rounds, unit="rows"),
            "search_people, one given name": population.timings(ours, given_rounds, unit="rows"),
            "API cases?search= (page of 50)": population.timings(api, rounds),
            "reference: name ILIKE '%…%'": population.timings(ilike, rounds, unit="rows"),
        }
        common = names[0]
        queryset = search_people(common, Person.objects.all()).values_list("pk")[:100]
        reference = PersonName.objects.filter(name__icontains=common).values_list("person_id")
        with connection.cursor():
            plans = {
                "search_people": population.explain(*_sql(queryset)),
                "reference ILIKE": population.explain(*_sql(reference[:100])),
                "API search request": population.explain_request(lambda: api(common)),
            }
        found = {name: ours(name) for name in names}
        result = {
            "names": names,
            "people_found_per_name": found,
            "requests_per_scenario": requests,
            "scenarios": results,
            "ours_over_reference_p50": round(
                results["search_people (100 people)"]["p50_ms"]
                / results["reference: name ILIKE '%…%'"]["p50_ms"],
                2,
            ),
            "explain": plans,
        }
        lines = [
            f"Name search: {bench.persons:,} people, {len(names)} names in "
            f"{len(SCRIPTS)} scripts ({requests} lookups a line)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in results.items()),
            "",
            f"search_people median / ILIKE median: {result['ours_over_reference_p50']}×",
            f"search_people plan for “{common}”: "
            f"{plans['search_people']['execution_ms']} ms, "
            + ("; ".join(plans["search_people"]["seq_scans"][:2]) or "no Seq Scan"),
        ]
        population.write_result("search", bench, result, "\n".join(lines))


def _sql(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


if __name__ == "__main__":
    main()
