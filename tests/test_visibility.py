"""Need to know: a sensitive case, its events, citations and person are invisible to data-entry
staff not assigned to it, wherever the admin could show or accept them."""

import pytest
from django.urls import reverse

from cases.models import Case, DetentionEvent
from people.models import Person
from sources.models import Citation
from tests.admin_forms import AdminForm, assert_saved, autocomplete_url, errors_of
from tests.factories import (
    make_case,
    make_citation,
    make_event,
    make_person,
    make_source,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hidden(assigned):
    """A sensitive case with an event and citations of the case, the event and the person."""
    person = make_person("Aigul Hiddenova")
    case = make_case(person, sensitive=True, created_by=assigned, updated_by=assigned)
    case.assigned_staff.add(assigned)
    event = make_event(case, date="2018-10")
    source = make_source("Testimony of the sister", kind="testimony")
    return {
        "case": case,
        "person": person,
        "event": event,
        "source": source,
        "case citation": make_citation(source, case=case, claim="Hidden claim about the case."),
        "event citation": make_citation(source, event=event, claim="Hidden claim, event."),
        "person citation": make_citation(source, person=person, claim="Hidden claim, person."),
    }


@pytest.fixture
def open_case():
    """An ordinary case anyone with a role sees: the control."""
    case = make_case(make_person("Marat Openov"))
    make_citation(make_source("Radio report"), event=make_event(case, date="2024"))
    return case


def signed_in(client, user):
    client.force_login(user)
    return client


def results(client, url_name, **params):
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def autocomplete(client, app_label, model_name, field_name, term):
    response = client.get(autocomplete_url(app_label, model_name, field_name, term))
    assert response.status_code == 200
    return {result["id"] for result in response.json()["results"]}


def missing_pk(model):
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def answer(client, url):
    """What a page answers: its status and redirect, and the messages shown after it."""
    response = client.get(url)
    shown = client.get(response["Location"]) if response.status_code == 302 else response
    messages = shown.context["messages"] if shown.context and "messages" in shown.context else []
    return response.status_code, response.get("Location"), [str(m) for m in messages]


def assert_like_a_missing_record(client, url_name, pk, model):
    """The page of a hidden record answers exactly as for a record that does not exist: 404,
    never 403 (which would confirm it exists), never a redirect, never the page itself."""
    hidden_answer = answer(client, reverse(url_name, args=[pk]))
    absent = missing_pk(model)
    missing_answer = answer(client, reverse(url_name, args=[absent]))
    assert hidden_answer[0] == 404
    assert hidden_answer == missing_answer


# --- invisible to unassigned data entry ------------------------------------------------------


def test_the_case_changelist_leaves_out_the_hidden_case(client, outsider, hidden, open_case):
    cases = results(signed_in(client, outsider), "admin:cases_case_changelist")
    assert cases == [open_case]


def test_searching_cases_by_reference_finds_nothing(client, outsider, hidden, open_case):
    client = signed_in(client, outsider)
    assert results(client, "admin:cases_case_changelist", q=hidden["case"].reference) == []


@pytest.mark.parametrize("term", ["Aigul Hiddenova", "hiddenova"])
def test_searching_cases_by_the_persons_name_finds_nothing(client, outsider, hidden, term):
    assert results(signed_in(client, outsider), "admin:cases_case_changelist", q=term) == []


def test_the_case_autocomplete_leaves_out_the_hidden_case(client, outsider, hidden, open_case):
    client = signed_in(client, outsider)
    assert autocomplete(client, "sources", "citation", "case", hidden["case"].reference) == set()
    assert autocomplete(client, "sources", "citation", "case", "Hiddenova") == set()
    assert autocomplete(client, "sources", "citation", "case", "") == {str(open_case.pk)}


def test_the_case_change_page_answers_as_for_a_missing_case(client, outsider, hidden):
    client = signed_in(client, outsider)
    assert_like_a_missing_record(client, "admin:cases_case_change", hidden["case"].pk, Case)


def test_the_case_history_page_is_not_found(client, outsider, hidden):
    url = reverse("admin:cases_case_history", args=[hidden["case"].pk])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_a_case_history_version_is_not_found(client, outsider, hidden):
    row = hidden["case"].history.first()
    url = reverse("admin:cases_case_simple_history", args=[hidden["case"].pk, row.history_id])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_case_workflow_page_is_not_found(client, outsider, hidden):
    url = reverse("admin:cases_case_workflow", args=[hidden["case"].pk, "submit"])
    client = signed_in(client, outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert Case.objects.get(pk=hidden["case"].pk).review_state == "draft"


def test_the_event_changelist_leaves_out_the_hidden_event(client, outsider, hidden, open_case):
    events = results(signed_in(client, outsider), "admin:cases_detentionevent_changelist")
    assert events == list(open_case.events.all())


def test_the_event_change_page_answers_as_for_a_missing_event(client, outsider, hidden):
    client = signed_in(client, outsider)
    url_name, pk = "admin:cases_detentionevent_change", hidden["event"].pk
    assert_like_a_missing_record(client, url_name, pk, DetentionEvent)


def test_the_event_history_page_is_not_found(client, outsider, hidden):
    url = reverse("admin:cases_detentionevent_history", args=[hidden["event"].pk])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_event_autocomplete_leaves_out_the_hidden_event(client, outsider, hidden, open_case):
    client = signed_in(client, outsider)
    assert autocomplete(client, "sources", "citation", "event", "") == {
        str(event.pk) for event in open_case.events.all()
    }


def test_the_citation_changelist_leaves_out_every_citation_of_the_hidden_case(
    client, outsider, hidden, open_case
):
    citations = results(signed_in(client, outsider), "admin:sources_citation_changelist")
    assert citations == list(Citation.objects.filter(event__case=open_case))


@pytest.mark.parametrize("which", ["case citation", "event citation", "person citation"])
def test_a_citation_change_page_answers_as_for_a_missing_citation(client, outsider, hidden, which):
    client = signed_in(client, outsider)
    url_name = "admin:sources_citation_change"
    assert_like_a_missing_record(client, url_name, hidden[which].pk, Citation)


def test_the_source_page_does_not_show_citations_of_the_hidden_case(client, outsider, hidden):
    # Cited by a case the user may see too: the page opens, without the hidden citations.
    make_citation(hidden["source"], case=make_case(make_person("Erlan Openov")))
    url = reverse("admin:sources_source_change", args=[hidden["source"].pk])
    response = signed_in(client, outsider).get(url)
    assert response.status_code == 200
    assert "Hidden claim" not in response.content.decode()


def test_a_source_cited_only_by_the_hidden_case_is_not_found(client, outsider, hidden):
    url = reverse("admin:sources_source_change", args=[hidden["source"].pk])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_person_changelist_leaves_out_the_person_of_the_hidden_case(
    client, outsider, hidden, open_case
):
    people = results(signed_in(client, outsider), "admin:people_person_changelist")
    assert people == [open_case.person]


def test_searching_people_by_name_finds_nothing(client, outsider, hidden):
    client = signed_in(client, outsider)
    assert results(client, "admin:people_person_changelist", q="Hiddenova") == []


def test_the_person_change_page_answers_as_for_a_missing_person(client, outsider, hidden):
    client = signed_in(client, outsider)
    assert_like_a_missing_record(client, "admin:people_person_change", hidden["person"].pk, Person)


def test_the_person_history_page_is_not_found(client, outsider, hidden):
    url = reverse("admin:people_person_history", args=[hidden["person"].pk])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_person_autocomplete_leaves_out_the_hidden_person(client, outsider, hidden, open_case):
    client = signed_in(client, outsider)
    assert autocomplete(client, "cases", "case", "person", "Hiddenova") == set()
    assert autocomplete(client, "cases", "case", "person", "") == {str(open_case.person_id)}


def test_posting_a_citation_of_the_hidden_case_on_the_citation_page_is_refused(
    client, outsider, hidden
):
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:sources_citation_add"))
    response = page.post(
        source=str(make_source("Another report").pk),
        case=str(hidden["case"].pk),
        claim="Planted claim.",
    )
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert "Planted claim." not in [citation.claim for citation in Citation.objects.all()]


def test_posting_a_citation_of_the_hidden_case_through_the_source_page_is_refused(
    client, outsider, hidden
):
    client = signed_in(client, outsider)
    source = make_source("Another report")
    page = AdminForm(client, reverse("admin:sources_source_change", args=[source.pk]))
    page.add_row(Citation, case=str(hidden["case"].pk), claim="Planted claim.")
    response = page.post()
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert "Planted claim." not in [citation.claim for citation in Citation.objects.all()]


@pytest.mark.parametrize("field", ["event", "person"])
def test_posting_a_citation_of_the_hidden_event_or_person_is_refused(
    client, outsider, hidden, field
):
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:sources_citation_add"))
    response = page.post(
        source=str(make_source("Another report").pk),
        **{field: str(hidden[field].pk)},
        claim="Planted claim.",
    )
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert "Planted claim." not in [citation.claim for citation in Citation.objects.all()]


def test_posting_an_event_on_the_hidden_case_is_refused(client, outsider, hidden):
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:cases_detentionevent_add"))
    response = page.post(case=str(hidden["case"].pk), kind="released", date="2025")
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert not DetentionEvent.objects.filter(kind="released").exists()


def test_a_new_case_cannot_be_opened_on_the_hidden_person(client, outsider, hidden):
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:cases_case_add"))
    response = page.post(person=str(hidden["person"].pk))
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert Case.objects.filter(person=hidden["person"]).count() == 1


# --- visible to the assigned, to verifiers and to administrators -----------------------------

ENTITLED = ["assigned", "verifier", "administrator"]


@pytest.mark.parametrize("persona", ENTITLED)
def test_entitled_staff_see_the_case_in_the_changelist(client, request, hidden, persona):
    client = signed_in(client, request.getfixturevalue(persona))
    assert hidden["case"] in results(client, "admin:cases_case_changelist")
    assert results(client, "admin:cases_case_changelist", q="Hiddenova") == [hidden["case"]]


@pytest.mark.parametrize("persona", ENTITLED)
def test_entitled_staff_open_the_case_its_history_event_and_person(
    client, request, hidden, persona
):
    client = signed_in(client, request.getfixturevalue(persona))
    for url in (
        reverse("admin:cases_case_change", args=[hidden["case"].pk]),
        reverse("admin:cases_case_history", args=[hidden["case"].pk]),
        reverse("admin:cases_detentionevent_change", args=[hidden["event"].pk]),
        reverse("admin:people_person_change", args=[hidden["person"].pk]),
        reverse("admin:sources_citation_change", args=[hidden["case citation"].pk]),
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ENTITLED)
def test_entitled_staff_find_the_case_and_person_in_autocomplete(client, request, hidden, persona):
    client = signed_in(client, request.getfixturevalue(persona))
    reference = hidden["case"].reference
    assert autocomplete(client, "sources", "citation", "case", reference) == {
        str(hidden["case"].pk)
    }
    assert autocomplete(client, "cases", "case", "person", "Hiddenova") == {
        str(hidden["person"].pk)
    }


@pytest.mark.parametrize("persona", ENTITLED)
def test_entitled_staff_see_every_citation_of_the_case(client, request, hidden, persona):
    client = signed_in(client, request.getfixturevalue(persona))
    citations = set(results(client, "admin:sources_citation_changelist"))
    assert {hidden["case citation"], hidden["event citation"], hidden["person citation"]} <= (
        citations
    )


def test_the_assigned_user_may_cite_the_case(client, assigned, hidden):
    client = signed_in(client, assigned)
    page = AdminForm(client, reverse("admin:sources_citation_add"))
    response = page.post(
        source=str(make_source("Another report").pk),
        case=str(hidden["case"].pk),
        claim="A second account.",
    )
    assert_saved(response)
    cited = [c.case for c in Citation.objects.all() if c.claim == "A second account."]
    assert cited == [hidden["case"]]


# --- marking a case sensitive ----------------------------------------------------------------


def test_marking_a_case_sensitive_in_the_admin_assigns_the_user_who_saved(client, outsider):
    case = make_case(created_by=outsider)
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:cases_case_change", args=[case.pk]))
    assert_saved(page.post(sensitive="on"))
    case = Case.objects.get(pk=case.pk)
    assert case.sensitive
    assert list(case.assigned_staff.all()) == [outsider]


def test_the_user_who_marked_a_case_sensitive_still_sees_it(client, outsider):
    case = make_case(created_by=outsider)
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:cases_case_change", args=[case.pk]))
    assert_saved(page.post(sensitive="on"))
    url = reverse("admin:cases_case_change", args=[case.pk])
    assert client.get(url).status_code == 200


def test_a_case_marked_sensitive_disappears_for_other_data_entry_staff(client, assigned, outsider):
    case = make_case(created_by=assigned)
    page = AdminForm(
        signed_in(client, assigned), reverse("admin:cases_case_change", args=[case.pk])
    )
    assert_saved(page.post(sensitive="on"))
    client = signed_in(client, outsider)
    assert case not in results(client, "admin:cases_case_changelist")
