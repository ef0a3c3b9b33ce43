"""A UN submission drafted from a case: the Working Group on Arbitrary Detention's model
questionnaire, or the shorter urgent appeal, as a DOCX file in English.

The facts come from one place, ``api.public.draft_record`` (the case's public record as the
allow-list gives it, and the person's citizenship); the sections staff write for the
submission come from the Submission itself. Restricted sources appear only as "testimony (or
a document) on file with the organisation". Every fact carries its sources as footnotes.

The draft opens with what the questionnaire asks and the case lacks (``gaps``), so staff
know what to find out before they send it.
"""

import io
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from docx import Document
from docx.shared import Pt

from api import public
from cases.models import (
    DETENTION_STARTS,
    HELD_AT,
    CaseStatus,
    ChargeBasis,
    EventKind,
    Location,
    place_labels,
)
from casetracker.edtf import edtf_in_words
from people.models import Ethnicity, Gender
from sources.models import SourceKind
from submissions.footnotes import Footnotes
from submissions.models import Category, Mechanism, Submission, Variant, WarrantShown

SCRIPTS = {
    "Latn": "Latin",
    "Cyrl": "Cyrillic",
    "Arab": "Arabic script",
    "Hans": "Chinese characters (simplified)",
    "Hant": "Chinese characters (traditional)",
}
# Citizenships of the people this archive is about; another code is written as it is.
COUNTRIES = {
    "CN": "China",
    "KZ": "Kazakhstan",
    "KG": "Kyrgyzstan",
    "UZ": "Uzbekistan",
    "TJ": "Tajikistan",
    "TR": "Türkiye",
    "MN": "Mongolia",
    "RU": "Russian Federation",
    "US": "United States",
    "DE": "Germany",
    "NL": "Netherlands",
    "AU": "Australia",
}
TESTIMONY_KINDS = (SourceKind.TESTIMONY, SourceKind.INTERVIEW)
ON_FILE_TESTIMONY = "Testimony on file with the organisation."
ON_FILE_DOCUMENT = "Document on file with the organisation."
# What staff write for the submission (the forces, the warrant, the reasons given) comes from
# the family or witnesses the organisation spoke to, not from the case's published sources.
GATHERED = "Information gathered by the organisation; on file with it."


@dataclass(frozen=True)
class Gap:
    """Something the questionnaire asks that the case or the submission lacks."""

    section: Promise
    text: Promise


IDENTITY = _("Identity")
ARREST = _("Arrest")
DETENTION = _("Detention")
CIRCUMSTANCES = _("Circumstances")
ARBITRARINESS = _("Why the detention is arbitrary")
DOMESTIC = _("Domestic steps")
SUBMITTER = _("Submitting organisation")
RISK = _("Risk")
SOURCES = _("Sources")


# --- Reading the record -----------------------------------------------------------------


class Facts:
    """What a draft says about the case, read from its public record (``draft_record``)."""

    def __init__(self, submission: Submission):
        self.submission = submission
        self.record = public.draft_record(submission.case)
        self.on_file = public.sources_on_file(submission.case)
        self.person = self.record["person"]
        self.events = self.record["events"]
        self.arrest = current_arrest(self.events)
        self.held = [e for e in self.events if e["kind"] in HELD_AT]
        self.facilities = [e for e in self.held if e["facility"]]
        self.trials = [
            e for e in self.events if e["kind"] in (EventKind.TRIED, EventKind.SENTENCED)
        ]
        self.sentences = [e for e in self.events if e["kind"] == EventKind.SENTENCED]
        self.notified = [e for e in self.events if e["kind"] == EventKind.FAMILY_NOTIFIED]
        charges = {}
        for event in self.events:
            for charge in event["charges"]:
                charges.setdefault(charge["uid"], charge)
        self.charges = list(charges.values())
        self.charge_bases = {e["charge_basis"] for e in self.events if e["charge_basis"]}
        places = [e[k] for e in self.events for k in ("location", "facility") if e[k]]
        if self.person["place_of_origin"]:
            places.append(self.person["place_of_origin"])
        with translation.override("en"):
            by_pk = place_labels(Location.objects.filter(uid__in={p["uid"] for p in places}))
            uids = dict(Location.objects.filter(pk__in=by_pk).values_list("uid", "pk"))
        self.place_names = {str(uid): by_pk[pk] for uid, pk in uids.items()}
        self.sources = {}  # key ("case", "person", an event uid) → [public citation texts]
        for source in self.record["sources"]:
            for citation in source["citations"]:
                key = (citation["event"] and str(citation["event"])) or citation["supports"]
                text = source_citation(source, citation["locator"])
                self.sources.setdefault(key, [])
                if text not in self.sources[key]:
                    self.sources[key].append(text)

    def place(self, place) -> str:
        return self.place_names.get(str(place["uid"]), place["name_en"]) if place else ""

    def notes_for(self, key: str) -> list[str]:
        """The footnotes of a fact supported by ``key`` ("case", "person", an event's uid):
        its public sources in full, then its sources on file by kind only."""
        notes = list(self.sources.get(key, []))
        kinds = self.on_file.get(key, [])
        if any(kind in TESTIMONY_KINDS for kind in kinds):
            notes.append(ON_FILE_TESTIMONY)
        if any(kind not in TESTIMONY_KINDS for kind in kinds):
            notes.append(ON_FILE_DOCUMENT)
        return notes

    def event_notes(self, event) -> list[str]:
        """An event's own sources; the case's if it has none (they support the case whole)."""
        return self.notes_for(str(event["uid"])) or self.notes_for("case")


