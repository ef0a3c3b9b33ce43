"""The batched paths that make the bulk import fast write and find exactly what the one-by-one
paths do: people.matching.find_people_many (find_people for many name lists),
CaseReferenceCounter.next_references, Case.derived_statuses and casetracker.audit.bulk_add_m2m
(add() with its history). And the import's query count does not grow with its rows."""

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseReferenceCounter, CaseStatus, DetentionEvent
from casetracker.audit import bulk_add_m2m, records_changed
from casetracker.integrity import AuditLink, chain_head, verify_chain
from imports import services
from people.matching import PeopleQuery, find_people, find_people_many
from people.models import DuplicateCandidate, Gender, Person, Relationship, RelationshipKind
from tests.factories import (
    make_case,
    make_charge,
    make_event,
    make_incident,
    make_location,
    make_organisation,
    person_named,
)
from tests.import_files import rows_to_csv

pytestmark = pytest.mark.django_db


# --- find_people_many: find_people for each query ----------------------------------------------


@pytest.fixture
def people():
    """Spellings of one name across scripts, namesakes with other fathers, and strangers,
    with birth dates and places that agree or conflict."""
    ili = make_location("Ili (test)")
    altay = make_location("Altay (test)")
    kanat = person_named("Kanat Yerezhep", "Қанат Ережеп", birth_date="1960", place_of_origin=ili)
    father = person_named("Yerezhep Tursyn", gender=Gender.MALE)
    Relationship.objects.create(from_person=kanat, to_person=father, kind=RelationshipKind.CHILD_OF)
    person_named("Qanat Erejep", birth_date="1975", place_of_origin=altay)
    person_named("Kanat Yerezhepuly", birth_date="1961")
    person_named("Kanat Serikbay")
    person_named("Aigul Nurbekova", "Айгүл Нұрбекова")
    person_named("Aygul Nurbekqyzy", place_of_origin=ili)
    person_named("Serik Nurbek")
    return {"kanat": kanat, "ili": ili, "altay": altay}


def queries(people):
    kanat, ili, altay = people["kanat"], people["ili"], people["altay"]
    return [
        PeopleQuery(("Qanat Erejep",)),
        PeopleQuery(("卡纳提·叶热杰普", "Kanat Yerezhep"), birth_year=1960),
        PeopleQuery(("Kanat Yerezhep",), birth_year=1975, place_of_origin=ili),
        PeopleQuery(("Kanat Yerezhep",), place_of_origin=altay.pk),
        PeopleQuery(("Kanat Yerezhep",), father_name="Nurlan Bekov"),
        PeopleQuery(("Kanat Yerezhep",), father_name="Ережеп Тұрсын"),
        PeopleQuery(("Qanat Erejep",), exclude_ids=(kanat.pk,)),
        PeopleQuery(("Aigul Nurbekova", "  ", "")),
        PeopleQuery(("Nobody Atall",)),
        PeopleQuery(()),
        PeopleQuery(("Serik Nurbek",), birth_year=1965),
    ]


def one_by_one(qs, queryset, limit):
    return [
        find_people(
            q.names,
            queryset=queryset,
            birth_year=q.birth_year,
            father_name=q.father_name,
            place_of_origin=q.place_of_origin,
            exclude_ids=q.exclude_ids,
            limit=limit,
        )
        for q in qs
    ]


def comparable(results):
    return [[(m.person.pk, m.score, m.reasons, m.details) for m in matches] for matches in results]


@pytest.mark.parametrize("limit", [None, 1, 5])
def test_find_people_many_finds_what_find_people_finds_for_each(people, limit):
    qs = queries(people)
    expected = one_by_one(qs, None, limit)
    # The fixture is not trivial: several searches find several people.
    assert sum(len(matches) > 1 for matches in one_by_one(qs, None, None)) >= 3
    assert comparable(find_people_many(qs, limit=limit)) == comparable(expected)


