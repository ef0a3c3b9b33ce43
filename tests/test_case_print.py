"""The printable case file: the case, every spelling of the person's name, the events in order
with their citations and sources, marked restricted; need to know as on the case page."""

import pytest
from django.urls import reverse

from cases.models import Case
from casetracker.edtf import edtf_in_words
from people.models import PersonName
from tests.factories import cited_case, make_case, make_person

pytestmark = pytest.mark.django_db


def print_url(case):
    return reverse("admin:cases_case_print", args=[case.pk])


@pytest.fixture
def case(data_entry):
    case = cited_case(data_entry, internal_notes="Met the sister in Almaty.")
    PersonName.objects.create(person=case.person, name="Қанат Ережеп", language="kk")
    return case


def test_the_case_file_holds_names_events_citations_and_the_restricted_banner(
    client, data_entry, case
):
    client.force_login(data_entry)
    response = client.get(print_url(case))
    assert response.status_code == 200
    content = response.content.decode()
    assert case.reference in content
    assert "Қанат Ережеп" in content
    event = case.events.get()
    assert str(event.get_kind_display()) in content and edtf_in_words(event.date) in content
    citation = event.citations.get()
    assert citation.source.title in content and citation.claim in content
    assert "Met the sister in Almaty." in content
    assert "Restricted — staff only" in content


def test_the_case_page_links_to_its_case_file(client, data_entry, case):
    client.force_login(data_entry)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert print_url(case) in page.content.decode()


def test_a_hidden_case_has_no_case_file(client, outsider, assigned):
    hidden = make_case(make_person(), sensitive=True)
    hidden.assigned_staff.add(assigned)
    client.force_login(outsider)
    missing = Case.objects.order_by("-pk").first().pk + 1000
    assert client.get(print_url(hidden)).status_code == 404
    assert client.get(reverse("admin:cases_case_print", args=[missing])).status_code == 404


def test_staff_without_a_role_cannot_print(client, no_role, case):
    client.force_login(no_role)
    assert client.get(print_url(case)).status_code in (403, 404)
    assert "Met the sister" not in client.get(print_url(case)).content.decode()


def test_the_case_file_leaves_out_citations_of_a_hidden_case_of_the_same_person(
    client, data_entry, assigned
):
    from sources.models import Access
    from tests.factories import make_citation, make_source

    visible = cited_case(data_entry)
    hidden = make_case(visible.person, sensitive=True)
    hidden.assigned_staff.add(assigned)
    testimony = make_source("Testimony of the brother", access=Access.CONFIDENTIAL)
    make_citation(testimony, person=visible.person, claim="The brother saw the arrest.")
    client.force_login(data_entry)
    content = client.get(print_url(visible)).content.decode()
    assert "The brother saw the arrest." not in content
    assert "Testimony of the brother" not in content
