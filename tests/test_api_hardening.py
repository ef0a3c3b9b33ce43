"""Hardening of the partner API: empty filters refused, writes answered 405, places by name, a
request log without partners' search text, and a schema that says what the server accepts."""

import base64
import importlib
import uuid
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api import filters, patterns
from api.models import ApiRequest
from cases.models import EventKind, LocationKind
from exports import services as export_services
from tests import partner_api, test_api
from tests.factories import (
    make_case,
    make_event,
    person_named,
    place,
    publish,
    seeded_place,
    without_reopening,
)
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
        "Testaul County", LocationKind.COUNTY, seeded_place("Ili Kazakh Autonomous Prefecture")
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
def zhanatestau():
    """Two published places called Zhanatestau in two prefectures (the second also "Жанатестау" in
    Kazakh), each with a published case, and a third that only a draft names."""
    ili = place(
        "Zhanatestau", LocationKind.COUNTY, seeded_place("Ili Kazakh Autonomous Prefecture")
    )
    altay = place(
        "Zhanatestau", LocationKind.COUNTY, seeded_place("Altay Prefecture"), name_kk="Жанатестау"
    )
    hidden = place("Zhanatestau", LocationKind.COUNTY, seeded_place("Hotan Prefecture"))
    return SimpleNamespace(
        ili=ili,
        altay=altay,
        hidden=hidden,
        ili_case=case_in(ili, "Zhanatestau One"),
        altay_case=case_in(altay, "Zhanatestau Two"),
        hidden_case=case_in(hidden, "Zhanatestau Hidden", published=False),
    )


def test_an_ambiguous_place_name_is_a_400_listing_the_places(client, key, zhanatestau):
    message = refused(get(client, "cases/", key, {"location": "zhanatestau"}), "location")
    for place_, parent in [
        (zhanatestau.ili, "Ili Kazakh Autonomous Prefecture"),
        (zhanatestau.altay, "Altay Prefecture"),
    ]:
        assert str(place_.uid) in message
        assert parent in message
    assert "Жанатестау" in message


def test_an_ambiguous_place_name_lists_only_places_partners_may_see(client, key, zhanatestau):
    response = get(client, "cases/", key, {"location": "Zhanatestau"})
    assert response.status_code == 400
    assert str(zhanatestau.hidden.uid) not in response.content.decode()
    assert "Hotan" not in response.content.decode()


def test_a_name_only_one_visible_place_bears_finds_that_place(client, key, zhanatestau):
    assert references(client, key, {"location": "Жанатестау"}) == [zhanatestau.altay_case.reference]


def test_the_export_finds_a_place_by_name(client, key, ili_case):
    response = get(client, EXPORT, key, {"location": "伊犁哈萨克自治州", "formats": "csv"})
    assert response.status_code == 200


def test_the_export_refuses_an_ambiguous_place_name(client, key, zhanatestau):
    refused(get(client, EXPORT, key, {"location": "Zhanatestau"}), "location")


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


# --- values checked exactly as the schema describes them ---------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page_size": ["10", "20"]}, "page_size"),
        ({"ordering": ["reference", "-reference"]}, "ordering"),
        ({"search": ["Kanat", "Aynur"]}, "search"),
        ({"date_from": ["2019", "2020"]}, "date_from"),
    ],
)
def test_a_parameter_given_twice_is_refused(client, world, key, params, named):
    assert "once" in refused(get(client, "cases/", key, params), named)


def test_several_statuses_may_still_be_given(client, world, key):
    assert references(client, key, {"status": ["detained", "sentenced"]}) == [world.case.reference]


@pytest.mark.parametrize("value", ["５", "²", "1.0", "+5"])
def test_a_page_size_in_anything_but_ascii_digits_is_refused(client, world, key, value):
    refused(get(client, "cases/", key, {"page_size": value}), "page_size")


@pytest.mark.parametrize(
    "value", ["reference, updated_at", "reference,", ",reference", " -reference"]
)
def test_an_ordering_with_spaces_or_empty_terms_is_refused(client, world, key, value):
    assert "reference" in refused(get(client, "cases/", key, {"ordering": value}), "ordering")


def test_several_orderings_are_separated_by_commas(client, world, key):
    assert references(client, key, {"ordering": "reference,-updated_at"}) == [world.case.reference]


@pytest.mark.parametrize("value", ["2024-11-05", "2024-11-05 00:00:00Z", "2024-11-05T00Z"])
def test_a_time_must_have_t_hours_and_minutes(client, world, key, value):
    refused(get(client, "cases/", key, {"updated_since": value}), "updated_since")
    refused(get(client, "cases/withdrawn/", key, {"since": value}), "since")


