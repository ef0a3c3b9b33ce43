"""The partner API (api/): who may call it, what a partner can ask for, and how it answers."""

import base64
import itertools
import re
import uuid
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import DEFAULT_TOKEN_DAYS, ApiRequest, Partner, PartnerToken
from api.throttling import PartnerBurstThrottle, PartnerSustainedThrottle
from cases import publication
from cases.models import (
    Case,
    CaseStatus,
    EventKind,
    FacilityType,
    LocationKind,
    ReviewState,
)
from casetracker.edtf import EXAMPLES as EDTF_EXAMPLES
from people.models import Consent, Ethnicity, Gender, OrganisationKind, Person, PersonName
from tests import partner_api
from tests.factories import (
    PUBLISHED,
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_incident,
    make_location,
    make_organisation,
    make_source,
    make_user,
    person_named,
    place,
    publish,
    seeded_place,
    set_case,
    without_reopening,
)
from tests.partner_api import (
    API,
    LIST_ENDPOINTS,
    LONG_AGO,
    all_pages,
    api_url,
    get,
    get_json,
    references,
    token_header,
)

pytestmark = pytest.mark.django_db

# The partner API's test environment (tests/partner_api.py): both apply to every test here.
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters


# --- cases -----------------------------------------------------------------------------------


def published_case(*names, consent=Consent.PUBLIC_RECORD, person_fields=None, **case_fields):
    person = person_named(*(names or ["Published Person"]), consent=consent, **person_fields or {})
    return publish(make_case(person, **case_fields))


def quick_published_cases(count, prefix="Detainee"):
    """Many published cases, fast: one name each, published in one update."""
    cases = []
    for i in range(count):
        person = Person.objects.create(consent=Consent.PUBLIC_RECORD)
        PersonName.objects.create(
            person=person, name=f"{prefix} {i}", language="en", is_preferred=True
        )
        cases.append(Case.objects.create(person=person))
    now = timezone.now()
    with without_reopening():
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(
            verified_at=now, published_at=now, **PUBLISHED
        )
    publication.sync(c.pk for c in cases)
    return list(Case.objects.filter(pk__in=[c.pk for c in cases]))


@pytest.fixture
def world():
    """One published case and everything it links to (a county under a prefecture, a
    facility, an authority, a charge, an incident, a public source and its publisher)."""
    ili = seeded_place("Ili Kazakh Autonomous Prefecture")
    county = place("Yining County", LocationKind.COUNTY, ili)
    camp = place(
        "Yining Camp No. 3",
        LocationKind.FACILITY,
        county,
        facility_type=FacilityType.INTERNMENT_CAMP,
    )
    court = make_organisation("Yining County Court", kind=OrganisationKind.COURT)
    publisher = make_organisation("Steppe Herald", kind=OrganisationKind.MEDIA)
    charge = make_charge("Inciting things")
    incident = make_incident("2024 wave", date="2024")
    person = person_named(
        "Kanat Yerezhep",
        "Қанат Ережеп",
        "قانات ەرەجەپ",
        gender=Gender.MALE,
        ethnicity=Ethnicity.KAZAKH,
        place_of_origin=county,
    )
    case = make_case(person, public_summary="Detained between 2019 and 2023.")
    case.incidents.add(incident)
    event = make_event(
        case, kind=EventKind.DETAINED, date="2019/2023", location=county, facility=camp
    )
    event.authority = court
    event.save()
    event.charges.add(charge)
    source = make_source("Herald report", publisher=publisher, published="2024-11-05")
    make_citation(source, event=event, locator="paragraph 2")
    make_citation(source, case=case, locator="paragraph 1")
    make_citation(source, person=person, locator="paragraph 3")
    return SimpleNamespace(
        case=publish(case),
        person=person,
        event=event,
        prefecture=ili,
        county=county,
        camp=camp,
        court=court,
        publisher=publisher,
        charge=charge,
        incident=incident,
        source=source,
    )


# --- personas --------------------------------------------------------------------------------


def expired_key(partner):
    token, key = partner.issue_token("expired")
    PartnerToken.objects.filter(pk=token.pk).update(expiry_date=timezone.now() - timedelta(days=1))
    return key


def revoked_key(partner):
    token, key = partner.issue_token("revoked")
    token.revoked = True
    token.save()
    return key


def inactive_partners_key():
    other = Partner.objects.create(name="Suspended partner")
    key = other.issue_token()[1]
    other.is_active = False
    other.save()
    return key


def wrong_secret(key):
    prefix = key.partition(".")[0]
    return f"{prefix}.{'x' * 32}"


@pytest.fixture
def as_persona(client, partner, key):
    """as_persona(name) -> extra request headers; signs the client in for session personas."""

    def headers(persona):
        if persona == "anonymous":
            return {}
        if persona == "bad token":
            return token_header(wrong_secret(key))
        if persona == "expired token":
            return token_header(expired_key(partner))
        if persona == "revoked token":
            return token_header(revoked_key(partner))
        if persona == "inactive partner's token":
            return token_header(inactive_partners_key())
        if persona == "partner, Token":
            return token_header(key)
        if persona == "partner, Bearer":
            return token_header(key, "Bearer")
        if persona == "staff session":
            client.force_login(make_user("staff_member"))
            return {}
        if persona == "non-staff session":
            client.force_login(make_user("not_staff", is_staff=False))
            return {}
        raise AssertionError(persona)

    return headers


# --- the permission matrix -------------------------------------------------------------------

