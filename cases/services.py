"""The verification workflow: the only code that moves a case between states.

draft → in_review → verified, or back to draft with a reason (changes requested); published
and archived are separate steps. Admin actions, the API and imports call these functions;
each checks the actor's permission and the rules, writes the case and one CaseTransition
row, and raises TransitionRefused with a message for staff when a rule says no.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from cases.models import (
    PUBLISHABLE_CONSENT,
    Case,
    CaseTransition,
    DetentionEvent,
    EvidenceLevel,
    ReviewState,
    TransitionAction,
)
from casetracker.audit import acting_as
from casetracker.models import AccountChange
from people.models import Person, PersonName


class TransitionRefused(Exception):
    """A workflow rule refused the step; the message says which and why."""


# True while a service writes a case, so that its own write does not count as an edit.
_in_transition: ContextVar[bool] = ContextVar("casetracker_in_transition", default=False)
# While set, the references of the cases that edits send back to review (collect_reopened).
_reopened: ContextVar[list | None] = ContextVar("casetracker_reopened", default=None)


@contextmanager
def collect_reopened() -> Iterator[list[str]]:
    """Collect the references of the verified cases that the writes inside send back to
    review: the admin tries a save, and asks before keeping one that reopens cases the page
    had not warned about (casetracker.admin.ReopenGuard)."""
    bucket: list[str] = []
    token = _reopened.set(bucket)
    try:
        yield bucket
    finally:
        _reopened.reset(token)


@contextmanager
def _transition(case: Case, user, action: str, reason: str) -> Iterator[Case]:
    # The change reason is audit record content: the step's English label, in every language.
    with translation.override(None):
        change_reason = f"{TransitionAction(action).label}. {reason}"
    token = _in_transition.set(True)
    try:
        with transaction.atomic(), acting_as(user, change_reason):
            yield case
    finally:
        _in_transition.reset(token)


def _lock(case: Case) -> Case:
    """Re-read the case under a row lock: two verifiers cannot act on it at once."""
    return Case.objects.select_for_update().select_related("person").get(pk=case.pk)


def _require(user, permission: str, refusal: str) -> None:
    """``refusal``: the whole sentence staff read, e.g. "You do not have permission to …"."""
    if not (user and user.is_active and user.has_perm(permission)):
        raise TransitionRefused(str(refusal))


def _step(case: Case, user, action: str, before: str, reason: str, level=None) -> CaseTransition:
    case.updated_by = user
    case.save()
    return CaseTransition.objects.create(
        case=case,
        action=action,
        from_state=before,
        to_state=case.workflow_state,
        user=user,
        reason=reason,
        evidence_level=level,
    )


def _reason_required(reason: str, refusal: str) -> str:
    """``refusal``: the whole sentence staff read when no reason is given ("Give a reason …")."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionRefused(str(refusal))
    return reason


def _refuse_on(problems: list[str]) -> None:
    if problems:
        raise TransitionRefused(" ".join(problems))


def submit_for_review(case: Case, user, reason: str = "") -> CaseTransition:
    _require(
        user,
        "cases.change_case",
        gettext_lazy("You do not have permission to submit cases for review."),
    )
    with _transition(case, user, TransitionAction.SUBMIT, reason):
        case = _lock(case)
        _refuse_on(submit_problems(case))
        before = case.workflow_state
        case.review_state, case.submitted_at = ReviewState.IN_REVIEW, timezone.now()
        return _step(case, user, TransitionAction.SUBMIT, before, reason)


def request_changes(case: Case, user, reason: str) -> CaseTransition:
    _require(
        user, "cases.verify_case", gettext_lazy("You do not have permission to request changes.")
    )
    reason = _reason_required(reason, gettext_lazy("Give a reason saying what must change."))
    with _transition(case, user, TransitionAction.REQUEST_CHANGES, reason):
        case = _lock(case)
        if case.review_state != ReviewState.IN_REVIEW:
            raise TransitionRefused(
                gettext("%(reference)s is not in review.") % {"reference": case.reference}
            )
        before = case.workflow_state
        case.review_state = ReviewState.DRAFT
        return _step(case, user, TransitionAction.REQUEST_CHANGES, before, reason)


