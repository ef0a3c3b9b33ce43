"""The staff's statistics: the facts of every case (figures.models.CaseFacts), read off the
live records, and which of them a staff member may count.

- ``refresh(case_ids)`` writes the facts of these cases again (removes those of cases gone),
  in the transaction of the write that changed them (figures.signals: every case the
  publication sync looks at, events changed, places regrouped, charges removed); the
  synthetic generator calls it for each batch it copies in;
- ``rebuild()`` writes every case's facts from the live records (``rebuild_figures``);
- ``counted_for(user)``: the facts a user's statistics count, need to know applied.

The values come from the same ``figures.facts.facts_of`` as the published facts, from a
document of the same shape built here from a few queries per chunk of cases (not the
published allow-list, which would cost a render per case and leave out nothing staff count).
"""

from collections import defaultdict
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cases.models import Case, Charge, DetentionEvent, Location
from figures import cache, facts, tally
from figures.models import CaseFactCharge, CaseFactPlace, CaseFacts, Tally

# Cases read per query round (and under SQLite's limit on query parameters).
CHUNK = 500

# What documents() reads and write() writes; a migration gives its historical models instead.
MODELS = SimpleNamespace(
    facts=CaseFacts,
    charge=CaseFactCharge,
    place=CaseFactPlace,
    location=Location,
    charge_of=Charge,
    case=Case,
    event=DetentionEvent,
    tally=Tally,
    scope=cache.STAFF,
)


def dated(value, earliest, latest) -> dict | None:
    """An EDTF date as the published document gives it."""
    return {"edtf": value, "earliest": earliest, "latest": latest} if value else None


def uid_of(value) -> dict | None:
    return {"uid": str(value)} if value else None


def local_day(moment):
    return timezone.localdate(moment) if moment else None


def documents(case_ids, models=None) -> tuple[dict[int, dict], dict[int, dict]]:
    """For these cases: the keys of their document that ``facts_of`` reads, and the values
    only staff count (``CaseFacts``' own columns)."""
    m = models or MODELS
    cases = m.case.objects.filter(pk__in=case_ids).values(
        "pk",
        "status",
        "evidence_level",
        "review_state",
        "sensitive",
        "archived_at",
        "synthetic",
        "created_at",
        "verified_at",
        "person__ethnicity",
        "person__gender",
        "person__birth_date",
        "person__birth_date_earliest",
        "person__birth_date_latest",
        "person__place_of_origin__uid",
    )
    charges = defaultdict(list)
    through = m.event.charges.through.objects.filter(detentionevent__case_id__in=case_ids)
    for event_id, uid in through.values_list("detentionevent_id", "charge__uid"):
        charges[event_id].append({"uid": str(uid)})
    events = defaultdict(list)
    # In the published document's order (DetentionEvent.Meta.ordering).
    rows = (
        m.event.objects.filter(case_id__in=case_ids)
        .order_by("case_id", F("date_earliest").asc(nulls_last=True), "pk")
        .values(
            "pk",
            "case_id",
            "kind",
            "date",
            "date_earliest",
            "date_latest",
            "location__uid",
            "facility__uid",
            "charge_basis",
            "sentence",
        )
    )
    for event in rows:
        events[event["case_id"]].append(
            {
                "kind": event["kind"],
                "date": dated(event["date"], event["date_earliest"], event["date_latest"]),
                "location": uid_of(event["location__uid"]),
                "facility": uid_of(event["facility__uid"]),
                "charges": charges[event["pk"]],
                "charge_basis": event["charge_basis"],
                "sentence": event["sentence"],
            }
        )
    read, extra = {}, {}
    for case in cases:
        read[case["pk"]] = {
            "status": case["status"],
            "evidence_level": case["evidence_level"],
            "person": {
                "ethnicity": case["person__ethnicity"],
                "gender": case["person__gender"],
                "birth_date": dated(
                    case["person__birth_date"],
                    case["person__birth_date_earliest"],
                    case["person__birth_date_latest"],
                ),
                "place_of_origin": uid_of(case["person__place_of_origin__uid"]),
            },
            "events": events[case["pk"]],
        }
        extra[case["pk"]] = {
            "review_state": case["review_state"],
            "added_on": local_day(case["created_at"]),
            "verified_on": local_day(case["verified_at"]),
            "sensitive": case["sensitive"],
            "archived": case["archived_at"] is not None,
            "synthetic": case["synthetic"],
        }
    return read, extra