ENDPOINTS = {
    "case list": lambda w: "cases/",
    "case by reference": lambda w: f"cases/{w.case.reference}/",
    "case by uid": lambda w: f"cases/{w.case.uid}/",
    "person list": lambda w: "people/",
    "person detail": lambda w: f"people/{w.person.uid}/",
    "incident list": lambda w: "incidents/",
    "incident detail": lambda w: f"incidents/{w.incident.uid}/",
    "organisation list": lambda w: "organisations/",
    "organisation detail": lambda w: f"organisations/{w.court.uid}/",
    "location list": lambda w: "locations/",
    "location detail": lambda w: f"locations/{w.county.uid}/",
    "charge list": lambda w: "charges/",
    "charge detail": lambda w: f"charges/{w.charge.uid}/",
    "source list": lambda w: "sources/",
    "source detail": lambda w: f"sources/{w.source.uid}/",
    "withdrawn": lambda w: f"cases/withdrawn/?since={LONG_AGO}",
    "schema": lambda w: "schema/",
    "docs": lambda w: "docs/",
}
DOCS = {"schema", "docs"}
WRITES = ["post", "put", "patch", "delete"]

# persona: (read data, write data, read schema/docs, write schema/docs).
# Every endpoint is read-only: a write by someone who may read it is a 405 (with `Allow`);
# by anyone else, refused as their read would be.
MATRIX = {
    "anonymous": (401, 401, 401, 401),
    "bad token": (401, 401, 401, 401),
    "expired token": (401, 401, 401, 401),
    "revoked token": (401, 401, 401, 401),
    "inactive partner's token": (401, 401, 401, 401),
    "partner, Token": (200, 405, 200, 405),
    "partner, Bearer": (200, 405, 200, 405),
    "staff session": (401, 401, 200, 405),
    "non-staff session": (401, 401, 403, 403),
}


def expected_statuses(persona, endpoint):
    read, write, docs_read, docs_write = MATRIX[persona]
    if endpoint in DOCS:
        read, write = docs_read, docs_write
    return {"get": read, **dict.fromkeys(WRITES, write)}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("persona", MATRIX)
def test_permission_matrix(client, world, as_persona, persona, endpoint):
    headers = as_persona(persona)
    url = api_url(ENDPOINTS[endpoint](world))
    responses = {method: getattr(client, method)(url, **headers) for method in ["get", *WRITES]}
    assert {m: r.status_code for m, r in responses.items()} == expected_statuses(persona, endpoint)
    if endpoint not in DOCS:
        for response in responses.values():
            if response.status_code == 401:
                assert response["Content-Type"] == "application/json"
                assert set(response.json()) == {"detail"}
                assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("endpoint", sorted(DOCS))
