"""An edit to a verified case file sends the case back to review (cases.services)."""

from django.dispatch import receiver

from cases import services
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