def current_arrest(events: list[dict]):
    """The detention the submission is about: the first detention or arrest after the last
    release (events come in date order, undated last); if none followed it (the person is
    free again), the first of all."""
    releases = [
        i
        for i, e in enumerate(events)
        if e["kind"] in (EventKind.RELEASED, EventKind.RELEASED_UNDER_RESTRICTIONS) and e["date"]
    ]
    start = releases[-1] + 1 if releases else 0
    arrests = [e for e in events if e["kind"] in DETENTION_STARTS]
    since = [e for e in events[start:] if e["kind"] in DETENTION_STARTS]
    return (since or arrests or [None])[0]


def last_place(facts: "Facts") -> list[dict]:
    """The event that says where the person was last known to be held: the latest dated
    facility, else the latest dated place, else an undated one."""
    for events in (facts.facilities, [e for e in facts.held if e["location"]]):
        dated = [e for e in events if e["date"]]
        if dated or events:
            return (dated or events)[-1:]
    return []


def source_citation(source: dict, locator: str) -> str:
    """A public source cited in full: publisher, title, author, date, locator, address."""
    parts = []
    if source["publisher"]:
        parts.append(source["publisher"]["name"])
    parts.append(f"“{source['title']}”")
    if source["author"] and source["author"] not in parts:
        parts.append(source["author"])
    if source["published"]:
        parts.append(edtf_in_words(source["published"]["edtf"]))
    if locator:
        parts.append(locator)
    if source["link"]:
        parts.append(source["link"])
    text = ", ".join(parts)
    if source["archive_url"]:
        text += f" (archived at {source['archive_url']})"
    return f"{text}."


def in_words(date) -> str:
    return edtf_in_words(date["edtf"]) if date else ""


def countries(codes: str) -> str:
    return ", ".join(COUNTRIES.get(code, code) for code in codes.split())


def organisation_name(organisation) -> str:
    if not organisation:
        return ""
    name = organisation["name"]
    abbreviation = organisation.get("abbreviation")
    return f"{name} ({abbreviation})" if abbreviation and abbreviation != name else name


def charge_text(charge) -> str:
    text = charge["name"]
    if charge["name_zh"]:
        text += f" ({charge['name_zh']})"
    if charge["article"]:
        text += (
            f", Article {charge['article']} of the Criminal Law of the People's Republic of China"
        )
    return text


# --- What is missing ----------------------------------------------------------------------


