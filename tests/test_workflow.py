"""The verification workflow (cases.services): who may move a case where, the four-eyes rule,
evidence levels, publication, edits after verification, deletion and the transition log."""

import pytest
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import (
    Case,
    CaseTransition,
    DeletionRefused,
    DetentionEvent,
    EvidenceLevel,
    ReviewState,
    TransitionAction,
)
from cases.services import TransitionRefused
from casetracker.audit import acting_as
from casetracker.roles import DATA_ENTRY
from people.models import Consent, Person, PersonName
from sources.models import Citation, Source, SourceKind
from tests.factories import (
    cited_case,
    fresh,
    in_review,
    last_transition,
    make_case,
    make_citation,
    make_event,
    make_organisation,
    make_source,
    published,
    published_pks,
    staff_in,
    verified,
    without_reopening,
)

pytestmark = pytest.mark.django_db


# --- submit ----------------------------------------------------------------------------------


def test_data_entry_submits_a_draft_for_review(data_entry):
    case = cited_case(data_entry)
    services.submit_for_review(case, data_entry)
    case = fresh(case)
    assert case.review_state == ReviewState.IN_REVIEW
    assert case.submitted_at is not None


def test_a_case_in_review_cannot_be_submitted_again(data_entry):
    case = in_review(data_entry)
    with pytest.raises(TransitionRefused, match="Only a draft"):
        services.submit_for_review(case, data_entry)


def test_a_verified_case_cannot_be_submitted(data_entry, verifier):
    case = verified(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="Only a draft"):
        services.submit_for_review(case, data_entry)
    assert fresh(case).review_state == ReviewState.VERIFIED


def test_a_user_without_the_right_to_change_cases_cannot_submit(data_entry, administrator):
    case = cited_case(data_entry)
    with pytest.raises(TransitionRefused, match="permission"):
        services.submit_for_review(case, administrator)
    assert fresh(case).review_state == ReviewState.DRAFT


# --- request changes -------------------------------------------------------------------------


def test_a_verifier_sends_a_case_in_review_back_to_draft_with_a_reason(data_entry, verifier):
    case = in_review(data_entry)
    services.request_changes(case, verifier, "Add the court notice.")
    assert fresh(case).review_state == ReviewState.DRAFT


@pytest.mark.parametrize("reason", ["", "   "])
def test_requesting_changes_without_a_reason_is_refused(data_entry, verifier, reason):
    case = in_review(data_entry)
    with pytest.raises(TransitionRefused, match="reason"):
        services.request_changes(case, verifier, reason)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_data_entry_cannot_request_changes(data_entry):
    case = in_review(data_entry)
    other = staff_in(DATA_ENTRY, "other_data_entry")
    with pytest.raises(TransitionRefused, match="permission"):
        services.request_changes(case, other, "Add the court notice.")
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_changes_cannot_be_requested_for_a_draft(data_entry, verifier):
    case = cited_case(data_entry)
    with pytest.raises(TransitionRefused, match="not in review"):
        services.request_changes(case, verifier, "Add the court notice.")


# --- four eyes -------------------------------------------------------------------------------


def test_another_verifier_verifies_a_case_in_review(data_entry, verifier):
    case = in_review(data_entry)
    services.verify(case, verifier)
    case = fresh(case)
    assert case.review_state == ReviewState.VERIFIED
    assert case.verified_by == verifier
    assert case.verified_at is not None


def test_the_creator_cannot_verify_even_as_a_verifier(data_entry, verifier):
    case = cited_case(verifier)
    services.submit_for_review(case, data_entry)
    with pytest.raises(TransitionRefused, match="You created this case"):
        services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_the_submitter_cannot_verify(data_entry, verifier):
    case = cited_case(data_entry)
    services.submit_for_review(case, verifier)
    with pytest.raises(TransitionRefused, match="You submitted or changed"):
        services.verify(case, verifier)


def _edit_case(case):
    case = fresh(case)
    case.public_summary = "Corrected summary."
    case.save()


def _edit_event(case):
    event = case.events.first()
    event.description = "Taken from home."
    event.save()


def _edit_case_citation(case):
    citation = make_citation(make_source(), case=case)
    citation.locator = "p. 2"
    citation.save()


def _edit_event_citation(case):
    citation = Citation.objects.get(event__case=case)
    citation.locator = "p. 3"
    citation.save()


