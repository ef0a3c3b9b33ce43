"""Writes the published snapshots (snapshots.models.PublishedCase): the only code that does.

Which cases partners may see is ``Case.objects.published()``; what they may see of a case is
``api.public``'s allow-list. This module applies both, once per change, and stores the result.
A published case that an edit sent back to review (``Case.objects.in_correction()``) keeps
the snapshot of its last verified version, *held*, until the correction is verified, unless
a source it cites has been taken away from partners meanwhile (``hold``). Whether a case has a
snapshot is whether partners see it: the publication records follow (``publication.record``).

- ``refresh(case_ids)`` after every write that can change a case's public document or move it
  in or out of the published set (cases.publication.sync, and changes to the places, charges,
  organisations and incidents that documents name: snapshots.signals); in the transaction of
  the write, so that a change and its snapshot commit or roll back together;
- the statistics' facts of each document written (figures.facts), with it;
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
from django.dispatch import Signal
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from api import public
from cases import publication
from cases.models import Case, PublicationRecord
from casetracker import integrity
from figures import cache, facts, tally
from snapshots.models import PublishedCase, SnapshotState
from sources.models import Access, Source

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
    "held_since",
    "filters_current",
]

# Addresses are stored as paths: "url":"/api/v1/…". Inside a JSON string a quote is always
# escaped, so this text occurs only where the allow-list writes an address (every address
# field is called "url"; a source's own web address is "link").
ADDRESS = '"url":"/'

# Sent once a write that changed the published snapshots has committed, with ``withdrawn``
# true when a case left the published set (the public website's data download is written
# again, and one holding a withdrawn case is taken down at once: website.downloads).
published_changed = Signal()


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
def refresh(case_ids: Iterable[int], hold_corrections: bool = True, *, lock: bool = True) -> int:
    """Rewrite the snapshots of ``case_ids``: stored for the published ones, held for those
    in correction (unless ``hold_corrections`` is off, or the held documents were written
    under other rules: ``is_current``), removed for the others; then their publication
    records. Returns how many are stored.

    ``lock=False`` renders without the audit chain's lock, so that audited writes elsewhere
    go on meanwhile. Only for cases that nothing else can be changing: generate_synthetic's
    batch, just written by the same process. Anywhere else a write committed during the
    rendering could have its fresh snapshot overwritten by an older one."""
    return len(_refresh(case_ids, hold_corrections, lock=lock)[0])


def _refresh(
    case_ids: Iterable[int], hold_corrections: bool = True, *, lock: bool = True
) -> tuple[set, set]:
    """refresh(): the cases stored (rendered now) and the cases partners see after it."""
    ids = sorted(set(case_ids))
    stored: set[int] = set()
    visible: set[int] = set()
    if not ids:
        return stored, visible
    # The audit chain's lock (held by every audited write until it commits) before reading:
    # a write that commits while a rebuild renders would otherwise have its own fresh
    # snapshot overwritten by the rebuild's, rendered before it (a source just made
    # confidential, back in a document).
    if lock:
        integrity.lock_chain()
    with tally.batched():  # the statistics' counts changed once, at the end
        changed, withdrawn = _write(ids, hold_corrections, stored, visible)
    if changed:
        # The statistics cached for partners were counted before this write (figures.cache).
        transaction.on_commit(lambda: cache.bump(cache.PUBLISHED))
        transaction.on_commit(lambda: published_changed.send(sender=None, withdrawn=withdrawn))
    return stored, visible


def _write(ids: list[int], hold_corrections: bool, stored: set, visible: set) -> tuple[bool, bool]:
    """_refresh()'s writes, a chunk of cases at a time: whether any snapshot changed, and
    whether any was removed (a case left the published set)."""
    changed = withdrawn = False
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = rendered(chunk)
        kept = {row.case_id for row in rows}
        held = hold(set(chunk) - kept) if hold_corrections else set()
        # Only the keys are read to delete (not the documents, which would be decrypted),
        # the statistics' facts first (out of their kept counts).
        gone = PublishedCase.objects.filter(case_id__in=chunk).exclude(case_id__in=kept | held)
        facts.remove(gone.values_list("pk", flat=True))
        removed, _ = gone.only("case").delete()
        changed = changed or bool(rows or held or removed)
        withdrawn = withdrawn or bool(removed)
        PublishedCase.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["case"], update_fields=FIELDS
        )
        # The statistics' facts of the documents just written; a held one's again from its
        # stored document (the places it names may have moved in the gazetteer).
        facts.write((row.case_id, row.document) for row in rows)
        facts.write(PublishedCase.objects.filter(case_id__in=held).values_list("pk", "document"))
        publication.record(chunk, kept | held)
        stored |= kept
        visible |= kept | held
    return changed, withdrawn


def facets(document: dict) -> str:
    """What of a document the filters that read the live records look at (names, events'
    kind, date, places and charges, incidents, the place of origin), in one comparable
    text."""
    person = document.get("person") or {}
    events = [
        [
            event.get("kind"),
            event.get("date"),
            (event.get("location") or {}).get("uid"),
            (event.get("facility") or {}).get("uid"),
            sorted(charge.get("uid") for charge in event.get("charges") or []),
        ]
        for event in document.get("events") or []
    ]
    basis = {
        "names": sorted(name.get("name") for name in person.get("names") or []),
        "events": sorted(events, key=lambda event: json.dumps(event, sort_keys=True)),
        "incidents": sorted(incident.get("uid") for incident in document.get("incidents") or []),
        "origin": (person.get("place_of_origin") or {}).get("uid"),
    }
    return json.dumps(basis, sort_keys=True)


def hold(case_ids: set[int]) -> set[int]:
    """Of ``case_ids``, the cases in correction whose stored snapshot stays (the ones
    returned); each is marked held, and whether the live records that filters read still
    say what it shows (``filters_current``: if not, those filters leave the case out, so
    that no filter answers from content not yet verified). Not kept, so that the case
    leaves partners until verified: a held snapshot citing a source no longer public,
    archived or deleted; one showing another person than the case's now; and every one
    while the snapshots were written under other rules (``is_current``)."""
    if not case_ids:
        return set()
    correcting = Case.objects.in_correction().filter(pk__in=case_ids)
    held = list(PublishedCase.objects.filter(case__in=correcting).only("case_id", "document"))
    if not held or not is_current():
        # Written under another allow-list or other settings: what they show may no longer
        # be public, and they cannot be written again without the unverified correction.
        return set()
    documents = {row.case_id: json.loads(row.document) for row in held}
    cited = {
        source["uid"] for document in documents.values() for source in document.get("sources") or []
    }
    public_sources = {
        str(uid)
        for uid in Source.objects.filter(
            uid__in=cited, access=Access.PUBLIC, archived_at__isnull=True
        ).values_list("uid", flat=True)
    }
    serializer = public.CaseSerializer(context={})
    live, people = {}, {}
    for case in public.case_queryset(correcting.filter(pk__in=documents)):
        live[case.pk] = facets(json.loads(document_text(serializer.to_representation(case))))
        people[case.pk] = str(case.person.uid)
    now = timezone.now()
    kept: dict[bool, list[int]] = {True: [], False: []}
    for case_id, document in documents.items():
        sources = {source["uid"] for source in document.get("sources") or []}
        # The person it shows is still the case's (whose consent in_correction() checks):
        # a case moved to another person no longer shows the first one's details.
        same_person = (document.get("person") or {}).get("uid") == people.get(case_id)
        if sources <= public_sources and same_person:
            kept[facets(document) == live.get(case_id)].append(case_id)
    for current, ids in kept.items():
        PublishedCase.objects.filter(case_id__in=ids).update(filters_current=current)
    PublishedCase.objects.filter(case_id__in=kept[True] + kept[False], held_since=None).update(
        held_since=now
    )
    return set(kept[True] + kept[False])


def rebuild(progress: Callable[[int], Callable[[int], None]] | None = None) -> dict[str, int]:
    """Every snapshot again from the live data, a chunk at a time (each its own transaction,
    so that a rebuild of millions neither holds one long transaction nor starts over after an
    interruption), with the publication records; then the cases no longer published are
    withdrawn, and the fingerprint stored. Held snapshots (cases in correction) stay while
    the fingerprint is unchanged; written under another allow-list or other settings, they
    cannot be rendered again without the unverified correction, so they go.
    ``progress(total)`` returns a function called with each chunk's size."""
    hold_corrections, dropped = is_current(), set()
    if not hold_corrections:
        # Held documents written under other rules go first, before anything else is read.
        held = set(
            PublishedCase.objects.filter(held_since__isnull=False).values_list("pk", flat=True)
        )
        with transaction.atomic():
            dropped = held - _refresh(held, hold_corrections=False)[1]
    published = Case.objects.published().order_by("pk").values_list("pk", flat=True)
    advance = progress(published.count()) if progress else (lambda size: None)
    written, last = 0, 0
    while True:
        chunk = list(published.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            break
        refresh(chunk)
        written += len(chunk)
        advance(len(chunk))
        last = chunk[-1]
    with transaction.atomic():
        live = Case.objects.published()
        stale = set(PublishedCase.objects.exclude(case__in=live).values_list("pk", flat=True))
        still_open = PublicationRecord.objects.filter(withdrawn_at__isnull=True).exclude(
            case__in=live
        )
        _stored, visible = _refresh(
            stale | set(still_open.values_list("case_id", flat=True)),
            hold_corrections=hold_corrections,
        )
        removed = len(dropped) + len(stale - visible)
        SnapshotState.objects.all().delete()
        SnapshotState.objects.create(fingerprint=fingerprint(), written_at=timezone.now())
    if connection.vendor == "postgresql":
        # Statistics of the rewritten table at once: without them PostgreSQL takes the
        # filters' columns for independent and rare, and sorts every match instead of
        # walking the list's index (a filtered page of 50: 90 ms instead of under 1).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PublishedCase._meta.db_table}")
    return {"written": written, "removed": removed}


def is_current() -> bool:
    """Whether the snapshots were written under today's allow-list and settings."""
    state = SnapshotState.objects.order_by("-written_at").first()
    return state is not None and state.fingerprint == fingerprint()