@pytest.mark.parametrize("persona", ["anonymous", "bad token"])
def test_a_refused_schema_or_docs_request_gets_a_json_401(
    client, world, as_persona, persona, endpoint
):
    response = client.get(api_url(ENDPOINTS[endpoint](world)), **as_persona(persona))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Bearer",
        "Token a b",
        "Basic dXNlcjpwYXNz",
        "Token not-a-key",
        "Token .",
        "Bearer " + "x" * 300,
    ],
)
def test_a_malformed_authorization_header_is_a_json_401(client, world, header):
    response = client.get(API + "cases/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("method", WRITES)
def test_a_partners_write_changes_nothing(client, world, key, method):
    before = Case.objects.get(pk=world.case.pk)
    url = API + f"cases/{world.case.reference}/"
    body = {"public_summary": "Overwritten", "reference": "CT-1999-00001"}
    response = getattr(client, method)(
        url, body, content_type="application/json", **token_header(key)
    )
    assert response.status_code == 405
    after = Case.objects.get(pk=world.case.pk)
    assert (after.public_summary, after.version, after.updated_at) == (
        before.public_summary,
        before.version,
        before.updated_at,
    )
    assert Case.objects.count() == 1


def test_a_partner_token_is_only_marked_used_when_it_is_accepted(client, world, key, partner):
    client.get(API + "cases/", **token_header(wrong_secret(key)))
    token = PartnerToken.objects.get(partner=partner)
    assert token.last_used_at is None
    client.get(API + "cases/", **token_header(key))
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_tokens_last_use_is_kept_to_the_minute(client, world, key, partner):
    """One write a minute at most, not one a request (requests would queue on the row)."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(API + "cases/", **token_header(key))
    first = PartnerToken.objects.get(partner=partner).last_used_at
    with CaptureQueriesContext(connection) as queries:
        client.get(API + "cases/", **token_header(key))
    assert PartnerToken.objects.get(partner=partner).last_used_at == first
    updates = [q for q in queries if q["sql"].startswith('UPDATE "api_partnertoken"')]
    assert len(updates) == 1  # asked, and it changed nothing
    PartnerToken.objects.filter(partner=partner).update(last_used_at=first - timedelta(minutes=2))
    client.get(API + "cases/", **token_header(key))
    assert PartnerToken.objects.get(partner=partner).last_used_at > first


# --- lists and details -----------------------------------------------------------------------


def test_a_partner_lists_the_published_case(client, world, key):
    assert references(client, key) == [world.case.reference]


@pytest.mark.parametrize(
    ("endpoint", "record"),
    [
        ("people", "person"),
        ("incidents", "incident"),
        ("organisations", "court"),
        ("organisations", "publisher"),
        ("locations", "county"),
        ("locations", "camp"),
        ("locations", "prefecture"),
        ("charges", "charge"),
        ("sources", "source"),
    ],
)
def test_each_list_holds_what_the_published_case_links_to(client, world, key, endpoint, record):
    uids = {item["uid"] for item in all_pages(client, f"{endpoint}/", key)}
    assert str(getattr(world, record).uid) in uids


@pytest.mark.parametrize("lookup", ["reference", "lower-case reference", "uid", "upper-case uid"])
def test_a_published_case_is_found_by_reference_or_uid(client, world, key, lookup):
    case = world.case
    value = {
        "reference": case.reference,
        "lower-case reference": case.reference.lower(),
        "uid": str(case.uid),
        "upper-case uid": str(case.uid).upper(),
    }[lookup]
    body = get_json(client, f"cases/{value}/", key)
    assert (body["uid"], body["reference"]) == (str(case.uid), case.reference)


def test_a_case_detail_is_the_same_record_as_in_the_list(client, world, key):
    listed = get_json(client, "cases/", key)["results"][0]
    assert get_json(client, listed["url"], key) == listed


UNPUBLISHED_STATES = {
    "draft": {"review_state": ReviewState.DRAFT, "is_published": False},
    "in review": {"review_state": ReviewState.IN_REVIEW},
    "in review, still flagged published": {"review_state": ReviewState.IN_REVIEW},
    "verified, not published": {"is_published": False},
    "archived": {"archived_at": timezone.now()},
    "sensitive": {"sensitive": True},
    "evidence below the minimum": {"evidence_level": 1},
    "no evidence level": {"evidence_level": None},
}


def case_in_state(state):
    case = make_case(person_named("Hidden Person"))
    now = timezone.now()
    fields = {**PUBLISHED, "verified_at": now, "published_at": now, **UNPUBLISHED_STATES[state]}
    if state == "in review":
        fields["is_published"] = False
    return set_case(case, **fields)


@pytest.mark.parametrize("lookup", ["reference", "uid"])
@pytest.mark.parametrize("state", UNPUBLISHED_STATES)
def test_a_case_that_is_not_published_is_not_found(client, world, key, state, lookup):
    case = case_in_state(state)
    assert not Case.objects.published().filter(pk=case.pk).exists()
    response = get(client, f"cases/{getattr(case, lookup)}/", key)
    assert response.status_code == 404
    assert says_no_store(response)


@pytest.mark.parametrize("consent", [Consent.UNKNOWN, Consent.REFUSED, Consent.WITHDRAWN])
@pytest.mark.parametrize("lookup", ["reference", "uid"])
def test_a_case_without_consent_to_publish_is_not_found(client, world, key, consent, lookup):
    case = published_case("Unconsenting Person", consent=consent)
    assert get(client, f"cases/{getattr(case, lookup)}/", key).status_code == 404


def test_a_hidden_case_and_a_missing_one_get_the_same_404(client, world, key):
    hidden = case_in_state("draft")
    missing = f"{hidden.reference[:-5]}99999"
    assert get(client, f"cases/{hidden.reference}/", key).content == (
        get(client, f"cases/{missing}/", key).content
    )
    assert get(client, f"cases/{hidden.uid}/", key).content == (
        get(client, f"cases/{uuid.uuid4()}/", key).content
    )


@pytest.mark.parametrize(
    "value", ["not-a-uid", "1234", "CT-2024", "CT-24-00001", "%20", "../people", "-1", "0"]
)
def test_a_malformed_case_key_is_not_found(client, world, key, value):
    assert get(client, f"cases/{value}/", key).status_code == 404


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_records_are_not_found_by_integer_primary_key(client, world, key, endpoint):
    record = {
        "cases": world.case,
        "people": world.person,
        "incidents": world.incident,
        "organisations": world.court,
        "locations": world.county,
        "charges": world.charge,
        "sources": world.source,
    }[endpoint]
    assert get(client, f"{endpoint}/{record.pk}/", key).status_code == 404


@pytest.mark.parametrize(
    ("endpoint", "make"),
    [
        ("people", lambda: person_named("Nobody Published")),
        ("incidents", lambda: make_incident("Unlinked wave")),
        ("organisations", lambda: make_organisation("Unlinked body")),
        ("locations", lambda: make_location("Unlinked country")),
        ("charges", lambda: make_charge("Unlinked charge")),
        ("sources", lambda: make_source("Uncited source")),
    ],
)
def test_a_record_no_published_case_links_to_is_not_found(client, world, key, endpoint, make):
    record = make()
    assert get(client, f"{endpoint}/{record.uid}/", key).status_code == 404
    uids = {item["uid"] for item in all_pages(client, f"{endpoint}/", key)}
    assert str(record.uid) not in uids


# --- filters ---------------------------------------------------------------------------------


@pytest.fixture
def cases():
    """Three published cases that differ on every filter, a draft and a sensitive case that
    would match the first one's filters, and nothing else."""
    xinjiang = seeded_place("Xinjiang Uyghur Autonomous Region")
    ili = seeded_place("Ili Kazakh Autonomous Prefecture")
    altay = seeded_place("Altay Prefecture")
    urumqi = seeded_place("Ürümqi")
    county = place("Yining County", LocationKind.COUNTY, ili)
    camp = place(
        "Yining Camp", LocationKind.FACILITY, county, facility_type=FacilityType.INTERNMENT_CAMP
    )
    other_camp = place(
        "Altay Camp", LocationKind.FACILITY, altay, facility_type=FacilityType.INTERNMENT_CAMP
    )
    treason = make_charge("Test treason")
    separatism = make_charge("Test separatism")
    unused_charge = make_charge("Test unused charge")
    wave = make_incident("Test wave", date="2024")
    other_wave = make_incident("Other wave", date="2018")

    def build(names, person_fields, events, incidents=(), level=3, **extra):
        case = make_case(person_named(*names, **person_fields))
        for kind, date, location, facility, charges in events:
            event = make_event(case, kind=kind, date=date, location=location, facility=facility)
            event.charges.set(charges)
        case.incidents.set(incidents)
        return publish(case, evidence_level=level, **extra)

    kazakh = build(
        ["Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ"],
        {"gender": Gender.MALE, "ethnicity": Ethnicity.KAZAKH},
        [(EventKind.DETAINED, "2019/2023", county, camp, [treason])],
        incidents=[wave],
        level=4,
    )
    uyghur = build(
        ["Aynur Tursun", "ئاينۇر تۇرسۇن"],
        {"gender": Gender.FEMALE, "ethnicity": Ethnicity.UYGHUR},
        [
            (EventKind.DETAINED, "2010", altay, None, []),
            (EventKind.SENTENCED, "2011", altay, None, [separatism]),
        ],
        level=2,
    )
    kyrgyz = build(
        ["Erlan Asanov"],
        {"gender": Gender.MALE, "ethnicity": Ethnicity.KYRGYZ},
        [(EventKind.DISAPPEARED, "2019/..", urumqi, None, [])],
        level=3,
    )
    # Matching the Kazakh case's filters, never listed.
    draft = make_case(
        person_named("Kanat Yerezhep", gender=Gender.MALE, ethnicity=Ethnicity.KAZAKH)
    )
    make_event(draft, date="2019/2023", location=county, facility=camp).charges.set([treason])
    draft.incidents.set([wave])
    build(
        ["Kanat Yerezhep"],
        {"gender": Gender.MALE, "ethnicity": Ethnicity.KAZAKH},
        [(EventKind.DETAINED, "2019/2023", county, camp, [treason])],
        incidents=[wave],
        level=4,
        sensitive=True,
    )
    # Last changed at known times, oldest first.
    for case, when in [(kazakh, "2024-01-10"), (uyghur, "2025-03-01"), (kyrgyz, "2025-06-01")]:
        set_case(case, updated_at=f"{when}T12:00:00Z")
    return SimpleNamespace(
        kazakh=Case.objects.get(pk=kazakh.pk),
        uyghur=Case.objects.get(pk=uyghur.pk),
        kyrgyz=Case.objects.get(pk=kyrgyz.pk),
        xinjiang=xinjiang,
        ili=ili,
        altay=altay,
        county=county,
        camp=camp,
        other_camp=other_camp,
        kazakhstan=seeded_place("Kazakhstan"),
        treason=treason,
        separatism=separatism,
        unused_charge=unused_charge,
        wave=wave,
        other_wave=other_wave,
    )


def found(client, key, params):
    return set(references(client, key, params))


def refs_of(cases, *names):
    return {getattr(cases, name).reference for name in names}


FILTERS = [
    # (parameters, the cases they find); values in <> are read from the fixture
    ({}, ["kazakh", "uyghur", "kyrgyz"]),
    ({"status": "detained"}, ["kazakh"]),
    ({"status": "sentenced"}, ["uyghur"]),
    ({"status": ["detained", "disappeared"]}, ["kazakh", "kyrgyz"]),
    ({"status": "released"}, []),
    ({"ethnicity": "kazakh"}, ["kazakh"]),
    ({"ethnicity": "uyghur"}, ["uyghur"]),
    ({"ethnicity": "han"}, []),
    ({"gender": "female"}, ["uyghur"]),
    ({"gender": "male"}, ["kazakh", "kyrgyz"]),
    ({"gender": "other"}, []),
    ({"charge": "<treason>"}, ["kazakh"]),
    ({"charge": "<separatism>"}, ["uyghur"]),
    ({"charge": "<unused_charge>"}, []),
    ({"charge": "<random>"}, []),
    ({"location": "<county>"}, ["kazakh"]),
    ({"location": "<ili>"}, ["kazakh"]),
    ({"location": "<camp>"}, ["kazakh"]),
    ({"location": "<altay>"}, ["uyghur"]),
    ({"location": "<xinjiang>"}, ["kazakh", "uyghur", "kyrgyz"]),
    ({"location": "<kazakhstan>"}, []),
    ({"location": "<random>"}, []),
    ({"facility": "<camp>"}, ["kazakh"]),
    ({"facility": "<other_camp>"}, []),
    ({"facility": "<county>"}, []),
    ({"incident": "<wave>"}, ["kazakh"]),
    ({"incident": "<other_wave>"}, []),
    ({"min_evidence_level": "1"}, ["kazakh", "uyghur", "kyrgyz"]),
    ({"min_evidence_level": "3"}, ["kazakh", "kyrgyz"]),
    ({"min_evidence_level": "4"}, ["kazakh"]),
    ({"event_kind": "detained"}, ["kazakh", "uyghur"]),
    ({"event_kind": "sentenced"}, ["uyghur"]),
    ({"event_kind": "disappeared"}, ["kyrgyz"]),
    ({"event_kind": "released"}, []),
    ({"date_from": "2020", "date_to": "2020"}, ["kazakh", "kyrgyz"]),
    ({"date_from": "2025"}, ["kyrgyz"]),
    ({"date_from": "2030"}, ["kyrgyz"]),
    ({"date_to": "2010"}, ["uyghur"]),
    ({"date_from": "2011-06", "date_to": "2011-06-30"}, ["uyghur"]),
    ({"date_from": "2012", "date_to": "2018"}, []),
    ({"date_to": "2019-01-01"}, ["kazakh", "uyghur", "kyrgyz"]),
    ({"date_from": "2019/2020"}, ["kazakh", "kyrgyz"]),
    ({"updated_since": "2025-01-01T00:00:00Z"}, ["uyghur", "kyrgyz"]),
    ({"updated_since": "2025-04-01T00:00:00+00:00"}, ["kyrgyz"]),
    ({"updated_since": "2025-06-01T12:00:00Z"}, ["kyrgyz"]),
    ({"updated_since": "2099-01-01T00:00:00Z"}, []),
    ({"search": "Kanat Yerezhep"}, ["kazakh"]),
    ({"search": "Aynur"}, ["uyghur"]),
    ({"search": "Nobody Such"}, []),
    ({"status": "detained", "ethnicity": "kazakh"}, ["kazakh"]),
    ({"status": "detained", "ethnicity": "uyghur"}, []),
    ({"location": "<xinjiang>", "gender": "male", "min_evidence_level": "4"}, ["kazakh"]),
]


def resolve(cases, params):
    def value(v):
        if isinstance(v, list):
            return [value(x) for x in v]
        if v == "<random>":
            return str(uuid.uuid4())
        if v.startswith("<"):
            return str(getattr(cases, v.strip("<>")).uid)
        return v

    return {name: value(v) for name, v in params.items()}


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_case_filters(client, cases, key, params, expected):
    assert found(client, key, resolve(cases, params)) == refs_of(cases, *expected)


def test_a_case_with_an_event_in_a_county_is_found_by_its_prefecture(client, key):
    prefecture = seeded_place("Tacheng Prefecture")
    county = place("Emin County", LocationKind.COUNTY, prefecture)
    case = make_case(person_named("Someone in Emin"))
    make_event(case, date="2020", location=county)
    case = publish(case)
    assert found(client, key, {"location": str(prefecture.uid)}) == {case.reference}
    assert found(client, key, {"location": str(seeded_place("Hotan Prefecture").uid)}) == set()


def test_a_case_at_a_facility_is_found_by_the_facility(client, key):
    prefecture = seeded_place("Tacheng Prefecture")
    prison = place("Tacheng Prison", LocationKind.FACILITY, prefecture, facility_type="prison")
    other = place("Tacheng Jail", LocationKind.FACILITY, prefecture, facility_type="prison")
    case = make_case(person_named("Someone in prison"))
    make_event(case, date="2020", location=prefecture, facility=prison)
    case = publish(case)
    assert found(client, key, {"facility": str(prison.uid)}) == {case.reference}
    assert found(client, key, {"facility": str(other.uid)}) == set()


def one_case_with_an_event(date):
    case = make_case(person_named(f"Dated {date}"))
    make_event(case, date=date)
    return publish(case)


def test_an_event_from_2019_to_2023_overlaps_2020(client, key):
    case = one_case_with_an_event("2019/2023")
    assert found(client, key, {"date_from": "2020", "date_to": "2020"}) == {case.reference}


def test_an_event_from_2019_to_2023_does_not_overlap_2025_onwards(client, key):
    one_case_with_an_event("2019/2023")
    assert found(client, key, {"date_from": "2025"}) == set()


def test_an_event_from_2019_with_an_open_end_overlaps_2030(client, key):
    case = one_case_with_an_event("2019/..")
    assert found(client, key, {"date_from": "2030"}) == {case.reference}
    assert found(client, key, {"date_to": "2018"}) == set()


def test_an_event_without_a_date_matches_no_date_range(client, key):
    one_case_with_an_event("")
    assert found(client, key, {"date_from": "1900"}) == set()
    assert found(client, key, {}) != set()


@pytest.mark.parametrize(
    "query",
    [
        "Kanat Yerezhep",
        "Қанат Ережеп",
        "قانات ەرەجەپ",
        "kanat yerezhep",
        "KANAT YEREZHEP",
        "қанат ережеп",
        "ҚАНАТ ЕРЕЖЕП",
        "Yerezhep",
        "Kanat-Yerezhep",
        "  Kanat   Yerezhep ",
    ],
)
def test_search_finds_a_name_in_any_script_and_case(client, cases, key, query):
    assert found(client, key, {"search": query}) == {cases.kazakh.reference}


@pytest.mark.parametrize("query", ["Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ"])
def test_search_finds_the_demo_seed_case_in_each_script(client, key, settings, tmp_path, query):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    seed = Case.objects.get(person__display_name="Kanat Yerezhep")
    assert found(client, key, {"search": query}) == {seed.reference}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("reference", ["kazakh", "uyghur", "kyrgyz"]),
        ("-reference", ["kyrgyz", "uyghur", "kazakh"]),
        ("updated_at", ["kazakh", "uyghur", "kyrgyz"]),
        ("-updated_at", ["kyrgyz", "uyghur", "kazakh"]),
        (None, ["kyrgyz", "uyghur", "kazakh"]),
    ],
)
def test_cases_are_ordered_as_asked(client, cases, key, ordering, expected):
    params = {"ordering": ordering} if ordering else {}
    assert references(client, key, params) == [getattr(cases, n).reference for n in expected]