def gaps(facts: Facts) -> list[Gap]:
    """What the questionnaire (or the urgent appeal) asks that the case or the submission
    lacks, in the order of the draft's sections. An urgent appeal is asked only what it
    says: who, where, since when, what risk."""
    person, submission = facts.person, facts.submission
    questionnaire = submission.mechanism == Mechanism.WGAD
    found: list[Gap] = []

    def lacks(section, text):
        found.append(Gap(section, text))

    if not person["birth_date"]:
        lacks(IDENTITY, _("No date of birth."))
    if person["gender"] == Gender.UNKNOWN:
        lacks(IDENTITY, _("Sex not known."))
    if not person["citizenship"]:
        lacks(IDENTITY, _("No citizenship recorded."))
    if person["ethnicity"] == Ethnicity.UNKNOWN:
        lacks(IDENTITY, _("Ethnicity not known."))
    if questionnaire and not person["occupation"]:
        lacks(IDENTITY, _("No occupation."))
    if questionnaire and not person["place_of_origin"]:
        lacks(IDENTITY, _("No place of origin or usual residence."))

    arrest = facts.arrest
    if arrest is None:
        lacks(ARREST, _("No detention or arrest event: no date or place of arrest."))
    else:
        if not arrest["date"]:
            lacks(ARREST, _("The date of the arrest is not known."))
        if questionnaire and not arrest["location"]:
            lacks(ARREST, _("The place of the arrest is not known."))
        if questionnaire and not arrest["authority"]:
            lacks(ARREST, _("No authority recorded for the arrest."))
    if questionnaire:
        if not submission.arrest_forces:
            lacks(ARREST, _("Who carried out the arrest is not described."))
        if not submission.warrant_shown:
            lacks(ARREST, _("Whether a warrant was shown is not known."))
        if not submission.reasons_given:
            lacks(ARREST, _("The reasons the authorities gave are not described."))

    if not facts.facilities:
        lacks(DETENTION, _("No facility where the person is or was held."))
    if questionnaire:
        if not any(e["authority"] for e in facts.held):
            lacks(DETENTION, _("No authority recorded as holding the person."))
        if not facts.charges and not facts.charge_bases:
            lacks(DETENTION, _("No charge information (not even that none were disclosed)."))
        if any(not charge["article"] for charge in facts.charges):
            lacks(DETENTION, _("A charge has no article of the PRC Criminal Law."))
        if facts.record["status"] == CaseStatus.SENTENCED and not any(
            e["sentence"] for e in facts.sentences
        ):
            lacks(DETENTION, _("The person is sentenced, but the sentence is not known."))
        if not facts.record["public_summary"]:
            lacks(CIRCUMSTANCES, _("No public summary of the case."))

    if not (facts.notes_for("case") or facts.notes_for("person")):
        lacks(SOURCES, _("The person and the case have no source."))
    if any(not facts.notes_for(str(e["uid"])) for e in facts.events):
        lacks(SOURCES, _("Some events have no source of their own: the case's are cited for them."))
    if not facts.record["sources"]:
        lacks(SOURCES, _("No public source: every fact rests on sources on file."))

    if questionnaire:
        if not submission.arbitrary_categories:
            lacks(ARBITRARINESS, _("No category of arbitrary detention is ticked."))
        if not submission.arbitrariness:
            lacks(ARBITRARINESS, _("The argument why the detention is arbitrary is not written."))
        if not submission.domestic_steps:
            lacks(DOMESTIC, _("No domestic steps described."))
    elif not submission.risk:
        lacks(RISK, _("The risk the person faces is not described."))

    organisation = settings.SUBMITTING_ORGANISATION
    if not organisation.get("name") or not organisation.get("email"):
        lacks(
            SUBMITTER,
            _(
                "The organisation's name or e-mail is not set (ORGANISATION_NAME, "
                "ORGANISATION_EMAIL)."
            ),
        )
    return found


def missing(submission: Submission) -> list[Gap]:
    return gaps(Facts(submission))


# --- Writing ------------------------------------------------------------------------------


class Writer:
    def __init__(self, facts: Facts):
        self.facts = facts
        self.document = Document()
        style = self.document.styles["Normal"]
        style.font.name = "Times New Roman"
        style.font.size = Pt(11)
        self.notes = Footnotes(self.document)

    def heading(self, text: str, level: int = 1):
        self.document.add_heading(text, level=level)

    def line(self, label: str, value: str, notes=()):
        """A questionnaire item: its label, the answer (or "Not known."), its footnotes."""
        paragraph = self.document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value or "Not known.")
        if value:
            for note in notes:
                self.notes.add(paragraph, note)
        return paragraph

    def text(self, value: str, notes=()):
        paragraph = self.document.add_paragraph(value)
        for note in notes:
            self.notes.add(paragraph, note)
        return paragraph

    def bytes(self) -> bytes:
        properties = self.document.core_properties
        organisation = settings.SUBMITTING_ORGANISATION.get("name") or ""
        # Only what the document is and who submits: never a staff member's name.
        properties.author = organisation
        properties.last_modified_by = organisation
        properties.comments = ""
        properties.keywords = ""
        properties.title = self.title
        now = timezone.now().replace(microsecond=0)
        properties.created = properties.modified = now
        properties.revision = 1
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()


