"""A change to a citation or to a cited source of a verified case sends it back to review."""

from django.db.models import Q
from django.dispatch import receiver

from cases.models import Case
from cases.signals import reopen_cases
from casetracker.audit import records_changed
from sources.models import Citation, Source


@receiver(records_changed, sender=Citation)
def citation_changed(sender, instances, **kwargs):
    case_ids = {c.case_id for c in instances} - {None}
    event_ids = {c.event_id for c in instances} - {None}
    person_ids = {c.person_id for c in instances} - {None}
    cited = Q(pk__in=case_ids) | Q(events__pk__in=event_ids) | Q(person_id__in=person_ids)
    reopen_cases(Case.objects.filter(cited, review_state="verified").distinct(), "A citation")


@receiver(records_changed, sender=Source)
def source_changed(sender, instances, history_type, **kwargs):
    # What a verified case rests on changed (kind, publisher, author, access...).
    citations = Citation.objects.filter(source__in=[s.pk for s in instances if s.pk])
    citation_changed(Citation, list(citations), history_type=history_type)