def refresh(case_ids, models=None) -> int:
    """Write the facts of these cases again, in one transaction whose counts change once at
    its end (figures.tally.batched); a case that no longer exists leaves none."""
    m = models or MODELS
    ids = sorted(set(case_ids) - {None})
    written = 0
    with tally.batched():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            read, extra = documents(chunk, m)
            facts.remove(set(chunk) - set(read), models=m)
            written += facts.write(read.items(), models=m, extra=extra)
    if ids and models is None:
        # The staff's cached statistics were counted before this write (figures.cache).
        transaction.on_commit(lambda: cache.bump(cache.STAFF))
    return written


def rebuild(progress=None, models=None) -> int:
    """Every case's facts from the live records, a chunk per transaction; ``progress`` is
    called with the number of cases written after each chunk."""
    m = models or MODELS
    last, written = 0, 0
    while True:
        ids = list(
            m.case.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            break
        with transaction.atomic():
            # Facts of cases gone meanwhile are removed (refresh()); those of the chunk are
            # replaced.
            written += refresh(ids, models=models)
        last = ids[-1]
        if progress:
            progress(len(ids))
    return written


def counted_classes(archived: bool = False) -> Q:
    """Which cases count at all, as a condition on the class columns of CaseFacts and Tally:
    not archived unless ``archived``; synthetic ones only in a database made for measuring
    (``PUBLISH_SYNTHETIC_DATA``, as every other output)."""
    condition = Q()
    if not archived:
        condition &= Q(archived=False)
    if not settings.PUBLISH_SYNTHETIC_DATA:
        condition &= Q(synthetic=False)
    return condition


def classes(user, archived: bool = False) -> Q:
    """Of the cases a user's statistics count (counted_for), the classes counted whoever
    reads: the sensitive ones only for whoever is entitled to every one; the others count
    those assigned to them (sensitive_seen())."""
    condition = counted_classes(archived)
    if not user.has_perm("cases.view_sensitive_case"):
        condition &= Q(sensitive=False)
    return condition


# Assigned sensitive cases read by key up to this many (index lookups, whatever the plan);
# beyond, by subquery.
SEEN_BY_KEY = 500


def sensitive_seen(user, archived: bool = False):
    """The facts of the sensitive cases ``user`` may see without being entitled to all of
    them (those assigned to them), of the classes that count; None when there are none, or
    when the user is entitled to every one (classes() holds them then)."""
    if user.has_perm("cases.view_sensitive_case"):
        return None
    # Sensitive cases by the one rule of who sees them (need to know), read from the user's
    # assignments (an index) rather than from every sensitive case.
    assigned = Case.assigned_staff.through.objects.filter(user_id=user.pk).values("case_id")
    seen = Case.objects.filter(sensitive=True, pk__in=assigned).visible_to(user)
    seen = seen.order_by().values_list("pk", flat=True)
    ids = list(seen[: SEEN_BY_KEY + 1])
    if not ids:
        return None
    return CaseFacts.objects.filter(
        counted_classes(archived),
        sensitive=True,
        case_id__in=ids if len(ids) <= SEEN_BY_KEY else seen,
    )


def counted_for(user, archived: bool = False):
    """The facts a user's statistics count: the cases ``Case.objects.visible_to(user)``
    lets them see (need to know: a sensitive case only if assigned or entitled to all), of
    the classes that count (counted_classes())."""
    counted = CaseFacts.objects.filter(classes(user, archived))
    seen = sensitive_seen(user, archived)
    return counted if seen is None else counted | seen
