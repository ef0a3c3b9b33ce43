"""Writes the published snapshots (snapshots.models.PublishedCase): the only code that does.

Which cases partners may see is ``Case.objects.published()``; what they may see of a case is
``api.public``'s allow-list. This module applies both, once per change, and stores the result:

- ``refresh(case_ids)`` after every write that can change a case's public document or move it
  in or out of the published set (cases.publication.sync, and changes to the places, charges,
  organisations and incidents that documents name: snapshots.signals); in the transaction of
  the write, so that a change and its snapshot commit or roll back together;
- ``rebuild()`` from the live data, by the ``rebuild_snapshots`` command and by ``migrate``
  when the allow-list or the publication settings changed (``fingerprint()``).

Partner outputs read the stored documents and write their text out (``absolute``), never
serialising a case per request.
"""

import hashlib
import json
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from api import public
from cases import publication
from cases.models import Case, PublicationRecord
from casetracker import integrity
from snapshots.models import PublishedCase, SnapshotState

# Cases rendered per query round (and under SQLite's limit on query parameters).
CHUNK = 500

# Raised by hand when the document changes in a way its field names do not show (a value
# written otherwise): migrate then rewrites every snapshot, as it does for a field change.
FORMAT = 1

FIELDS = [
    "uid",
    "reference",
    "updated_at",
    "status",
    "evidence_level",
    "ethnicity",
    "gender",
    "document",
    "written_at",
]

# Addresses are stored as paths: "url":"/api/v1/…". Inside a JSON string a quote is always
# escaped, so this text occurs only where the allow-list writes an address (every address
# field is called "url"; a source's own web address is "link").
ADDRESS = '"url":"/'


def shape(serializer) -> object:
    """The field names of a serializer and of the serializers nested in it."""
    if isinstance(serializer, serializers.ListSerializer):
        return [shape(serializer.child)]
    if isinstance(serializer, serializers.Serializer):
        return {name: shape(field) for name, field in serializer.fields.items()}
    return type(serializer).__name__


def fingerprint() -> str:
    """What the stored documents depend on besides the data: the allow-list's fields and the
    settings that decide the published set."""
    basis = {
        "format": FORMAT,
        "fields": shape(public.CaseSerializer()),
        "min_evidence_level": settings.MIN_PUBLISH_EVIDENCE_LEVEL,
        "synthetic": settings.PUBLISH_SYNTHETIC_DATA,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def document_text(data: dict) -> str:
    """The JSON text of a document, as the API's renderer writes it."""
    return JSONRenderer().render(data).decode()


def absolute(text: str, origin: str) -> str:
    """A stored document (or several, joined) with its addresses from ``origin``
    ("https://example.org"; "" leaves them as paths)."""
    origin = origin.rstrip("/")
    return text.replace(ADDRESS, f'"url":"{origin}/') if origin else text


def rendered(case_ids: list[int]) -> list[PublishedCase]:
    """The snapshots of those of ``case_ids`` that are published, made now."""
    serializer = public.CaseSerializer(context={})  # no request: addresses as paths
    now = timezone.now()
    return [
        PublishedCase(
            case_id=case.pk,
            uid=case.uid,
            reference=case.reference,
            updated_at=case.updated_at,
            status=case.status,
            evidence_level=case.evidence_level,
            ethnicity=case.person.ethnicity,
            gender=case.person.gender,
            document=document_text(serializer.to_representation(case)),
            written_at=now,
        )
        for case in public.case_queryset().filter(pk__in=case_ids)
    ]


@transaction.atomic
def refresh(case_ids: Iterable[int]) -> int:
    """Rewrite the snapshots of ``case_ids``: stored for the published ones, removed for the
    others. Returns how many are stored."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    # The audit chain's lock (held by every audited write until it commits) before reading:
    # a write that commits while a rebuild renders would otherwise have its own fresh
    # snapshot overwritten by the rebuild's, rendered before it (a source just made
    # confidential, back in a document).
    integrity.lock_chain()
    stored = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = rendered(chunk)
        kept = [row.case_id for row in rows]
        PublishedCase.objects.filter(case_id__in=chunk).exclude(case_id__in=kept).delete()
        PublishedCase.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["case"], update_fields=FIELDS
        )
        stored += len(rows)
    return stored


def rebuild(progress: Callable[[int], Callable[[int], None]] | None = None) -> dict[str, int]:
    """Every snapshot again from the live data, a chunk at a time (each its own transaction,
    so that a rebuild of millions neither holds one long transaction nor starts over after an
    interruption), through cases.publication.sync, so that the publication records follow
    too; then the cases no longer published are withdrawn, and the fingerprint stored.
    ``progress(total)`` returns a function called with each chunk's size."""
    published = Case.objects.published().order_by("pk").values_list("pk", flat=True)
    advance = progress(published.count()) if progress else (lambda size: None)
    written, last = 0, 0
    while True:
        chunk = list(published.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            break
        publication.sync(chunk)  # writes the snapshots (snapshots.signals)
        written += len(chunk)
        advance(len(chunk))
        last = chunk[-1]
    with transaction.atomic():
        live = Case.objects.published()
        stale = set(PublishedCase.objects.exclude(case__in=live).values_list("pk", flat=True))
        still_open = PublicationRecord.objects.filter(withdrawn_at__isnull=True).exclude(
            case__in=live
        )
        publication.sync(stale | set(still_open.values_list("case_id", flat=True)))
        SnapshotState.objects.all().delete()
        SnapshotState.objects.create(fingerprint=fingerprint(), written_at=timezone.now())
    if connection.vendor == "postgresql":
        # Statistics of the rewritten table at once: without them PostgreSQL takes the
        # filters' columns for independent and rare, and sorts every match instead of
        # walking the list's index (a filtered page of 50: 90 ms instead of under 1).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PublishedCase._meta.db_table}")
    return {"written": written, "removed": len(stale)}


def is_current() -> bool:
    """Whether the snapshots were written under today's allow-list and settings."""
    state = SnapshotState.objects.order_by("-written_at").first()
    return state is not None and state.fingerprint == fingerprint()
