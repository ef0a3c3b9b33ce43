"""Hardening of the partner API: empty filters refused, writes answered 405, places by name, a
request log without partners' search text, and a schema that says what the server accepts."""

import base64
import importlib
import uuid
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from api.models import ApiRequest
from cases.models import EventKind, LocationKind
from exports import services as export_services
from tests import partner_api, test_api
from tests.factories import make_case, make_event, person_named, place, publish, seeded_place
from tests.partner_api import API, get, references, token_header

pytestmark = pytest.mark.django_db

# The partner API's test environment (tests/partner_api.py): both apply to every test here.
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters
# One published case and everything it links to.
world = test_api.world

EXPORT = "exports/cases.zip"
CASE_FILTERS = [
    "status",
    "ethnicity",
    "gender",
    "charge",
    "location",
    "facility",
    "incident",
    "min_evidence_level",
    "event_kind",
    "date_from",
    "date_to",
    "updated_since",
    "search",
]


def refused(response, name):
    """The messages of a 400 that refuses ``name`` (and nothing else)."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [name], body
    return " ".join(body[name])


# --- empty filters -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_FILTERS)
def test_an_empty_filter_is_a_400_naming_it(client, world, key, name):
    refused(get(client, "cases/", key, {name: ""}), name)


@pytest.mark.parametrize("name", CASE_FILTERS)
def test_an_empty_filter_on_the_export_is_a_400_naming_it(client, world, key, name):
    refused(get(client, EXPORT, key, {name: ""}), name)


@pytest.mark.parametrize(
    ("name", "accepts"),
    [
        ("charge", "/api/v1/charges/"),
        ("location", "name"),
        ("facility", "uid"),
        ("incident", "/api/v1/incidents/"),
        ("min_evidence_level", "1, 2, 3, 4"),
        ("updated_since", "2024-11-05T00:00:00Z"),
        ("search", "name"),
        ("date_from", "2024-04"),
        ("status", "detained"),
    ],
)
def test_an_empty_filter_says_what_it_accepts(client, world, key, name, accepts):
    message = refused(get(client, "cases/", key, {name: ""}), name)
    assert "empty" in message.lower()
    assert accepts in message


@pytest.mark.parametrize("value", [" ", "\t", "  \n "])
def test_a_blank_search_is_refused_like_an_empty_one(client, world, key, value):
    assert "empty" in refused(get(client, "cases/", key, {"search": value}), "search").lower()


def test_an_empty_value_among_several_statuses_is_refused(client, world, key):
    refused(get(client, "cases/", key, {"status": ["detained", ""]}), "status")


def test_a_search_with_nothing_to_match_finds_nothing(client, world, key):
    # Only separators: folded, nothing is left to look for; that is no reason to list everything.
    assert references(client, key, {"search": "-"}) == []


def test_the_export_command_refuses_an_empty_filter(world):
    with pytest.raises(export_services.FilterError) as error:
        export_services.filter_cases(export_services.export_queryset(), {"charge": ""})
    assert list(error.value.errors) == ["charge"]


def test_an_empty_cursor_is_refused(client, world, key):
    refused(get(client, "cases/", key, {"cursor": ""}), "cursor")


# --- writes: 405 -------------------------------------------------------------------------------

WRITES = ["post", "put", "patch", "delete"]
READ_ONLY = {
    "case list": lambda w: "cases/",
    "case": lambda w: f"cases/{w.case.reference}/",
    "withdrawn": lambda w: "cases/withdrawn/",
    "people": lambda w: "people/",
    "person": lambda w: f"people/{w.person.uid}/",
    "locations": lambda w: "locations/",
    "sources": lambda w: f"sources/{w.source.uid}/",
    "export": lambda w: EXPORT,
    "schema": lambda w: "schema/",
}


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("endpoint", READ_ONLY)
def test_a_partners_write_is_a_405_saying_what_is_allowed(client, world, key, endpoint, method):
    url = API + READ_ONLY[endpoint](world)
    response = getattr(client, method)(url, **token_header(key))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("method", WRITES)
def test_a_write_without_a_token_is_still_a_401(client, world, method):
    response = getattr(client, method)(API + "cases/")
    assert response.status_code == 401


def test_a_staff_members_write_to_the_schema_is_a_405(client, world, admin_user):
    client.force_login(admin_user)
    response = client.post(API + "schema/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_a_partners_write_is_logged_as_a_405(client, world, key, partner):
    client.delete(API + "cases/", **token_header(key))
    assert ApiRequest.objects.get().status == 405


# --- a place by name ---------------------------------------------------------------------------


def case_in(where, name="Someone Detained", *, published=True):
    case = make_case(person_named(name))
    make_event(case, kind=EventKind.DETAINED, date="2020", location=where)
    return publish(case) if published else case


@pytest.fixture
def ili_case():
    county = place(
        "Tekes County", LocationKind.COUNTY, seeded_place("Ili Kazakh Autonomous Prefecture")
    )
    return case_in(county, "Tekes Detainee")


@pytest.mark.parametrize(
    "name",
    [
        "Ili Kazakh Autonomous Prefecture",
        "ili kazakh autonomous prefecture",
        "Іле Қазақ автономиялық облысы",
        "іле қазақ автономиялық облысы",
        "ІЛЕ ҚАЗАҚ АВТОНОМИЯЛЫҚ ОБЛЫСЫ",
        "伊犁哈萨克自治州",
    ],
)
def test_a_place_is_found_by_its_name_in_any_language_and_case(client, key, ili_case, name):
    assert references(client, key, {"location": name}) == [ili_case.reference]


def test_a_place_is_still_found_by_its_uid(client, key, ili_case):
    ili = seeded_place("Ili Kazakh Autonomous Prefecture")
    assert references(client, key, {"location": str(ili.uid)}) == [ili_case.reference]


def test_a_place_name_must_match_whole(client, key, ili_case):
    message = refused(get(client, "cases/", key, {"location": "Ili"}), "location")
    assert "Ili" in message


def test_an_unknown_place_name_is_a_400_naming_location(client, key, ili_case):
    message = refused(get(client, "cases/", key, {"location": "Atlantis"}), "location")
    assert "Atlantis" in message
    assert "/api/v1/locations/" in message


def test_a_place_only_unpublished_cases_name_is_not_found_by_name(client, key, ili_case):
    hidden = place("Secret Camp", LocationKind.FACILITY, seeded_place("Hotan Prefecture"))
    hidden.facility_type = "internment_camp"
    hidden.save()
    case_in(hidden, "Hidden Detainee", published=False)
    response = get(client, "cases/", key, {"location": "Secret Camp"})
    assert refused(response, "location") == refused(
        get(client, "cases/", key, {"location": "Nowhere Camp"}), "location"
    ).replace("Nowhere Camp", "Secret Camp")
    assert str(hidden.uid) not in response.content.decode()


@pytest.fixture
def shonzhy():
    """Two published places called Shonzhy in two prefectures (the second also "Шонжы" in
    Kazakh), each with a published case, and a third that only a draft names."""
    ili = place("Shonzhy", LocationKind.COUNTY, seeded_place("Ili Kazakh Autonomous Prefecture"))
    altay = place("Shonzhy", LocationKind.COUNTY, seeded_place("Altay Prefecture"), name_kk="Шонжы")
    hidden = place("Shonzhy", LocationKind.COUNTY, seeded_place("Hotan Prefecture"))
    return SimpleNamespace(
        ili=ili,
        altay=altay,
        hidden=hidden,
        ili_case=case_in(ili, "Shonzhy One"),
        altay_case=case_in(altay, "Shonzhy Two"),
        hidden_case=case_in(hidden, "Shonzhy Hidden", published=False),
    )


def test_an_ambiguous_place_name_is_a_400_listing_the_places(client, key, shonzhy):
    message = refused(get(client, "cases/", key, {"location": "shonzhy"}), "location")
    for place_, parent in [
        (shonzhy.ili, "Ili Kazakh Autonomous Prefecture"),
        (shonzhy.altay, "Altay Prefecture"),
    ]:
        assert str(place_.uid) in message
        assert parent in message
    assert "Шонжы" in message


def test_an_ambiguous_place_name_lists_only_places_partners_may_see(client, key, shonzhy):
    response = get(client, "cases/", key, {"location": "Shonzhy"})
    assert response.status_code == 400
    assert str(shonzhy.hidden.uid) not in response.content.decode()
    assert "Hotan" not in response.content.decode()


def test_a_name_only_one_visible_place_bears_finds_that_place(client, key, shonzhy):
    assert references(client, key, {"location": "Шонжы"}) == [shonzhy.altay_case.reference]


def test_the_export_finds_a_place_by_name(client, key, ili_case):
    response = get(client, EXPORT, key, {"location": "伊犁哈萨克自治州", "formats": "csv"})
    assert response.status_code == 200


def test_the_export_refuses_an_ambiguous_place_name(client, key, shonzhy):
    refused(get(client, EXPORT, key, {"location": "Shonzhy"}), "location")


# --- the request log ---------------------------------------------------------------------------


def logged_query(client, key, path, params):
    ApiRequest.objects.all().delete()
    get(client, path, key, params)
    return ApiRequest.objects.get().query


def test_the_request_log_keeps_no_search_text(client, world, key):
    query = logged_query(client, key, "cases/", {"search": "Қанат Ережеп"})
    assert "Қанат" not in query
    assert "%D2%9A" not in query.upper()  # nor its URL encoding
    assert "search" in query


def test_the_request_log_keeps_which_parameters_were_used(client, world, key):
    query = logged_query(client, key, "cases/", {"search": "Kanat", "status": "detained"})
    assert query == "search&status=detained"


def test_the_request_log_keeps_no_place_name(client, world, key):
    query = logged_query(client, key, "cases/", {"location": "Yining County"})
    assert query == "location"


def test_the_request_log_keeps_a_place_uid(client, world, key):
    uid = str(world.county.uid)
    assert logged_query(client, key, "cases/", {"location": uid}) == f"location={uid}"


def test_the_request_log_keeps_no_value_of_an_unknown_parameter(client, world, key):
    # "serach" is a typo of search: its value is the search text.
    assert logged_query(client, key, "cases/", {"serach": "Kanat"}) == "serach"


def test_the_export_request_log_keeps_no_search_text(client, world, key):
    query = logged_query(client, key, EXPORT, {"search": "Kanat", "formats": "csv"})
    assert "Kanat" not in query


def test_the_migration_rewrites_rows_logged_with_search_text(partner):
    row = ApiRequest.objects.create(
        partner=partner,
        token_name="sync server",
        method="GET",
        path=API + "cases/",
        query="search=%D2%9A%D0%B0%D0%BD%D0%B0%D1%82&status=detained&location=Yining+County",
        status=200,
    )
    migration = importlib.import_module("api.migrations.0004_request_log_without_search_text")
    migration.scrub(apps, SimpleNamespace(connection=connection))
    row.refresh_from_db()
    assert row.query == "search&status=detained&location"


# --- cursors -----------------------------------------------------------------------------------


def cursor(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("path", "made_of"),
    [
        ("cases/", "p=not a time"),
        ("people/", "p=not a time"),
        ("cases/", "p=2024-01-01+00:00:00\x00"),
        ("cases/", "o=x"),
    ],
)
def test_a_cursor_that_was_never_given_is_a_400_not_a_500(client, world, key, path, made_of):
    refused(get(client, path, key, {"cursor": cursor(made_of)}), "cursor")


def test_a_cursor_of_one_ordering_is_refused_by_another(client, world, key):
    by_reference = cursor(f"p={world.case.reference}")
    refused(get(client, "cases/", key, {"cursor": by_reference}), "cursor")


def test_a_cursor_with_characters_around_it_is_refused(client, world, key):
    # base64 decoding would skip "!" and read a first page.
    refused(get(client, "cases/", key, {"cursor": "!"}), "cursor")


def test_a_uuid_for_a_missing_place_finds_nothing(client, world, key):
    assert references(client, key, {"location": str(uuid.uuid4())}) == []