def verify(case: Case, user, evidence_level: int | None = None, reason: str = "") -> CaseTransition:
    """Verify a case in review. ``evidence_level`` defaults to the suggested level; a
    verifier may lower it, with a reason, never raise it."""
    _require(user, "cases.verify_case", gettext_lazy("You do not have permission to verify cases."))
    with _transition(case, user, TransitionAction.VERIFY, reason):
        case = _lock(case)
        _refuse_on(verify_problems(case, user))
        suggested = suggest_evidence_level(case)
        level = suggested if evidence_level is None else int(evidence_level)
        if level > suggested:
            raise TransitionRefused(
                gettext(
                    "The citations support evidence level %(level)s at most (%(label)s); add "
                    "sources to claim more."
                )
                % {"level": suggested, "label": EvidenceLevel(suggested).label}
            )
        if level < suggested:
            reason = _reason_required(
                reason,
                gettext("Give a reason for lowering the evidence level below %(level)s.")
                % {"level": suggested},
            )
        before = case.workflow_state
        case.review_state = ReviewState.VERIFIED
        case.evidence_level = level
        case.evidence_level_reason = reason if level < suggested else ""
        case.verified_by, case.verified_at = user, timezone.now()
        return _step(case, user, TransitionAction.VERIFY, before, reason, level)


def publish(case: Case, user, reason: str = "") -> CaseTransition:
    _require(
        user, "cases.publish_case", gettext_lazy("You do not have permission to publish cases.")
    )
    with _transition(case, user, TransitionAction.PUBLISH, reason):
        case = _lock(case)
        problems = publication_problems(case)
        if problems:
            raise TransitionRefused(
                gettext("%(reference)s cannot be published: %(problems)s")
                % {"reference": case.reference, "problems": " ".join(problems)}
            )
        before = case.workflow_state
        case.is_published, case.published_at = True, timezone.now()
        return _step(case, user, TransitionAction.PUBLISH, before, reason)


def unpublish(case: Case, user, reason: str) -> CaseTransition:
    _require(
        user,
        "cases.publish_case",
        gettext_lazy("You do not have permission to unpublish cases."),
    )
    reason = _reason_required(
        reason, gettext_lazy("Give a reason for withdrawing the case from partners.")
    )
    with _transition(case, user, TransitionAction.UNPUBLISH, reason):
        case = _lock(case)
        if not case.is_published:
            raise TransitionRefused(
                gettext("%(reference)s is not published.") % {"reference": case.reference}
            )
        before = case.workflow_state
        case.is_published = False
        return _step(case, user, TransitionAction.UNPUBLISH, before, reason)


def archive(case: Case, user, reason: str) -> CaseTransition:
    """Take a case out of use for good: unpublished, kept with its history, never deleted."""
    _require(
        user, "cases.archive_case", gettext_lazy("You do not have permission to archive cases.")
    )
    reason = _reason_required(reason, gettext_lazy("Give a reason for archiving."))
    with _transition(case, user, TransitionAction.ARCHIVE, reason):
        case = _lock(case)
        if case.archived_at:
            raise TransitionRefused(
                gettext("%(reference)s is already archived.") % {"reference": case.reference}
            )
        before = case.workflow_state
        case.is_published, case.archived_at = False, timezone.now()
        return _step(case, user, TransitionAction.ARCHIVE, before, reason)


def reopen_after_edit(case: Case, user, what: str) -> CaseTransition | None:
    """An edit to a verified case, its events, citations, person or names sends it back to
    review. If it is published, partners keep seeing the version last verified until the
    correction is verified (snapshots.writer.hold)."""
    if _in_transition.get():
        return None
    reason = f"{what} changed after verification."
    with _transition(case, user, TransitionAction.REOPEN, reason):
        case = _lock(case)
        if case.review_state != ReviewState.VERIFIED:
            return None
        before = case.workflow_state
        case.review_state, case.submitted_at = ReviewState.IN_REVIEW, timezone.now()
        bucket = _reopened.get()
        if bucket is not None:
            bucket.append(case.reference)
        return _step(case, user, TransitionAction.REOPEN, before, reason)


# --- Rules -----------------------------------------------------------------------------------


