"""Keeps the record of which cases partners may see, and since when (PublicationRecord).

``sync()`` runs after every write that can move a case in or out of what partners see: a
workflow step, an edit to the case, a change of the person's consent. It has the case's
published snapshot written again, held or removed (``synced``: snapshots.writer, which decides
what partners see), and the writer then opens or closes the case's record (``record()``).
"""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from cases.models import PublicationRecord

# Sent by sync() with every case it looked at: the published snapshots (snapshots.writer) are
# written again, held or removed from it, in the same transaction, and their records kept.
synced = Signal()


@transaction.atomic
def sync(case_ids: Iterable[int]) -> None:
    case_ids = set(case_ids)
    if case_ids:
        synced.send(sender=PublicationRecord, case_ids=case_ids)


@transaction.atomic
def record(case_ids: Iterable[int], visible: Iterable[int]) -> None:
    """Open a record for each of ``case_ids`` that partners now see (``visible``) and has
    none open; close the open record of each that they no longer see."""
    case_ids, visible = set(case_ids), set(visible)
    open_records = {
        record.case_id: record
        for record in PublicationRecord.objects.select_for_update().filter(
            case_id__in=case_ids, withdrawn_at__isnull=True
        )
    }
    now = timezone.now()
    PublicationRecord.objects.bulk_create(
        PublicationRecord(case_id=case_id, published_at=now)
        for case_id in sorted((visible & case_ids) - open_records.keys())
    )
    withdrawn = [record.pk for case_id, record in open_records.items() if case_id not in visible]
    PublicationRecord.objects.filter(pk__in=withdrawn).update(withdrawn_at=now)


def withdrawn_since(since):
    """Cases that left what partners see at or after ``since`` and are not back in it (a case
    partners see has a published snapshot)."""
    return (
        PublicationRecord.objects.filter(withdrawn_at__gte=since)
        .exclude(case__snapshot__isnull=False)
        .select_related("case")
        .order_by("withdrawn_at", "pk")
    )