def test_reference_ordering_holds_across_pages(client, key):
    made = quick_published_cases(7)
    expected = sorted(c.reference for c in made)
    assert references(client, key, {"ordering": "reference", "page_size": 2}) == expected
    assert references(client, key, {"ordering": "-reference", "page_size": 3}) == expected[::-1]


# --- refused parameters ----------------------------------------------------------------------

BAD_VALUES = [
    # (parameters, the parameter the 400 names, what it must say is accepted)
    ({"status": "jailed"}, "status", CaseStatus.values),
    ({"status": ["detained", "jailed"]}, "status", CaseStatus.values),
    ({"ethnicity": "martian"}, "ethnicity", Ethnicity.values),
    ({"gender": "f"}, "gender", Gender.values),
    ({"min_evidence_level": "5"}, "min_evidence_level", ["1", "2", "3", "4"]),
    ({"min_evidence_level": "high"}, "min_evidence_level", ["1", "2", "3", "4"]),
    ({"event_kind": "arrest"}, "event_kind", EventKind.values),
    ({"charge": "treason"}, "charge", ["UUID"]),
    ({"location": "12"}, "location", ["uid", "name"]),
    ({"facility": "camp"}, "facility", ["UUID"]),
    ({"incident": "2024"}, "incident", ["UUID"]),
    ({"date_from": "yesterday"}, "date_from", [EDTF_EXAMPLES]),
    ({"date_to": "2024-13"}, "date_to", [EDTF_EXAMPLES]),
    ({"date_from": "2024-02-30"}, "date_from", [EDTF_EXAMPLES]),
    ({"date_from": "2025", "date_to": "2020"}, "date_to", ["date_from"]),
    ({"updated_since": "last week"}, "updated_since", []),
    ({"updated_since": "2024-02-30T00:00:00Z"}, "updated_since", []),
    (
        {"ordering": "name"},
        "ordering",
        ["reference", "-reference", "updated_at", "-updated_at"],
    ),
    ({"ordering": "reference,pk"}, "ordering", ["reference"]),
    ({"ordering": ""}, "ordering", ["reference"]),
    ({"page_size": "0"}, "page_size", ["500"]),
    ({"page_size": "501"}, "page_size", ["500"]),
    ({"page_size": "-1"}, "page_size", ["500"]),
    ({"page_size": "ten"}, "page_size", ["500"]),
    ({"sort": "reference"}, "sort", ["ordering", "status", "search", "page_size"]),
    ({"id": "1"}, "id", ["ordering"]),
]