def check_four_eyes(case: Case, user) -> None:
    """A case is verified by a second person: not its creator, and nobody who submitted it or
    changed it, its events, citations, person or names since it was last submitted; nor
    through an account tied to one of theirs (AccountChange.objects.tying: one set the other
    up, at any time, since a sock-puppet account stays one)."""
    if case.created_by_id == user.pk:
        raise TransitionRefused(gettext("You created this case: another verifier must verify it."))
    involved = editors_since_submission(case)
    if user.pk in involved:
        raise TransitionRefused(
            gettext(
                "You submitted or changed this case since it was submitted for review: "
                "another verifier must verify it."
            )
        )
    # Why, but not whom: the verifier learns no more about other accounts than they knew.
    tied = set(
        AccountChange.objects.tying(user, {*involved, case.created_by_id}).values_list(
            "account_id", flat=True
        )
    )
    if user.pk in tied:
        raise TransitionRefused(
            gettext(
                "Your account was set up by someone who created, submitted or changed this "
                "case (they created it, set its password, or gave it the right to verify or to "
                "manage accounts): another verifier must verify it."
            )
        )
    if tied:
        raise TransitionRefused(
            gettext(
                "You created or set the password of the account of someone who created, "
                "submitted or changed this case: another verifier must verify it."
            )
        )


def editors_since_submission(case: Case) -> set[int]:
    """Ids of everyone who wrote to the case file since it last entered review."""
    entered = case.transitions.filter(to_state=ReviewState.IN_REVIEW).order_by("-at", "-pk").first()
    if entered is None:
        return set()
    since = entered.at
    editors = {entered.user_id}
    Citation = Case.citations.rel.related_model  # sources sits above this app
    citation_history = Citation.history
    source_history = Citation._meta.get_field("source").related_model.history
    event_ids = list(case.events.values_list("pk", flat=True))
    source_ids = case_citations(case).values("source_id")
    histories = [
        case.history.filter(history_date__gte=since),
        DetentionEvent.history.filter(case_id=case.pk, history_date__gte=since),
        citation_history.filter(case_id=case.pk, history_date__gte=since),
        citation_history.filter(event_id__in=event_ids, history_date__gte=since),
        citation_history.filter(person_id=case.person_id, history_date__gte=since),
        Person.history.filter(id=case.person_id, history_date__gte=since),
        PersonName.history.filter(person_id=case.person_id, history_date__gte=since),
        # Editing a cited source (its kind, publisher, author) changes what the case rests on.
        source_history.filter(id__in=source_ids, history_date__gte=since),
    ]
    for history in histories:
        editors.update(history.values_list("history_user_id", flat=True))
    editors.discard(None)
    return editors


def uncited_events(case: Case) -> list[DetentionEvent]:
    return list(case.events.filter(citations__isnull=True))


def case_citations(case: Case):
    """Every citation supporting the case: on the case, its events, or its person.

    Citations live in the sources app, above this one: reach them through the relation."""
    Citation = Case.citations.rel.related_model
    return Citation.objects.filter(
        Q(case=case) | Q(event__case=case) | Q(person_id=case.person_id)
    ).select_related("source")


def suggest_evidence_level(case: Case) -> int | None:
    """The level the citations support (None without citations):
    4 documented: an official, court or leaked official document is cited;
    3 corroborated: two or more independent sources (different publishers or testifiers);
    2 testimony: a first-hand testimony or interview is cited;
    1 reported: otherwise."""
    sources = {citation.source for citation in case_citations(case)}
    if not sources:
        return None
    if any(source.is_documentary for source in sources):
        return EvidenceLevel.DOCUMENTED
    if len({source.independence_key for source in sources}) >= 2:
        return EvidenceLevel.CORROBORATED
    if any(source.is_first_hand for source in sources):
        return EvidenceLevel.TESTIMONY
    return EvidenceLevel.REPORTED


def state_label(case: Case) -> str:
    return {
        "draft": gettext("a draft"),
        "in_review": gettext("in review"),
        "verified": gettext("verified"),
        "published": gettext("published"),
        "archived": gettext("archived"),
    }[case.workflow_state]


