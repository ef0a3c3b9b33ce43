"""The staff's admin pages on the synthetic population.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_admin.py

A superuser signed in with a second factor, through Django's test client (every middleware,
production settings), loads: the case list, the case list filtered by situation, the person
list, a name search in the person list, and the person picker of the case form (the admin's
autocomplete). p50 and p95 of each, and EXPLAIN (ANALYZE, BUFFERS) of every query of the case
and person lists. BENCH_ADMIN_REQUESTS (default 20) loads per page.
"""

import os
from urllib.parse import urlencode

import population
from bench_search import sample_names


def staff_client():
    """A client signed in as a superuser who passed the second factor."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, _ = get_user_model().objects.get_or_create(
        username="benchmark-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="benchmark", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def load(client, url: str) -> int:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
    return len(response.content)


def main():
    requests = int(os.environ.get("BENCH_ADMIN_REQUESTS", "20"))
    with population.environment() as bench:
        import django

        django.setup()
        client = staff_client()
        names = sample_names(bench.seed)
        surname = names[0].split()[-1]
        pages = {
            "case list": ["/admin/cases/case/"],
            "case list, detained": ["/admin/cases/case/?status__exact=detained"],
            "person list": ["/admin/people/person/"],
            "person list, name search": [
                "/admin/people/person/?" + urlencode({"q": name}) for name in names
            ],
            "person picker (autocomplete)": [
                "/admin/autocomplete/?"
                + urlencode(
                    {
                        "app_label": "cases",
                        "model_name": "case",
                        "field_name": "person",
                        "term": name.split()[0],
                    }
                )
                for name in names
            ],
        }
        results = {
            name: population.timings(
                lambda url: load(client, url), (urls * requests)[:requests], warmup=1
            )
            for name, urls in pages.items()
        }
        plans = {
            name: population.explain_request(lambda url=urls[0]: load(client, url))
            for name, urls in pages.items()
            if name in ("case list", "person list")
        }
        result = {
            "requests_per_page": requests,
            "scenarios": results,
            "search_term": surname,
            "queries": {name: len(plan) for name, plan in plans.items()},
            "explain": plans,
        }
        lines = [
            f"Admin pages: {bench.persons:,} people ({requests} loads a line, superuser)",
            "",
            population.header(),
            *(population.row(name, figures) for name, figures in results.items()),
            "",
        ]
        for name, plan in plans.items():
            slowest = plan[0] if plan else {}
            scans = "; ".join(slowest.get("seq_scans", [])[:2]) or "no Seq Scan"
            lines.append(
                f"{name}: {len(plan)} queries; slowest {slowest.get('execution_ms')} ms, {scans}"
            )
        population.write_result("admin", bench, result, "\n".join(lines))


if __name__ == "__main__":
    main()