@pytest.mark.parametrize(
    ("params", "named", "accepted"), BAD_VALUES, ids=[str(p) for p, _, _ in BAD_VALUES]
)
def test_a_bad_parameter_is_a_400_naming_it_and_what_it_accepts(
    client, world, key, params, named, accepted
):
    response = get(client, "cases/", key, params)
    assert response.status_code == 400
    body = response.json()
    assert named in body
    message = " ".join(body[named])
    for value in accepted:
        assert value in message


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS[1:])
def test_the_other_lists_refuse_case_filters(client, world, key, endpoint):
    response = get(client, f"{endpoint}/", key, {"status": "detained"})
    assert response.status_code == 400
    assert "cursor" in " ".join(response.json()["status"])


def test_an_unknown_parameter_on_a_case_detail_is_refused(client, world, key):
    url = f"cases/{world.case.reference}/"
    assert get(client, url, key, {"nonsense": "1"}).status_code == 400


# --- pages -----------------------------------------------------------------------------------


def test_a_page_holds_50_cases_unless_asked_otherwise(client, key):
    quick_published_cases(55)
    page = get_json(client, "cases/", key)
    assert len(page["results"]) == 50
    assert page["next"]


def test_a_page_holds_up_to_500_cases(client, key):
    quick_published_cases(3)
    assert len(get_json(client, "cases/", key, {"page_size": 500})["results"]) == 3


