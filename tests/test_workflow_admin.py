"""The workflow through the admin: who may open and post each workflow page, the seed case's
story from draft to published, refusals shown on the page, and the changelist actions."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from cases.admin import WORKFLOW_ACTIONS
from cases.models import Case, CaseTransition, EvidenceLevel, ReviewState
from casetracker import demo, roles
from casetracker.demo import uid
from people.models import Consent
from tests.factories import cited_case, fresh, in_review, published, staff_in, verified

pytestmark = pytest.mark.django_db


# --- personas beyond those of tests/conftest.py ----------------------------------------------


@pytest.fixture
def author():
    """The data-entry user who entered the matrix's cases (not a persona under test)."""
    return staff_in(roles.DATA_ENTRY, "author")


@pytest.fixture
def other_verifier():
    return staff_in(roles.VERIFIER, "other_verifier")


def workflow_url(case, action):
    return reverse("admin:cases_case_workflow", args=[case.pk, action])


def change_url(case):
    return reverse("admin:cases_case_change", args=[case.pk])


def messages_after(client, response):
    """The messages the page after a redirect shows."""
    assert response.status_code == 302
    page = client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


# --- the permission matrix -------------------------------------------------------------------

ACTIONS = ["submit", "request_changes", "verify", "publish", "unpublish", "archive"]

# Which workflow pages each persona may use; None: not signed in.
MAY_USE = {
    "anonymous": None,
    "data_entry": {"submit"},
    "verifier": set(ACTIONS),
    "administrator": set(),
    "no_role": set(),
}


def expected(persona, action, method):
    allowed = MAY_USE[persona]
    if allowed is None:
        return "login"
    if action not in allowed:
        return 403
    return 200 if method == "GET" else "done"


MATRIX = [
    (persona, action, method, expected(persona, action, method))
    for persona in MAY_USE
    for action in ACTIONS
    for method in ("GET", "POST")
]


def case_ready_for(action, author, other_verifier):
    """A case in the state the action applies to, entered by ``author``."""
    if action in ("submit", "archive"):
        return cited_case(author)
    if action in ("request_changes", "verify"):
        return in_review(author)
    if action == "publish":
        return verified(author, other_verifier)
    return published(author, other_verifier)


@pytest.mark.parametrize(
    ("persona", "action", "method", "outcome"),
    MATRIX,
    ids=[f"{p}-{a}-{m}-{o}" for p, a, m, o in MATRIX],
)
def test_workflow_page_permission_matrix(
    client, request, author, other_verifier, persona, action, method, outcome
):
    case = case_ready_for(action, author, other_verifier)
    state, steps = case.workflow_state, CaseTransition.objects.filter(case=case).count()
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    url = workflow_url(case, action)
    if method == "GET":
        response = client.get(url)
    else:
        level = str(EvidenceLevel.TESTIMONY)  # what the verify page offers for these cases
        response = client.post(url, {"reason": "Matrix reason.", "evidence_level": level})

    if outcome == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif outcome == "done":
        assert response.status_code == 302, response.context and response.context["form"].errors
        assert response["Location"] == change_url(case)
        step = CaseTransition.objects.filter(case=case).order_by("-pk").first()
        assert (step.action, step.user) == (action, user)
    else:
        assert response.status_code == outcome
        if outcome == 200:
            assert response.context["action"] == action
    if outcome != "done":
        assert fresh(case).workflow_state == state
        assert CaseTransition.objects.filter(case=case).count() == steps


def test_the_matrix_covers_every_workflow_action():
    assert set(ACTIONS) == set(WORKFLOW_ACTIONS)


def test_an_unknown_workflow_action_is_not_found(client, verifier, author):
    client.force_login(verifier)
    assert client.get(workflow_url(cited_case(author), "delete")).status_code == 404


# --- the seed story --------------------------------------------------------------------------


@pytest.fixture
def seed_case(settings, tmp_path, monkeypatch):
    """The demo's real case, as the demo's data-entry user left it: a draft.

    load_demo may walk the seed case through the workflow itself; the story below does that
    through the admin instead, so that step is left out here.
    """
    settings.DEMO = True
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(demo, "_publish_seed_case", lambda *args: None, raising=False)
    call_command("load_demo", stdout=StringIO())
    case = Case.objects.get(uid=uid("case/kanat-yerezhep"))
    assert str(case.person) == "Kanat Yerezhep"
    assert case.review_state == ReviewState.DRAFT
    return case


def demo_user(username):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def as_demo(client):
    def sign_in(username):
        client.force_login(demo_user(username))
        return client

    return sign_in


def submit_seed(as_demo, case):
    client = as_demo("dataentry")
    assert client.get(workflow_url(case, "submit")).status_code == 200
    response = client.post(workflow_url(case, "submit"), {"reason": "Both sources cited."})
    assert response.status_code == 302, response.context["form"].errors
    return response


