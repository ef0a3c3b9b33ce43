"""Keeping the published snapshots current (snapshots.writer), in the transaction of each
write that changes what partners see:

- cases.publication.sync (after every write to a case, its person, events, names, citations
  or sources, and every workflow step) names the cases it looked at: each is written again or
  removed;
- a change to anything else a stored document shows rewrites the snapshots that show it:
  events, names, citations and sources (whose edits send a verified case back to review,
  but not every write does: cases.services' own writes, and a source taken away from
  partners must leave the documents at once whatever the case's state), and places,
  charges, organisations and incidents (whose edits never send a case back to review).
"""

from django.db.models import Q
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from cases import publication
from cases.models import Charge, DetentionEvent, Incident, Location
from casetracker.audit import records_changed
from people.models import Organisation, PersonName
from snapshots import writer
from snapshots.models import PublishedCase
from sources.models import Citation, Source


@receiver(publication.synced)
def cases_synced(sender, case_ids, **kwargs):
    writer.refresh(case_ids)


def refresh_naming(*conditions: Q) -> None:
    """Rewrite the stored snapshots that any of ``conditions`` (on PublishedCase) picks: one
    query each, rather than one query joining every path."""
    ids: set[int] = set()
    for condition in conditions:
        ids.update(PublishedCase.objects.filter(condition).values_list("case_id", flat=True))
    writer.refresh(ids)


def _pks(instances) -> list[int]:
    return [instance.pk for instance in instances if instance.pk is not None]


@receiver(records_changed, sender=DetentionEvent)
def event_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__in={event.case_id for event in instances}))


@receiver(records_changed, sender=PersonName)
def name_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__person__in={name.person_id for name in instances}))


@receiver(records_changed, sender=Citation)
def citation_changed(sender, instances, **kwargs):
    refresh_naming(
        Q(case__in={c.case_id for c in instances} - {None}),
        Q(case__events__in={c.event_id for c in instances} - {None}),
        Q(case__person__in={c.person_id for c in instances} - {None}),
    )


@receiver(records_changed, sender=Source)
def source_changed(sender, instances, **kwargs):
    ids = _pks(instances)
    refresh_naming(
        Q(case__citations__source__in=ids),
        Q(case__events__citations__source__in=ids),
        Q(case__person__citations__source__in=ids),
    )


@receiver(records_changed, sender=Location)
def place_changed(sender, instances, **kwargs):
    ids = _pks(instances)
    refresh_naming(
        Q(case__events__location__in=ids),
        Q(case__events__facility__in=ids),
        Q(case__person__place_of_origin__in=ids),
    )


@receiver(records_changed, sender=Charge)
def charge_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__events__charges__in=_pks(instances)))


@receiver(records_changed, sender=Incident)
def incident_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__incidents__in=_pks(instances)))


@receiver(records_changed, sender=Organisation)
def organisation_changed(sender, instances, **kwargs):
    ids = _pks(instances)
    # As an authority of an event, or as the publisher of a cited source.
    refresh_naming(
        Q(case__events__authority__in=ids),
        Q(case__citations__source__publisher__in=ids),
        Q(case__events__citations__source__publisher__in=ids),
        Q(case__person__citations__source__publisher__in=ids),
    )


@receiver(post_migrate)
def rewrite_when_stale(sender, app_config, using, **kwargs):
    """After migrate: every snapshot written again if the allow-list or the publication
    settings changed since they were written (or they never were)."""
    if app_config.label != "snapshots" or using != "default":
        return
    if writer.is_current():
        return
    stdout = kwargs.get("stdout")
    result = writer.rebuild()
    if stdout is not None and kwargs.get("verbosity", 1) >= 1 and result["written"]:
        stdout.write(f"  Published snapshots written again: {result['written']}.\n")
