"""No save sends a verified case back to review without a warning first, naming the case: the
page warns on opening about the cases it touches, and a save that would reopen another one is
rolled back and shown again, asking for confirmation."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cases.models import Case, ReviewState
from sources.models import Citation
from tests.admin_forms import AdminForm, errors_of
from tests.factories import (
    cited_case,
    fresh,
    make_case,
    make_citation,
    make_person,
    make_source,
    verified,
)

pytestmark = pytest.mark.django_db


def source_page(client, source):
    return AdminForm(client, reverse("admin:sources_source_change", args=[source.pk]))


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def verified_case(data_entry, verifier):
    return verified(data_entry, verifier)


@pytest.fixture
def report():
    """A public report no verified case cites yet."""
    source = make_source("A report on the 2024 arrests")
    make_citation(source, case=make_case(make_person("Marat Openov")))
    return source


def test_citing_a_verified_case_from_a_source_page_asks_first(
    client, data_entry, verified_case, report
):
    client.force_login(data_entry)
    page = source_page(client, report)
    page.add_row(Citation, case=str(verified_case.pk), claim="Also names him.")
    response = page.post()
    assert response.status_code == 200
    assert any(verified_case.reference in error for error in errors_of(response))
    assert fresh(verified_case).review_state == ReviewState.VERIFIED
    assert not Citation.objects.filter(case=verified_case, source=report).exists()
    assert not any("successfully" in message for message in messages_of(response))


def test_confirming_saves_and_sends_the_case_back_to_review(
    client, data_entry, verified_case, report
):
    client.force_login(data_entry)
    page = source_page(client, report)
    page.add_row(Citation, case=str(verified_case.pk), claim="Also names him.")
    response = page.post(confirm_reopen="on")
    assert response.status_code == 302
    assert Citation.objects.filter(case=verified_case, source=report).exists()
    assert fresh(verified_case).review_state == ReviewState.IN_REVIEW


def test_the_source_page_warns_on_opening_about_the_verified_cases_it_supports(
    client, data_entry, verified_case
):
    source = Citation.objects.filter(event__case=verified_case).first().source
    client.force_login(data_entry)
    response = client.get(reverse("admin:sources_source_change", args=[source.pk]))
    assert any(verified_case.reference in message for message in messages_of(response))


def test_a_save_the_page_warned_about_is_kept_at_once(client, data_entry, verified_case):
    source = Citation.objects.filter(event__case=verified_case).first().source
    client.force_login(data_entry)
    response = source_page(client, source).post(title="Testimony of the sister (corrected)")
    assert response.status_code == 302
    assert fresh(verified_case).review_state == ReviewState.IN_REVIEW


def test_editing_the_verified_case_itself_is_kept_at_once(client, data_entry, verified_case):
    client.force_login(data_entry)
    page = AdminForm(client, reverse("admin:cases_case_change", args=[verified_case.pk]))
    response = page.post(public_summary="Detained in 2019.")
    assert response.status_code == 302
    assert fresh(verified_case).review_state == ReviewState.IN_REVIEW


def test_a_citation_added_on_the_citation_page_to_a_verified_case_asks_first(
    client, data_entry, verified_case, report
):
    client.force_login(data_entry)
    page = AdminForm(client, reverse("admin:sources_citation_add"))
    response = page.post(source=str(report.pk), case=str(verified_case.pk), claim="Names him.")
    assert response.status_code == 200
    assert any(verified_case.reference in error for error in errors_of(response))
    assert fresh(verified_case).review_state == ReviewState.VERIFIED


def test_a_save_that_reopens_nothing_is_kept_without_asking(client, data_entry, report):
    draft = cited_case(data_entry)
    client.force_login(data_entry)
    page = source_page(client, report)
    page.add_row(Citation, case=str(draft.pk), claim="Names her.")
    response = page.post()
    assert response.status_code == 302
    assert Citation.objects.filter(case=draft, source=report).exists()


def test_a_hidden_case_is_neither_named_nor_asked_about(
    client, data_entry, verifier, outsider, report
):
    hidden = verified(data_entry, verifier, sensitive=True)
    Case.assigned_staff.through.objects.create(case=hidden, user=data_entry)
    source = Citation.objects.filter(event__case=hidden).first().source
    make_citation(source, case=make_case(make_person("Erlan Openov")))  # visible to outsider
    client.force_login(outsider)
    opened = client.get(reverse("admin:sources_source_change", args=[source.pk]))
    assert not any(hidden.reference in message for message in messages_of(opened))
    response = source_page(client, source).post(title="Renamed")
    assert response.status_code == 302
    assert hidden.reference not in response.content.decode()


def test_a_popup_save_that_reopens_a_verified_case_asks_first(
    client, data_entry, verified_case, report
):
    client.force_login(data_entry)
    url = reverse("admin:sources_citation_add") + "?_to_field=id&_popup=1"
    page = AdminForm(client, url)
    response = page.post(
        source=str(report.pk), case=str(verified_case.pk), claim="Names him.", _popup="1"
    )
    assert any(verified_case.reference in error for error in errors_of(response))
    assert fresh(verified_case).review_state == ReviewState.VERIFIED
    assert not Citation.objects.filter(case=verified_case, source=report).exists()
