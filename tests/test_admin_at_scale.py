"""The staff's lists at two million records: no count of a whole table, counts of related rows
for the page only and only of what the user may see, filters that list each case once, and
searches through indexes (PostgreSQL's trigram indexes, proved to serve Django's own SQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.admin import CaseAdmin
from cases.models import Case
from casetracker.admin import CappedPaginator
from people.admin import PersonAdmin
from people.matching import find_people, search_people, similar_people
from people.models import Person, PersonName
from sources.models import Citation, Source
from tests.factories import (
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_incident,
    make_location,
    make_source,
    person_named,
)

pytestmark = pytest.mark.django_db


def changelist(client, model, **params):
    response = client.get(reverse(f"admin:{model}_changelist"), params)
    assert response.status_code == 200
    return response


# --- counting -------------------------------------------------------------------------------


@pytest.fixture
def short_lists(monkeypatch):
    """Lists of two a page that stop counting at three."""
    monkeypatch.setattr(CappedPaginator, "COUNT_LIMIT", 3)
    monkeypatch.setattr(PersonAdmin, "list_per_page", 2)
    monkeypatch.setattr(CaseAdmin, "list_per_page", 2)


def test_a_long_list_says_more_than_the_limit_instead_of_counting(admin_client, short_lists):
    for i in range(6):
        person_named(f"Aibek Tursyn {i}")
    with CaptureQueriesContext(connection) as queries:
        response = changelist(admin_client, "people_person")
    cl = response.context["cl"]
    assert cl.paginator.capped and cl.paginator.count == 4
    assert len(cl.result_list) == 2
    page = response.content.decode()
    assert "More than 3 people: search or filter to narrow the list." in page
    assert "Select all matching people (more than 3)" in page
    assert response.context["selection_note_all"] == "All matching people selected (more than 3)"
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT")]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts


def test_a_short_list_still_gives_its_count(admin_client, short_lists):
    for i in range(3):
        person_named(f"Aibek Tursyn {i}")
    response = changelist(admin_client, "people_person")
    cl = response.context["cl"]
    assert not cl.paginator.capped and cl.result_count == 3
    page = response.content.decode()
    assert "More than" not in page
    assert "3 people" in page


def test_the_last_page_before_the_limit_opens(admin_client, short_lists):
    for i in range(6):
        person_named(f"Aibek Tursyn {i}")
    response = changelist(admin_client, "people_person", p=2)
    assert len(response.context["cl"].result_list) == 2


def test_the_search_count_stops_at_the_limit_too(admin_client, short_lists):
    for i in range(5):
        person_named(f"Aibek Tursyn{'ov' if i % 2 else ''}")
    page = changelist(admin_client, "people_person", q="Aibek").content.decode()
    assert "more than 3 results" in page


def test_the_case_list_counts_events_for_its_page(admin_client):
    busy, quiet = make_case(), make_case()
    for _ in range(3):
        make_event(busy)
    rows = {
        case.pk: case.event_total
        for case in changelist(admin_client, "cases_case").context["cl"].result_list
    }
    assert rows == {busy.pk: 3, quiet.pk: 0}


def test_counts_are_not_a_sort_order(admin_client):
    """Sorting by a count computes it for every record: the column does not offer it."""
    make_case()
    page = changelist(admin_client, "cases_case").content.decode()
    assert 'class="sortable column-event_count' not in page
    assert "column-event_count" in page


def test_an_incident_counts_only_the_cases_the_user_may_see(client, admin_client, data_entry):
    incident = make_incident("Ghulja round-up")
    open_case, hidden = make_case(), make_case(sensitive=True)
    open_case.incidents.add(incident)
    hidden.incidents.add(incident)
    totals = {
        i.pk: i.case_total
        for i in changelist(admin_client, "cases_incident").context["cl"].result_list
    }
    assert totals[incident.pk] == 2
    client.force_login(data_entry)
    totals = {
        i.pk: i.case_total for i in changelist(client, "cases_incident").context["cl"].result_list
    }
    assert totals[incident.pk] == 1


def test_a_source_counts_only_the_citations_the_user_may_see(client, admin_client, data_entry):
    source = make_source("Leaked list")
    make_citation(source, case=make_case())
    make_citation(source, case=make_case(sensitive=True))
    totals = {
        s.pk: s.citation_total
        for s in changelist(admin_client, "sources_source").context["cl"].result_list
    }
    assert totals[source.pk] == 2
    client.force_login(data_entry)
    totals = {
        s.pk: s.citation_total
        for s in changelist(client, "sources_source").context["cl"].result_list
    }
    assert totals[source.pk] == 1


def test_a_person_counts_their_cases(admin_client):
    person = person_named("Aibek Tursyn")
    make_case(person), make_case(person)
    totals = {
        p.pk: p.case_total
        for p in changelist(admin_client, "people_person").context["cl"].result_list
    }
    assert totals[person.pk] == 2


# --- filters --------------------------------------------------------------------------------


def test_the_charge_filter_lists_a_case_once_however_many_events_name_the_charge(admin_client):
    charge, other = make_charge("Inciting ethnic hatred"), make_charge("Separatism")
    charged, uncharged = make_case(), make_case()
    for _ in range(2):
        make_event(charged).charges.add(charge)
    make_event(uncharged).charges.add(other)
    cl = changelist(admin_client, "cases_case", charge=charge.pk).context["cl"]
    assert list(cl.result_list) == [charged]


def test_the_charge_filter_offers_the_vocabulary_without_reading_the_cases(admin_client):
    unused = make_charge("Never charged")
    with CaptureQueriesContext(connection) as queries:
        page = changelist(admin_client, "cases_case").content.decode()
    assert f"?charge={unused.pk}" in page
    assert not [q for q in queries.captured_queries if "cases_detentionevent_charges" in q["sql"]]


def test_the_incident_filter_lists_each_case_of_the_incident_once(admin_client):
    incident = make_incident("Ghulja round-up")
    inside, _outside = make_case(), make_case()
    inside.incidents.add(incident)
    cl = changelist(admin_client, "cases_case", incident=incident.pk).context["cl"]
    assert list(cl.result_list) == [inside]


def test_a_filter_value_that_is_not_a_number_finds_nothing(admin_client):
    make_case()
    cl = changelist(admin_client, "cases_case", charge="x").context["cl"]
    assert list(cl.result_list) == []


def test_the_place_filter_lists_a_case_once_with_events_anywhere_inside(admin_client):
    from cases.models import LocationKind

    region = make_location("Xinjiang", kind=LocationKind.REGION)
    county = make_location("Nilka", kind=LocationKind.COUNTY, parent=region)
    elsewhere = make_location("Gansu", kind=LocationKind.REGION)
    inside, outside = make_case(), make_case()
    make_event(inside, location=county)
    make_event(inside, location=region)
    make_event(outside, location=elsewhere)
    cl = changelist(admin_client, "cases_case", place=region.pk).context["cl"]
    assert list(cl.result_list) == [inside]


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def names():
    """People whose names are alike in different ways: the same name in other scripts, a
    namesake, one letter apart, and a short name."""
    return [
        person_named("Kanat Yerezhep"),
        person_named("Қанат Ережеп"),
        person_named("卡纳提·叶热杰普"),
        person_named("Kanat Serikbay"),
        person_named("Kanat Yerezhepov"),
        person_named("Marat Tursyn"),
        person_named("Murat Tursyn"),
        person_named("Li Na"),
        person_named("Alim Khan"),
    ]


def similar_ids(term: str) -> set[int]:
    return set(Person.objects.filter(pk__in=similar_people([term])).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "term",
    ["Qanat Erejep", "Kanat Yerezhep", "Ережеп Қанат", "Marat Tursyn", "Tursyn", "Kanat", "Li Na"],
)
def test_similar_people_are_the_people_find_people_finds(names, term):
    expected = {match.person.pk for match in find_people([term], limit=None)}
    assert similar_ids(term) == expected
    assert expected or term in ("Tursyn", "Kanat")


def test_similar_people_finds_every_spelling_of_the_name(names):
    kanat = {person.pk for person in names[:3]}
    assert kanat <= similar_ids("Qanat Erejep")
    assert names[3].pk not in similar_ids("Qanat Erejep")  # a namesake, another father


def test_a_search_finding_nobody_by_key_still_finds_by_text(names):
    assert set(search_people("lim k", Person.objects.all())) == {names[8]}


def test_a_short_term_matches_the_start_of_a_name(names):
    found = set(search_people("li", Person.objects.all()))
    assert found == {names[7]}


def test_three_letters_match_inside_a_name(names):
    assert set(search_people("lim", Person.objects.all())) == {names[8]}


def test_the_case_search_finds_a_case_by_reference_or_by_name(admin_client, names):
    by_name, by_reference = make_case(names[5]), make_case(names[8])
    assert by_reference.reference
    found = changelist(admin_client, "cases_case", q=by_reference.reference).context["cl"]
    assert list(found.result_list) == [by_reference]
    found = changelist(admin_client, "cases_case", q="Marat Tursyn").context["cl"]
    assert list(found.result_list) == [by_name]


def test_the_case_search_finds_a_case_by_uid_and_only_that_case(admin_client, names):
    wanted, _other = make_case(names[5]), make_case(names[6])
    found = changelist(admin_client, "cases_case", q=str(wanted.uid)).context["cl"]
    assert list(found.result_list) == [wanted]


def test_every_word_of_a_reference_search_must_match(admin_client, names):
    case = make_case(names[8])
    year, number = case.reference.rsplit("-", 1)
    found = changelist(admin_client, "cases_case", q=f"{year} {number}").context["cl"]
    assert list(found.result_list) == [case]
    found = changelist(admin_client, "cases_case", q=f"{number} 1899").context["cl"]
    assert list(found.result_list) == []


def test_every_citation_is_visible_to_who_sees_every_case(superuser, data_entry):
    make_citation(case=make_case(sensitive=True))
    make_citation(case=make_case())
    assert Citation.objects.visible_to(superuser).count() == 2
    assert Citation.objects.visible_to(data_entry).count() == 1


def test_the_person_search_finds_a_person_by_uid(admin_client, names):
    found = changelist(admin_client, "people_person", q=str(names[5].uid)).context["cl"]
    assert list(found.result_list) == [names[5]]


def test_the_case_search_keeps_the_filters(admin_client, names):
    detained = make_case(names[5])
    make_case(names[5], sensitive=True)
    found = changelist(admin_client, "cases_case", q="Marat Tursyn", sensitive__exact=0)
    assert list(found.context["cl"].result_list) == [detained]


# --- PostgreSQL's indexes -------------------------------------------------------------------


def _plan(queryset, *off: str) -> str:
    """EXPLAIN of ``queryset`` with the plans that need no index turned off (``off``: also
    these), so that a table of a few rows shows which index can serve the query."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", *off):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgresql
def test_the_name_search_reads_the_trigram_index(names):
    found = PersonName.objects.filter(search_name__contains="ережеп").order_by().values("pk")
    assert "people_personname_search_trgm" in _plan(found, "enable_indexscan")


@pytest.mark.postgresql
def test_the_reference_search_reads_the_trigram_index():
    found = Case.objects.filter(reference__icontains="2024-00").order_by().values("pk")
    assert "cases_case_reference_trgm" in _plan(found, "enable_indexscan")


@pytest.mark.postgresql
def test_the_admin_lists_read_their_order_from_an_index():
    unsorted = ("enable_sort", "enable_incremental_sort")
    assert "cases_case_listed_idx" in _plan(Case.objects.all()[:50], *unsorted)
    assert "people_person_listed_idx" in _plan(Person.objects.all()[:50], *unsorted)
    assert "sources_source_listed_idx" in _plan(Source.objects.all()[:50], *unsorted)