def test_find_people_many_looks_only_in_the_given_people(people):
    queryset = Person.objects.exclude(pk=people["kanat"].pk)
    qs = queries(people)
    many = find_people_many(qs, queryset=queryset, limit=None)
    assert comparable(many) == comparable(one_by_one(qs, queryset, None))
    assert people["kanat"] not in {m.person for matches in many for m in matches}


def test_find_people_many_of_nothing_is_nothing():
    assert find_people_many([]) == []


def queries_to_find_many(qs):
    with CaptureQueriesContext(connection) as ctx:
        find_people_many(qs, queryset=Person.objects.all())
    return len(ctx.captured_queries)


def test_find_people_many_queries_do_not_grow_with_the_searches_or_the_people(people):
    few = queries_to_find_many(queries(people)[3:4])  # a place given by its id: one query
    for i in range(20):
        person_named(f"Kanat Yerezhep{'uly' * (i % 2)}", birth_date=str(1950 + i))
    many = queries(people) * 5
    assert queries_to_find_many(many) == few


# --- next_references -------------------------------------------------------------------------


def numbers(references):
    return [int(reference.rsplit("-", 1)[1]) for reference in references]


def test_next_references_reserves_consecutive_numbers_after_the_single_path():
    first = CaseReferenceCounter.next_reference(2031)
    taken = CaseReferenceCounter.next_references(2031, 4)
    after = CaseReferenceCounter.next_reference(2031)
    assert numbers([first, *taken, after]) == [1, 2, 3, 4, 5, 6]
    assert taken[0].startswith(first.rsplit("-", 1)[0])


def test_next_references_of_none_takes_no_number():
    assert CaseReferenceCounter.next_references(2032, 0) == []
    assert numbers([CaseReferenceCounter.next_reference(2032)]) == [1]


def test_next_references_takes_one_locked_update_however_many():
    CaseReferenceCounter.next_reference(2033)
    with CaptureQueriesContext(connection) as one:
        CaseReferenceCounter.next_references(2033, 1)
    with CaptureQueriesContext(connection) as many:
        CaseReferenceCounter.next_references(2033, 500)
    assert len(many.captured_queries) == len(one.captured_queries)


# --- derived_statuses ---------------------------------------------------------------------------


def test_derived_statuses_agree_with_derived_status_case_by_case():
    cases = [make_case() for _ in range(7)]
    _no_events, undated, open_end, tie, later, no_status, mixed = cases
    make_event(undated, kind="detained", date="")
    make_event(open_end, kind="released", date="2019")
    make_event(open_end, kind="detained", date="2024/..")
    make_event(tie, kind="detained", date="2020")
    make_event(tie, kind="sentenced", date="2020")
    make_event(later, kind="sentenced", date="2018")
    make_event(later, kind="died", date="2021-05~")
    make_event(no_status, kind="family_notified", date="2024-04")
    make_event(mixed, kind="released_under_restrictions", date="2019/2023")
    make_event(mixed, kind="family_notified", date="2025")
    make_event(mixed, kind="disappeared", date="2022")
    derived = Case.derived_statuses([c.pk for c in cases])
    assert derived == {c.pk: c.derived_status() for c in cases}
    assert set(derived.values()) > {CaseStatus.UNKNOWN, CaseStatus.DETAINED}


# --- bulk_add_m2m: add() with its history ------------------------------------------------------


def history_of(obj, field):
    """Each history row of ``obj`` as (type, user, reason, the related pks it snapshots)."""
    model = type(obj)
    snapshot = apps.get_model(model._meta.app_label, f"Historical{model.__name__}_{field}")
    related = f"{model._meta.get_field(field).related_model._meta.model_name}_id"
    rows = model.history.filter(id=obj.pk).order_by("history_id")
    return [
        (
            row.history_type,
            row.history_user_id,
            row.history_change_reason,
            sorted(snapshot.objects.filter(history=row).values_list(related, flat=True)),
        )
        for row in rows
    ]


