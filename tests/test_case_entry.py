"""One-page case entry: events are added and cited on the case page itself, so a case is ready
for review without opening each event's page."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from cases import services
from cases.models import Case, ChargeBasis, DetentionEvent, ReviewState
from sources.models import Access, Citation
from tests.admin_forms import AdminForm, errors_of
from tests.factories import fresh, make_case, make_citation, make_person, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(client, data_entry):
    """A draft case's page, as its author sees it, and a public report to cite."""
    case = make_case(make_person("Kanat Yerezhep"), created_by=data_entry)
    client.force_login(data_entry)
    page = AdminForm(client, reverse("admin:cases_case_change", args=[case.pk]))
    return case, page, make_source("Over thirty Kazakhs secretly arrested in Xinjiang")


def test_an_event_and_its_citation_are_added_on_the_case_page(entry, data_entry):
    case, page, report = entry
    page.add_row(
        DetentionEvent,
        kind="detained",
        date="2019/2023",
        cite_source=str(report.pk),
        cite_locator="paragraph 3",
        cite_claim="Detained between 2019 and 2023.",
    )
    response = page.post()
    assert response.status_code == 302, errors_of(response)
    event = case.events.get()
    citation = Citation.objects.get(event=event)
    assert (citation.source, citation.locator) == (report, "paragraph 3")
    assert citation.claim == "Detained between 2019 and 2023."
    # Nothing left to do on other pages: the case can go to review.
    services.submit_for_review(fresh(case), data_entry)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_a_citation_needs_what_the_source_says(entry):
    case, page, report = entry
    page.add_row(DetentionEvent, kind="detained", date="2019", cite_source=str(report.pk))
    response = page.post()
    assert response.status_code == 200
    assert "Say what the source says about this event." in errors_of(response)
    assert not case.events.exists()


def test_a_claim_without_a_source_is_refused_not_dropped(entry):
    case, page, _ = entry
    page.add_row(DetentionEvent, kind="detained", date="2019", cite_claim="Detained in 2019.")
    response = page.post()
    assert response.status_code == 200
    assert "Choose the source that says this." in errors_of(response)
    assert not case.events.exists()


def test_an_existing_uncited_event_is_cited_from_the_case_page(client, data_entry):
    case = make_case(make_person(), created_by=data_entry)
    event = DetentionEvent.objects.create(case=case, kind="detained", date="2019")
    report = make_source("A report")
    client.force_login(data_entry)
    page = AdminForm(client, reverse("admin:cases_case_change", args=[case.pk]))
    page.set_row(DetentionEvent, 0, cite_source=str(report.pk), cite_claim="Detained in 2019.")
    response = page.post()
    assert response.status_code == 302, errors_of(response)
    assert Citation.objects.filter(event=event, source=report).exists()


def test_a_source_the_user_may_not_see_cannot_be_cited(entry, assigned):
    case, page, _ = entry
    hidden_case = make_case(make_person(), sensitive=True)
    hidden_case.assigned_staff.add(assigned)
    testimony = make_source("A testimony", access=Access.CONFIDENTIAL)
    make_citation(testimony, case=hidden_case)
    page.add_row(
        DetentionEvent,
        kind="detained",
        date="2019",
        cite_source=str(testimony.pk),
        cite_claim="Planted.",
    )
    response = page.post()
    assert response.status_code == 200
    assert any("valid choice" in error for error in errors_of(response))
    assert not Citation.objects.filter(source=testimony, event__case=case).exists()


def test_the_source_picker_searches_as_you_type(entry):
    _, page, _ = entry
    response = page.client.get(page.url)
    assert 'data-ajax--url="/admin/autocomplete/"' in response.content.decode()


def test_a_new_event_does_not_claim_that_no_charges_are_known(entry):
    _, page, _ = entry
    response = page.client.get(page.url)
    inlines = response.context["inline_admin_formsets"]
    [events] = [i.formset for i in inlines if i.formset.model is DetentionEvent]
    rendered = str(events.empty_form["charge_basis"])
    assert '<option value="" selected>Not stated</option>' in rendered
    assert ChargeBasis.NONE.value == "none"  # "no charges known" is a choice, never a default


def test_a_new_source_can_be_added_from_an_events_row(entry):
    _, page, _ = entry
    inlines = page.client.get(page.url).context["inline_admin_formsets"]
    [events] = [i.formset for i in inlines if i.formset.model is DetentionEvent]
    rendered = str(events.empty_form["cite_source"])
    assert reverse("admin:sources_source_add") + "?_to_field=id&amp;_popup=1" in rendered


def test_each_request_offers_its_own_users_sources(client, data_entry, verifier, assigned):
    """The picker's choices belong to the request: a verifier's page built in between does
    not leave the verifier's sources on a data entry form."""
    from sources.admin import CitedEventInline

    hidden_case = make_case(make_person(), sensitive=True)
    hidden_case.assigned_staff.add(assigned)
    testimony = make_source("A testimony", access=Access.CONFIDENTIAL)
    make_citation(testimony, case=hidden_case)
    case = make_case(make_person(), created_by=data_entry)
    inline = CitedEventInline(Case, admin.site)
    factory = RequestFactory()
    as_entry, as_verifier = factory.get("/"), factory.get("/")
    as_entry.user, as_verifier.user = data_entry, verifier
    entry_formset = inline.get_formset(as_entry, case)
    inline.get_formset(as_verifier, case)  # another user's page, built in between
    form = entry_formset(instance=case).empty_form
    assert testimony not in form.fields["cite_source"].queryset
