"""Reactions to writes on case files: an edit to a verified case sends it back to review
(cases.services), and every change that can move a case in or out of the published set
updates its publication record (cases.publication)."""

from django.dispatch import receiver

from cases import publication, services
from cases.models import Case, DetentionEvent
from casetracker.audit import current_user, records_changed
from people.models import Person, PersonName


def reopen_cases(cases, what: str) -> None:
    for case in cases:
        services.reopen_after_edit(case, current_user(), what)


@receiver(records_changed, sender=Case)
def case_changed(sender, instances, history_type, **kwargs):
    if history_type != "-":
        reopen_cases([c for c in instances if c.review_state == "verified"], "The case")


@receiver(records_changed, sender=DetentionEvent)
def event_changed(sender, instances, **kwargs):
    ids = {event.case_id for event in instances}
    reopen_cases(Case.objects.filter(pk__in=ids, review_state="verified"), "An event")


@receiver(records_changed, sender=Person)
def person_changed(sender, instances, **kwargs):
    ids = {person.pk for person in instances}
    reopen_cases(Case.objects.filter(person_id__in=ids, review_state="verified"), "The person")


@receiver(records_changed, sender=PersonName)
def name_changed(sender, instances, **kwargs):
    ids = {name.person_id for name in instances}
    reopen_cases(Case.objects.filter(person_id__in=ids, review_state="verified"), "A name")


# Connected after the reopen receivers above: the publication record sees the final state.
@receiver(records_changed, sender=Case)
def case_publication(sender, instances, **kwargs):
    publication.sync(case.pk for case in instances if case.pk)


@receiver(records_changed, sender=Person)
def person_publication(sender, instances, **kwargs):
    people = [person.pk for person in instances]
    publication.sync(Case.objects.filter(person_id__in=people).values_list("pk", flat=True))
