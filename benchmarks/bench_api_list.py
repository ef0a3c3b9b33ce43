"""The partner API's case list on the synthetic population, beside a textbook DRF list.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_api_list.py

Measured through Django's test client with a real partner token (every middleware, the
authentication, the throttles and the request log; no WSGI server, no network), in one run:

- the case list, page_size=50, walking the cursor pages from the first (p50, p95, KiB a page);
- the same walk with filters (status, ethnicity, date window, evidence level);
- the reference: benchmarks/textbook.py, nested ModelSerializers with limit/offset pages at
  offsets spread over the whole list, and the ratio of its median to ours;
- EXPLAIN (ANALYZE, BUFFERS) of every query of the first page, a deep page and a textbook page.

BENCH_REQUESTS (default 100) requests per scenario.
"""

import os
import random

import population

FILTERS = {
    "status": "detained",
    "ethnicity": "kazakh",
    "date_from": "2018",
    "date_to": "2019",
    "min_evidence_level": "3",
}


def partner_client():
    from django.test import Client

    from api.models import Partner

    partner, _ = Partner.objects.get_or_create(name="Benchmark partner")
    _, key = partner.issue_token("benchmark")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def fetch(client, url: str) -> bytes:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
    return response.content


def cursor_walk(client, first: str, pages: int) -> list[str]:
    """The addresses of the first ``pages`` pages, following the `next` links."""
    import json

    urls, url = [], first
    while url and len(urls) < pages:
        urls.append(url)
        url = json.loads(fetch(client, url))["next"]
    return urls


def main():
    requests = int(os.environ.get("BENCH_REQUESTS", "100"))
    with population.environment() as bench:
        import django

        django.setup()
        from urllib.parse import urlencode

        from django.test import override_settings

        from cases.models import Case

        client = partner_client()
        published = Case.objects.published().count()  # once, to place the textbook offsets
        rng = random.Random(bench.seed)  # noqa: S311 (placing requests, no secret)
        first = "/api/v1/cases/?page_size=50"
        pages = cursor_walk(client, first, requests)
        filtered = cursor_walk(client, f"{first}&{urlencode(FILTERS)}", requests)
        offsets = [rng.randrange(max(1, published - 50)) for _ in range(requests)]
        textbook = [f"/textbook/cases/?limit=50&offset={offset}" for offset in offsets]

        def get(url):
            return len(fetch(client, url))

        with override_settings(ROOT_URLCONF="textbook"):
            results = {
                "cases, page_size=50 (cursor walk)": population.timings(get, pages),
                "cases, filtered (cursor walk)": population.timings(get, filtered),
                "textbook: nested serializers, offset": population.timings(get, textbook),
            }
            plans = {
                "first page": population.explain_request(lambda: fetch(client, first)),
                "deep page": population.explain_request(lambda: fetch(client, pages[-1])),
                "filtered page": population.explain_request(lambda: fetch(client, filtered[-1])),
                "textbook page": population.explain_request(lambda: fetch(client, textbook[-1])),
            }
        ours = results["cases, page_size=50 (cursor walk)"]["p50_ms"]
        theirs = results["textbook: nested serializers, offset"]["p50_ms"]
        result = {
            "published_cases": published,
            "requests_per_scenario": requests,
            "scenarios": results,
            "textbook_over_ours_p50": round(theirs / ours, 2),
            "queries": {name: len(plan) for name, plan in plans.items()},
            "explain": plans,
        }
        lines = [
            f"Partner API case list: {bench.persons:,} people, {published:,} published cases "
            f"(PostgreSQL, test client, {requests} requests a line)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in results.items()),
            "",
            f"textbook median / ours: {result['textbook_over_ours_p50']}×",
            "queries a page: " + ", ".join(f"{k} {v}" for k, v in result["queries"].items()),
            "slowest query of each page (EXPLAIN ANALYZE):",
        ]
        for name, plan in plans.items():
            slowest = plan[0] if plan else {}
            scans = "; ".join(slowest.get("seq_scans", [])[:2]) or "no Seq Scan"
            lines.append(f"  {name}: {slowest.get('execution_ms')} ms, {scans}")
        population.write_result("api-list", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
