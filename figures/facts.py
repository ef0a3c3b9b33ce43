"""The facts of a case, read off a document of the published shape (figures.models).

``facts_of`` is pure: a document in (as ``api.public.CaseSerializer`` writes it, parsed from
its JSON text, or the few of its keys that ``figures.staff`` reads off the live records), the
values the statistics count out. ``write`` stores them: for snapshots just written
(``snapshots.writer`` calls it in the same transaction, so the statistics and the published
documents never disagree), or for any case (``figures.staff``, into ``CaseFacts``).
"""

import datetime
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

from cases.models import (
    DETENTION_STARTS,
    HELD_AT,
    Charge,
    ChargeBasis,
    EventKind,
    Location,
    LocationKind,
)
from figures import cache, sentences, tally
from figures.models import (
    ChargesState,
    PlaceRole,
    Precision,
    PublishedFactCharge,
    PublishedFactPlace,
    PublishedFacts,
    Tally,
)

# The levels the statistics break places down by.
COUNTED_LEVELS = {LocationKind.PREFECTURE, LocationKind.COUNTY}


@dataclass
class Facts:
    values: dict
    charges: set[str] = field(default_factory=set)  # charge uids
    places: set[tuple[str, str]] = field(default_factory=set)  # (role, place uid)


def day(value: str | datetime.date | None) -> datetime.date | None:
    if isinstance(value, datetime.date) or value is None:
        return value
    return datetime.date.fromisoformat(value) if value else None


def bounds(date: dict | None) -> tuple[datetime.date | None, datetime.date | None]:
    if not date:
        return None, None
    return day(date.get("earliest")), day(date.get("latest"))


def first(events: list[dict]) -> tuple[datetime.date | None, datetime.date | None] | None:
    """When the first of ``events`` happened: no earlier than the earliest earliest day, no
    later than the earliest latest day. None if none is dated; an open start (one event
    without an earliest day) leaves the earliest unknown, an open end every latest."""
    dated = [bounds(event.get("date")) for event in events if event.get("date")]
    if not dated:
        return None
    earliest = None if any(low is None for low, _ in dated) else min(low for low, _ in dated)
    latests = [high for _, high in dated if high is not None]
    return earliest, min(latests) if latests else None


