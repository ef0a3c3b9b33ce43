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

from cases.models import (
    REFERENCE_PATTERN,
    CaseStatus,
    ChargeBasis,
    EventKind,
    EvidenceLevel,
    FacilityType,
    PublicationRecord,
)
from casetracker.edtf import edtf_in_words
from casetracker.text import fold
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
                    "facility": place_name(event["facility"]),
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
    alias = PersonAlias.objects.filter(uid=uid).select_related("person").first()
    if alias is None or not PublishedCase.objects.filter(case__person=alias.person).exists():
        return None
    return alias.person.uid


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
    found = PublishedCase.objects.filter(case__person__in=people).filter(
        Q(held_since__isnull=True) | Q(filters_current=True)
    )
    position = decode_cursor(cursor) if cursor else None
    if position:
        when, reference = position
        found = found.filter(Q(updated_at__lt=when) | Q(updated_at=when, reference__lt=reference))
    page = list(found.order_by("-updated_at", "-reference")[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, encode_cursor(page[-1]) if more else ""