def test_a_page_size_over_500_is_refused(client, key):
    quick_published_cases(1)
    response = get(client, "cases/", key, {"page_size": 501})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize("ordering", [None, "reference", "-reference", "updated_at"])
def test_paging_through_120_cases_gives_each_exactly_once(client, key, ordering):
    made = {c.reference for c in quick_published_cases(120)}
    params = {"page_size": 25, **({"ordering": ordering} if ordering else {})}
    pages, page = [], get_json(client, "cases/", key, params)
    pages.append(page["results"])
    while page["next"]:
        page = get_json(client, page["next"], key)
        pages.append(page["results"])
    listed = [case["reference"] for results in pages for case in results]
    assert [len(results) for results in pages] == [25, 25, 25, 25, 20]
    assert len(listed) == len(set(listed)) == 120
    assert set(listed) == made


def repeats_and_gaps(listed, expected):
    repeated = sorted({item for item in listed if listed.count(item) > 1})
    return repeated, sorted(set(expected) - set(listed))


@pytest.mark.parametrize("ordering", [None, "updated_at", "-updated_at"])
def test_cases_changed_at_the_same_instant_are_each_listed_once(client, key, ordering):
    made = quick_published_cases(60)
    set_case_many(made, updated_at=timezone.now())
    params = {"page_size": 7, **({"ordering": ordering} if ordering else {})}
    listed = references(client, key, params)
    assert repeats_and_gaps(listed, [c.reference for c in made]) == ([], [])


def test_people_changed_at_the_same_instant_are_each_listed_once(client, key):
    made = quick_published_cases(60)
    with without_reopening():
        Person.objects.filter(cases__in=made).update(updated_at=timezone.now())
    listed = [p["uid"] for p in all_pages(client, "people/", key, {"page_size": 7})]
    assert repeats_and_gaps(listed, [str(c.person.uid) for c in made]) == ([], [])


def set_case_many(cases, **fields):
    with without_reopening():
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(**fields)


@pytest.mark.parametrize("ordering", [None, "reference", "-reference"])
def test_cases_published_while_a_partner_pages_are_never_listed_twice(client, key, ordering):
    made = {c.reference for c in quick_published_cases(120)}
    params = {"page_size": 25, **({"ordering": ordering} if ordering else {})}
    page = get_json(client, "cases/", key, params)
    listed = [case["reference"] for case in page["results"]]
    added = set()
    while page["next"]:
        added |= {c.reference for c in quick_published_cases(3, prefix="Late")}
        page = get_json(client, page["next"], key)
        listed += [case["reference"] for case in page["results"]]
    assert len(listed) == len(set(listed))
    assert made <= set(listed) <= made | added


def test_an_invalid_cursor_is_refused(client, world, key):
    response = get(client, "cases/", key, {"cursor": "not a cursor!"})
    assert response.status_code == 400
    assert "cursor" in response.json()
    assert says_no_store(response)


def test_a_cursor_holds_a_position_and_offset_not_a_primary_key(client, key):
    made = sorted(quick_published_cases(3), key=lambda case: case.reference)
    page = get_json(client, "cases/", key, {"page_size": 1, "ordering": "reference"})
    cursor = parse_qs(urlparse(page["next"]).query)["cursor"][0]
    decoded = parse_qs(base64.b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    assert set(decoded) <= {"o", "r", "p"}
    assert decoded["p"] == [made[0].reference]


# --- no caching ------------------------------------------------------------------------------


def says_no_store(response):
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_partner_answer_says_no_store(client, world, key, endpoint):
    response = client.get(api_url(ENDPOINTS[endpoint](world)), **token_header(key))
    assert response.status_code == 200
    assert says_no_store(response)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_refusal_says_no_store(client, world, endpoint):
    response = client.get(api_url(ENDPOINTS[endpoint](world)))
    assert response.status_code == 401
    assert says_no_store(response)


def test_the_schema_and_docs_say_no_store_to_staff(client, world):
    client.force_login(make_user("staff_member"))
    for endpoint in DOCS:
        response = client.get(api_url(ENDPOINTS[endpoint](world)))
        assert response.status_code == 200
        assert says_no_store(response), endpoint


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("get", "cases/CT-1999-00001/", {}, 404),
        ("get", "people/not-a-uid/", {}, 404),
        ("get", "cases/", {"status": "x"}, 400),
        ("post", "cases/", {}, 405),
        ("delete", "locations/", {}, 405),
    ],
)
def test_errors_say_no_store(client, world, key, method, path, params, status):
    response = getattr(client, method)(API + path, params, **token_header(key))
    assert response.status_code == status
    assert says_no_store(response)


