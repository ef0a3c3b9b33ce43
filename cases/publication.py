"""Keeps the record of which cases partners may see, and since when (PublicationRecord).

``sync()`` runs after every write that can move a case in or out of
``Case.objects.published()``: a workflow step, an edit to the case, a change of the person's
consent. It compares the case with its open record and opens or closes one, then has the
case's published snapshot written again or removed (``synced``).
"""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from cases.models import Case, PublicationRecord

# Sent by sync() with every case it looked at, once their records are kept: the published
# snapshots (snapshots.writer) are written again or removed from it, in the same transaction.
synced = Signal()


@transaction.atomic
def sync(case_ids: Iterable[int]) -> None:
    case_ids = set(case_ids)
    if not case_ids:
        return
    published = set(Case.objects.published().filter(pk__in=case_ids).values_list("pk", flat=True))
    open_records = {
        record.case_id: record
        for record in PublicationRecord.objects.select_for_update().filter(
            case_id__in=case_ids, withdrawn_at__isnull=True
        )
    }
    now = timezone.now()
    for case_id in published - open_records.keys():
        PublicationRecord.objects.create(case_id=case_id, published_at=now)
    withdrawn = [record.pk for case_id, record in open_records.items() if case_id not in published]
    PublicationRecord.objects.filter(pk__in=withdrawn).update(withdrawn_at=now)
    synced.send(sender=PublicationRecord, case_ids=case_ids)


def withdrawn_since(since):
    """Cases that left the published set at or after ``since`` and are not back in it."""
    return (
        PublicationRecord.objects.filter(withdrawn_at__gte=since)
        .exclude(case__in=Case.objects.published())
        .select_related("case")
        .order_by("withdrawn_at", "pk")
    )
