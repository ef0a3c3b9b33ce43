"""The partner API against its own OpenAPI schema (schemathesis): requests generated from the
schema for every operation, valid ones and ones the schema says are wrong, and every answer
checked with all of schemathesis's checks: no server error; the status, content type, headers
and body documented; valid requests accepted and invalid ones refused; writes answered 405
with `Allow`; no answer without a token.

Production-like: the test settings (DEBUG off), a partner token, the demo's seed case and a
published case with a county, a camp, a charge, an incident and a public source, through the
WSGI application in this process (no network). Marked ``slow``; deterministic, a few hundred
requests in all.

Three values no pattern can pin down are generated from the data, as the schema says in
words (api/openapi.py): a ``cursor`` is one a `next` or `previous` link gave, a ``place`` is a
published place's uid or name, and ``edtf`` dates come from the forms the schema lists. The
one rule between parameters that a schema cannot state, date_to not before date_from, is
kept for valid requests by putting the two in order.
"""

import datetime
from io import StringIO
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.specs.openapi.formats import unregister_string_format

from api import filters, public
from tests import partner_api, test_api
from tests.partner_api import LIST_ENDPOINTS, all_pages, get_json, token_header

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters
world = test_api.world

EXAMPLES_PER_OPERATION = 25


# --- values the schema describes in words ----------------------------------------------------


def edtf_dates():
    """EDTF values of the forms the schema lists, every one a date that exists."""
    days = st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31))
    qualifier = st.sampled_from(["", "", "~", "?", "%"])

    @st.composite
    def single(draw):
        day = draw(days)
        form = draw(st.sampled_from(["day", "month", "year", "decade", "century"]))
        text = {
            "day": day.isoformat(),
            "month": day.isoformat()[:7],
            "year": f"{day.year:04d}",
            "decade": f"{day.year // 10:03d}X",
            "century": f"{day.year // 100:02d}XX",
        }[form]
        return text + draw(qualifier), day

    @st.composite
    def value(draw):
        first, first_day = draw(single())
        shape = draw(st.sampled_from(["single", "single", "interval", "from", "until"]))
        if shape == "single":
            return first
        if shape == "from":
            return f"{first}/.."
        if shape == "until":
            return f"../{first}"
        # An interval must not end before it starts: whole years, in order.
        other = draw(st.integers(1900, 2099))
        start, end = sorted([first_day.year, other])
        return f"{start}/{end}"

    return value()


def cursors(client, key):
    """Cursors as `next` and `previous` links give them, from every list in its default
    order (their positions are times, which every ordering accepts)."""
    found = set()
    for endpoint in LIST_ENDPOINTS:
        page = get_json(client, f"{endpoint}/", key, {"page_size": 1})
        while page["next"]:
            found.add(parse_qs(urlparse(page["next"]).query)["cursor"][0])
            page = get_json(client, page["next"], key)
            if page["previous"]:
                found.add(parse_qs(urlparse(page["previous"]).query)["cursor"][0])
    assert found, "no list has a second page: seed more data"
    return sorted(found)


def records(client, key):
    """Each list's records, by the path parameter their detail pages take: a published case
    by reference or uid, any other record by uid."""
    found = {}
    for endpoint in LIST_ENDPOINTS:
        results = all_pages(client, f"{endpoint}/", key)
        found[endpoint] = sorted(str(record["uid"]) for record in results)
        if endpoint == "cases":
            found[endpoint] += sorted(record["reference"] for record in results)
    return found


def places():
    """Published places by uid, and by each name that only one of them bears, in the case
    written and in lower and upper case."""
    values = set()
    for place in public.published_locations():
        values.add(str(place.uid))
        for field in filters.name_fields():
            name = getattr(place, field)
            if name and len(filters.places_named(name)) == 1:
                values |= {name, name.lower(), name.upper()}
    return sorted(values)


# --- the schema and the app ------------------------------------------------------------------


@pytest.fixture
def seeded(client, world, key, settings, tmp_path, no_throttling):
    """The demo's seed case besides the world's, and the values generated from them."""
    settings.VAR_DIR = tmp_path
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    call_command("load_demo", stdout=StringIO())
    pools = SimpleNamespace(
        cursor=cursors(client, key), location=places(), records=records(client, key)
    )
    schemathesis.openapi.format("cursor", st.sampled_from(pools.cursor))
    schemathesis.openapi.format("place", st.sampled_from(pools.location))
    schemathesis.openapi.format("edtf", edtf_dates())
    yield pools
    for name in ("cursor", "place", "edtf"):
        unregister_string_format(name)


def real_values(case, pools):
    """A valid request's cursor and place, where the coverage phase (which draws from the
    schema's keywords, not from these formats) put a value of the right shape that the data
    lacks: "0" is a cursor's shape, and a place's name's, but no cursor and no place. Valid
    requests must then be accepted, and are."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    # Every other detail request asks for a record that is there, so that what a 200 holds is
    # checked too (a drawn uid is rarely anyone's: 404).
    endpoint = case.operation.path.removeprefix(partner_api.API).partition("/")[0]
    for name, value in (case.path_parameters or {}).items():
        pool = pools.records.get(endpoint)
        if pool and value not in pool and sum(map(ord, str(value))) % 2 == 0:
            case.path_parameters[name] = pool[sum(map(ord, str(value))) % len(pool)]
    if not case.query:
        return
    for name in ("cursor", "location"):
        pool = getattr(pools, name)
        value = case.query.get(name)
        if isinstance(value, str) and value not in pool:
            case.query[name] = pool[sum(map(ord, value)) % len(pool)]
    for name in ("date_from", "date_to"):
        value = case.query.get(name)
        if isinstance(value, str):
            try:
                filters.edtf_bounds(value)
            except ValidationError:
                case.query[name] = "2020"
    dates_in_order(None, case.query)


CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 20261204,
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
            "deterministic": True,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": True},
    }
)


def dates_in_order(context, query):
    """date_to not before date_from: a rule between two parameters, said in words."""
    if query and "date_from" in query and "date_to" in query:
        try:
            start = filters.edtf_bounds(query["date_from"]).earliest
            end = filters.edtf_bounds(query["date_to"]).latest
        except ValidationError:  # a value the schema says is wrong: leave it so
            return query
        if start and end and start > end:
            query["date_from"], query["date_to"] = query["date_to"], query["date_from"]
    return query


@pytest.fixture
def api_schema(client, key, seeded):
    """The schema as partners get it, calling the WSGI application as the server runs it, but
    keeping the test's database connection between requests (as Django's test client does,
    which is why nothing here calls the test client after this): closing it at the end of a
    request would end the test's transaction on PostgreSQL."""
    document = client.get(
        partner_api.API + "schema/", {"format": "json"}, **token_header(key)
    ).json()
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    schema.app = WSGIHandler()
    schema.hook("map_query")(dates_in_order)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    """schemathesis 4.32 names each operation's subtest through the test item's `_nodeid`,
    which pytest 9 no longer has: give it one."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_the_api_answers_as_its_schema_says(case, key, seeded):
    real_values(case, seeded)
    case.call_and_validate(headers=token_header_value(key))


def token_header_value(key):
    return {"Authorization": f"Token {key}"}