def links_since(position):
    return list(
        AuditLink.objects.filter(position__gt=position).values_list("record_type", flat=True)
    )


def test_bulk_add_m2m_writes_what_add_writes(data_entry):
    from casetracker.audit import acting_as

    treason, splitting, inciting = make_charge(), make_charge(), make_charge()
    single, bulk = make_event(), make_event()
    with acting_as(data_entry, "Import batch #1"):
        before = chain_head()[0]
        single.charges.add(treason, splitting)
        single_links = sorted(links_since(before))
        before = chain_head()[0]
        assert bulk_add_m2m(DetentionEvent, "charges", [(bulk, [treason, splitting])]) == 2
        bulk_links = sorted(links_since(before))
        # Added again, and one more: the stored pair is skipped, as add() skips it.
        single.charges.add(splitting, inciting)
        assert bulk_add_m2m(DetentionEvent, "charges", [(bulk, [splitting, inciting])]) == 1
    assert bulk_links == single_links
    assert set(bulk.charges.all()) == set(single.charges.all()) == {treason, splitting, inciting}
    assert history_of(bulk, "charges") == history_of(single, "charges")
    assert verify_chain().ok


def test_bulk_add_m2m_of_case_incidents_snapshots_every_incident_of_each_case():
    first, second = make_incident(), make_incident()
    cases = [make_case(), make_case(), make_case()]
    cases[0].incidents.add(first)
    bulk_add_m2m(Case, "incidents", [(cases[0], [second]), (cases[1], [first]), (cases[2], [])])
    snapshot = apps.get_model("cases", "HistoricalCase_incidents")
    latest = Case.history.filter(id=cases[0].pk).latest("history_id")
    assert set(snapshot.objects.filter(history=latest).values_list("incident_id", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert not Case.history.filter(id=cases[2].pk, history_type="~").exists()
    assert verify_chain().ok


def test_bulk_add_m2m_sends_records_changed_for_the_objects_changed():
    sent = []

    def receiver(sender, instances, history_type, **kwargs):
        sent.append((sender, [i.pk for i in instances], history_type))

    records_changed.connect(receiver, sender=DetentionEvent)
    try:
        charge, events = make_charge(), [make_event(), make_event()]
        events[0].charges.add(charge)
        sent.clear()
        bulk_add_m2m(DetentionEvent, "charges", [(e, [charge]) for e in events])
    finally:
        records_changed.disconnect(receiver, sender=DetentionEvent)
    assert sent == [(DetentionEvent, [events[1].pk], "~")]


def test_bulk_add_m2m_queries_do_not_grow_with_the_objects():
    charges = [make_charge(), make_charge()]

    def queries_to_add(n):
        events = [make_event() for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            bulk_add_m2m(DetentionEvent, "charges", [(e, charges) for e in events])
        return len(ctx.captured_queries)

    assert queries_to_add(1) == queries_to_add(25)


# --- the import as a whole -----------------------------------------------------------------

GIVEN = ["Kanat", "Aigul", "Nurlan", "Saule", "Bolat", "Dana", "Marat", "Gulnar", "Yerlan", "Aliya"]
SYLLABLES = ["ba", "ke", "ta", "nur", "bek", "sa", "mar", "zhan"]


def family_name(i):
    return "".join(SYLLABLES[(i >> (3 * k)) & 7] for k in range(3)).capitalize()


def bench_like_rows(n_people, start=0):
    """Two rows per person, as benchmarks/import_bench.py writes them: distinct people."""
    rows = []
    for i in range(start, start + n_people):
        name = f"{GIVEN[i % len(GIVEN)]} {family_name(i)}"
        person = {
            "person_external_id": f"T-P-{i}",
            "name_latin": name,
            "person_gender": "male",
            "person_birth_date": str(1950 + i % 40),
            "person_place_of_origin": "Altay Prefecture",
            "case_external_id": f"T-C-{i}",
        }
        rows.append(
            {
                **person,
                "event_kind": "detained",
                "event_date": f"{2017 + i % 5}/{2019 + i % 5}",
                "event_charges": "Treason; Splitting the state",
                "source_title": "Test list",
                "source_kind": "ngo_report",
                "source_url": f"https://example.org/test-list-{start}",
                "source_access": "public",
                "source_locator": f"row {i}",
            }
        )
        rows.append({**person, "event_kind": "family_notified", "event_date": "2024-04"})
    return rows


@pytest.fixture
def group():
    return make_organisation("Test group (import speed)", kind="ngo")


def queries_to_import(rows, user, group):
    with CaptureQueriesContext(connection) as ctx:
        result = services.import_file(rows_to_csv(rows), "t.csv", user=user, group=group)
    assert result.batch.status == "imported", result.plan.errors
    return len(ctx.captured_queries)


def test_import_queries_do_not_grow_with_the_rows(data_entry, group):
    """Two imports of 2 and 8 people (few enough rows that no bulk statement is split by the
    backend's limit on parameters), each with one new person resembling someone on file."""
    queries_to_import(bench_like_rows(1, start=1000), data_entry, group)  # the year's counter
    person_named("Kanat Yerezhep")
    person_named("Aigul Nurbekova")
    few_rows, many_rows = bench_like_rows(2, start=200), bench_like_rows(8, start=300)
    few_rows[0]["name_latin"] = few_rows[1]["name_latin"] = "Qanat Erejep"
    many_rows[0]["name_latin"] = many_rows[1]["name_latin"] = "Aygul Nurbekqyzy"
    few = queries_to_import(few_rows, data_entry, group)
    flagged = DuplicateCandidate.objects.count()
    many = queries_to_import(many_rows, data_entry, group)
    assert flagged == 1 and DuplicateCandidate.objects.count() == 2
    assert many == few


def test_imported_events_have_the_history_of_an_add_of_their_charges(data_entry, group):
    before = chain_head()[0]
    services.import_file(rows_to_csv(bench_like_rows(2)), "t.csv", user=data_entry, group=group)
    detained = DetentionEvent.objects.filter(kind="detained")
    assert detained.count() == 2
    for event in detained:
        charges = sorted(event.charges.values_list("pk", flat=True))
        assert len(charges) == 2
        assert [row[0] for row in history_of(event, "charges")] == ["+", "~"]
        assert history_of(event, "charges")[-1][3] == charges
    for case in Case.objects.all():
        assert case.status == case.derived_status() == CaseStatus.DETAINED
    links = links_since(before)
    assert links.count("cases.historicaldetentionevent_charges") == 4
    assert verify_chain().ok


def test_import_references_are_consecutive_after_those_already_taken(data_entry, group):
    make_case()
    services.import_file(rows_to_csv(bench_like_rows(3)), "t.csv", user=data_entry, group=group)
    references = Case.objects.order_by("pk").values_list("reference", flat=True)
    assert numbers(references) == [1, 2, 3, 4]


def test_flagged_duplicates_are_those_find_people_finds_one_by_one(data_entry, group):
    person_named("Kanat Tursyn", birth_date="1950")
    rows = bench_like_rows(12)
    rows[0]["name_latin"] = rows[1]["name_latin"] = "Qanat Tursyn"
    rows[2]["name_latin"] = rows[3]["name_latin"] = "Kanat Tursynuly"
    result = services.import_file(rows_to_csv(rows), "t.csv", user=data_entry, group=group)
    visible = Person.objects.visible_to(data_entry)
    for plan in result.plan.people.values():
        expected = find_people(
            [n[0] for n in plan.names],
            queryset=visible,
            birth_year=int(plan.values["birth_date"]),
            place_of_origin=plan.values["place_of_origin"],
            exclude_ids=[plan.person.pk],
            limit=services.DUPLICATES_SHOWN,
        )
        assert comparable([plan.matches]) == comparable([expected])
    assert result.plan.flagged >= 1
