"""What the public website shows, read from the published snapshots only (snapshots.models
.PublishedCase: the documents api.public writes from the one allow-list). Nothing here reads
a live case, person or source record: a page can show only what partners may see.

Withdrawn cases (cases.models.PublicationRecord) and merged people (people.models
.PersonAlias) are looked up only to answer 410 Gone with the date, or 301 to the surviving
record: by reference or uid, never listing anything.
"""

import base64
import json
import re
import uuid
from dataclasses import dataclass

from django.db.models import Max, Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from api import public
from cases.models import (
    HELD_AT,
    REFERENCE_PATTERN,
    CaseStatus,
    Charge,
    ChargeBasis,
    DetentionEvent,
    EventKind,
    EvidenceLevel,
    FacilityType,
    Location,
    LocationKind,
    PublicationRecord,
)
from casetracker.edtf import edtf_in_words
from casetracker.text import fold
from figures.models import PlaceRole, PublishedFactCharge, PublishedFactPlace
from languages.services import local_name, name_scripts
from people.matching import search_people
from people.models import Ethnicity, Gender, Person, PersonAlias
from snapshots.models import PublishedCase
from sources.models import SourceKind

PAGE_SIZE = 20


def document(snapshot: PublishedCase) -> dict:
    return json.loads(snapshot.document)


def label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def ordered_names(names: list[dict]) -> list[dict]:
    """Every spelling, the reader's script first (names are never translated)."""
    first = name_scripts()
    return sorted(names, key=lambda n: (n["script"] not in first, not n["preferred"]))


def place_name(place: dict | None) -> str:
    return local_name(place) if place else ""


@dataclass
class CasePage:
    document: dict

    @property
    def person(self) -> dict:
        return self.document["person"]

    def names(self) -> list[dict]:
        return ordered_names(self.person["names"])

    def display_name(self) -> str:
        names = self.names()
        return names[0]["name"] if names else self.person["name"]

    def facts(self) -> list[tuple[str, str]]:
        person = self.person
        rows = [
            (_("Current situation"), label(CaseStatus, self.document["status"])),
            (_("Gender"), label(Gender, person["gender"])),
            (_("Ethnicity"), label(Ethnicity, person["ethnicity"])),
            (
                _("Born"),
                edtf_in_words(person["birth_date"]["edtf"]) if person["birth_date"] else "",
            ),
            (_("From"), place_name(person["place_of_origin"])),
            (_("Occupation"), person["occupation"]),
        ]
        return [(name, value) for name, value in rows if value]

    def events(self) -> list[dict]:
        shown = []
        for event in self.document["events"]:
            shown.append(
                {
                    "kind": label(EventKind, event["kind"]),
                    "date": edtf_in_words(event["date"]["edtf"]) if event["date"] else "",
                    "place": place_name(event["location"]),
                    "place_uid": (event["location"] or {}).get("uid"),
                    "facility": place_name(event["facility"]),
                    "facility_uid": (event["facility"] or {}).get("uid"),
                    "facility_type": label(
                        FacilityType, (event["facility"] or {}).get("facility_type")
                    ),
                    "authority": local_name(event["authority"], "name")
                    if event["authority"]
                    else "",
                    "charges": event["charges"],
                    "charge_basis": label(ChargeBasis, event["charge_basis"])
                    if event["charge_basis"]
                    else "",
                    "sentence": event["sentence"],
                    "description": event["description"],
                }
            )
        return shown

    def origin(self) -> dict | None:
        place = self.person["place_of_origin"]
        return place_link(place) if place else None

    def evidence(self) -> str:
        level = self.document["evidence_level"]
        return label(EvidenceLevel, level) if level else ""

    def verified_at(self):
        value = self.document.get("verified_at")
        return parse_datetime(value) if value else None

    def sources(self) -> list[dict]:
        shown = []
        for source in self.document["sources"]:
            shown.append(
                {
                    "title": source["title"],
                    "kind": label(SourceKind, source["kind"]),
                    "publisher": local_name(source["publisher"], "name")
                    if source["publisher"]
                    else "",
                    "author": source["author"],
                    "published": edtf_in_words(source["published"]["edtf"])
                    if source["published"]
                    else "",
                    "link": source["link"],
                    "archive_url": source["archive_url"],
                    "locators": sorted({c["locator"] for c in source["citations"] if c["locator"]}),
                }
            )
        return shown

    def opinions(self) -> list[dict]:
        return self.document.get("un_opinions") or []


def is_reference(text: str) -> bool:
    """Whether ``text`` is written like a case reference (CT-2024-00017, any case)."""
    return bool(re.fullmatch(REFERENCE_PATTERN, text.upper()))