def citation_problems(case: Case) -> list[str]:
    """What the case lacks before it can be verified: a citation on every event, and at least
    one citation at all (the evidence level is suggested from them)."""
    problems = []
    uncited = uncited_events(case)
    if uncited:
        problems.append(
            gettext(
                "Every event needs at least one citation before the case can be verified. "
                "Without a citation: %(events)s."
            )
            % {"events": ", ".join(str(event) for event in uncited)}
        )
    elif not case_citations(case).exists():
        problems.append(gettext("The case cites no source: add a citation first."))
    return problems


def submit_problems(case: Case) -> list[str]:
    """Why the case cannot be submitted for review now (empty: it can). Submitting refuses
    what could not be verified, so that the rule shows before the verifier's step."""
    if case.archived_at or case.review_state != ReviewState.DRAFT:
        return [
            gettext("Only a draft can be submitted for review; %(reference)s is %(state)s.")
            % {"reference": case.reference, "state": state_label(case)}
        ]
    return citation_problems(case)


def verify_problems(case: Case, user) -> list[str]:
    """Why ``user`` cannot verify the case now (empty: they can)."""
    if case.archived_at or case.review_state != ReviewState.IN_REVIEW:
        return [
            gettext("Only a case in review can be verified; %(reference)s is %(state)s.")
            % {"reference": case.reference, "state": state_label(case)}
        ]
    problems = []
    try:
        check_four_eyes(case, user)
    except TransitionRefused as refusal:
        problems.append(str(refusal))
    return problems + citation_problems(case)


def step_problems(case: Case, user, action: str) -> list[str]:
    """Why a workflow step would be refused now, by the rules the step itself applies (the
    reason a step asks for is not a problem here: it is given with the step)."""
    if action == TransitionAction.SUBMIT:
        return submit_problems(case)
    if action == TransitionAction.VERIFY:
        return verify_problems(case, user)
    if action == TransitionAction.PUBLISH:
        return publication_problems(case)
    if action == TransitionAction.REQUEST_CHANGES and case.review_state != ReviewState.IN_REVIEW:
        return [gettext("%(reference)s is not in review.") % {"reference": case.reference}]
    if action == TransitionAction.UNPUBLISH and not case.is_published:
        return [gettext("%(reference)s is not published.") % {"reference": case.reference}]
    if action == TransitionAction.ARCHIVE and case.archived_at:
        return [gettext("%(reference)s is already archived.") % {"reference": case.reference}]
    return []


# Which workflow steps each state offers.
ACTIONS_BY_STATE = {
    "draft": (TransitionAction.SUBMIT, TransitionAction.ARCHIVE),
    "in_review": (
        TransitionAction.REQUEST_CHANGES,
        TransitionAction.VERIFY,
        TransitionAction.ARCHIVE,
    ),
    "verified": (TransitionAction.PUBLISH, TransitionAction.ARCHIVE),
    "published": (TransitionAction.UNPUBLISH, TransitionAction.ARCHIVE),
    "archived": (),
}


def actions_for(case: Case) -> tuple[str, ...]:
    """The workflow steps a case offers: its state's, and unpublishing while a correction
    of a published case is in review or returned (partners still see its last verified
    version until then: snapshots.writer.hold)."""
    actions = ACTIONS_BY_STATE[case.workflow_state]
    if case.is_published and not case.archived_at and TransitionAction.UNPUBLISH not in actions:
        actions = (*actions[:-1], TransitionAction.UNPUBLISH, actions[-1])
    return actions


def publication_problems(case: Case) -> list[str]:
    problems = []
    if case.archived_at:
        problems.append(gettext("It is archived."))
    if case.review_state != ReviewState.VERIFIED:
        problems.append(gettext("It is not verified."))
    if case.is_published:
        problems.append(gettext("It is already published."))
    if case.sensitive:
        problems.append(gettext("It is marked sensitive (need to know)."))
    if case.person.consent not in PUBLISHABLE_CONSENT:
        problems.append(
            gettext(
                "Consent to publish is “%(consent)s”: it must be granted or the case already "
                "public record."
            )
            % {"consent": case.person.get_consent_display()}
        )
    minimum = settings.MIN_PUBLISH_EVIDENCE_LEVEL
    if case.evidence_level is not None and case.evidence_level < minimum:
        problems.append(
            gettext("Its evidence level %(level)s is below the minimum %(minimum)s.")
            % {"level": case.evidence_level, "minimum": minimum}
        )
    return problems
