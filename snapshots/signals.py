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
from django.db.models.signals import m2m_changed, post_migrate, pre_delete, pre_save
from django.dispatch import receiver

from cases import publication
from cases.models import Case, Charge, DetentionEvent, Incident, Location
from casetracker.audit import records_changed
from people.models import Organisation, PersonName
from snapshots import writer
from snapshots.models import PublishedCase
from sources.models import Citation, Source


@receiver(publication.synced)
def cases_synced(sender, case_ids, **kwargs):
    writer.refresh(case_ids)


def stored_cases(*conditions: Q) -> set[int]:
    """The cases whose stored snapshots any of ``conditions`` (on PublishedCase) picks: one
    query each, rather than one query joining every path."""
    ids: set[int] = set()
    for condition in conditions:
        ids.update(PublishedCase.objects.filter(condition).values_list("case_id", flat=True))
    return ids


def refresh_naming(*conditions: Q) -> None:
    writer.refresh(stored_cases(*conditions))


def _pks(instances) -> list[int]:
    return [instance.pk for instance in instances if instance.pk is not None]


# A record moved to another case, event or person leaves the one it belonged to: the links
# it had before a save are read first (pre_save), and both sides' snapshots written again.
LINKS = {
    DetentionEvent: ("case_id",),
    PersonName: ("person_id",),
    Citation: ("case_id", "event_id", "person_id"),
}
BEFORE = "_links_before_save"


def remember_links(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    fields = LINKS[sender]
    before = sender._base_manager.filter(pk=instance.pk).values_list(*fields).first()
    setattr(instance, BEFORE, [dict(zip(fields, before, strict=True))] if before else [])


for _model in LINKS:
    pre_save.connect(remember_links, sender=_model, dispatch_uid=f"snapshots-links-{_model}")


def links(instances, field: str) -> set:
    """The values of ``field`` the records have now and had before their save."""
    values = {getattr(instance, field) for instance in instances}
    for instance in instances:
        values |= {old[field] for old in getattr(instance, BEFORE, [])}
    return values - {None}


@receiver(records_changed, sender=DetentionEvent)
def event_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__in=links(instances, "case_id")))


@receiver(records_changed, sender=PersonName)
def name_changed(sender, instances, **kwargs):
    refresh_naming(Q(case__person__in=links(instances, "person_id")))


@receiver(records_changed, sender=Citation)
def citation_changed(sender, instances, **kwargs):
    refresh_naming(
        Q(case__in=links(instances, "case_id")),
        Q(case__events__in=links(instances, "event_id")),
        Q(case__person__in=links(instances, "person_id")),
    )


@receiver(records_changed, sender=Source)
def source_changed(sender, instances, **kwargs):
    ids = _pks(instances)
    refresh_naming(
        Q(case__citations__source__in=ids),
        Q(case__events__citations__source__in=ids),
        Q(case__person__citations__source__in=ids),
        # A held snapshot (a correction in review) shows the sources of the last verified
        # version, which the live citations may no longer name: every held one is checked
        # again (they are few), so that a source made restricted, archived or deleted leaves
        # it at once (writer.hold).
        Q(held_since__isnull=False),
    )


def cases_naming(model, ids, regrouped=()) -> set[int]:
    """The stored snapshots that name these places, charges, incidents or organisations;
    with ``regrouped`` (places moved or made another level), every place inside those too:
    the statistics count a case in the prefecture and county its places lie in
    (figures.facts). A place's save writes the new paths before its signals
    (cases.models.Location), so the places inside are found where they are now."""
    ids = list(ids)
    if regrouped:
        inside = Q()
        for path in Location.objects.filter(pk__in=regrouped).values_list("path", flat=True):
            inside |= Q(path__startswith=path)
        ids += list(Location.objects.filter(inside).values_list("pk", flat=True))
    conditions = {
        Location: [
            Q(case__events__location__in=ids),
            Q(case__events__facility__in=ids),
            Q(case__person__place_of_origin__in=ids),
        ],
        Charge: [Q(case__events__charges__in=ids)],
        Incident: [Q(case__incidents__in=ids)],
        # As an authority of an event, or as the publisher of a cited source.
        Organisation: [
            Q(case__events__authority__in=ids),
            Q(case__citations__source__publisher__in=ids),
            Q(case__events__citations__source__publisher__in=ids),
            Q(case__person__citations__source__publisher__in=ids),
        ],
    }[model]
    return stored_cases(*conditions)


# Set before a deletion or a removal from the record's side, when the rows that say which
# cases name the record are about to go: the snapshots that named it, to write again after.
NAMED_BY = "_named_by_snapshots"


def named_record_changed(sender, instances, **kwargs):
    regrouped = [i.pk for i in instances if getattr(i, REGROUPED, False)]
    cases = cases_naming(sender, _pks(instances), regrouped)
    for instance in instances:
        cases |= getattr(instance, NAMED_BY, set())
    writer.refresh(cases)


def remember_naming(sender, instance, **kwargs):
    setattr(instance, NAMED_BY, cases_naming(sender, [instance.pk]))


# Set before a place's save when it moves or changes level: the cases of every place inside
# it then count elsewhere in the statistics.
REGROUPED = "_regrouped_for_statistics"


@receiver(pre_save, sender=Location)
def remember_regrouping(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = sender._base_manager.filter(pk=instance.pk).values_list("kind", "parent_id").first()
    setattr(instance, REGROUPED, before != (instance.kind, instance.parent_id))


for _model in (Location, Charge, Incident, Organisation):
    records_changed.connect(named_record_changed, sender=_model, dispatch_uid=f"snapshots-{_model}")
    # A deletion takes the relation rows with it (without a signal of their own).
    pre_delete.connect(remember_naming, sender=_model, dispatch_uid=f"snapshots-del-{_model}")


@receiver(m2m_changed, sender=DetentionEvent.charges.through)
@receiver(m2m_changed, sender=Case.incidents.through)
def relation_changed(sender, instance, action, reverse, **kwargs):
    """A charge's events or an incident's cases changed from the charge's or incident's side
    (from the event's or the case's side, its own change rewrites its snapshot)."""
    if not reverse:
        return
    if action in ("pre_remove", "pre_clear"):
        remember_naming(type(instance), instance)
    elif action in ("post_add", "post_remove", "post_clear"):
        cases = cases_naming(type(instance), [instance.pk]) | getattr(instance, NAMED_BY, set())
        writer.refresh(cases)


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