def published_case(reference: str) -> PublishedCase | None:
    return PublishedCase.objects.filter(reference=reference.upper()).first()


def withdrawn_at(reference: str):
    """When the case of ``reference`` left the published set, if it ever was published and
    is not now; else None."""
    return PublicationRecord.objects.filter(
        case__reference=reference.upper(), withdrawn_at__isnull=False
    ).aggregate(last=Max("withdrawn_at"))["last"]


def person_cases(uid: uuid.UUID) -> list[PublishedCase]:
    """The published cases of the person with this uid (read from the documents' index)."""
    return list(PublishedCase.objects.filter(case__person__uid=uid).order_by("reference"))


def survivor_of(uid: uuid.UUID) -> uuid.UUID | None:
    """The uid of the person that the merged-away ``uid`` became, if that person has a
    published case (as the partner API answers): else nothing, so that a redirect never
    gives out the uid of a person who is not public."""
    alias = (
        PersonAlias.objects.filter(uid=uid)
        .order_by()
        .values_list("person_id", "person__uid")
        .first()
    )
    if alias is None or not PublishedCase.objects.filter(case__person=alias[0]).exists():
        return None
    return alias[1]


def latest(count: int = 10) -> list[PublishedCase]:
    """The cases published or changed last (an index serves it)."""
    return list(PublishedCase.objects.order_by("-updated_at", "-pk")[:count])


def encode_cursor(snapshot: PublishedCase) -> str:
    # The public reference breaks ties, not the internal key (a sequence over every case).
    raw = f"{snapshot.updated_at.isoformat()}|{snapshot.reference}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    """(updated_at, reference) of a cursor, or None for one that is not ours: not base64,
    not "time|reference", a time without its zone, not a reference."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, reference = raw.split("|")
        when = parse_datetime(when)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    if when is None or when.tzinfo is None or not is_reference(reference):
        return None
    return when, reference


