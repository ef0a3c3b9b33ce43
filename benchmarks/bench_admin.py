"""The staff's admin pages on the synthetic population.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_admin.py

A superuser signed in with a second factor, through Django's test client (every middleware,
production settings), loads: the case list (as it opens, by situation, by charge, by
prefecture, searched by name), the same list for a member of the data-entry role (need to
know filters it), the event and source lists, the person list, a name search in it, and the
person picker of the case form (the admin's autocomplete, one given name). p50 and p95 of
each, and EXPLAIN (ANALYZE, BUFFERS) of every query of the pages in PLANNED.
BENCH_ADMIN_REQUESTS (default 20) loads per page.
"""

import os
from urllib.parse import urlencode

import population
from bench_search import sample_names

# The pages whose every query is EXPLAINed in the result.
PLANNED = (
    "case list",
    "case list, one charge",
    "case list, name search",
    "case list, data entry (need to know)",
    "person list",
    "person picker (autocomplete)",
)


def staff_client(role: str | None = None):
    """A client signed in, with a second factor, as a superuser or (``role``) as a member of
    one of the staff roles, whom need-to-know applies to."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from casetracker import roles

    username = "benchmark-" + (role or "admin").lower().replace(" ", "-")
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": role is None}
    )
    if role:
        roles.setup_roles()
        user.groups.add(Group.objects.get(name=role))
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
        from cases.models import Charge, Location, LocationKind
        from casetracker import roles

        client = staff_client()
        entry = staff_client(roles.DATA_ENTRY)
        names = sample_names(bench.seed)
        surname = names[0].split()[-1]
        charge = Charge.objects.order_by("pk").values_list("pk", flat=True).first()
        prefecture = (
            Location.objects.filter(kind=LocationKind.PREFECTURE)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        pages = {
            "case list": ["/admin/cases/case/"],
            "case list, detained": ["/admin/cases/case/?status__exact=detained"],
            "case list, one charge": [f"/admin/cases/case/?charge={charge}"],
            "case list, one prefecture": [f"/admin/cases/case/?place={prefecture}"],
            "case list, name search": [
                "/admin/cases/case/?" + urlencode({"q": name}) for name in names
            ],
            "case list, data entry (need to know)": [("entry", "/admin/cases/case/")],
            "event list": ["/admin/cases/detentionevent/"],
            "source list": ["/admin/sources/source/"],
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
        clients = {"admin": client, "entry": entry}

        def visit(url):
            who, url = url if isinstance(url, tuple) else ("admin", url)
            return load(clients[who], url)

        results = {
            name: population.timings(visit, (urls * requests)[:requests], warmup=1)
            for name, urls in pages.items()
        }
        plans = {
            name: population.explain_request(lambda url=urls[0]: visit(url))
            for name, urls in pages.items()
            if name in PLANNED
        }
        result = {
            "requests_per_page": requests,
            "scenarios": results,
            "search_term": surname,
            "queries": {name: len(plan) for name, plan in plans.items()},
            "explain": plans,
        }
        lines = [
            f"Admin pages: {bench.persons:,} people ({requests} loads a line, a superuser "
            "unless named)",
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
