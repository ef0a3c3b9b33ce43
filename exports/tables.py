"""The flat files of an export (cases, events, names, sources): their columns, what each means,
and how a cell is written.

Every cell is read from the partner API's representation of a case
(``api.public.CaseSerializer``), never from a model: a flat file can hold only what the
allow-list exposes. The one exception is ``review_state`` in staff exports of unpublished
cases, added by exports.bundle.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from cases.models import (
    Case,
    CaseStatus,
    ChargeBasis,
    DetentionEvent,
    EventKind,
    EvidenceLevel,
    FacilityType,
    LocationKind,
)
from casetracker.choices import Language, Script
from people.models import Ethnicity, Gender, NameKind, OrganisationKind, Person, PersonName
from sources.models import Reliability, Source, SourceKind
from submissions.models import Category, Finding

SEPARATOR = "|"
ESCAPE = "\\"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_ESCAPE = "'"
# C0 control characters other than tab, line feed and carriage return: XML (XLSX) cannot hold
# them, and in a CSV they are never meant.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
REPLACEMENT = "\ufffd"
# Workflow positions of a case, for the review_state column of staff exports.
REVIEW_STATES = [
    ("draft", _("Draft: being entered")),
    ("in_review", _("In review")),
    ("verified", _("Verified, not published")),
    ("published", _("Verified and published (what partners see)")),
    ("archived", _("Archived")),
]


# --- Cells ---------------------------------------------------------------------------------


def join_values(values: Iterable) -> str:
    """Several values in one cell: separated by |, with | and \\ in a value escaped."""
    return SEPARATOR.join(
        _text(v).replace(ESCAPE, ESCAPE * 2).replace(SEPARATOR, ESCAPE + SEPARATOR) for v in values
    )


def split_values(cell: str) -> list[str]:
    """The values of a multi-valued cell (the inverse of join_values; after unescape_formula)."""
    if cell == "":
        return []
    values, current, chars = [], [], iter(cell)
    for char in chars:
        if char == ESCAPE:
            current.append(next(chars, ""))
        elif char == SEPARATOR:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _text(value) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def cell(value) -> str:
    """The text of a CSV or XLSX cell: lists joined, controls replaced, formulas defused.

    Called for every cell of an export: a text that is all printable (str.isprintable(), in C;
    every control character and carriage return is not) skips the replacing."""
    if value is None:
        return ""
    if type(value) is str:
        text = value
    else:
        text = join_values(value) if isinstance(value, list | tuple) else _text(value)
    printable = text.isprintable()
    if not printable:
        text = _CONTROL.sub(REPLACEMENT, text)
    if text.startswith(FORMULA_TRIGGERS):
        text = FORMULA_ESCAPE + text
    if not printable:
        # XML (XLSX) turns a carriage return into a line feed: line feeds in both formats.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def unescape_formula(text: str) -> str:
    """The value a cell was made from, for programs reading the files."""
    if text.startswith(FORMULA_ESCAPE) and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


# --- Columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str  # the header in the files: a stable code, never translated
    type: str  # for readers of the data dictionary, like meaning: translated when read
    meaning: str
    get: Callable[[dict, dict], object]  # (case, item) -> value
    allowed: list[tuple[str, str]] = field(default_factory=list)


def choices(enum) -> list[tuple[str, str]]:
    # The labels stay lazy: translated when the dictionary is written.
    return [(str(value), label) for value, label in enum.choices if value != ""]


def _described(template, what):
    """``template % {"what": what}``, translated when it is read (``what`` too)."""
    return lazy(lambda: str(template) % {"what": what}, str)()


def _date(path: Callable[[dict], dict | None], part: str):
    def get(case, item):
        date = path(item)
        return date[part] if date else None

    return get


def _each(key: str, attr: str):
    return lambda case, item: [entry[attr] for entry in item[key]]


EDTF = _("EDTF date (see “Dates”)")
DAY = _("date (YYYY-MM-DD)")


def _case_ref() -> list[Column]:
    return [
        Column(
            "case_reference",
            _("text"),
            _("The case's reference (CT-2024-00017): joins this file to cases.csv."),
            lambda case, item: case["reference"],
        ),
        Column(
            "case_uid",
            "UUID",
            _("The case's permanent public id: joins this file to cases.csv."),
            lambda case, item: case["uid"],
        ),
    ]


def _place(key: str, what: str, get_place: Callable[[dict], dict | None]) -> list[Column]:
    def attr(name):
        return lambda case, item: (get_place(item) or {}).get(name)

    return [
        Column(
            f"{key}_uid", "UUID", _described(_("%(what)s: permanent public id."), what), attr("uid")
        ),
        Column(
            f"{key}_url",
            "URL",
            _described(_("%(what)s: its address in the partner API."), what),
            attr("url"),
        ),
        Column(
            f"{key}_kind",
            _("code"),
            _described(_("%(what)s: kind of place."), what),
            attr("kind"),
            choices(LocationKind),
        ),
        Column(
            f"{key}_name_en",
            _("text"),
            _described(_("%(what)s: name in English."), what),
            attr("name_en"),
        ),
        Column(
            f"{key}_name_kk",
            _("text"),
            _described(_("%(what)s: name in Kazakh."), what),
            attr("name_kk"),
        ),
        Column(
            f"{key}_name_ru",
            _("text"),
            _described(_("%(what)s: name in Russian."), what),
            attr("name_ru"),
        ),
        Column(
            f"{key}_name_zh",
            _("text"),
            _described(_("%(what)s: name in Chinese."), what),
            attr("name_zh"),
        ),
    ]


def _organisation(key: str, what: str, get_org: Callable[[dict], dict | None]) -> list[Column]:
    def attr(name):
        return lambda case, item: (get_org(item) or {}).get(name)

    return [
        Column(
            f"{key}_uid", "UUID", _described(_("%(what)s: permanent public id."), what), attr("uid")
        ),
        Column(
            f"{key}_url",
            "URL",
            _described(_("%(what)s: its address in the partner API."), what),
            attr("url"),
        ),
        Column(
            f"{key}_name", _("text"), _described(_("%(what)s: name (English)."), what), attr("name")
        ),
        Column(
            f"{key}_name_kk",
            _("text"),
            _described(_("%(what)s: name in Kazakh."), what),
            attr("name_kk"),
        ),
        Column(
            f"{key}_name_ru",
            _("text"),
            _described(_("%(what)s: name in Russian."), what),
            attr("name_ru"),
        ),
        Column(
            f"{key}_name_zh",
            _("text"),
            _described(_("%(what)s: name in Chinese."), what),
            attr("name_zh"),
        ),
        Column(
            f"{key}_abbreviation",
            _("text"),
            _described(_("%(what)s: abbreviation."), what),
            attr("abbreviation"),
        ),
        Column(
            f"{key}_kind",
            _("code"),
            _described(_("%(what)s: kind."), what),
            attr("kind"),
            choices(OrganisationKind),
        ),
    ]


def _person(attr: str):
    return lambda case, item: case["person"][attr]


CASE_COLUMNS = [
    Column(
        "reference",
        _("text"),
        _("The case's reference, e.g. CT-2024-00017. Files are ordered by it."),
        lambda case, item: case["reference"],
    ),
    Column("uid", "UUID", _("The case's permanent public id."), lambda case, item: case["uid"]),
    Column("url", "URL", _("The case in the partner API."), lambda case, item: case["url"]),
    Column(
        "status",
        _("code"),
        _("The person's current situation, from the latest dated event unless staff set it."),
        lambda case, item: case["status"],
        choices(CaseStatus),
    ),
    Column(
        "evidence_level",
        _("integer"),
        _("How well the case is documented, as confirmed when it was verified."),
        lambda case, item: case["evidence_level"],
        choices(EvidenceLevel),
    ),
    Column(
        "verified_at",
        _("date and time (ISO 8601, UTC)"),
        _("When the case was last verified."),
        lambda case, item: case["verified_at"],
    ),
    Column(
        "updated_at",
        _("date and time (ISO 8601, UTC)"),
        _("When the case record last changed."),
        lambda case, item: case["updated_at"],
    ),
    Column(
        "public_summary",
        _("text"),
        _("What is known of the case, for the public."),
        lambda case, item: case["public_summary"],
    ),
    Column("person_uid", "UUID", _("The detained person's permanent public id."), _person("uid")),
    Column("person_url", "URL", _("The person in the partner API."), _person("url")),
    Column(
        "person_name",
        _("text"),
        _("The person's preferred name (every spelling is in names.csv)."),
        _person("name"),
    ),
    Column(
        "person_names",
        _("list of text"),
        _(
            "Every recorded spelling of the person's name, preferred first (script and language in "
            "names.csv)."
        ),
        lambda case, item: [n["name"] for n in case["person"]["names"]],
    ),
    Column("person_gender", _("code"), _("As recorded."), _person("gender"), choices(Gender)),
    Column(
        "person_birth_date",
        EDTF,
        _("Date of birth, as the sources give it."),
        _date(lambda item: item["person"]["birth_date"], "edtf"),
    ),
    Column(
        "person_birth_date_earliest",
        DAY,
        _("Earliest possible day of birth."),
        _date(lambda item: item["person"]["birth_date"], "earliest"),
    ),
    Column(
        "person_birth_date_latest",
        DAY,
        _("Latest possible day of birth."),
        _date(lambda item: item["person"]["birth_date"], "latest"),
    ),
    Column(
        "person_ethnicity", _("code"), _("As recorded."), _person("ethnicity"), choices(Ethnicity)
    ),
    *_place("person_origin", _("Place of origin"), lambda case: case["person"]["place_of_origin"]),
    Column("person_occupation", _("text"), _("Occupation or position."), _person("occupation")),
    Column(
        "person_public_summary",
        _("text"),
        _("What is known of the person, for the public."),
        _person("public_summary"),
    ),
    Column(
        "incident_uids",
        _("list of UUID"),
        _("Waves or operations the case is part of: permanent public ids."),
        lambda case, item: [i["uid"] for i in case["incidents"]],
    ),
    Column(
        "incident_names",
        _("list of text"),
        _("Waves or operations the case is part of: names, in the order of incident_uids."),
        lambda case, item: [i["name"] for i in case["incidents"]],
    ),
]

EVENT_COLUMNS = [
    *_case_ref(),
    Column("event_uid", "UUID", _("The event's permanent public id."), lambda c, e: e["uid"]),
    Column("kind", _("code"), _("What happened."), lambda c, e: e["kind"], choices(EventKind)),
    Column("date", EDTF, _("When, as the sources give it."), _date(lambda e: e["date"], "edtf")),
    Column(
        "date_earliest",
        DAY,
        _("Earliest possible day (empty: unknown or open)."),
        _date(lambda e: e["date"], "earliest"),
    ),
    Column(
        "date_latest",
        DAY,
        _("Latest possible day (empty: unknown or open)."),
        _date(lambda e: e["date"], "latest"),
    ),
    *_place("location", _("Place where it happened"), lambda e: e["location"]),
    *_place("facility", _("Facility (prison, camp, detention centre)"), lambda e: e["facility"]),
    Column(
        "facility_type",
        _("code"),
        _("Facility: what kind of facility."),
        lambda c, e: (e["facility"] or {}).get("facility_type"),
        choices(FacilityType),
    ),
    *_organisation("authority", _("The body that acted"), lambda e: e["authority"]),
    Column(
        "charge_uids",
        _("list of UUID"),
        _("Charges: permanent public ids."),
        _each("charges", "uid"),
    ),
    Column(
        "charge_names",
        _("list of text"),
        _("Charges: English names, in the order of charge_uids."),
        _each("charges", "name"),
    ),
    Column(
        "charge_names_zh",
        _("list of text"),
        _("Charges: Chinese names, in the order of charge_uids (empty where unknown)."),
        _each("charges", "name_zh"),
    ),
    Column(
        "charge_articles",
        _("list of text"),
        _(
            "Charges: article of the PRC Criminal Law, in the order of charge_uids (empty where "
            "none)."
        ),
        _each("charges", "article"),
    ),
    Column(
        "charge_basis",
        _("code"),
        _("Whether the charges were officially disclosed or only reported (empty: none known)."),
        lambda c, e: e["charge_basis"],
        choices(ChargeBasis),
    ),
    Column("sentence", _("text"), _("As reported, e.g. “15 years”."), lambda c, e: e["sentence"]),
    Column("description", _("text"), _("What happened, briefly."), lambda c, e: e["description"]),
]

NAME_COLUMNS = [
    *_case_ref(),
    Column(
        "person_uid",
        "UUID",
        _("The person's permanent public id."),
        lambda c, n: c["person"]["uid"],
    ),
    Column(
        "name", _("text"), _("The name, exactly as a source writes it."), lambda c, n: n["name"]
    ),
    Column(
        "script",
        _("code (ISO 15924)"),
        _("Writing system."),
        lambda c, n: n["script"],
        choices(Script),
    ),
    Column(
        "language",
        _("code (BCP 47)"),
        _("Language the name is given in."),
        lambda c, n: n["language"],
        choices(Language),
    ),
    Column(
        "kind", _("code"), _("What kind of spelling."), lambda c, n: n["kind"], choices(NameKind)
    ),
    Column(
        "preferred",
        _("boolean (true/false)"),
        _("The name shown in lists; one per person."),
        lambda c, n: n["preferred"],
    ),
]

SOURCE_COLUMNS = [
    *_case_ref(),
    Column("source_uid", "UUID", _("The source's permanent public id."), lambda c, s: s["uid"]),
    Column("source_url", "URL", _("The source in the partner API."), lambda c, s: s["url"]),
    Column("title", _("text"), _("Headline or short description."), lambda c, s: s["title"]),
    Column(
        "kind", _("code"), _("What kind of source."), lambda c, s: s["kind"], choices(SourceKind)
    ),
    *_organisation("publisher", _("Publisher"), lambda s: s["publisher"]),
    Column("author", _("text"), _("Author or speaker, if named."), lambda c, s: s["author"]),
    Column("link", "URL", _("The source itself, on the web."), lambda c, s: s["link"]),
    Column(
        "archive_url",
        "URL",
        _("An archived copy (web.archive.org…)."),
        lambda c, s: s["archive_url"],
    ),
    Column(
        "published",
        EDTF,
        _("Publication date, as known."),
        _date(lambda s: s["published"], "edtf"),
    ),
    Column(
        "published_earliest",
        DAY,
        _("Earliest possible publication day."),
        _date(lambda s: s["published"], "earliest"),
    ),
    Column(
        "published_latest",
        DAY,
        _("Latest possible publication day."),
        _date(lambda s: s["published"], "latest"),
    ),
    Column(
        "language",
        _("code (BCP 47)"),
        _("Language."),
        lambda c, s: s["language"],
        choices(Language),
    ),
    Column(
        "reliability",
        _("code (Admiralty A–F)"),
        _("How reliable the source is judged to be."),
        lambda c, s: s["reliability"],
        choices(Reliability),
    ),
    Column(
        "citation_locators",
        _("list of text"),
        _("Where in the source each citation on this case is: page, paragraph, timestamp."),
        _each("citations", "locator"),
    ),
    Column(
        "citation_supports",
        _("list of code"),
        _("What each citation supports, in the order of citation_locators."),
        _each("citations", "supports"),
        [("case", _("the case")), ("event", _("an event")), ("person", _("the person"))],
    ),
    Column(
        "citation_event_uids",
        _("list of UUID"),
        _(
            "The event each citation supports (empty for case and person citations), in the "
            "order of citation_locators: joins to events.csv."
        ),
        _each("citations", "event"),
    ),
]

OPINION_COLUMNS = [
    *_case_ref(),
    Column(
        "number",
        _("text"),
        _("The opinion's number, as the Working Group numbers it (23/2025)."),
        lambda case, item: item["number"],
    ),
    Column("adopted", DAY, _("When the opinion was adopted."), lambda case, item: item["adopted"]),
    Column(
        "finding",
        _("code"),
        _("What the Working Group found."),
        lambda case, item: item["finding"],
        choices(Finding),
    ),
    Column(
        "categories",
        _("list of codes"),
        _("The categories of arbitrary detention the opinion found (I to V)."),
        lambda case, item: item["categories"],
        choices(Category),
    ),
    Column("link", "URL", _("The opinion on the OHCHR website."), lambda case, item: item["link"]),
]

REVIEW_STATE = Column(
    "review_state",
    _("code"),
    _("Staff exports only: where the case stands in the workflow."),
    lambda case, item: case["review_state"],
    REVIEW_STATES,
)


# --- Headings: the XLSX header row -----------------------------------------------------------

# Columns that are one field of a record are headed with its name, as the admin shows it (and
# translated with it); the others with the start of their meaning.
_FIELDS = {
    "reference": (Case, "reference"),
    "uid": (Case, "uid"),
    "status": (Case, "status"),
    "evidence_level": (Case, "evidence_level"),
    "verified_at": (Case, "verified_at"),
    "updated_at": (Case, "updated_at"),
    "public_summary": (Case, "public_summary"),
    "person_name": (Person, "display_name"),
    "person_gender": (Person, "gender"),
    "person_birth_date": (Person, "birth_date"),
    "person_ethnicity": (Person, "ethnicity"),
    "person_occupation": (Person, "occupation"),
    "review_state": (Case, "review_state"),
}
HEADING_FIELDS = {
    "cases": _FIELDS,
    "events": {
        "kind": (DetentionEvent, "kind"),
        "date": (DetentionEvent, "date"),
        "charge_basis": (DetentionEvent, "charge_basis"),
        "sentence": (DetentionEvent, "sentence"),
        "description": (DetentionEvent, "description"),
    },
    "names": {
        "name": (PersonName, "name"),
        "script": (PersonName, "script"),
        "language": (PersonName, "language"),
        "kind": (PersonName, "kind"),
        "preferred": (PersonName, "is_preferred"),
    },
    "sources": {
        "title": (Source, "title"),
        "kind": (Source, "kind"),
        "author": (Source, "author"),
        "archive_url": (Source, "archive_url"),
        "published": (Source, "published"),
        "language": (Source, "language"),
        "reliability": (Source, "reliability"),
    },
}
_CLAUSE_END = re.compile(r" \(|（|\. |。")


def heading(table: str, column: Column) -> str:
    """A column's heading in the spreadsheet, in the active language: the field's name, or
    the meaning up to its first aside or full stop ("Place of origin: name in Kazakh")."""
    field_of = HEADING_FIELDS.get(table, {}).get(column.name)
    if field_of is not None:
        model, name = field_of
        return capfirst(str(model._meta.get_field(name).verbose_name))
    meaning = str(column.meaning)
    return _CLAUSE_END.split(meaning, maxsplit=1)[0].rstrip(".。")


@dataclass(frozen=True)
class Table:
    name: str  # file name without .csv
    sheet: str  # the XLSX sheet's name: like the file name, never translated
    what: str  # translated when read
    columns: list[Column]
    items: Callable[[dict], list]  # the rows of one case

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    def headings(self) -> list[str]:
        """The XLSX header row: each column's heading in the active language."""
        return [heading(self.name, column) for column in self.columns]

    def rows(self, case: dict) -> Iterable[list[str]]:
        for item in self.items(case):
            yield [cell(column.get(case, item)) for column in self.columns]


def tables(staff: bool = False) -> list[Table]:
    cases = [*CASE_COLUMNS, REVIEW_STATE] if staff else CASE_COLUMNS
    return [
        Table("cases", "Cases", _("one row per case"), cases, lambda case: [case]),
        Table(
            "events", "Events", _("one row per event"), EVENT_COLUMNS, lambda case: case["events"]
        ),
        Table(
            "names",
            "Names",
            _("one row per spelling of a person's name"),
            NAME_COLUMNS,
            lambda case: case["person"]["names"],
        ),
        Table(
            "sources",
            "Sources",
            _("one row per public source of a case, with the locators of its citations"),
            SOURCE_COLUMNS,
            lambda case: case["sources"],
        ),
        Table(
            "un_opinions",
            "UN opinions",
            _("one row per opinion of the UN Working Group on Arbitrary Detention on a case"),
            OPINION_COLUMNS,
            lambda case: case["un_opinions"],
        ),
    ]