def search(query: str, cursor: str = "") -> tuple[list[PublishedCase], str]:
    """Published cases of the people whose name matches ``query`` in any script and
    spelling (people.matching, the partner API's search), newest first, a page at a time:
    (the page, the cursor of the next page or "")."""
    if not fold(query):
        return [], ""  # separators only: nothing to look for (not everyone)
    people = search_people(query, Person.objects.all()).values("pk")
    # A case whose correction is in review shows its last verified version: its live names
    # are not verified yet, and a name added since must not find it (as in the partner API,
    # filters_current).
    found = PublishedCase.objects.filter(case__person__in=people).filter(shown())
    position = decode_cursor(cursor) if cursor else None
    if position:
        when, reference = position
        found = found.filter(Q(updated_at__lt=when) | Q(updated_at=when, reference__lt=reference))
    page = list(found.order_by("-updated_at", "-reference")[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, encode_cursor(page[-1]) if more else ""


# --- Places and charges -------------------------------------------------------------------

# The places whose cases are listed from the statistics' own table (figures.models
# .PublishedFactPlace: the prefecture and the county of every place a published case names):
# one index read, at any scale. Below county level, from the events and the people's places of
# origin; above prefecture level, the page lists the places inside instead.
COUNTED_LEVELS = (LocationKind.PREFECTURE, LocationKind.COUNTY)
BROAD_LEVELS = (LocationKind.COUNTRY, LocationKind.REGION)
HELD, ORIGIN = PlaceRole.DETENTION.value, PlaceRole.ORIGIN.value
MOST_INSIDE = 50


def published_place(uid: uuid.UUID) -> Location | None:
    """The place of ``uid`` if the site shows a published case naming it or a place inside
    it; else None."""
    place = Location.objects.filter(uid=uid).select_related("parent").first()
    return place if place is not None and is_shown(place) else None


def is_shown(place: Location) -> bool:
    """Whether a published document names ``place`` or a place inside it, as the site shows
    the documents: a case whose correction is in review by the document it keeps (the
    statistics' places, written from the documents, and the live records only where they
    still say what the document does: shown()). Three lookups by index, each stopping at the
    first case found."""
    inside = Location.objects.filter(path__startswith=place.path).values("pk")
    if PublishedFactPlace.objects.filter(location__in=inside).exists():
        return True
    cases = PublishedCase.objects.filter(shown())
    return (
        cases.filter(
            case__in=DetentionEvent.objects.filter(location__in=inside).values("case")
        ).exists()
        or cases.filter(
            case__in=DetentionEvent.objects.filter(facility__in=inside).values("case")
        ).exists()
        or cases.filter(case__person__place_of_origin__in=inside).exists()
    )


def published_charge(uid: uuid.UUID) -> Charge | None:
    """The charge of ``uid`` if a published document names it (the statistics' charges,
    written from the documents); else None."""
    charge = Charge.objects.filter(uid=uid).first()
    if charge is None or not PublishedFactCharge.objects.filter(charge=charge).exists():
        return None
    return charge


def place_document(place: Location) -> dict:
    return public.LocationSerializer(place, context={}).data


def charge_document(charge: Charge) -> dict:
    return public.ChargeSerializer(charge, context={}).data


def place_link(document: dict) -> dict:
    return {"uid": document["uid"], "name": place_name(document)}


def place_names(document: dict) -> list[tuple[str, str]]:
    """Every name of a place, with its language (names are not translated)."""
    codes = {"name_en": "en", "name_kk": "kk", "name_ru": "ru", "name_zh": "zh-Hans"}
    return [(code, document[field]) for field, code in codes.items() if document.get(field)]


def place_within(place: Location) -> list[dict]:
    """The places ``place`` lies in, the broadest first (each a published place: a place
    named by a published case makes every place it lies in published)."""
    chain, parent = [], place.parent
    while parent is not None:
        chain.append(place_link(place_document(parent)))
        parent = parent.parent
    return chain[::-1]


def places_inside(place: Location) -> list[dict]:
    """The published places directly inside ``place``, by name."""
    # A prefecture or county inside is shown if the statistics count it (one query for all);
    # any other place directly inside (rare) is looked at one by one, the first MOST_INSIDE.
    children = Location.objects.filter(parent=place)
    counted = children.filter(
        kind__in=COUNTED_LEVELS,
        pk__in=PublishedFactPlace.objects.filter(location__parent=place).values("location"),
    )
    others = children.exclude(kind__in=COUNTED_LEVELS).order_by("name_en", "pk")[:MOST_INSIDE]
    inside = [*counted, *(p for p in others if is_shown(p))]
    return sorted((place_link(place_document(p)) for p in inside), key=lambda p: p["name"])


def shown() -> Q:
    """The published cases a page may list by what their live records say: not those whose
    correction in review changed it (the partner API's rule, as in search)."""
    return Q(held_since__isnull=True) | Q(filters_current=True)


def place_cases(place: Location, role: str, before: int | None):
    """The keys of the published cases held at ``place`` (role HELD) or of people from it
    (ORIGIN), newest first, below ``before``."""
    if place.kind in COUNTED_LEVELS:
        keys = PublishedFactPlace.objects.filter(
            role=role, kind=place.kind, location=place
        ).values_list("facts_id", flat=True)
        key = "facts_id"
    else:
        if role == HELD:
            # Where the person was held, as the statistics count it: not where the family
            # was told, nor where they were released.
            events = DetentionEvent.objects.filter(kind__in=HELD_AT).filter(
                Q(facility=place) | Q(location=place)
            )
            found = PublishedCase.objects.filter(case__in=events.values("case"))
        else:
            found = PublishedCase.objects.filter(case__person__place_of_origin=place)
        keys = found.filter(shown()).values_list("case_id", flat=True)
        key = "case_id"
    if before is not None:
        keys = keys.filter(**{f"{key}__lt": before})
    return keys.order_by(f"-{key}")


def charge_cases(charge: Charge, before: int | None):
    """The keys of the published cases that name ``charge``, newest first, below
    ``before`` (the statistics' own table, one index read)."""
    keys = PublishedFactCharge.objects.filter(charge=charge).values_list("facts_id", flat=True)
    if before is not None:
        keys = keys.filter(facts_id__lt=before)
    return keys.order_by("-facts_id")


def listed(keys_below, after: str) -> tuple[list[PublishedCase], str]:
    """A page of the published cases ``keys_below(before)`` gives, after the case of
    reference ``after``: (the page, the next page's cursor or ""). The cursor is the last
    case's public reference, never an internal key (a sequence over every case, published or
    not); one that names no published case starts from the beginning."""
    before = None
    if after and is_reference(after):
        # A published case's (another reference is not even looked up among all cases).
        before = (
            PublishedCase.objects.filter(reference=after.upper())
            .values_list("case_id", flat=True)
            .first()
        )
    keys = list(keys_below(before)[: PAGE_SIZE + 1])
    more = len(keys) > PAGE_SIZE
    snapshots = PublishedCase.objects.in_bulk(keys[:PAGE_SIZE])
    page = [snapshots[k] for k in keys[:PAGE_SIZE] if k in snapshots]
    return page, page[-1].reference if more and page else ""