def _edit_person(case):
    person = Person.objects.get(pk=case.person_id)
    person.occupation = "Teacher"
    person.save()


def _edit_name(case):
    PersonName.objects.create(person_id=case.person_id, name="Қанат Ережеп", language="kk")


EDITS = {
    "case": _edit_case,
    "event": _edit_event,
    "case citation": _edit_case_citation,
    "event citation": _edit_event_citation,
    "person": _edit_person,
    "name": _edit_name,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_verifier_who_edited_the_case_file_since_submission_cannot_verify(
    data_entry, verifier, edit
):
    case = in_review(data_entry)
    with acting_as(verifier):
        EDITS[edit](case)
    with pytest.raises(TransitionRefused, match="You submitted or changed"):
        services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_by_one_verifier_leaves_another_free_to_verify(
    data_entry, verifier, second_verifier, edit
):
    case = in_review(data_entry)
    with acting_as(verifier):
        EDITS[edit](case)
    services.verify(case, second_verifier)
    assert fresh(case).review_state == ReviewState.VERIFIED


def test_an_edit_by_a_verifier_before_submission_does_not_block_them(data_entry, verifier):
    case = cited_case(data_entry)
    with acting_as(verifier):
        _edit_case(case)
        _edit_event(case)
    services.submit_for_review(case, data_entry)
    services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.VERIFIED


def test_an_edit_after_changes_were_requested_but_before_resubmission_does_not_block(
    data_entry, verifier
):
    case = in_review(data_entry)
    services.request_changes(case, verifier, "Name the facility.")
    with acting_as(verifier):
        _edit_event(case)
    services.submit_for_review(case, data_entry)
    services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.VERIFIED


def test_data_entry_cannot_verify(data_entry):
    case = in_review(data_entry)
    other = staff_in(DATA_ENTRY, "other_data_entry")
    with pytest.raises(TransitionRefused, match="permission"):
        services.verify(case, other)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_an_inactive_verifier_cannot_verify(data_entry, verifier):
    case = in_review(data_entry)
    verifier.is_active = False
    verifier.save()
    with pytest.raises(TransitionRefused, match="permission"):
        services.verify(case, verifier)


# --- every event needs a citation ------------------------------------------------------------


def test_an_uncited_event_blocks_submission_and_is_named(data_entry):
    case = cited_case(data_entry)
    make_event(case, kind="released", date="2025-01")
    with pytest.raises(TransitionRefused, match="Without a citation: Released January 2025"):
        services.submit_for_review(case, data_entry)
    assert fresh(case).review_state == ReviewState.DRAFT


def test_a_case_citing_nothing_cannot_be_submitted(data_entry):
    case = make_case(created_by=data_entry)
    with pytest.raises(TransitionRefused, match="cites no source"):
        services.submit_for_review(case, data_entry)


def test_an_event_added_in_review_without_a_citation_blocks_verification(data_entry, verifier):
    case = in_review(data_entry)
    make_event(case, kind="released", date="2025-01")
    with pytest.raises(TransitionRefused, match="Without a citation: Released January 2025"):
        services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_citing_the_event_unblocks_verification(data_entry, verifier):
    case = in_review(data_entry)
    event = make_event(case, kind="released", date="2025-01")
    make_citation(make_source(), event=event)
    services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.VERIFIED


# --- evidence levels -------------------------------------------------------------------------


def case_citing(*sources):
    case = make_case()
    for source in sources:
        make_citation(source, case=case)
    return case


def test_one_news_report_suggests_level_1():
    case = case_citing(make_source(kind=SourceKind.NEWS_REPORT))
    assert services.suggest_evidence_level(case) == EvidenceLevel.REPORTED


def test_a_testimony_suggests_level_2():
    case = case_citing(make_source(kind=SourceKind.TESTIMONY, author="A sister"))
    assert services.suggest_evidence_level(case) == EvidenceLevel.TESTIMONY


def test_an_interview_suggests_level_2():
    case = case_citing(make_source(kind=SourceKind.INTERVIEW))
    assert services.suggest_evidence_level(case) == EvidenceLevel.TESTIMONY


def test_two_sources_of_different_publishers_suggest_level_3():
    case = case_citing(
        make_source(publisher=make_organisation("Radio Free Asia")),
        make_source(publisher=make_organisation("Atajurt")),
    )
    assert services.suggest_evidence_level(case) == EvidenceLevel.CORROBORATED


def test_two_sources_of_the_same_publisher_are_not_independent():
    rfa = make_organisation("Radio Free Asia")
    case = case_citing(make_source(publisher=rfa), make_source(publisher=rfa))
    assert services.suggest_evidence_level(case) == EvidenceLevel.REPORTED


def test_two_testimonies_by_different_authors_suggest_level_3():
    case = case_citing(
        make_source(kind=SourceKind.TESTIMONY, author="A sister"),
        make_source(kind=SourceKind.TESTIMONY, author="A neighbour"),
    )
    assert services.suggest_evidence_level(case) == EvidenceLevel.CORROBORATED


def test_two_testimonies_by_the_same_author_are_not_independent():
    case = case_citing(
        make_source(kind=SourceKind.TESTIMONY, author="A sister"),
        make_source(kind=SourceKind.INTERVIEW, author=" a SISTER "),
    )
    assert services.suggest_evidence_level(case) == EvidenceLevel.TESTIMONY


@pytest.mark.parametrize(
    "kind",
    [SourceKind.OFFICIAL_DOCUMENT, SourceKind.COURT_DOCUMENT, SourceKind.LEAKED_DOCUMENT],
)
def test_an_official_court_or_leaked_document_suggests_level_4(kind):
    case = case_citing(make_source(kind=kind))
    assert services.suggest_evidence_level(case) == EvidenceLevel.DOCUMENTED


def test_citations_of_events_and_of_the_person_count_towards_the_level():
    case = make_case()
    make_citation(make_source(publisher=make_organisation()), event=make_event(case))
    make_citation(make_source(publisher=make_organisation()), person=case.person)
    assert services.suggest_evidence_level(case) == EvidenceLevel.CORROBORATED


def test_no_citations_suggest_no_level():
    assert services.suggest_evidence_level(make_case()) is None


def test_a_case_without_citations_cannot_be_verified(data_entry, verifier):
    # Submitting refuses such a case already; one put in review some other way is still
    # refused at verification.
    case = make_case(created_by=data_entry)
    with without_reopening():
        Case.objects.filter(pk=case.pk).update(review_state=ReviewState.IN_REVIEW)
    with pytest.raises(TransitionRefused, match="cites no source"):
        services.verify(case, verifier)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_verify_stores_the_suggested_level_by_default(data_entry, verifier):
    case = in_review(data_entry)  # cited by one testimony
    services.verify(case, verifier)
    case = fresh(case)
    assert case.evidence_level == EvidenceLevel.TESTIMONY
    assert case.evidence_level_reason == ""


def test_verify_refuses_a_level_above_the_suggested_one(data_entry, verifier):
    case = in_review(data_entry)
    with pytest.raises(TransitionRefused, match="at most"):
        services.verify(case, verifier, evidence_level=EvidenceLevel.CORROBORATED)
    case = fresh(case)
    assert case.review_state == ReviewState.IN_REVIEW
    assert case.evidence_level is None


def test_lowering_the_level_without_a_reason_is_refused(data_entry, verifier):
    case = in_review(data_entry)
    with pytest.raises(TransitionRefused, match="reason"):
        services.verify(case, verifier, evidence_level=EvidenceLevel.REPORTED)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_lowering_the_level_with_a_reason_stores_level_and_reason(data_entry, verifier):
    case = in_review(data_entry)
    services.verify(
        case, verifier, evidence_level=EvidenceLevel.REPORTED, reason="The sister heard it."
    )
    case = fresh(case)
    assert case.evidence_level == EvidenceLevel.REPORTED
    assert case.evidence_level_reason == "The sister heard it."


def test_confirming_the_suggested_level_keeps_no_lowering_reason(data_entry, verifier):
    case = in_review(data_entry)
    services.verify(case, verifier, evidence_level=EvidenceLevel.TESTIMONY, reason="Checked.")
    assert fresh(case).evidence_level_reason == ""


# --- publish ---------------------------------------------------------------------------------


def test_a_verifier_publishes_a_verified_consented_case(data_entry, verifier):
    case = verified(data_entry, verifier)
    services.publish(case, verifier)
    case = fresh(case)
    assert case.is_published
    assert case.published_at is not None
    assert case.workflow_state == "published"


@pytest.mark.parametrize("state", ["draft", "in_review"])
def test_an_unverified_case_cannot_be_published(data_entry, verifier, state):
    case = cited_case(data_entry) if state == "draft" else in_review(data_entry)
    with pytest.raises(TransitionRefused, match="not verified"):
        services.publish(case, verifier)
    assert not fresh(case).is_published


@pytest.mark.parametrize("consent", [Consent.GRANTED, Consent.PUBLIC_RECORD])
def test_granted_or_public_record_consent_allows_publication(data_entry, verifier, consent):
    case = verified(data_entry, verifier, consent=consent)
    services.publish(case, verifier)
    assert fresh(case).is_published


@pytest.mark.parametrize("consent", [Consent.UNKNOWN, Consent.REFUSED, Consent.WITHDRAWN])
def test_publication_without_consent_is_refused(data_entry, verifier, consent):
    case = verified(data_entry, verifier, consent=consent)
    with pytest.raises(TransitionRefused, match="Consent to publish") as refusal:
        services.publish(case, verifier)
    assert str(Consent(consent).label) in str(refusal.value)
    assert not fresh(case).is_published


def test_publication_below_the_minimum_evidence_level_is_refused(data_entry, verifier, settings):
    settings.MIN_PUBLISH_EVIDENCE_LEVEL = EvidenceLevel.CORROBORATED
    case = verified(data_entry, verifier)  # level 2
    with pytest.raises(TransitionRefused, match="below the minimum 3"):
        services.publish(case, verifier)
    assert not fresh(case).is_published


def test_publication_at_a_lowered_minimum_is_allowed(data_entry, verifier, settings):
    settings.MIN_PUBLISH_EVIDENCE_LEVEL = EvidenceLevel.REPORTED
    case = verified(data_entry, verifier, kind=SourceKind.NEWS_REPORT)  # level 1
    services.publish(case, verifier)
    assert fresh(case).is_published


def test_a_sensitive_case_cannot_be_published(data_entry, verifier):
    case = verified(data_entry, verifier, sensitive=True)
    with pytest.raises(TransitionRefused, match="sensitive"):
        services.publish(case, verifier)
    assert not fresh(case).is_published


def test_an_archived_case_cannot_be_published(data_entry, verifier):
    case = verified(data_entry, verifier)
    services.archive(case, verifier, "Duplicate of another case.")
    with pytest.raises(TransitionRefused, match="archived"):
        services.publish(case, verifier)
    assert not fresh(case).is_published


def test_a_published_case_cannot_be_published_again(data_entry, verifier):
    case = published(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="already published"):
        services.publish(case, verifier)


def test_data_entry_cannot_publish(data_entry, verifier):
    case = verified(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="permission"):
        services.publish(case, data_entry)
    assert not fresh(case).is_published


# --- what partners see: Case.objects.published() --------------------------------------------


def test_published_holds_exactly_the_publishable_cases(data_entry, verifier, settings):
    shown = published(data_entry, verifier)
    published(data_entry, verifier, consent=Consent.PUBLIC_RECORD)  # also shown
    cited_case(data_entry)  # draft
    in_review(data_entry)
    verified(data_entry, verifier)  # verified, not published
    archived = published(data_entry, verifier)
    services.archive(archived, verifier, "Merged into another case.")
    assert published_pks() == {
        shown.pk,
        Case.objects.get(person__consent=Consent.PUBLIC_RECORD).pk,
    }


def test_published_leaves_out_a_case_below_a_raised_minimum_level(data_entry, verifier, settings):
    case = published(data_entry, verifier)  # level 2
    documented = published(data_entry, verifier, kind=SourceKind.COURT_DOCUMENT)  # level 4
    settings.MIN_PUBLISH_EVIDENCE_LEVEL = EvidenceLevel.CORROBORATED
    assert case.pk not in published_pks()
    assert documented.pk in published_pks()


def test_published_leaves_out_a_published_case_without_consent(data_entry, verifier):
    case = published(data_entry, verifier)
    with without_reopening():
        Person.objects.filter(pk=case.person_id).update(consent=Consent.WITHDRAWN)
    assert case.pk not in published_pks()


def test_published_leaves_out_an_archived_case_still_marked_published(data_entry, verifier):
    case = published(data_entry, verifier)
    with without_reopening():
        Case.objects.filter(pk=case.pk).update(archived_at=timezone.now())
    assert case.pk not in published_pks()


def test_published_leaves_out_a_published_case_marked_sensitive(data_entry, verifier):
    case = published(data_entry, verifier)
    with without_reopening():
        Case.objects.filter(pk=case.pk).update(sensitive=True)
    assert case.pk not in published_pks()


def test_marking_a_published_case_sensitive_takes_it_out(data_entry, verifier):
    case = fresh(published(data_entry, verifier))
    case.sensitive = True
    with acting_as(data_entry):
        case.save()
    assert case.pk not in published_pks()


def test_published_leaves_out_a_verified_case_not_marked_published(data_entry, verifier):
    case = verified(data_entry, verifier)
    assert case.pk not in published_pks()


def test_withdrawing_consent_after_publication_takes_the_case_out(data_entry, verifier):
    case = published(data_entry, verifier)
    person = Person.objects.get(pk=case.person_id)
    person.consent = Consent.WITHDRAWN
    with acting_as(data_entry):
        person.save()  # as staff would, through the person's page
    assert Person.objects.get(pk=case.person_id).consent == Consent.WITHDRAWN
    assert case.pk not in published_pks()


def test_a_published_case_sent_back_to_review_drops_out(data_entry, verifier):
    case = published(data_entry, verifier)
    with acting_as(data_entry):
        _edit_case(case)
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    assert case.pk not in published_pks()


# --- edits after verification ----------------------------------------------------------------


def _change_summary(case):
    case = fresh(case)
    case.public_summary = "Sentenced to 15 years."
    case.save()


def _add_event(case):
    make_event(case, kind="sentenced", date="2024-11", sentence="15 years")


def _delete_event(case):
    # The event's citations go with it.
    case.events.first().delete()


def _add_case_citation(case):
    make_citation(make_source(), case=case)


EDITS_AFTER_VERIFICATION = {
    "case summary": _change_summary,
    "event added": _add_event,
    "event changed": _edit_event,
    "event deleted": _delete_event,
    "case citation added": _add_case_citation,
    "case citation changed": lambda case: _save_citation(Citation.objects.get(case=case)),
    "case citation deleted": lambda case: Citation.objects.get(case=case).delete(),
    "event citation added": lambda case: make_citation(make_source(), event=case.events.first()),
    "event citation changed": lambda case: _save_citation(Citation.objects.get(event__case=case)),
    "event citation deleted": lambda case: Citation.objects.get(event__case=case).delete(),
    "person citation added": lambda case: make_citation(make_source(), person=case.person),
    "person citation changed": lambda case: _save_citation(
        Citation.objects.get(person_id=case.person_id)
    ),
    "person citation deleted": lambda case: Citation.objects.get(person_id=case.person_id).delete(),
    "person changed": _edit_person,
    "name added": _edit_name,
    "name changed": lambda case: _save_name(PersonName.objects.get(person_id=case.person_id)),
}


def _save_citation(citation):
    citation.claim = "The source now says something else."
    citation.save()


def _save_name(name):
    name.name = "Kanat Yerezhep"
    name.save()


def verified_with_every_citation(data_entry, verifier, **kw):
    """A verified case cited at case, event and person level (one citation each)."""
    case = cited_case(data_entry, **kw)
    make_citation(make_source(), case=case)
    make_citation(make_source(), person=case.person)
    services.submit_for_review(case, data_entry)
    services.verify(case, verifier)
    return fresh(case)


@pytest.mark.parametrize("edit", list(EDITS_AFTER_VERIFICATION))
def test_an_edit_sends_a_verified_case_back_to_review(data_entry, verifier, edit):
    case = verified_with_every_citation(data_entry, verifier)
    with acting_as(data_entry):
        EDITS_AFTER_VERIFICATION[edit](case)
    assert fresh(case).review_state == ReviewState.IN_REVIEW


@pytest.mark.parametrize("edit", list(EDITS_AFTER_VERIFICATION))
def test_an_edit_after_verification_logs_a_reopen_by_the_editor(data_entry, verifier, edit):
    case = verified_with_every_citation(data_entry, verifier)
    with acting_as(data_entry):
        EDITS_AFTER_VERIFICATION[edit](case)
    step = last_transition(case)
    assert (step.action, step.from_state, step.to_state, step.user) == (
        TransitionAction.REOPEN,
        "verified",
        "in_review",
        data_entry,
    )
    assert "changed after verification" in step.reason


@pytest.mark.parametrize("edit", list(EDITS_AFTER_VERIFICATION))
def test_an_edit_takes_a_published_case_out_of_published(data_entry, verifier, edit):
    case = verified_with_every_citation(data_entry, verifier)
    services.publish(case, verifier)
    assert case.pk in published_pks()
    with acting_as(data_entry):
        EDITS_AFTER_VERIFICATION[edit](case)
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    assert case.pk not in published_pks()


def test_an_edit_by_the_verifier_after_verification_logs_the_verifier(data_entry, verifier):
    case = verified(data_entry, verifier)
    with acting_as(verifier):
        _change_summary(case)
    assert last_transition(case).user == verifier


def test_editing_a_draft_or_a_case_in_review_logs_no_reopen(data_entry):
    draft, reviewing = cited_case(data_entry), in_review(data_entry)
    with acting_as(data_entry):
        _change_summary(draft)
        _change_summary(reviewing)
    assert not CaseTransition.objects.filter(action=TransitionAction.REOPEN).exists()
    assert fresh(reviewing).review_state == ReviewState.IN_REVIEW


def test_an_edit_to_another_persons_case_file_leaves_a_verified_case_alone(data_entry, verifier):
    case = verified(data_entry, verifier)
    other = cited_case(data_entry)
    with acting_as(data_entry):
        _change_summary(other)
        _edit_person(other)
    assert fresh(case).review_state == ReviewState.VERIFIED


def test_the_workflow_steps_themselves_do_not_reopen_the_case(data_entry, verifier):
    case = published(data_entry, verifier)
    services.unpublish(case, verifier, "Family asked for time.")
    assert fresh(case).review_state == ReviewState.VERIFIED
    assert not CaseTransition.objects.filter(action=TransitionAction.REOPEN).exists()


def test_reverifying_an_edited_published_case_brings_it_back(data_entry, verifier, second_verifier):
    case = published(data_entry, verifier)
    with acting_as(data_entry):
        _change_summary(case)
    assert case.pk not in published_pks()
    services.verify(case, second_verifier)
    case = fresh(case)
    assert case.is_published
    assert case.pk in published_pks()


def test_the_verifier_who_edited_after_verification_cannot_reverify(data_entry, verifier):
    case = verified(data_entry, verifier)
    with acting_as(verifier):
        _change_summary(case)
    with pytest.raises(TransitionRefused, match="You submitted or changed"):
        services.verify(case, verifier)


# --- unpublish, archive, delete --------------------------------------------------------------


def test_unpublishing_needs_a_reason(data_entry, verifier):
    case = published(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="reason"):
        services.unpublish(case, verifier, " ")
    assert fresh(case).is_published


def test_unpublishing_with_a_reason_takes_the_case_out_of_published(data_entry, verifier):
    case = published(data_entry, verifier)
    services.unpublish(case, verifier, "Family asked us to wait.")
    case = fresh(case)
    assert not case.is_published
    assert case.review_state == ReviewState.VERIFIED
    assert case.pk not in published_pks()


def test_data_entry_cannot_unpublish(data_entry, verifier):
    case = published(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="permission"):
        services.unpublish(case, data_entry, "Family asked us to wait.")
    assert fresh(case).is_published


def test_archiving_needs_a_reason(data_entry, verifier):
    case = published(data_entry, verifier)
    with pytest.raises(TransitionRefused, match="reason"):
        services.archive(case, verifier, "")
    assert fresh(case).archived_at is None


def test_archiving_takes_a_published_case_out_of_published(data_entry, verifier):
    case = published(data_entry, verifier)
    services.archive(case, verifier, "Duplicate of another case.")
    case = fresh(case)
    assert case.archived_at is not None
    assert not case.is_published
    assert case.pk not in published_pks()


def test_data_entry_cannot_archive(data_entry):
    case = cited_case(data_entry)
    with pytest.raises(TransitionRefused, match="permission"):
        services.archive(case, data_entry, "Duplicate.")
    assert fresh(case).archived_at is None


def test_an_archived_case_cannot_be_archived_again(data_entry, verifier):
    case = verified(data_entry, verifier)
    services.archive(case, verifier, "Duplicate.")
    with pytest.raises(TransitionRefused, match="already archived"):
        services.archive(case, verifier, "Duplicate.")


def delete_one(case):
    fresh(case).delete()


def delete_through_queryset(case):
    Case.objects.filter(pk=case.pk).delete()


DELETE_PATHS = {"instance": delete_one, "queryset": delete_through_queryset}


@pytest.mark.parametrize("path", list(DELETE_PATHS))
def test_a_verified_case_cannot_be_deleted(data_entry, verifier, path):
    case = verified(data_entry, verifier)
    with pytest.raises(DeletionRefused):
        DELETE_PATHS[path](case)
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize("path", list(DELETE_PATHS))
def test_an_archived_draft_cannot_be_deleted(data_entry, verifier, path):
    case = cited_case(data_entry)
    services.archive(case, verifier, "Opened by mistake.")
    with pytest.raises(DeletionRefused):
        DELETE_PATHS[path](case)
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize("path", list(DELETE_PATHS))
def test_a_once_verified_case_back_in_review_cannot_be_deleted(data_entry, verifier, path):
    case = verified(data_entry, verifier)
    with acting_as(data_entry):
        _change_summary(case)
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    with pytest.raises(DeletionRefused):
        DELETE_PATHS[path](case)
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize("path", list(DELETE_PATHS))
def test_a_never_verified_draft_can_be_deleted(data_entry, path):
    case = cited_case(data_entry)
    DELETE_PATHS[path](case)
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not DetentionEvent.objects.filter(case_id=case.pk).exists()


def cited_source_of_a_verified_case(data_entry, verifier):
    case = verified(data_entry, verifier)
    return Source.objects.get(citations__event__case=case)


def test_a_source_cited_by_a_verified_case_cannot_be_deleted(data_entry, verifier):
    source = cited_source_of_a_verified_case(data_entry, verifier)
    with pytest.raises(DeletionRefused):
        source.delete()
    assert Source.objects.filter(pk=source.pk).exists()


def test_a_source_cited_by_a_verified_case_cannot_be_deleted_through_a_queryset(
    data_entry, verifier
):
    source = cited_source_of_a_verified_case(data_entry, verifier)
    with pytest.raises(DeletionRefused):
        Source.objects.filter(pk=source.pk).delete()
    assert Source.objects.filter(pk=source.pk).exists()


def test_a_source_cited_only_by_drafts_can_be_deleted_with_its_citations(data_entry):
    case = cited_case(data_entry)
    source = Source.objects.get(citations__event__case=case)
    Citation.objects.filter(source=source).delete()
    source.delete()
    assert not Source.objects.filter(pk=source.pk).exists()


# --- the transition log ----------------------------------------------------------------------


def _submit(data_entry, verifier):
    return cited_case(data_entry), lambda c: services.submit_for_review(c, data_entry, "Ready.")


def _request_changes(data_entry, verifier):
    return in_review(data_entry), lambda c: services.request_changes(c, verifier, "Add a date.")


def _verify(data_entry, verifier):
    return in_review(data_entry), lambda c: services.verify(c, verifier, reason="Checked.")


def _publish(data_entry, verifier):
    return verified(data_entry, verifier), lambda c: services.publish(c, verifier, "Agreed.")


def _unpublish(data_entry, verifier):
    return published(data_entry, verifier), lambda c: services.unpublish(c, verifier, "Wait.")


def _archive(data_entry, verifier):
    return published(data_entry, verifier), lambda c: services.archive(c, verifier, "Merged.")


def _reopen(data_entry, verifier):
    def edit(case):
        with acting_as(verifier):
            _change_summary(case)

    return verified(data_entry, verifier), edit


STEPS = [
    # (step, set-up, action, from_state, to_state, who, reason contains)
    ("submit", _submit, "submit", "draft", "in_review", "data_entry", "Ready."),
    ("request_changes", _request_changes, "request_changes", "in_review", "draft", "verifier", ""),
    ("verify", _verify, "verify", "in_review", "verified", "verifier", "Checked."),
    ("publish", _publish, "publish", "verified", "published", "verifier", "Agreed."),
    ("unpublish", _unpublish, "unpublish", "published", "verified", "verifier", "Wait."),
    ("archive", _archive, "archive", "published", "archived", "verifier", "Merged."),
    ("reopen", _reopen, "reopen", "verified", "in_review", "verifier", "after verification"),
]


@pytest.mark.parametrize(
    ("set_up", "action", "before", "after", "who", "reason"),
    [step[1:] for step in STEPS],
    ids=[step[0] for step in STEPS],
)
def test_every_step_writes_one_transition_with_user_states_and_reason(
    data_entry, verifier, set_up, action, before, after, who, reason
):
    case, do = set_up(data_entry, verifier)
    count = CaseTransition.objects.filter(case=case).count()
    do(case)
    assert CaseTransition.objects.filter(case=case).count() == count + 1
    step = last_transition(case)
    user = {"data_entry": data_entry, "verifier": verifier}[who]
    assert (step.action, step.from_state, step.to_state, step.user) == (
        action,
        before,
        after,
        user,
    )
    assert reason in step.reason


def test_the_request_changes_reason_is_logged(data_entry, verifier):
    case = in_review(data_entry)
    services.request_changes(case, verifier, "Add the court notice.")
    assert last_transition(case).reason == "Add the court notice."


def test_the_verify_step_logs_the_evidence_level(data_entry, verifier):
    case = in_review(data_entry)
    services.verify(case, verifier)
    assert last_transition(case).evidence_level == EvidenceLevel.TESTIMONY


def test_a_refused_step_writes_no_transition(data_entry, verifier):
    case = cited_case(data_entry)
    with pytest.raises(TransitionRefused):
        services.publish(case, verifier)
    assert not CaseTransition.objects.filter(case=case).exists()


@pytest.fixture
def step(data_entry):
    case = cited_case(data_entry)
    return services.submit_for_review(case, data_entry, "Ready.")


def test_a_transition_cannot_be_changed_by_saving_it(step):
    step.reason = "Something else."
    with pytest.raises(PermissionError):
        step.save()
    assert CaseTransition.objects.get(pk=step.pk).reason == "Ready."


def test_a_transition_cannot_be_changed_through_a_queryset(step):
    with pytest.raises(PermissionError):
        CaseTransition.objects.filter(pk=step.pk).update(reason="Something else.")
    assert CaseTransition.objects.get(pk=step.pk).reason == "Ready."


def test_a_transition_cannot_be_changed_through_bulk_update(step):
    step.reason = "Something else."
    # bulk_update() runs in the caller's transaction: give it its own, as callers must.
    with pytest.raises(PermissionError), transaction.atomic():
        CaseTransition.objects.bulk_update([step], ["reason"])
    assert CaseTransition.objects.get(pk=step.pk).reason == "Ready."


def test_a_transition_cannot_be_changed_through_the_case(step):
    with pytest.raises(PermissionError):
        step.case.transitions.update(reason="Something else.")


def test_a_transition_cannot_be_deleted(step):
    with pytest.raises(PermissionError):
        step.delete()
    assert CaseTransition.objects.filter(pk=step.pk).exists()


def test_transitions_cannot_be_deleted_through_a_queryset(step):
    with pytest.raises(PermissionError):
        CaseTransition.objects.filter(pk=step.pk).delete()
    assert CaseTransition.objects.filter(pk=step.pk).exists()


# --- sources a verified case rests on --------------------------------------------------------


def test_editing_a_source_cited_by_a_verified_case_sends_it_back_to_review(data_entry, verifier):
    case = verified(data_entry, verifier)
    source = Citation.objects.get(event__case=case).source
    source.kind = SourceKind.COURT_DOCUMENT
    with acting_as(data_entry):
        source.save()
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    assert last_transition(case).action == TransitionAction.REOPEN


def test_whoever_edited_a_cited_source_since_submission_cannot_verify(data_entry, verifier):
    case = in_review(data_entry)
    source = Citation.objects.get(event__case=case).source
    source.author = "Corrected author"
    with acting_as(verifier):
        source.save()
    with pytest.raises(TransitionRefused, match="another verifier"):
        services.verify(case, verifier)


def test_two_sources_of_unknown_origin_do_not_corroborate_each_other(data_entry):
    case = cited_case(data_entry, kind=SourceKind.SOCIAL_MEDIA_POST)
    make_citation(make_source(kind=SourceKind.SOCIAL_MEDIA_POST), case=case)
    assert services.suggest_evidence_level(case) == EvidenceLevel.REPORTED


def test_a_source_that_once_backed_a_verified_case_stays_undeletable(data_entry, verifier):
    case = verified(data_entry, verifier)
    citation = Citation.objects.get(event__case=case)
    source = citation.source
    citation.delete()  # the case goes back to review; the source no longer cites it
    with pytest.raises(DeletionRefused):
        source.delete()
    assert Source.objects.filter(pk=source.pk).exists()
