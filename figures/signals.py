"""Keeping the staff's facts (figures.staff) current, in the transaction of each write that
can change them. The published facts follow the snapshots instead (snapshots.writer).

- a case deleted: its facts with it;
- every case the publication sync looks at (cases.publication.synced: a write to a case or its
  person, every workflow step);
- events written, moved to another case or deleted (an edit to a draft's event syncs nothing);
- a charge's events changed from the charge's side, or a charge deleted;
- places moved in the gazetteer or made another level: the cases naming a place inside them
  count elsewhere by prefecture and county.
"""

from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, pre_delete
from django.dispatch import receiver

from cases import publication
from cases.models import Case, Charge, DetentionEvent, Location
from casetracker.audit import records_changed
from figures import facts, staff
from snapshots.signals import REGROUPED, links


@receiver(publication.synced)
def cases_synced(sender, case_ids, **kwargs):
    staff.refresh(case_ids)


@receiver(post_delete, sender=Case)
def case_deleted(sender, instance, **kwargs):
    """A case's deletion deletes its events first, whose signals write its facts again:
    they go once the case has (foreign keys are checked at commit), by figures.facts.remove,
    which takes them out of the kept counts too (the deletion itself leaves them alone)."""
    facts.remove([instance.pk], models=staff.MODELS)


@receiver(records_changed, sender=DetentionEvent)
def events_changed(sender, instances, **kwargs):
    # The case each event belongs to now and belonged to before its save.
    staff.refresh(links(instances, "case_id"))


def cases_charged(charge_ids) -> set[int]:
    events = DetentionEvent.charges.through.objects.filter(charge_id__in=charge_ids)
    return set(events.values_list("detentionevent__case_id", flat=True))


CHARGED = "_cases_charged_for_statistics"


@receiver(pre_delete, sender=Charge)
def remember_charged(sender, instance, **kwargs):
    """The cases naming a charge about to go (their facts are written again once it has),
    and the facts' rows naming it, out of the kept counts (figures.facts.unlink)."""
    setattr(instance, CHARGED, cases_charged([instance.pk]))
    for models in (facts.MODELS, staff.MODELS):
        facts.unlink(models, charge=instance.pk)


@receiver(pre_delete, sender=Location)
def place_deleted(sender, instance, **kwargs):
    """A place about to go: the facts' rows naming it as a prefecture or county, out of the
    kept counts (a held published document may name a place no live record does)."""
    for models in (facts.MODELS, staff.MODELS):
        facts.unlink(models, location=instance.pk)


@receiver(records_changed, sender=Charge)
def charge_deleted(sender, instances, history_type, **kwargs):
    if history_type == "-":
        staff.refresh(set().union(*(getattr(charge, CHARGED, set()) for charge in instances)))


@receiver(m2m_changed, sender=DetentionEvent.charges.through)
def charge_events_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A charge's events changed from the charge's side (from the event's side, its own
    change writes its case's facts)."""
    if not reverse:
        return
    if action == "pre_clear":
        setattr(instance, CHARGED, cases_charged([instance.pk]))
    elif action in ("post_add", "post_remove"):
        staff.refresh(
            DetentionEvent.objects.filter(pk__in=pk_set or ()).values_list("case_id", flat=True)
        )
    elif action == "post_clear":
        staff.refresh(getattr(instance, CHARGED, set()))


@receiver(records_changed, sender=Location)
def places_regrouped(sender, instances, **kwargs):
    """Places moved or made another level (snapshots.signals.remember_regrouping tells): the
    cases naming a place inside them, as where the person was held or comes from. A place's
    save writes the new paths before its signals, so the places inside are found where they
    are now."""
    inside = Q()
    for place in instances:
        if getattr(place, REGROUPED, False):
            inside |= Q(path__startswith=place.path)
    if not inside:
        return
    places = Location.objects.filter(inside).values("pk")
    held = DetentionEvent.objects.filter(Q(location__in=places) | Q(facility__in=places))
    staff.refresh(
        set(held.values_list("case_id", flat=True))
        | set(Case.objects.filter(person__place_of_origin__in=places).values_list("pk", flat=True))
    )
