"""The admin home page per role: data entry's own work, the verifiers' review queue split by
four-eyes, what stands between verified cases and publication, and the administrators' logs;
bounded however big the archive, and each list linking to the same cases in the case list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from people.models import Consent
from tests.factories import cited_case, in_review, make_case, make_person, published, verified

pytestmark = pytest.mark.django_db


def home(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response


def panel(response, title):
    [found] = [p for p in response.context["home_panels"] if str(p["title"]) == title]
    return found


def listed(found, title):
    [found_list] = [item for item in found["lists"] if str(item["title"]) == title]
    return found_list


def references(found_list):
    return [case.reference for case, _ in found_list["rows"]]


def changelist(client, **params):
    response = client.get(reverse("admin:cases_case_changelist"), params)
    assert response.status_code == 200
    return [case.reference for case in response.context["cl"].result_list]


# --- data entry ------------------------------------------------------------------------------


def test_data_entry_sees_their_drafts_and_not_a_colleagues(client, data_entry, outsider):
    mine, theirs = cited_case(data_entry), cited_case(outsider)
    work = panel(home(client, data_entry), "My work")
    drafts = listed(work, "My drafts")
    assert references(drafts) == [mine.reference]
    assert drafts["count"] == "1"
    assert theirs.reference not in changelist(client, mine="drafts")
    assert changelist(client, mine="drafts") == [mine.reference]


def test_a_case_returned_for_changes_shows_with_the_reason(client, data_entry, verifier):
    case = in_review(data_entry)
    services.request_changes(case, verifier, "Cite the RFA report for the detention date.")
    returned = listed(panel(home(client, data_entry), "My work"), "Returned to me for changes")
    assert returned["rows"][0][0].reference == case.reference
    assert returned["rows"][0][1] == "Cite the RFA report for the detention date."
    assert changelist(client, mine="returned") == [case.reference]


def test_my_cases_in_review(client, data_entry):
    case = in_review(data_entry)
    in_review_list = listed(panel(home(client, data_entry), "My work"), "My cases in review")
    assert references(in_review_list) == [case.reference]
    assert changelist(client, mine="in_review") == [case.reference]


def test_data_entry_has_no_review_panel(client, data_entry):
    titles = [str(p["title"]) for p in home(client, data_entry).context["home_panels"]]
    assert "Review" not in titles


# --- verifiers -------------------------------------------------------------------------------


def test_the_review_queue_is_split_by_four_eyes(client, data_entry, verifier):
    theirs, own = in_review(data_entry), in_review(verifier)
    review = panel(home(client, verifier), "Review")
    assert references(listed(review, "Review queue: you may verify")) == [theirs.reference]
    may_not = listed(review, "Review queue: another verifier must verify (four eyes)")
    assert references(may_not) == [own.reference]
    assert "another verifier must verify it" in may_not["rows"][0][1]


def test_verified_cases_that_cannot_be_published_say_why(client, data_entry, verifier):
    blocked = verified(data_entry, verifier, consent=Consent.REFUSED)
    ready = verified(data_entry, verifier)
    waiting = listed(panel(home(client, verifier), "Review"), "Verified, not published")
    notes = {case.reference: note for case, note in waiting["rows"]}
    assert "Consent to publish" in notes[blocked.reference]
    assert notes[ready.reference] == "Ready to publish."


def test_recently_published(client, data_entry, verifier):
    case = published(data_entry, verifier)
    recent = listed(panel(home(client, verifier), "Review"), "Recently published")
    assert references(recent) == [case.reference]


def test_a_hidden_sensitive_case_is_in_no_list(client, data_entry, outsider, verifier):
    hidden = cited_case(data_entry, sensitive=True)
    work = panel(home(client, outsider), "My work")
    for item in work["lists"]:
        assert hidden.reference not in references(item)


def test_verifiers_see_open_duplicate_pairs_and_recent_imports(client, verifier):
    titles = [str(p["title"]) for p in home(client, verifier).context["home_panels"]]
    assert "Possible duplicates to review" in titles
    assert "Recent imports" in titles


# --- administrators --------------------------------------------------------------------------


def test_administrators_see_security_events_and_the_evidence_check(client, administrator):
    response = home(client, administrator)
    assert response.context["security_events"] is not None
    assert reverse("evidence-check") in response.content.decode()
    titles = [str(p["title"]) for p in response.context["home_panels"]]
    assert "My work" not in titles and "Review" not in titles


def test_data_entry_sees_no_security_events(client, data_entry):
    response = home(client, data_entry)
    assert response.context.get("security_events") is None
    assert reverse("evidence-check") not in response.content.decode()


# --- bounded whatever the archive's size -----------------------------------------------------


def home_queries(client, user):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(queries)


def test_the_home_page_costs_the_same_with_more_cases(client, data_entry):
    for _ in range(3):
        make_case(make_person(), created_by=data_entry)
    few = home_queries(client, data_entry)
    for _ in range(25):
        make_case(make_person(), created_by=data_entry)
    assert home_queries(client, data_entry) == few


def test_cases_the_verifier_may_verify_are_found_behind_their_own(client, data_entry, verifier):
    own = [in_review(verifier) for _ in range(11)]  # the oldest eleven are the verifier's own
    theirs = in_review(data_entry)
    review = panel(home(client, verifier), "Review")
    assert references(listed(review, "Review queue: you may verify")) == [theirs.reference]
    may_not = listed(review, "Review queue: another verifier must verify (four eyes)")
    assert len(may_not["rows"]) == 10
    assert own[0].reference in references(may_not)