# --- the request log -------------------------------------------------------------------------


def text_columns(model):
    return [f.attname for f in model._meta.concrete_fields if f.get_internal_type() in TEXTUAL]


TEXTUAL = {"CharField", "TextField", "EmailField", "URLField", "SlugField"}


def test_a_partners_request_is_logged_with_partner_path_and_query(client, world, key, partner):
    client.get(
        API + "cases/", {"status": "detained", "search": "Қанат"}, **token_header(key, "Bearer")
    )
    row = ApiRequest.objects.get()
    assert row.partner == partner
    assert (row.method, row.path, row.status) == ("GET", "/api/v1/cases/", 200)
    assert row.token_name == "sync server"
    # Which parameters, and the status asked for; never the search text.
    assert row.query == "status=detained&search"


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("get", "cases/withdrawn/", {"since": LONG_AGO}, 200),
        ("get", "cases/CT-1999-00001/", {}, 404),
        ("get", "cases/", {"status": "jailed"}, 400),
        ("get", "cases/", {"unknown": "1"}, 400),
        ("post", "cases/", {}, 405),
        ("delete", "people/", {}, 405),
    ],
)
def test_refused_and_failed_requests_are_logged_too(
    client, world, key, partner, method, path, params, status
):
    response = getattr(client, method)(API + path, params, **token_header(key))
    assert response.status_code == status
    row = ApiRequest.objects.get()
    assert (row.partner, row.method, row.path, row.status) == (
        partner,
        method.upper(),
        API + path,
        status,
    )


def test_no_logged_request_holds_the_key(client, world, key, partner):
    secret = key.partition(".")[2]
    for endpoint in ENDPOINTS:
        client.get(api_url(ENDPOINTS[endpoint](world)), **token_header(key))
    client.get(API + "cases/", {"search": "x", "status": "jailed"}, **token_header(key))
    client.delete(API + f"cases/{world.case.reference}/", **token_header(key))
    rows = list(ApiRequest.objects.values_list(*text_columns(ApiRequest)))
    assert len(rows) >= len(ENDPOINTS) - len(DOCS)
    for row in rows:
        for value in row:
            assert key not in value
            assert secret not in value


def test_requests_without_a_usable_token_are_not_logged(client, world, partner, key):
    client.get(API + "cases/")
    client.get(API + "cases/", **token_header(wrong_secret(key)))
    client.get(API + "cases/", **token_header(revoked_key(partner)))
    assert not ApiRequest.objects.exists()


# --- throttling ------------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(monkeypatch):
    monkeypatch.setattr(PartnerBurstThrottle, "rate", "3/min", raising=False)


