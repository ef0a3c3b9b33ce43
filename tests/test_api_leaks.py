"""The leak scan: every restricted value in the database is a unique sentinel string; a partner
crawls the whole API (every list, page, filter, linked detail, the withdrawals and the schema)
and no sentinel may come back, nor any integer primary key."""

import json
import uuid
from io import StringIO
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from cases.models import (
    Case,
    CaseStatus,
    CaseTransition,
    EventKind,
    FacilityType,
    LocationKind,
    ReviewState,
)
from casetracker import crypto
from casetracker.demo import FICTIONAL
from people.models import (
    Affiliation,
    Consent,
    Ethnicity,
    Gender,
    OrganisationKind,
    Relationship,
    RelationshipKind,
)
from snapshots.models import PublishedCase
from sources.models import Access, EvidenceFile
from tests import partner_api
from tests.factories import (
    PUBLISHED,
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_incident,
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
from tests.partner_api import API, LIST_ENDPOINTS, LONG_AGO, get

pytestmark = pytest.mark.django_db

# The partner API's test environment (tests/partner_api.py): both apply to every test here.
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

TESTSERVER = "http://testserver"


class Sentinels:
    """Unique strings that must never reach a partner, each with a label saying what it is."""

    def __init__(self):
        self.labels = {}

    def __call__(self, label):
        value = f"zqleak{uuid.uuid4().hex[:12]}"
        self.labels[value] = label
        return value

    def url(self, label):
        return f"https://{self(label)}.example.org/{self(label + ' (path)')}"

    def email(self, label):
        return f"{self(label)}@example.org"

    def hide(self, value, label):
        """A value that exists anyway (a uid, a reference) but must not reach a partner."""
        self.labels[str(value).lower()] = label
        return value

    def found_in(self, text):
        text = text.lower()
        return [label for value, label in self.labels.items() if value in text]


@pytest.fixture
def secret():
    return Sentinels()


def staff(secret, role):
    return make_user(
        secret(f"{role} username"),
        email=secret.email(f"{role} email"),
        first_name=secret(f"{role} first name"),
        last_name=secret(f"{role} last name"),
    )


def hidden_links(secret, what, hotan):
    """A place, facility, authority, charge, incident and public source that only the hidden
    case ``what`` links to."""
    location = place(secret(f"{what}: place"), LocationKind.COUNTY, hotan)
    facility = place(
        secret(f"{what}: facility"),
        LocationKind.FACILITY,
        location,
        facility_type=FacilityType.PRISON,
    )
    return SimpleNamespace(
        location=location,
        facility=facility,
        authority=make_organisation(secret(f"{what}: authority"), kind=OrganisationKind.SECURITY),
        charge=make_charge(secret(f"{what}: charge"), description=secret(f"{what}: charge text")),
        incident=make_incident(
            secret(f"{what}: incident"), description=secret(f"{what}: incident text")
        ),
        source=make_source(
            secret(f"{what}: public source title"),
            author=secret(f"{what}: public source author"),
            url=secret.url(f"{what}: public source url"),
            publisher=make_organisation(secret(f"{what}: publisher")),
        ),
    )


def hidden_case(secret, what, hotan, *, person=None, consent=Consent.PUBLIC_RECORD, **state):
    """A case that must stay hidden, in ``state``, with everything about it a sentinel."""
    if person is None:
        person = person_named(
            secret(f"{what}: person name"),
            f"Қ{secret(f'{what}: person name, Cyrillic')}",
            consent=consent,
            internal_notes=secret(f"{what}: person internal notes"),
            contact_details=secret(f"{what}: person contact details"),
            public_summary=secret(f"{what}: person public summary"),
            occupation=secret(f"{what}: person occupation"),
        )
        secret.hide(person.uid, f"{what}: person uid")
    links = hidden_links(secret, what, hotan)
    case = make_case(
        person,
        public_summary=secret(f"{what}: case public summary"),
        internal_notes=secret(f"{what}: case internal notes"),
    )
    case.incidents.add(links.incident)
    event = make_event(
        case,
        kind=EventKind.DETAINED,
        date="2020",
        location=links.location,
        facility=links.facility,
        description=secret(f"{what}: event description"),
        sentence="",
    )
    event.authority = links.authority
    event.save()
    event.charges.add(links.charge)
    make_citation(links.source, case=case, locator=secret(f"{what}: locator"))
    make_citation(links.source, event=event, locator=secret(f"{what}: event locator"))
    for record, label in [
        (case.uid, "uid"),
        (case.reference, "reference"),
        (event.uid, "event uid"),
        (links.location.uid, "place uid"),
        (links.facility.uid, "facility uid"),
        (links.authority.uid, "authority uid"),
        (links.charge.uid, "charge uid"),
        (links.incident.uid, "incident uid"),
        (links.source.uid, "source uid"),
    ]:
        secret.hide(record, f"{what}: {label}")
    if state:
        now = timezone.now()
        case = set_case(case, verified_at=now, published_at=now, **{**PUBLISHED, **state})
    return SimpleNamespace(case=case, person=person, event=event, links=links)


def restricted_source(secret, access, label, **kw):
    source = make_source(
        secret(f"{label} title"),
        access=access,
        kind="testimony",
        author=secret(f"{label} author"),
        url=secret.url(f"{label} url"),
        archive_url=secret.url(f"{label} archive url"),
        notes=secret(f"{label} notes"),
        publisher=make_organisation(secret(f"{label} publisher")),
        **kw,
    )
    secret.hide(source.uid, f"{label} uid")
    secret.hide(source.publisher.uid, f"{label} publisher uid")
    EvidenceFile.objects.create(
        source=source,
        file=SimpleUploadedFile(f"{secret(f'{label} file name')}.pdf", b"%PDF-1.4 test"),
        description=secret(f"{label} file description"),
    )
    return source


@pytest.fixture
def world(secret, partner):
    """Published cases with every restricted field filled, and every kind of hidden case."""
    creator, verifier = staff(secret, "creator"), staff(secret, "verifier")
    partner.notes = secret("partner notes")
    partner.contact_name = secret("partner contact name")
    partner.contact_email = secret.email("partner contact email")
    partner.save()
    ili = seeded_place("Ili Kazakh Autonomous Prefecture")
    hotan = seeded_place("Hotan Prefecture")
    county = place("Yining County", LocationKind.COUNTY, ili)
    camp = place(
        "Yining Camp", LocationKind.FACILITY, county, facility_type=FacilityType.INTERNMENT_CAMP
    )
    court = make_organisation("Yining County Court", kind=OrganisationKind.COURT)
    charge = make_charge("Inciting separatism (test)")
    incident = make_incident("2024 wave (test)", date="2024")

    with without_reopening():
        person = person_named(
            "Kanat Yerezhep",
            "Қанат Ережеп",
            "قانات ەرەجەپ",
            gender=Gender.MALE,
            ethnicity=Ethnicity.KAZAKH,
            place_of_origin=county,
            public_summary="A former television director.",
            internal_notes=secret("published person internal notes"),
            contact_details=secret("published person contact details"),
            created_by=creator,
            updated_by=creator,
        )
        case = make_case(
            person,
            public_summary="Detained between 2019 and 2023.",
            internal_notes=secret("published case internal notes"),
            created_by=creator,
            updated_by=creator,
        )
        case.incidents.add(incident)
        case.assigned_staff.add(creator)
        events = []
        for kind, date in [(EventKind.DETAINED, "2019/2023"), (EventKind.SENTENCED, "2024")]:
            event = make_event(
                case,
                kind=kind,
                date=date,
                location=county,
                facility=camp,
                description=f"{kind} (public description)",
            )
            event.authority = court
            event.save()
            event.charges.add(charge)
            events.append(event)

        # A public source: its notes, files and every citation's claim and quote are staff's.
        public = make_source(
            "Herald report",
            publisher=make_organisation("Steppe Herald"),
            published="2024-11-05",
            notes=secret("public source notes"),
            created_by=creator,
            updated_by=creator,
        )
        EvidenceFile.objects.create(
            source=public,
            file=SimpleUploadedFile(f"{secret('public source file name')}.pdf", b"%PDF-1.4"),
            description=secret("public source file description"),
            uploaded_by=creator,
        )
        subjects = [("case", case), ("person", person)] + [("event", e) for e in events]
        for subject, record in subjects:
            make_citation(
                public,
                **{subject: record},
                locator=f"{subject} locator",
                claim=secret(f"public citation claim on the {subject}"),
                quote=secret(f"public citation quote on the {subject}"),
            )
        # Confidential, restricted and archived sources cited on the same case.
        for access in [Access.CONFIDENTIAL, Access.RESTRICTED]:
            source = restricted_source(secret, access, f"{access} source")
            for subject, record in subjects:
                make_citation(
                    source,
                    **{subject: record},
                    locator=secret(f"{access} citation locator on the {subject}"),
                    claim=secret(f"{access} citation claim on the {subject}"),
                    quote=secret(f"{access} citation quote on the {subject}"),
                )
        archived = restricted_source(secret, Access.PUBLIC, "archived public source")
        archived.archived_at = timezone.now()
        archived.save()
        make_citation(archived, case=case, locator=secret("archived source locator"))

        # A testifier and a relative of the published person, and what links them.
        testifier = person_named(
            secret("testifier name"),
            f"Т{secret('testifier name, Cyrillic')}",
            internal_notes=secret("testifier internal notes"),
            contact_details=secret("testifier contact details"),
            public_summary=secret("testifier public summary"),
            consent=Consent.GRANTED,
        )
        secret.hide(testifier.uid, "testifier uid")
        Relationship.objects.create(
            from_person=testifier,
            kind=RelationshipKind.TESTIFIER_OF,
            to_person=person,
            notes=secret("testifier relationship notes"),
        )
        relative = person_named(secret("relative name"), consent=Consent.GRANTED)
        secret.hide(relative.uid, "relative uid")
        Relationship.objects.create(
            from_person=person,
            kind=RelationshipKind.SIBLING_OF,
            to_person=relative,
            notes=secret("sibling relationship notes"),
        )
        employer = make_organisation(secret("employer name"))
        secret.hide(employer.uid, "employer uid")
        Affiliation.objects.create(
            person=person, organisation=employer, role=secret("affiliation role")
        )
        make_citation(
            restricted_source(secret, Access.CONFIDENTIAL, "testimony by the testifier"),
            person=testifier,
            claim=secret("testifier citation claim"),
        )

    published = publish(case, verified_by=verifier, evidence_level_reason=secret("level reason"))
    CaseTransition.objects.create(
        case=published,
        action="publish",
        from_state="verified",
        to_state="published",
        user=verifier,
        reason=secret("workflow reason"),
    )
    # A second published case, so that lists have more than one page.
    other = make_case(person_named("Aynur Tursun", ethnicity=Ethnicity.UYGHUR))
    make_event(other, kind=EventKind.SENTENCED, date="2011", location=county).charges.add(charge)
    other = publish(other, evidence_level=2)

    hidden = {
        "draft": hidden_case(secret, "draft", hotan),
        "in review": hidden_case(
            secret, "in review", hotan, review_state=ReviewState.IN_REVIEW, is_published=False
        ),
        "in review, flagged published": hidden_case(
            secret, "in review flagged", hotan, review_state=ReviewState.IN_REVIEW
        ),
        "verified, unpublished": hidden_case(secret, "verified", hotan, is_published=False),
        "archived": hidden_case(secret, "archived", hotan, archived_at=timezone.now()),
        "sensitive": hidden_case(secret, "sensitive", hotan, sensitive=True),
        "consent refused": hidden_case(secret, "refused", hotan, consent=Consent.REFUSED),
        "consent unknown": hidden_case(secret, "unknown consent", hotan, consent=Consent.UNKNOWN),
        "evidence below minimum": hidden_case(secret, "weak", hotan, evidence_level=1),
        # The published person's other cases: a draft and a sensitive one.
        "published person's draft": hidden_case(secret, "person's draft", hotan, person=person),
        "published person's sensitive case": hidden_case(
            secret, "person's sensitive", hotan, person=person, sensitive=True
        ),
    }
    # Published once, then withdrawn: listed in withdrawals by uid and reference only.
    withdrawn = hidden_case(secret, "withdrawn", hotan, is_published=True)
    set_case(withdrawn.case, is_published=False)
    del secret.labels[str(withdrawn.case.uid)]
    del secret.labels[withdrawn.case.reference.lower()]
    return SimpleNamespace(
        case=published,
        other=other,
        person=person,
        county=county,
        camp=camp,
        court=court,
        charge=charge,
        incident=incident,
        source=public,
        hidden=hidden,
        withdrawn=withdrawn,
        testifier=testifier,
        relative=relative,
        employer=employer,
    )


# --- crawling --------------------------------------------------------------------------------


class Crawler:
    """A partner reading the API: every response is kept for the scan."""

    def __init__(self, client, key):
        self.client, self.key = client, key
        self.responses = []  # (what was asked, response)
        self.visited = set()

    def fetch(self, path, params=None, expect=200):
        response = get(self.client, path, self.key, params)
        self.responses.append((f"{path} {params or ''}", response))
        assert response.status_code == expect, (path, params, response.content[:300])
        return response

    def pages(self, path, params=None):
        page = self.fetch(path, params).json()
        results = list(page["results"])
        while page["next"]:
            page = self.fetch(page["next"]).json()
            results += page["results"]
        return results

    def follow_links(self):
        """Open every API url any response named, until there are no new ones."""
        while True:
            links = {
                url
                for _, response in self.responses
                if response["Content-Type"] == "application/json"
                for url in urls_in(response.json())
                if url.startswith(TESTSERVER + API) and "cursor=" not in url
            } - self.visited
            if not links:
                return
            for url in sorted(links):
                self.visited.add(url)
                self.fetch(url)


def urls_in(data):
    if isinstance(data, dict):
        for name, value in data.items():
            if name == "url" and isinstance(value, str):
                yield value
            else:
                yield from urls_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from urls_in(item)


def keys_in(data):
    if isinstance(data, dict):
        for name, value in data.items():
            yield name
            yield from keys_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from keys_in(item)


def leaks(crawler, secret):
    return [
        (asked, label)
        for asked, response in crawler.responses
        for label in secret.found_in(response.content.decode())
    ]


def primary_keys(crawler):
    found = []
    for asked, response in crawler.responses:
        if "json" in response["Content-Type"]:
            names = set(keys_in(response.json()))
            found += [(asked, n) for n in names if n in ("id", "pk") or n.endswith("_id")]
    return found


def case_filters(world):
    """Every filter, with values that find the published cases and values of hidden records."""
    hidden = [h.links for h in world.hidden.values()]
    yield from ({"status": value} for value in CaseStatus.values)
    yield from ({"ethnicity": value} for value in Ethnicity.values)
    yield from ({"gender": value} for value in Gender.values)
    yield from ({"min_evidence_level": value} for value in ["1", "2", "3", "4"])
    yield from ({"event_kind": value} for value in EventKind.values)
    yield {"charge": world.charge.uid}
    yield {"location": world.county.uid}
    yield {"location": seeded_place("Xinjiang Uyghur Autonomous Region").uid}
    yield {"facility": world.camp.uid}
    yield {"incident": world.incident.uid}
    yield {"date_from": "2020", "date_to": "2020"}
    yield {"date_from": "2019/..", "date_to": "2030"}
    yield {"updated_since": LONG_AGO}
    yield {"search": "Kanat"}
    yield {"search": "Қанат"}
    yield from ({"ordering": value} for value in ["reference", "-reference", "updated_at"])
    # Values that only hidden cases would match: always nothing.
    yield from ({"charge": links.charge.uid} for links in hidden)
    yield from ({"location": links.location.uid} for links in hidden)
    yield from ({"location": seeded_place("Hotan Prefecture").uid},)
    yield from ({"facility": links.facility.uid} for links in hidden)
    yield from ({"incident": links.incident.uid} for links in hidden)


def hidden_names(world):
    names = [h.person.display_name for h in world.hidden.values() if h.person != world.person]
    return [*names, world.testifier.display_name, world.relative.display_name]


@pytest.fixture
def crawled(client, key, world, no_throttling):
    crawler = Crawler(client, key)
    for endpoint in LIST_ENDPOINTS:
        crawler.pages(f"{endpoint}/", {"page_size": 1})
    for params in case_filters(world):
        crawler.pages("cases/", {**params, "page_size": 2})
        if "ordering" not in params:  # the statistics are not a list
            crawler.fetch("statistics/", params)
    crawler.fetch("statistics/")
    crawler.follow_links()
    crawler.fetch("cases/withdrawn/", {"since": LONG_AGO})
    crawler.fetch("schema/")
    crawler.fetch("schema/", {"format": "json"})
    crawler.fetch("docs/")
    return crawler


def test_no_restricted_value_reaches_a_partner_anywhere(crawled, secret):
    assert len(crawled.responses) > 100
    assert leaks(crawled, secret) == []


def test_no_restricted_value_is_stored_in_a_published_snapshot(world, secret):
    """The stored documents themselves (snapshots.writer), which the API and the exports
    write out: only the published cases, and no sentinel in any of them."""
    stored = dict(PublishedCase.objects.values_list("case_id", "document"))
    assert set(stored) == set(Case.objects.published().values_list("pk", flat=True))
    assert stored
    assert {pk: secret.found_in(text) for pk, text in stored.items() if secret.found_in(text)} == {}


def test_partner_requests_never_decrypt_a_restricted_value(
    client, key, world, secret, no_throttling, monkeypatch
):
    # Restricted encrypted columns are not even loaded for partner output (api.public).
    decrypted = []
    decrypt = crypto.decrypt_text

    def spy(token, *args, **kwargs):
        decrypted.append(decrypt(token, *args, **kwargs))
        return decrypted[-1]

    monkeypatch.setattr(crypto, "decrypt_text", spy)
    crawler = Crawler(client, key)
    for endpoint in LIST_ENDPOINTS:
        crawler.pages(f"{endpoint}/", {"page_size": 50})
    crawler.follow_links()
    assert len(crawler.responses) > 20
    assert [value for value in decrypted if secret.found_in(value)] == []
    # The spy does see decryption: a staff read of the same person decrypts their notes.
    assert secret.found_in(type(world.testifier).objects.get(pk=world.testifier.pk).internal_notes)
    assert decrypted


def test_the_scan_sees_a_restricted_value_put_in_a_public_field(client, key, world, secret):
    summary = secret("planted in a public summary")
    set_case(world.case, public_summary=f"Detained. {summary}")
    crawler = Crawler(client, key)
    crawler.pages("cases/")
    assert leaks(crawler, secret) == [("cases/ ", "planted in a public summary")]


def test_no_response_holds_an_integer_primary_key(crawled):
    assert primary_keys(crawled) == []


def test_every_link_in_a_response_opens(crawled):
    # follow_links() asserted a 200 for each; there are links of every kind.
    kinds = {urlparse(url).path.split("/")[3] for url in crawled.visited}
    assert kinds == set(LIST_ENDPOINTS)


def test_the_crawl_saw_the_published_records(crawled, world):
    seen = " ".join(r.content.decode() for _, r in crawled.responses)
    for record in [world.case, world.other, world.person, world.source, world.court]:
        assert str(record.uid) in seen


def test_filters_on_hidden_records_find_nothing(client, key, world, no_throttling):
    hidden = [h.links for h in world.hidden.values()]
    for links in hidden:
        for name, record in [
            ("charge", links.charge),
            ("location", links.location),
            ("facility", links.facility),
            ("incident", links.incident),
        ]:
            page = get(client, "cases/", key, {name: record.uid}).json()
            assert page["results"] == [], (name, record)
            counted = get(client, "statistics/", key, {name: record.uid}).json()
            assert counted["total"] == {"count": 0}, (name, record)


def test_searching_for_a_hidden_persons_name_finds_nothing(client, key, world, secret):
    for name in hidden_names(world):
        response = get(client, "cases/", key, {"search": name})
        assert response.json()["results"] == [], secret.labels.get(name.lower(), name)


def test_every_hidden_record_is_not_found_by_uid(client, key, world, secret, no_throttling):
    requests = []
    for what, hidden in world.hidden.items():
        requests += [
            ("cases", hidden.case.uid, what),
            ("cases", hidden.case.reference, what),
            ("people", hidden.person.uid, f"{what}: person"),
            ("locations", hidden.links.location.uid, f"{what}: place"),
            ("locations", hidden.links.facility.uid, f"{what}: facility"),
            ("organisations", hidden.links.authority.uid, f"{what}: authority"),
            ("organisations", hidden.links.source.publisher.uid, f"{what}: publisher"),
            ("charges", hidden.links.charge.uid, f"{what}: charge"),
            ("incidents", hidden.links.incident.uid, f"{what}: incident"),
            ("sources", hidden.links.source.uid, f"{what}: source"),
        ]
    requests += [
        ("people", world.testifier.uid, "testifier"),
        ("people", world.relative.uid, "relative"),
        ("organisations", world.employer.uid, "employer"),
        ("cases", world.withdrawn.case.uid, "withdrawn case"),
        ("people", world.withdrawn.person.uid, "withdrawn case's person"),
    ]
    requests += [
        ("sources", uid, label)
        for uid, label in [(s, lbl) for s, lbl in secret.labels.items() if "source uid" in lbl]
    ]
    requests += [
        ("organisations", uid, label)
        for uid, label in secret.labels.items()
        if label.endswith("publisher uid")
    ]
    for endpoint, value, what in requests:
        if endpoint == "people" and value == world.person.uid:
            continue  # the subject of the published case, whose other cases are hidden
        response = get(client, f"{endpoint}/{value}/", key)
        assert response.status_code == 404, (endpoint, what)
        assert secret.found_in(response.content.decode()) == []


def test_the_published_persons_record_lists_only_the_published_case(client, key, world):
    body = get(client, f"people/{world.person.uid}/", key).json()
    assert [case["reference"] for case in body["cases"]] == [world.case.reference]


def test_a_published_case_cites_only_its_public_unarchived_source(client, key, world):
    body = get(client, f"cases/{world.case.reference}/", key).json()
    assert [source["uid"] for source in body["sources"]] == [str(world.source.uid)]
    supports = sorted(c["supports"] for c in body["sources"][0]["citations"])
    assert supports == ["case", "event", "event", "person"]
    assert set(body["sources"][0]["citations"][0]) == {"locator", "supports", "event"}


def test_a_withdrawn_case_is_listed_by_uid_and_reference_alone(client, key, world):
    body = get(client, "cases/withdrawn/", key, {"since": LONG_AGO}).json()
    assert [(w["uid"], w["reference"]) for w in body] == [
        (str(world.withdrawn.case.uid), world.withdrawn.case.reference)
    ]


RESTRICTED_FIELDS = {
    "internal_notes",
    "contact_details",
    "notes",
    "claim",
    "quote",
    "consent",
    "sensitive",
    "created_by",
    "updated_by",
    "verified_by",
    "assigned_staff",
    "evidence_level_reason",
    "relationships",
    "affiliations",
    "files",
    "original_name",
    "uploaded_by",
    "access",
    "review_state",
    "is_published",
    "archived_at",
    "credibility",
    "id",
    "pk",
}


def schema_properties(schema):
    for component in schema["components"]["schemas"].values():
        yield from component.get("properties", {})


def test_the_schema_describes_no_restricted_field(client, key, world):
    schema = get(client, "schema/", key, {"format": "json"}).json()
    assert set(schema_properties(schema)) & RESTRICTED_FIELDS == set()
    assert "uid" in set(schema_properties(schema))


def test_the_yaml_and_json_schemas_say_the_same(client, key, world):
    as_yaml = yaml.safe_load(get(client, "schema/", key).content)
    as_json = json.loads(get(client, "schema/", key, {"format": "json"}).content)
    assert as_yaml == as_json


# --- the demo's fictional restricted data ----------------------------------------------------


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())


DEMO_SECRETS = [
    FICTIONAL,
    "Aigul Sample",
    "Айгүл Сампл",
    "Saule Sample",
    "Сәуле Сампл",
    "Серікжан Біләш",
    "+7 700 000 0000",
    "Sister fears reprisals",
    "Awaiting a second source",
    "Testimony recorded at the Almaty office",
    "Recorded at the Almaty office",
    "The sister saw police",
    "Do not contact through relatives",
    "Serikzhan Bilash names",  # a citation claim
    "including former Xinjiang TV",  # a citation quote
    "dataentry",
    "verifier",
]


def test_the_demo_shows_partners_only_the_seed_case_and_no_fictional_record(
    client, key, demo, no_throttling
):
    crawler = Crawler(client, key)
    for endpoint in LIST_ENDPOINTS:
        crawler.pages(f"{endpoint}/")
    crawler.follow_links()
    crawler.fetch("cases/withdrawn/", {"since": LONG_AGO})
    cases = crawler.pages("cases/")
    assert [case["person"]["name"] for case in cases] == ["Kanat Yerezhep"]
    for asked, response in crawler.responses:
        text = response.content.decode()
        for value in DEMO_SECRETS:
            assert value not in text, (asked, value)