def write(submission: Submission, variant: str) -> tuple[bytes, list[Gap]]:
    """The draft of ``submission`` as DOCX bytes, and what it lacks (listed in it too)."""
    with translation.override("en"):
        facts = Facts(submission)
        found = gaps(facts)
        writer = Writer(facts)
        if variant == Variant.URGENT_APPEAL:
            _urgent_appeal(writer, facts, found)
        else:
            _questionnaire(writer, facts, found)
        return writer.bytes(), found


def _opening(writer: Writer, facts: Facts, title: str, found: list[Gap]) -> None:
    writer.title = title
    writer.document.add_heading(title, level=0)
    case, today = facts.record, timezone.localdate()
    writer.text(
        f"Draft prepared from case {case['reference']} on {today.day} {today:%B %Y}. "
        "Check every fact and complete what is missing before sending."
    )
    writer.heading("Information missing", 1)
    if not found:
        writer.text("Nothing that the questionnaire asks is missing.")
    for gap in found:
        writer.document.add_paragraph(f"{gap.section}: {gap.text}", style="List Bullet")


def _identity(writer: Writer, facts: Facts, short: bool = False) -> None:
    person = facts.person
    notes = facts.notes_for("person") or facts.notes_for("case")
    names = [f"{n['name']} ({SCRIPTS.get(n['script'], n['script'])})" for n in person["names"]] or [
        person["name"]
    ]
    writer.line("Name", person["name"], notes)
    if len(names) > 1:
        writer.line("Names in every script", "; ".join(names), notes)
    writer.line(
        "Sex", "" if person["gender"] == Gender.UNKNOWN else Gender(person["gender"]).label, notes
    )
    writer.line("Date of birth", in_words(person["birth_date"]), notes)
    writer.line("Nationality", countries(person["citizenship"]), notes)
    ethnicity = (
        "" if person["ethnicity"] == Ethnicity.UNKNOWN else Ethnicity(person["ethnicity"]).label
    )
    writer.line("Ethnicity", ethnicity, notes)
    if not short:
        writer.line("Occupation", person["occupation"], notes)
        writer.line(
            "Usual residence (place of origin)", facts.place(person["place_of_origin"]), notes
        )


def _event_line(facts: Facts, event, kind: bool = True) -> str:
    parts = [str(EventKind(event["kind"]).label)] if kind else []
    if event["date"]:
        parts.append(in_words(event["date"]))
    where = facts.place(event["facility"]) or facts.place(event["location"])
    if where:
        parts.append(f"in {where}" if not event["facility"] else f"at {where}")
    if event["authority"]:
        parts.append(f"by {organisation_name(event['authority'])}")
    text = " ".join(parts) or "Date not known"
    if event["sentence"]:
        text += f"; sentence: {event['sentence']}"
    if event["description"]:
        text += f". {event['description']}"
    return text.rstrip(".") + "."