def test_the_request_after_the_limit_is_a_429_with_retry_after(client, world, key, three_a_minute):
    statuses = [get(client, "cases/", key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = get(client, "cases/", key)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert says_no_store(response)


def test_the_limit_counts_every_endpoint_of_a_token(client, world, key, three_a_minute):
    for path in ["cases/", "people/", f"sources/{world.source.uid}/"]:
        assert get(client, path, key).status_code == 200
    assert get(client, "locations/", key).status_code == 429


def test_another_token_is_not_throttled(client, world, key, partner, three_a_minute):
    for _ in range(4):
        get(client, "cases/", key)
    assert get(client, "cases/", key).status_code == 429
    assert get(client, "cases/", partner.issue_token("second")[1]).status_code == 200
    other = Partner.objects.create(name="Another partner").issue_token()[1]
    assert get(client, "cases/", other).status_code == 200


def test_the_daily_limit_applies_too(client, world, key, monkeypatch):
    monkeypatch.setattr(PartnerSustainedThrottle, "rate", "2/day", raising=False)
    assert [get(client, "cases/", key).status_code for _ in range(3)] == [200, 200, 429]
    assert int(get(client, "cases/", key)["Retry-After"]) > 60


def test_a_throttled_request_is_logged(client, world, key, three_a_minute):
    for _ in range(4):
        get(client, "cases/", key)
    assert list(ApiRequest.objects.order_by("pk").values_list("status", flat=True)) == [
        200,
        200,
        200,
        429,
    ]


# --- issuing tokens --------------------------------------------------------------------------


def issue(*args):
    out, err = StringIO(), StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_issue_token_prints_a_key_that_works(client, world, partner):
    key, _ = issue("--partner", partner.name)
    assert get(client, "cases/", key).status_code == 200


def test_issue_token_prints_only_the_key_on_stdout(partner):
    key, message = issue("--partner", partner.name, "--name", "laptop")
    assert re.fullmatch(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", key)
    assert key not in message
    assert "laptop" in message


def test_issue_token_stores_only_a_hash(partner):
    key, _ = issue("--partner", partner.name)
    token = PartnerToken.objects.get(partner=partner)
    secret = key.partition(".")[2]
    for column in text_columns(PartnerToken):
        value = getattr(token, column)
        assert value != key
        assert secret not in value
    for row in PartnerToken.history.values_list(*text_columns(PartnerToken.history.model)):
        assert not any(value and secret in value for value in row)
    assert PartnerToken.objects.get_from_key(key) == token


def test_issue_token_expires_after_365_days_by_default(partner):
    issue("--partner", partner.name)
    expiry = PartnerToken.objects.get(partner=partner).expiry_date
    assert abs(expiry - (timezone.now() + timedelta(days=DEFAULT_TOKEN_DAYS))) < timedelta(
        minutes=1
    )
    assert DEFAULT_TOKEN_DAYS == 365


def test_issue_token_sets_the_expiry_asked_for(partner):
    issue("--partner", partner.name, "--expires-days", "30")
    expiry = PartnerToken.objects.get(partner=partner).expiry_date
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


@pytest.mark.parametrize("days", ["0", "-5"])
def test_issue_token_refuses_a_token_that_never_works(partner, days):
    with pytest.raises(CommandError, match="expires-days"):
        issue("--partner", partner.name, "--expires-days", days)
    assert not PartnerToken.objects.exists()


def test_issue_token_for_an_unknown_partner_lists_the_partners(partner):
    Partner.objects.create(name="Newsroom")
    with pytest.raises(CommandError) as refused:
        issue("--partner", "Kazakh Rights")
    assert partner.name in str(refused.value)
    assert "Newsroom" in str(refused.value)
    assert not PartnerToken.objects.exists()


def test_issue_token_refuses_an_inactive_partner(partner):
    partner.is_active = False
    partner.save()
    with pytest.raises(CommandError, match="not active"):
        issue("--partner", partner.name)
    assert not PartnerToken.objects.exists()


def test_a_token_stops_working_once_it_expires(client, world, partner):
    key, _ = issue("--partner", partner.name, "--expires-days", "1")
    assert get(client, "cases/", key).status_code == 200
    PartnerToken.objects.update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert get(client, "cases/", key).status_code == 401


def test_revoking_one_token_leaves_the_partners_others_working(client, world, partner):
    first, first_key = partner.issue_token("first")
    _, second_key = partner.issue_token("second")
    first.revoked = True
    first.save()
    assert get(client, "cases/", first_key).status_code == 401
    assert get(client, "cases/", second_key).status_code == 200


def test_deactivating_a_partner_cuts_off_every_token(client, world, partner):
    keys = [partner.issue_token(name)[1] for name in ("a", "b")]
    partner.is_active = False
    partner.save()
    assert [get(client, "cases/", k).status_code for k in keys] == [401, 401]


def test_the_admin_issues_a_token_shown_once(admin_client, client, world, partner):
    url = f"/admin/api/partner/{partner.pk}/issue-token/"
    response = admin_client.post(url, {"name": "from the admin", "days": 10})
    assert response.status_code == 200
    assert says_no_store(response)
    token = PartnerToken.objects.get(partner=partner)
    key = re.search(rf"{token.prefix}\.[A-Za-z0-9]{{32}}", response.content.decode()).group()
    assert abs(token.expiry_date - (timezone.now() + timedelta(days=10))) < timedelta(minutes=1)
    assert get(client, "cases/", key).status_code == 200
    again = admin_client.get(url)
    assert again.status_code == 200
    assert key.partition(".")[2] not in again.content.decode()


# --- queries ---------------------------------------------------------------------------------


_numbers = itertools.count()


def rich_published_cases(count, shared):
    """Published cases with names in three scripts, two events with charges at places, and
    public citations on the case, its events and its person."""
    made = []
    for _ in range(count):
        i = next(_numbers)
        person = person_named(
            f"Rich Person {i}", f"Бай Адам {i}", f"باي ادام {i}", place_of_origin=shared.county
        )
        case = make_case(person, public_summary=f"Case {i}")
        case.incidents.add(shared.incident)
        source = make_source(f"Report {i}", publisher=make_organisation(f"Paper {i}"))
        make_citation(source, case=case)
        make_citation(shared.source, person=person)
        for kind, date in [(EventKind.DETAINED, "2019/2023"), (EventKind.SENTENCED, "2024")]:
            event = make_event(
                case, kind=kind, date=date, location=shared.county, facility=shared.camp
            )
            event.authority = shared.court
            event.save()
            event.charges.set(shared.charges)
            make_citation(source, event=event)
            make_citation(shared.source, event=event)
        made.append(publish(case))
    return made


def count_queries(client, key, path, params):
    with CaptureQueriesContext(connection) as queries:
        response = get(client, path, key, params)
    assert response.status_code == 200
    return len(queries), response.json()


def test_a_page_of_100_cases_takes_as_many_queries_as_a_page_of_one(client, world, key):
    shared = SimpleNamespace(
        county=world.county,
        camp=world.camp,
        court=world.court,
        incident=world.incident,
        source=world.source,
        charges=[world.charge, make_charge("Second charge")],
    )
    set_case(world.case, is_published=False)
    rich_published_cases(1, shared)
    one, body = count_queries(client, key, "cases/", {"page_size": 100})
    assert len(body["results"]) == 1
    rich_published_cases(99, shared)
    hundred, body = count_queries(client, key, "cases/", {"page_size": 100})
    assert len(body["results"]) == 100
    assert all(len(case["events"]) == 2 and len(case["sources"]) == 2 for case in body["results"])
    assert all(len(case["person"]["names"]) == 3 for case in body["results"])
    assert hundred == one


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS[1:])
def test_the_other_lists_take_a_fixed_number_of_queries(client, world, key, endpoint):
    shared = SimpleNamespace(
        county=world.county,
        camp=world.camp,
        court=world.court,
        incident=world.incident,
        source=world.source,
        charges=[world.charge],
    )
    rich_published_cases(1, shared)
    one, _ = count_queries(client, key, f"{endpoint}/", {"page_size": 100})
    rich_published_cases(10, shared)
    more, _ = count_queries(client, key, f"{endpoint}/", {"page_size": 100})
    assert more == one


def test_an_unknown_api_address_is_a_json_404_never_cached(client, key):
    response = get(client, "no-such-endpoint/", key)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert says_no_store(response)