def verify_seed(as_demo, case):
    client = as_demo("verifier")
    page = client.get(workflow_url(case, "verify"))
    assert page.status_code == 200
    suggested = page.context["form"].initial["evidence_level"]
    response = client.post(
        workflow_url(case, "verify"),
        {"reason": "RFA and Atajurt's list agree.", "evidence_level": str(suggested)},
    )
    assert response.status_code == 302, response.context["form"].errors
    return suggested


def publish_seed(as_demo, case):
    client = as_demo("verifier")
    response = client.post(workflow_url(case, "publish"), {"reason": "Already public record."})
    assert response.status_code == 302, response.context["form"].errors


@pytest.fixture
def story(seed_case, as_demo):
    submit_seed(as_demo, seed_case)
    suggested = verify_seed(as_demo, seed_case)
    publish_seed(as_demo, seed_case)
    return fresh(seed_case), suggested


def test_the_verify_page_offers_the_suggested_level(seed_case, as_demo):
    submit_seed(as_demo, seed_case)
    page = as_demo("verifier").get(workflow_url(seed_case, "verify"))
    # RFA and Atajurt: two independent publishers.
    assert page.context["form"].initial["evidence_level"] == EvidenceLevel.CORROBORATED
    assert str(EvidenceLevel.CORROBORATED.label) in page.content.decode()


def test_the_seed_case_ends_verified_and_published(story):
    case, suggested = story
    assert case.review_state == ReviewState.VERIFIED
    assert case.is_published
    assert case.evidence_level == suggested == EvidenceLevel.CORROBORATED
    assert case.verified_by == demo_user("verifier")
    assert Case.objects.published().filter(pk=case.pk).exists()


def test_the_workflow_log_shows_each_step_with_its_user_and_reason(story):
    case, _ = story
    steps = list(
        case.transitions.order_by("at", "pk").values_list(
            "action", "from_state", "to_state", "user__username", "reason"
        )
    )
    assert steps == [
        ("submit", "draft", "in_review", "dataentry", "Both sources cited."),
        ("verify", "in_review", "verified", "verifier", "RFA and Atajurt's list agree."),
        ("publish", "verified", "published", "verifier", "Already public record."),
    ]


def test_the_history_shows_each_step_with_its_user_and_reason(story):
    case, _ = story
    rows = list(
        case.history.order_by("history_date", "history_id").values_list(
            "history_user__username", "history_change_reason"
        )
    )
    last_three = rows[-3:]
    assert [user for user, _ in last_three] == ["dataentry", "verifier", "verifier"]
    assert last_three[0][1] == "Submitted for review. Both sources cited."
    assert last_three[1][1] == "Verified. RFA and Atajurt's list agree."
    assert last_three[2][1] == "Published. Already public record."


def test_the_change_page_of_the_verified_case_warns_before_an_edit(story, as_demo):
    case, _ = story
    response = as_demo("dataentry").get(change_url(case))
    assert response.status_code == 200
    assert "sends it back to review" in response.content.decode()


def test_the_change_page_lists_the_workflow_log(story, as_demo):
    case, _ = story
    content = as_demo("verifier").get(change_url(case)).content.decode()
    for reason in ("Both sources cited.", "RFA and Atajurt&#x27;s list agree."):
        assert reason in content


def test_the_change_page_of_a_draft_has_no_verified_warning(seed_case, as_demo):
    response = as_demo("dataentry").get(change_url(seed_case))
    assert "sends it back to review" not in response.content.decode()


def test_the_change_page_offers_the_steps_the_user_may_take(seed_case, as_demo):
    response = as_demo("dataentry").get(change_url(seed_case))
    steps = response.context["readiness"].steps
    assert [(step.action, step.label, step.allowed) for step in steps] == [
        ("submit", "Submit for review", True)
    ]
    assert workflow_url(seed_case, "submit") in response.content.decode()


def test_data_entry_trying_to_verify_the_seed_case_is_refused(seed_case, as_demo):
    submit_seed(as_demo, seed_case)
    client = as_demo("dataentry")
    response = client.post(workflow_url(seed_case, "verify"), {"reason": "", "evidence_level": ""})
    assert response.status_code == 403
    assert fresh(seed_case).review_state == ReviewState.IN_REVIEW


def test_a_verifier_verifying_a_case_they_submitted_sees_the_refusal(seed_case, as_demo):
    client = as_demo("verifier")
    client.post(workflow_url(seed_case, "submit"), {"reason": "Submitted by the verifier."})
    assert fresh(seed_case).review_state == ReviewState.IN_REVIEW
    response = client.post(workflow_url(seed_case, "verify"), {"reason": "", "evidence_level": ""})
    assert response.status_code == 200
    assert "another verifier must verify it" in response.content.decode()
    assert fresh(seed_case).review_state == ReviewState.IN_REVIEW


def test_the_verify_page_shows_the_failed_four_eyes_check_before_posting(seed_case, as_demo):
    client = as_demo("verifier")
    client.post(workflow_url(seed_case, "submit"), {"reason": "Submitted by the verifier."})
    page = client.get(workflow_url(seed_case, "verify"))
    assert page.context["checks"][0].level == "error"
    assert page.context["blocked"]
    assert "another verifier must verify it" in page.content.decode()