def test_a_search_holding_a_nul_is_refused(client, world, key):
    refused(get(client, "cases/", key, {"search": "Kanat\x00"}), "search")


@pytest.mark.parametrize("value", ["", "csv, json", "csv,,json", "CSV"])
def test_export_formats_must_be_exact(client, world, key, value):
    refused(get(client, EXPORT, key, {"formats": value}), "formats")


@pytest.mark.parametrize("value", ["", "1", "yes", "TRUE"])
def test_export_jsonl_is_true_or_false(client, world, key, value):
    assert "true or false" in refused(get(client, EXPORT, key, {"jsonl": value}), "jsonl")


# --- the schema --------------------------------------------------------------------------------


@pytest.fixture
def schema(client, key):
    return get(client, "schema/", key, {"format": "json"}).json()


def parameter(schema, path, name):
    operation = schema["paths"][API + path]["get"]
    (found,) = [p for p in operation["parameters"] if p["name"] == name and p["in"] == "query"]
    return found


def test_a_source_without_a_link_gives_null(client, world, key):
    with without_reopening():
        type(world.source).objects.filter(pk=world.source.pk).update(url="")
    assert get(client, f"sources/{world.source.uid}/", key).json()["link"] is None
    (source,) = get(client, f"cases/{world.case.reference}/", key).json()["sources"]
    assert source["link"] is None


def test_a_source_with_a_link_gives_it(client, world, key):
    with without_reopening():
        type(world.source).objects.filter(pk=world.source.pk).update(
            url="https://example.org/report"
        )
    assert get(client, f"sources/{world.source.uid}/", key).json()["link"] == (
        "https://example.org/report"
    )


@pytest.mark.parametrize("component", ["Source", "CitedSource"])
def test_the_schema_says_link_may_be_null(schema, component):
    link = schema["components"]["schemas"][component]["properties"]["link"]
    assert (link["format"], link.get("nullable")) == ("uri", True)


@pytest.mark.parametrize("path", ["cases/", EXPORT])
@pytest.mark.parametrize("name", ["date_from", "date_to"])
def test_the_schema_documents_the_edtf_forms_of_the_dates(schema, path, name):
    found = parameter(schema, path, name)
    assert found["schema"]["format"] == "edtf"
    for form in ["EDTF", "2024-04-05", "201X", "2019/2023", "2019/..", "../2020"]:
        assert form in found["description"]


def test_the_schema_documents_the_ordering_values(schema):
    ordering = parameter(schema, "cases/", "ordering")
    assert patterns.matches(ordering["schema"]["pattern"], "reference,-updated_at")
    assert not patterns.matches(ordering["schema"]["pattern"], "reference, updated_at")
    assert "`-updated_at`" in ordering["description"]


@pytest.mark.parametrize("path", ["cases/", "people/", "sources/"])
def test_the_schema_documents_the_cursor(schema, path):
    found = parameter(schema, path, "cursor")
    assert found["schema"] == {"type": "string", "format": "cursor", "pattern": patterns.CURSOR}
    assert "`next`" in found["description"]


def test_the_schema_documents_a_place_by_uid_or_name(schema):
    location = parameter(schema, "cases/", "location")
    assert location["schema"]["format"] == "place"
    assert "name" in location["description"]


@pytest.mark.parametrize(
    ("path", "name"), [("cases/", "updated_since"), ("cases/withdrawn/", "since")]
)
def test_the_schema_gives_the_time_pattern_the_server_checks(schema, path, name):
    assert parameter(schema, path, name)["schema"]["pattern"] == patterns.TIME


@given(st.from_regex(patterns.TIME.strip("^$"), fullmatch=True))
@hypothesis_settings(max_examples=300, deadline=None)
def test_every_time_of_the_pattern_is_accepted(value):
    assert filters.parse_time(value) is not None


@given(st.from_regex(patterns.TEXT.strip("^$"), fullmatch=True))
@hypothesis_settings(max_examples=300, deadline=None)
def test_every_text_of_the_pattern_is_not_blank(value):
    assert not patterns.is_blank(value)
    assert "\x00" not in value


@pytest.mark.parametrize("path", ["sources/a\nb/", "a\nb", "cases/\n/"])
def test_an_api_address_with_a_line_break_is_a_json_404(client, key, path):
    response = get(client, path, key)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "value",
    [
        "2024-11-05T00:00:00-21:25",  # PostgreSQL takes no offset beyond ±15:59
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00",  # after 9999 in UTC
    ],
)
def test_a_time_the_database_could_not_hold_is_still_answered(client, world, key, value):
    assert get(client, "cases/", key, {"updated_since": value}).status_code == 200
    assert get(client, "cases/withdrawn/", key, {"since": value}).status_code == 200
