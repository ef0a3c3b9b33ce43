"""The readiness panel and the workflow pages show every blocking rule before the step that
would fail, from the same rules the services apply: a step offered is a step the service takes,
a step it would refuse is shown disabled with the service's reasons."""

import pytest
from django.db import transaction
from django.urls import reverse

from cases import services
from cases.admin import WORKFLOW_ACTIONS
from cases.models import EvidenceLevel
from cases.readiness import ERROR, WARNING, readiness
from people.models import Consent
from sources.models import SourceKind
from tests.factories import (
    cited_case,
    fresh,
    in_review,
    make_event,
    published,
    verified,
)

pytestmark = pytest.mark.django_db


def workflow_url(case, action):
    return reverse("admin:cases_case_workflow", args=[case.pk, action])


def change_page(client, user, case):
    client.force_login(user)
    response = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert response.status_code == 200
    return response


def texts(checks, level=None):
    return [check.text for check in checks if level is None or check.level == level]


# --- the case page ---------------------------------------------------------------------------


def test_the_panel_names_an_uncited_event_and_disables_submit(client, data_entry):
    case = cited_case(data_entry)
    make_event(case, kind="released", date="2025-01")
    response = change_page(client, data_entry, case)
    panel = response.context["readiness"]
    assert any("Released January 2025" in text for text in texts(panel.checks, ERROR))
    [submit] = panel.steps
    assert not submit.allowed
    assert "Without a citation: Released January 2025" in " ".join(submit.problems)
    content = response.content.decode()
    assert workflow_url(case, "submit") not in content  # no button that would fail
    assert "Submit for review is not possible yet" in content


def test_a_ready_draft_offers_submit(client, data_entry):
    case = cited_case(data_entry)
    response = change_page(client, data_entry, case)
    assert [step.allowed for step in response.context["readiness"].steps] == [True]
    assert workflow_url(case, "submit") in response.content.decode()


def test_the_panel_warns_that_a_single_news_report_is_below_the_publish_minimum(client, data_entry):
    case = cited_case(data_entry, kind=SourceKind.NEWS_REPORT)  # evidence level 1
    panel = change_page(client, data_entry, case).context["readiness"]
    [warning] = [text for text in texts(panel.checks, WARNING) if "Publishing needs" in text]
    assert str(EvidenceLevel(1).label) in warning


def test_the_panel_says_consent_blocks_publication(client, data_entry):
    case = cited_case(data_entry, consent=Consent.REFUSED)
    panel = change_page(client, data_entry, case).context["readiness"]
    assert any("Publishing needs consent" in text for text in texts(panel.checks, WARNING))


def test_a_verifier_sees_the_four_eyes_refusal_on_the_case_page(client, verifier):
    case = in_review(verifier)  # created and submitted by this verifier
    panel = change_page(client, verifier, case).context["readiness"]
    verify = panel.step("verify")
    assert not verify.allowed
    assert any("another verifier must verify it" in text for text in texts(panel.checks, ERROR))


def test_publish_is_disabled_with_the_reason_when_consent_is_refused(client, data_entry, verifier):
    case = verified(data_entry, verifier, consent=Consent.REFUSED)
    panel = change_page(client, verifier, case).context["readiness"]
    publish = panel.step("publish")
    assert not publish.allowed
    assert "Consent to publish" in " ".join(publish.problems)


# --- the workflow pages ----------------------------------------------------------------------


def test_the_publish_page_shows_no_four_eyes_check_to_the_verifier_who_verified(
    client, data_entry, verifier
):
    case = verified(data_entry, verifier)
    client.force_login(verifier)
    page = client.get(workflow_url(case, "publish"))
    assert "another verifier" not in page.content.decode()
    assert not page.context["blocked"]
    assert texts(page.context["checks"], ERROR) == []


def test_the_verify_page_warns_before_verifying_below_the_publish_minimum(
    client, data_entry, verifier
):
    case = in_review(data_entry, kind=SourceKind.NEWS_REPORT)
    client.force_login(verifier)
    page = client.get(workflow_url(case, "verify"))
    assert not page.context["blocked"]
    assert any("Publishing needs" in text for text in texts(page.context["checks"], WARNING))


def test_the_submit_page_of_a_case_with_an_uncited_event_has_no_submit_button(client, data_entry):
    case = cited_case(data_entry)
    make_event(case, kind="released", date="2025-01")
    client.force_login(data_entry)
    page = client.get(workflow_url(case, "submit"))
    assert page.context["blocked"]
    assert 'value="Submit for review"' not in page.content.decode()


# --- one source of truth: what the panel offers is what the services do ----------------------


def service_takes(case, user, action) -> bool:
    """Whether the service takes the step now (rolled back either way)."""
    reason = "A reason, as the form asks."
    try:
        with transaction.atomic():
            WORKFLOW_ACTIONS[action](fresh(case), user, reason=reason)
            transaction.set_rollback(True)
    except services.TransitionRefused:
        return False
    return True


def states(data_entry, verifier):
    yield cited_case(data_entry)
    uncited = cited_case(data_entry)
    make_event(uncited, kind="released", date="2025-01")
    yield uncited
    yield in_review(data_entry)
    yield in_review(verifier)
    yield verified(data_entry, verifier)
    yield verified(data_entry, verifier, consent=Consent.REFUSED)
    yield verified(data_entry, verifier, kind=SourceKind.NEWS_REPORT)
    yield published(data_entry, verifier)


@pytest.mark.parametrize("persona", ["data_entry", "verifier", "second_verifier"])
def test_every_step_offered_is_taken_and_every_step_disabled_is_refused(
    request, data_entry, verifier, persona
):
    user = request.getfixturevalue(persona)
    for case in states(data_entry, verifier):
        for step in readiness(fresh(case), user).steps:
            assert step.allowed is service_takes(case, user, step.action), (
                case.reference,
                step.action,
                step.problems,
            )