def test_publishing_before_verification_shows_the_refusal(seed_case, as_demo):
    submit_seed(as_demo, seed_case)
    response = as_demo("verifier").post(workflow_url(seed_case, "publish"), {"reason": ""})
    assert response.status_code == 200
    assert "It is not verified." in response.content.decode()
    assert not fresh(seed_case).is_published


def test_verifying_without_choosing_a_level_takes_the_suggested_one(seed_case, as_demo):
    """The level is optional on the form (the service defaults to the suggested one)."""
    submit_seed(as_demo, seed_case)
    response = as_demo("verifier").post(workflow_url(seed_case, "verify"), {"reason": "Agreed."})
    assert response.status_code == 302
    assert fresh(seed_case).evidence_level == EvidenceLevel.CORROBORATED


def test_lowering_the_level_without_a_reason_shows_the_refusal(seed_case, as_demo):
    submit_seed(as_demo, seed_case)
    response = as_demo("verifier").post(
        workflow_url(seed_case, "verify"),
        {"reason": "", "evidence_level": str(EvidenceLevel.REPORTED)},
    )
    assert response.status_code == 200
    assert "Give a reason for lowering the evidence level below 3" in response.content.decode()
    assert fresh(seed_case).review_state == ReviewState.IN_REVIEW


def test_publishing_the_fictional_draft_shows_the_missing_consent(seed_case, as_demo):
    draft = Case.objects.get(uid=uid("case/fictional-draft"))
    assert draft.person.consent == Consent.UNKNOWN
    as_demo("dataentry").post(workflow_url(draft, "submit"), {"reason": "Ready."})
    client = as_demo("verifier")
    level = str(EvidenceLevel.TESTIMONY)
    verified_page = client.post(workflow_url(draft, "verify"), {"evidence_level": level})
    assert verified_page["Location"] == change_url(draft)
    response = client.post(workflow_url(draft, "publish"), {"reason": ""})
    assert response.status_code == 200
    assert "Consent to publish is “Unknown — not yet asked”" in response.content.decode()
    assert not fresh(draft).is_published


# --- changelist actions ----------------------------------------------------------------------


def run_action(client, action, cases):
    return client.post(
        reverse("admin:cases_case_changelist"),
        {"action": action, "_selected_action": [str(case.pk) for case in cases]},
    )


def test_submit_selected_submits_drafts_and_reports_each_refusal(client, data_entry):
    draft, reviewing = cited_case(data_entry), in_review(data_entry)
    client.force_login(data_entry)
    messages = messages_after(client, run_action(client, "submit_selected", [draft, reviewing]))
    assert f"{reviewing.reference}: Only a draft can be submitted for review" in " ".join(messages)
    assert "1 case(s) submitted for review." in messages
    assert fresh(draft).review_state == ReviewState.IN_REVIEW


def test_publish_selected_publishes_and_reports_each_refusal(client, data_entry, verifier):
    ready = verified(data_entry, verifier)
    unconsented = verified(data_entry, verifier, consent=Consent.REFUSED)
    draft = cited_case(data_entry)
    client.force_login(verifier)
    response = run_action(client, "publish_selected", [ready, unconsented, draft])
    text = " ".join(messages_after(client, response))
    assert f"{unconsented.reference} cannot be published" in text
    assert "Consent to publish is “Refused”" in text
    assert f"{draft.reference} cannot be published: It is not verified." in text
    assert "1 case(s) published." in text
    assert fresh(ready).is_published
    assert not fresh(unconsented).is_published


def test_publish_selected_with_only_refusals_reports_no_success(client, data_entry, verifier):
    draft = cited_case(data_entry)
    client.force_login(verifier)
    messages = messages_after(client, run_action(client, "publish_selected", [draft]))
    assert not any("published." in message and "case(s)" in message for message in messages)
    assert any(draft.reference in message for message in messages)


def test_data_entry_is_not_offered_publish_selected(client, data_entry, verifier):
    ready = verified(data_entry, verifier)
    client.force_login(data_entry)
    page = client.get(reverse("admin:cases_case_changelist"))
    actions = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert "publish_selected" not in actions
    run_action(client, "publish_selected", [ready])
    assert not fresh(ready).is_published


def test_the_changelist_offers_no_bulk_delete_even_to_a_superuser(admin_client):
    page = admin_client.get(reverse("admin:cases_case_changelist"))
    actions = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert {"submit_selected", "publish_selected"} <= set(actions)


def test_a_superuser_cannot_bulk_delete_a_verified_case(admin_client, data_entry, verifier):
    case = verified(data_entry, verifier)
    admin_client.post(
        reverse("admin:cases_case_changelist"),
        {"action": "delete_selected", "_selected_action": [str(case.pk)], "post": "yes"},
    )
    assert Case.objects.filter(pk=case.pk).exists()
