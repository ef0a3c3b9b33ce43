"""What a case still needs, for the readiness panel on the case page and the workflow pages.

Built only from the rules the workflow services apply (cases.services): a step shown as
possible here is one the service would take, and a step it would refuse is shown disabled with
the service's own reasons. No rule is written twice.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext, gettext_lazy, ngettext

from cases import services
from cases.models import PUBLISHABLE_CONSENT, Case, EvidenceLevel, ReviewState, TransitionAction

OK, WARNING, ERROR = "success", "warning", "error"

# The permission that offers each step, and its label.
STEPS = {
    TransitionAction.SUBMIT: ("cases.change_case", gettext_lazy("Submit for review")),
    TransitionAction.REQUEST_CHANGES: ("cases.verify_case", gettext_lazy("Request changes")),
    TransitionAction.VERIFY: ("cases.verify_case", gettext_lazy("Verify")),
    TransitionAction.PUBLISH: ("cases.publish_case", gettext_lazy("Publish")),
    TransitionAction.UNPUBLISH: ("cases.publish_case", gettext_lazy("Unpublish")),
    TransitionAction.ARCHIVE: ("cases.archive_case", gettext_lazy("Archive")),
}


@dataclass
class Check:
    level: str  # OK, WARNING or ERROR: the admin's message classes
    text: str


@dataclass
class Step:
    action: str
    label: str
    problems: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.problems


@dataclass
class Readiness:
    checks: list[Check]
    steps: list[Step]

    def step(self, action: str) -> Step | None:
        return next((step for step in self.steps if step.action == action), None)


def steps_for(case: Case, user) -> list[Step]:
    """The workflow steps the case's state offers and the user may take, each with the reasons
    the service would refuse it now."""
    return [
        Step(action, str(STEPS[action][1]), services.step_problems(case, user, action))
        for action in services.actions_for(case)
        if user.has_perm(STEPS[action][0])
    ]


def citation_checks(case: Case) -> list[Check]:
    events = case.events.annotate(cited=Count("citations")).order_by("date_earliest", "pk")
    checks = []
    for event in events:
        if event.cited:
            # English keeps "citation(s)" in both forms; the catalogues give each its plurals.
            text = ngettext(
                "%(event)s: %(count)d citation(s).",
                "%(event)s: %(count)d citation(s).",
                event.cited,
            ) % {"event": event, "count": event.cited}
            checks.append(Check(OK, text))
        else:
            checks.append(
                Check(
                    ERROR, gettext("%(event)s: no citation yet — cite a source.") % {"event": event}
                )
            )
    if not checks:
        checks.append(Check(WARNING, gettext("No events yet: add what happened, with its date.")))
    return checks


def evidence_check(case: Case) -> Check:
    minimum = settings.MIN_PUBLISH_EVIDENCE_LEVEL
    if case.review_state == ReviewState.VERIFIED or case.is_published:
        level = case.evidence_level
        what = gettext("Evidence level confirmed by the verifier: %(level)s.")
    else:
        level = services.suggest_evidence_level(case)
        what = gettext("Evidence level the citations support: %(level)s.")
    if level is None:
        return Check(ERROR, gettext("No source is cited yet: the evidence level is unknown."))
    text = what % {"level": EvidenceLevel(level).label}
    if level < minimum:
        text += " " + gettext(
            "Publishing needs at least %(minimum)s: add a first-hand testimony, a second "
            "independent source or an official document first."
        ) % {"minimum": EvidenceLevel(minimum).label}
        return Check(WARNING, text)
    return Check(OK, text)


def consent_check(case: Case) -> Check:
    person = case.person
    consent = person.get_consent_display()
    if person.consent in PUBLISHABLE_CONSENT:
        return Check(OK, gettext("Consent: %(consent)s.") % {"consent": consent})
    return Check(
        WARNING,
        gettext(
            "Consent: %(consent)s. Publishing needs consent granted, or the case already public "
            "record."
        )
        % {"consent": consent},
    )


def readiness(case: Case, user) -> Readiness:
    """The case's readiness, as ``user`` sees it: what it has, what it lacks, and each step
    they may take with the reasons it would be refused."""
    checks = citation_checks(case)
    checks.append(evidence_check(case))
    checks.append(consent_check(case))
    if case.sensitive:
        checks.append(
            Check(WARNING, gettext("Marked sensitive (need to know): it cannot be published."))
        )
    steps = steps_for(case, user)
    verify = next((s for s in steps if s.action == TransitionAction.VERIFY), None)
    if verify is not None:
        try:
            services.check_four_eyes(case, user)
        except services.TransitionRefused as refusal:
            checks.append(Check(ERROR, str(refusal)))
        else:
            checks.append(
                Check(
                    OK,
                    gettext(
                        "Four eyes: you did not create or change this case since it was "
                        "submitted, and no account of yours is tied to an account of someone "
                        "who did."
                    ),
                )
            )
    return Readiness(checks=checks, steps=steps)


def step_checks(case: Case, user, action: str) -> list[Check]:
    """What the page of one step shows before the user confirms it: only the rules of that
    step (publishing has no four-eyes rule: it is not shown there)."""
    problems = services.step_problems(case, user, action)
    checks = [Check(ERROR, problem) for problem in problems]
    if action == TransitionAction.VERIFY:
        if not problems:
            checks.append(Check(OK, gettext("Four eyes, citations: nothing stands in the way.")))
        checks.append(evidence_check(case))
        checks.append(consent_check(case))
    elif action == TransitionAction.PUBLISH and not problems:
        checks.append(Check(OK, gettext("Verified, consent given, evidence level sufficient.")))
    elif action == TransitionAction.SUBMIT and not problems:
        checks.append(Check(OK, gettext("Every event is cited.")))
        checks.append(evidence_check(case))
    return checks