def years_between(start: datetime.date, end: datetime.date) -> int:
    """Whole years from ``start`` to ``end`` (an age)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def facts_of(document: dict) -> Facts:
    person = document.get("person") or {}
    events = document.get("events") or []
    values = {
        "status": document.get("status") or "",
        "evidence_level": document.get("evidence_level"),
        "ethnicity": person.get("ethnicity") or "",
        "gender": person.get("gender") or "",
    }
    detained = first([event for event in events if event.get("kind") in DETENTION_STARTS])
    det_low, det_high = detained if detained else (None, None)
    values |= {
        "detained_earliest": det_low,
        "detained_latest": det_high,
        "detained_year_low": det_low.year if det_low else None,
        "detained_year_high": det_high.year if det_high else None,
    }
    if det_low is None:
        # Not known from when: the first detention has no year, only (perhaps) an end.
        values |= {"detained_latest": None, "detained_year_high": None}
        det_high = None
    # Bounds of the age and of the days until the family was told: a bound that cannot be
    # known (an open end) is None, and the statistics count such a case as too uncertain
    # for one band, never as unknown; both None when there is nothing to go on.
    birth_low, birth_high = bounds(person.get("birth_date"))
    values["age_low"] = values["age_high"] = None
    if det_low and birth_low and birth_high:
        values["age_low"] = max(0, years_between(birth_high, det_low))
        if det_high:
            values["age_high"] = max(0, years_between(birth_low, det_high))
    told = [e for e in events if e.get("kind") == EventKind.FAMILY_NOTIFIED]
    notified = first(told)
    values["notified_low"] = values["notified_high"] = None
    if det_low and told:
        told_low, told_high = notified or (None, None)
        longest = (told_high - det_low).days if told_high else None
        shortest = (told_low - det_high).days if told_low and det_high else 0
        if longest is not None and longest < 0:
            # Told before any day the detention may have begun: the dates disagree, so the
            # delay is counted as too uncertain, not as a family never told.
            longest = None
        values["notified_low"], values["notified_high"] = max(0, shortest), longest
    values |= sentence_of(events)
    values["charges_state"] = ChargesState.NOT_STATED
    facts = Facts(values)
    for event in events:
        uids = {charge["uid"] for charge in event.get("charges") or []}
        facts.charges |= uids
        if not uids and event.get("charge_basis") == ChargeBasis.NONE:
            values["charges_state"] = ChargesState.NONE_DISCLOSED
        if event.get("kind") in HELD_AT:
            for place in (event.get("location"), event.get("facility")):
                if place:
                    facts.places.add((PlaceRole.DETENTION, place["uid"]))
    if facts.charges:
        values["charges_state"] = ChargesState.NAMED
    origin = person.get("place_of_origin")
    if origin:
        facts.places.add((PlaceRole.ORIGIN, origin["uid"]))
    return facts


def sentence_of(events: list[dict]) -> dict:
    """The last sentence passed: of the sentenced events with a sentence written, the one
    dated latest (undated ones count as before the dated ones, in the document's order)."""
    given = [
        (bounds(event.get("date"))[0] or datetime.date.min, index, event["sentence"])
        for index, event in enumerate(events)
        if event.get("kind") == EventKind.SENTENCED and (event.get("sentence") or "").strip()
    ]
    if not given:
        return {"sentence_kind": "", "sentence_months": None}
    sentence = sentences.parse_sentence(max(given)[2])
    return {"sentence_kind": sentence.kind, "sentence_months": sentence.months}


# What write() writes and reads; a migration gives its historical models instead. ``tally``
# and ``scope``: where the counts of these facts are kept (figures.tally), when they are.
MODELS = SimpleNamespace(
    facts=PublishedFacts,
    charge=PublishedFactCharge,
    place=PublishedFactPlace,
    location=Location,
    charge_of=Charge,
    tally=Tally,
    scope=cache.PUBLISHED,
)


def write(
    documents: Iterable[tuple[int, str | dict]], models=None, extra: dict | None = None
) -> int:
    """Store the facts of these documents (case id, document as text or parsed), replacing
    any stored: the published facts unless ``models`` says other (the staff's, or the
    migration's historical models); ``extra`` adds each case's values of columns the
    document does not give (case id: {column: value})."""
    m = models or MODELS
    read = {
        case_id: facts_of(json.loads(document) if isinstance(document, str) else document)
        for case_id, document in documents
    }
    if not read:
        return 0
    key = m.facts._meta.pk.attname  # snapshot_id, case_id
    before = tally.kept(m, read)
    m.facts.objects.filter(**{f"{key}__in": list(read)}).delete()
    charge_uids = {uid for facts in read.values() for uid in facts.charges}
    charge_ids = {
        str(uid): pk
        for uid, pk in m.charge_of.objects.filter(uid__in=charge_uids).values_list("uid", "pk")
    }
    place_uids = {uid for facts in read.values() for _, uid in facts.places}
    paths = dict(m.location.objects.filter(uid__in=place_uids).values_list("uid", "path"))
    # A place and every place it lies in, by the ids in its path, with their levels.
    above = {int(pk) for path in paths.values() for pk in path.strip("/").split("/") if pk}
    kinds = dict(m.location.objects.filter(pk__in=above).values_list("pk", "kind"))
    within = {
        str(uid): [(int(pk), kinds[int(pk)]) for pk in path.strip("/").split("/") if pk]
        for uid, path in paths.items()
    }
    charges, places, rows = [], set(), []
    for case_id, facts in read.items():
        charges += [
            m.charge(facts_id=case_id, charge_id=charge_ids[uid])
            for uid in sorted(facts.charges)
            if uid in charge_ids
        ]
        precision = dict.fromkeys(PlaceRole.values, Precision.NONE)
        for role, uid in facts.places:
            levels = within.get(uid, [])
            if levels:
                precision[role] = max(precision[role], precision_of({k for _, k in levels}))
            places |= {(case_id, role, kind, pk) for pk, kind in levels if kind in COUNTED_LEVELS}
        rows.append(
            m.facts(
                **{key: case_id},
                detention_precision=precision[PlaceRole.DETENTION],
                origin_precision=precision[PlaceRole.ORIGIN],
                **facts.values,
                **(extra or {}).get(case_id, {}),
            )
        )
    m.facts.objects.bulk_create(rows)
    m.charge.objects.bulk_create(charges)
    m.place.objects.bulk_create(
        m.place(facts_id=case_id, role=role, kind=kind, location_id=pk)
        for case_id, role, kind, pk in sorted(places)
    )
    if tally.keeps(m):
        named, at = defaultdict(list), defaultdict(list)
        for charge in charges:
            named[charge.facts_id].append(charge.charge_id)
        for case_id, role, kind, pk in places:
            at[case_id].append((role, kind, pk))
        columns = [key, *tally.columns_of(m)]
        values = ({column: getattr(r, column) for column in columns} for r in rows)
        tally.change(m, before, tally.counted(m, values, named, at))
    return len(read)


def remove(keys: Iterable, models=None) -> int:
    """Delete the facts of ``keys`` (snapshot or case ids), their charges and places, and
    take them out of the kept counts."""
    m = models or MODELS
    keys = list(keys)
    if not keys:
        return 0
    before = tally.kept(m, keys)
    m.charge.objects.filter(facts_id__in=keys).delete()
    m.place.objects.filter(facts_id__in=keys).delete()
    removed, _ = m.facts.objects.filter(**{f"{m.facts._meta.pk.attname}__in": keys}).delete()
    tally.change(m, before, Counter())
    return removed


def precision_of(levels: set[str]) -> int:
    """How precisely a place is known, from the levels of it and the places it lies in."""
    if LocationKind.COUNTY in levels:
        return Precision.COUNTY
    if LocationKind.PREFECTURE in levels:
        return Precision.PREFECTURE
    return Precision.ABOVE_PREFECTURE


def unlink(models=None, **link) -> int:
    """Before a charge or a place is deleted (``charge=pk`` or ``location=pk``): the facts'
    rows naming it go, out of the kept counts; the facts of the cases that named it are
    written again after, by the deletion's own signals."""
    m = models or MODELS
    rows = (m.charge if "charge" in link else m.place).objects.filter(**link)
    keys = sorted(set(rows.values_list("facts_id", flat=True)))
    before = tally.kept(m, keys)
    removed, _ = rows.delete()
    tally.change(m, before, tally.kept(m, keys))
    return removed