def _questionnaire(writer: Writer, facts: Facts, found: list[Gap]) -> None:
    submission, case = facts.submission, facts.record
    _opening(writer, facts, "Submission to the Working Group on Arbitrary Detention", found)

    writer.heading("I. Identity of the person", 1)
    _identity(writer, facts)

    writer.heading("II. Arrest", 1)
    arrest = facts.arrest
    arrest_notes = facts.event_notes(arrest) if arrest else []
    writer.line("Date of arrest", in_words(arrest["date"]) if arrest else "", arrest_notes)
    writer.line("Place of arrest", facts.place(arrest["location"]) if arrest else "", arrest_notes)
    writer.line("Forces who carried out the arrest", submission.arrest_forces, [GATHERED])
    warrant = (
        "" if not submission.warrant_shown else str(WarrantShown(submission.warrant_shown).label)
    )
    writer.line("Was a warrant or other decision by a public authority shown?", warrant, [GATHERED])
    authority = organisation_name(arrest["authority"]) if arrest else ""
    if submission.warrant_shown == WarrantShown.NO:
        writer.line("Authority that carried out or ordered the arrest", authority, arrest_notes)
    else:
        writer.line("Authority who issued the warrant or decision", authority, arrest_notes)
    writer.line(
        "Reasons for the arrest given by the authorities", submission.reasons_given, [GATHERED]
    )

    writer.heading("III. Detention", 1)
    writer.line("Date of detention", in_words(arrest["date"]) if arrest else "", arrest_notes)
    writer.line("Current situation", str(CaseStatus(case["status"]).label), facts.notes_for("case"))
    for event in facts.facilities:
        writer.line("Place of detention", facts.place(event["facility"]), facts.event_notes(event))
    if not facts.facilities:
        places = [e for e in facts.held if e["location"]]
        for event in places[-1:]:
            writer.line(
                "Place of detention (region)",
                facts.place(event["location"]),
                facts.event_notes(event),
            )
        if not places:
            writer.line("Place of detention", "")
    holders = [e for e in facts.held if e["authority"]]
    for event in holders:
        writer.line(
            "Authority holding or acting on the person",
            f"{organisation_name(event['authority'])} ({EventKind(event['kind']).label.lower()})",
            facts.event_notes(event),
        )
    if not holders:
        writer.line("Authorities holding the person", "")
    for charge in facts.charges:
        charged = [e for e in facts.events if charge in e["charges"]]
        notes = [n for e in charged for n in facts.event_notes(e)]
        writer.line("Charge", charge_text(charge), list(dict.fromkeys(notes)))
    bases = {
        ChargeBasis.OFFICIAL: "The charges were officially disclosed.",
        ChargeBasis.REPORTED: "The charges are reported; the authorities have not disclosed them.",
        ChargeBasis.NONE: "The sources say no charges were disclosed.",
    }
    for basis in (ChargeBasis.OFFICIAL, ChargeBasis.REPORTED, ChargeBasis.NONE):
        if basis in facts.charge_bases:
            events = [e for e in facts.events if e["charge_basis"] == basis]
            notes = [n for e in events for n in facts.event_notes(e)]
            writer.line("Legal basis", bases[basis], list(dict.fromkeys(notes)))
    if not facts.charges and not facts.charge_bases:
        writer.line("Legal basis and charges", "")
    for event in facts.trials:
        writer.line("Trial and sentence", _event_line(facts, event), facts.event_notes(event))
    for event in facts.notified:
        writer.line(
            "Family notified", _event_line(facts, event, kind=False), facts.event_notes(event)
        )

    writer.heading("IV. Circumstances of the arrest and detention", 1)
    if case["public_summary"]:
        writer.text(case["public_summary"], facts.notes_for("case"))
    else:
        writer.text("Not known.")
    if facts.events:
        writer.heading("Timeline", 2)
    for event in facts.events:
        paragraph = writer.document.add_paragraph(_event_line(facts, event), style="List Bullet")
        for note in facts.event_notes(event):
            writer.notes.add(paragraph, note)

    writer.heading("V. Why the detention is arbitrary", 1)
    for category in Category:
        mark = "☒" if category.value in submission.arbitrary_categories else "☐"
        writer.text(f"{mark} {category.label}")
    writer.text(submission.arbitrariness or "Not written yet.")

    writer.heading("VI. Domestic steps taken", 1)
    writer.text(submission.domestic_steps or "Not known.")

    _submitter(writer, "VII. Submitting organisation")


def _urgent_appeal(writer: Writer, facts: Facts, found: list[Gap]) -> None:
    submission, case = facts.submission, facts.record
    _opening(writer, facts, "Urgent appeal to the United Nations special procedures", found)

    writer.heading("Who", 1)
    _identity(writer, facts, short=True)

    writer.heading("Where", 1)
    latest = last_place(facts)
    for event in latest:
        where = facts.place(event["facility"]) or facts.place(event["location"])
        writer.line("Last known place of detention", where, facts.event_notes(event))
    if not latest:
        writer.line("Last known place of detention", "")
    writer.line("Current situation", str(CaseStatus(case["status"]).label), facts.notes_for("case"))

    writer.heading("Since when", 1)
    arrest = facts.arrest
    writer.line(
        "Detained since",
        in_words(arrest["date"]) if arrest else "",
        facts.event_notes(arrest) if arrest else [],
    )

    writer.heading("What risk", 1)
    writer.text(submission.risk or "Not described yet.")
    if case["public_summary"]:
        writer.heading("Summary", 2)
        writer.text(case["public_summary"], facts.notes_for("case"))

    _submitter(writer, "Submitting organisation")


def _submitter(writer: Writer, title: str) -> None:
    organisation = settings.SUBMITTING_ORGANISATION
    writer.heading(title, 1)
    writer.line("Name", organisation.get("name", ""))
    writer.line("Address", organisation.get("address", ""))
    writer.line("E-mail", organisation.get("email", ""))
    if organisation.get("website"):
        writer.line("Website", organisation["website"])
