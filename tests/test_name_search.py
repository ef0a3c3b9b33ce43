"""One matching for every name search: the admin's and the partner API's search find a person
under any spelling, in any script (people.matching.search_people), and nothing more."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.matching import search_people
from people.models import Consent, Person
from tests import partner_api
from tests.factories import make_case, person_named, publish
from tests.partner_api import references

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

SPELLINGS = ["Qanat Erejep", "卡纳提·叶热杰普", "Yerezhep Kanat", "Қанат Ережеп", "Yerezhep"]


@pytest.fixture
def kanat():
    return person_named("Kanat Yerezhep", consent=Consent.GRANTED)


@pytest.fixture
def namesake():
    """Same given name, another father's name: another person."""
    return person_named("Kanat Serikbay", "Қанат Серікбай", consent=Consent.GRANTED)


@pytest.mark.parametrize("term", SPELLINGS)
def test_search_people_finds_the_person_under_any_spelling(kanat, namesake, term):
    assert list(search_people(term, Person.objects.all())) == [kanat]


def test_search_people_keeps_within_the_given_people(kanat):
    assert list(search_people("Qanat Erejep", Person.objects.exclude(pk=kanat.pk))) == []


def test_an_empty_search_changes_nothing(kanat, namesake):
    assert set(search_people("  ", Person.objects.all())) == {kanat, namesake}


def test_search_queries_do_not_grow_with_the_people(kanat):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            list(search_people("Qanat Erejep", Person.objects.all()))
        return len(ctx.captured_queries)

    few = queries()
    for i in range(10):
        person_named(f"Kanat Yerezhep{'ov' if i % 2 else ''}", birth_date=str(1950 + i))
    assert queries() == few


# --- the admin ------------------------------------------------------------------------------


def admin_search(client, model, term):
    response = client.get(reverse(f"admin:{model}_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("term", SPELLINGS)
def test_the_admin_person_search_finds_every_spelling(admin_client, kanat, namesake, term):
    assert admin_search(admin_client, "people_person", term) == [kanat]


@pytest.mark.parametrize("term", ["Qanat Erejep", "卡纳提·叶热杰普"])
def test_the_admin_case_search_finds_the_case_under_another_spelling(
    admin_client, kanat, namesake, term
):
    case = make_case(kanat)
    make_case(namesake)
    assert admin_search(admin_client, "cases_case", term) == [case]


def test_the_admin_search_shows_nobody_the_user_may_not_see(client, data_entry, kanat):
    make_case(kanat, sensitive=True)
    client.force_login(data_entry)
    assert admin_search(client, "people_person", "Qanat Erejep") == []


# --- the partner API ------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["Qanat Erejep", "卡纳提·叶热杰普", "Kanat Yerezhep"])
def test_the_api_search_finds_the_published_case_under_another_spelling(
    client, key, kanat, namesake, term
):
    case = publish(make_case(kanat))
    publish(make_case(namesake))
    assert references(client, key, {"search": term}) == [case.reference]


def test_the_api_search_finds_no_unpublished_case(client, key, kanat):
    make_case(kanat)
    assert references(client, key, {"search": "Qanat Erejep"}) == []
