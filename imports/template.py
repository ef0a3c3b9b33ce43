"""The import template: its columns, what each holds and accepts, its example rows, and the
CSV and XLSX files staff download.

One source of truth: validation reads the columns' choices and name scripts from here
(imports.services); the XLSX template's Instructions sheet, the CSV template's notes and the
column tables of imports/TEMPLATE.md are all written from the same definitions
(``python manage.py import_template docs`` rewrites the tables; a test keeps them in step).

The example rows are fictional and valid, except that their ids start with EXAMPLE_PREFIX:
validation refuses such rows, so that a template uploaded with its examples left in imports
nothing by accident.
"""

import csv
import io
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import ChargeBasis, EventKind
from casetracker.choices import Language, Script
from casetracker.text import fold
from imports.parsing import INSTRUCTIONS_SHEET, LIST_SHEET, NOTE_PREFIX, sheet_title
from people.models import Ethnicity, Gender, NameKind
from sources.models import Access, SourceKind

# Several values in one cell (names, charges, incidents) are separated by this.
SEPARATOR = ";"
# Ids starting with this (in any case) are the template's examples: a row with one is refused.
EXAMPLE_PREFIX = "EXAMPLE-"

# Where staff find the names a vocabulary column accepts (imports.services.Vocabularies).
VOCABULARIES = {
    "places": _(
        "Must already be in casetracker: see Cases › Places in the admin. Write any of its "
        "names (English, Kazakh, Chinese) or its public ID; where two places share a name, "
        "Parent / Name (e.g. China / Altay)."
    ),
    "facilities": _(
        "Must already be in casetracker: see Cases › Places in the admin (kind Facility). "
        "Write any of its names or its public ID."
    ),
    "charges": _(
        "Must already be in casetracker: see Cases › Charges in the admin. Write the English "
        "or Chinese name, the public ID or the Criminal Law article (Art. 103(1))."
    ),
    "organisations": _(
        "Must already be in casetracker: see People and organisations › Organisations in the "
        "admin. Write any of its names, its abbreviation or its public ID."
    ),
    "incidents": _(
        "Must already be in casetracker: see Cases › Incidents in the admin. Write the name "
        "or the public ID."
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    group: str  # a key of GROUPS
    help: str  # what the column holds, for the person filling it in
    required: bool = False  # in every row
    required_when: str = ""  # or only then, e.g. "for an event"
    choices: type[models.TextChoices] | None = None  # the accepted values, by validation too
    vocabulary: str = ""  # a key of VOCABULARIES: names of records already in casetracker
    date: bool = False  # EDTF
    several: bool = False  # several values separated by SEPARATOR
    saved_as: tuple | None = None  # a name column's (script, language, kind); "" script: detected

    @property
    def group_title(self):
        """The heading of the column's group (GROUPS), translated."""
        return GROUPS[self.group][0]


FOR_NEW_PERSON = _("At least one name for a new person")
FOR_EVENT = _("For an event")
FOR_SOURCE = _("For a source")

COLUMNS = [
    Column(
        "person_external_id",
        "person",
        _(
            "Your group's own id for the person, e.g. AJ-P-0042. Same person, same id, in every "
            "row and every file."
        ),
        required=True,
    ),
    Column(
        "name_latin",
        "person",
        _("Spellings in Latin letters, e.g. Kanat Yerezhep; Qanat Erejep."),
        required_when=FOR_NEW_PERSON,
        several=True,
        saved_as=(Script.LATIN, Language.ENGLISH, NameKind.TRANSLITERATION),
    ),
    Column(
        "name_cyrillic",
        "person",
        _("Spellings in Cyrillic (Kazakh or Russian), e.g. Қанат Ережеп."),
        required_when=FOR_NEW_PERSON,
        several=True,
        saved_as=(Script.CYRILLIC, Language.KAZAKH, NameKind.NATIVE),
    ),
    Column(
        "name_arabic",
        "person",
        _("Spellings in Arabic script as written in Xinjiang, e.g. قانات ەرەجەپ."),
        required_when=FOR_NEW_PERSON,
        several=True,
        saved_as=(Script.ARABIC, Language.KAZAKH, NameKind.NATIVE),
    ),
    Column(
        "name_chinese",
        "person",
        _("Chinese-character names, e.g. 卡纳提·叶热杰普."),
        required_when=FOR_NEW_PERSON,
        several=True,
        # The script is left to PersonName.clean(): simplified or traditional, as detected.
        saved_as=("", Language.CHINESE, NameKind.OFFICIAL_CHINESE),
    ),
    Column("person_gender", "person", _("The person's gender."), choices=Gender),
    Column("person_birth_date", "person", _("Date of birth, e.g. 1965 or 196X."), date=True),
    Column("person_ethnicity", "person", _("The person's ethnicity."), choices=Ethnicity),
    Column(
        "person_place_of_origin",
        "person",
        _("Home town or village."),
        vocabulary="places",
    ),
    Column("person_occupation", "person", _("e.g. Retired journalist, Xinjiang Daily.")),
    Column("person_public_summary", "person", _("Public once a case is published.")),
    Column(
        "case_external_id",
        "case",
        _(
            "Your group's own id for the case file, e.g. AJ-C-0042. Rows for several events of "
            "one case repeat it. A case belongs to one person."
        ),
        required=True,
    ),
    Column("case_public_summary", "case", _("Public once the case is published.")),
    Column(
        "case_incidents",
        "case",
        _("The waves of arrests or operations the case belongs to."),
        vocabulary="incidents",
        several=True,
    ),
    Column(
        "event_external_id",
        "event",
        _(
            "Your id for the event. Without it, an event is found again by its case, kind and "
            "date, and a corrected date creates a new event."
        ),
    ),
    Column(
        "event_kind",
        "event",
        _("What happened."),
        required_when=FOR_EVENT,
        choices=EventKind,
    ),
    Column("event_date", "event", _("When, as the source gives it."), date=True),
    Column(
        "event_place",
        "event",
        _("Where: a region, a city, a village."),
        vocabulary="places",
    ),
    Column(
        "event_facility",
        "event",
        _("The prison, camp or detention centre."),
        vocabulary="facilities",
    ),
    Column(
        "event_authority",
        "event",
        _("The body that acted."),
        vocabulary="organisations",
    ),
    Column(
        "event_charges",
        "event",
        _("The charges, e.g. Treason; Art. 103(1)."),
        vocabulary="charges",
        several=True,
    ),
    Column(
        "event_charge_basis",
        "event",
        _("How the charges are known."),
        choices=ChargeBasis,
    ),
    Column("event_sentence", "event", _("Sentencing events only, e.g. 15 years.")),
    Column("event_description", "event", _("Public: what happened, briefly.")),
    Column(
        "source_title",
        "source",
        _("Title of the report, list or article."),
        required_when=FOR_SOURCE,
    ),
    Column("source_url", "source", _("Its address, if online.")),
    Column(
        "source_publisher",
        "source",
        _("Who published it."),
        vocabulary="organisations",
    ),
    Column("source_date", "source", _("When it was published."), date=True),
    Column(
        "source_kind",
        "source",
        _("What kind of source it is."),
        required_when=FOR_SOURCE,
        choices=SourceKind,
    ),
    Column(
        "source_access",
        "source",
        _("Who may see the source; restricted when left empty."),
        choices=Access,
    ),
    Column("source_language", "source", _("The language it is written in."), choices=Language),
    Column(
        "source_locator",
        "source",
        _("Where in the source: page 3, paragraph 4, 12:30, row 12."),
    ),
    Column(
        "source_claim",
        "source",
        _(
            "What the source says, in your words. Without it, the citation says which event the "
            "source reports."
        ),
    ),
]
COLUMN_NAMES = [column.name for column in COLUMNS]
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = [column.name for column in COLUMNS if column.required]
NAME_COLUMNS = [column.name for column in COLUMNS if column.saved_as]

# group → (heading, what to know about the group's columns)
GROUPS = {
    "person": (
        _("Person"),
        _("The first name given for a new person becomes the preferred (displayed) name."),
    ),
    "case": (_("Case"), ""),
    "event": (
        _("Event"),
        _("Leave all event columns empty for a row that only records the person and case."),
    ),
    "source": (
        _("Source"),
        _(
            "Leave all source columns empty if the row cites none. A source given on several "
            "rows is saved once (found again by its URL, or by its title and date) and cited "
            "for each row's event."
        ),
    ),
}

# EDTF forms staff use: (form, what it means). Every form is checked by a test.
DATE_FORMS = [
    ("2024-04-05", _("a day")),
    ("2024-04", _("a month")),
    ("2024", _("a year")),
    ("2019/2023", _("some time between two dates; also 2019-03/2020-11")),
    ("2024-04~", _("about: approximately that date")),
    ("2024-04?", _("uncertain: perhaps that date")),
    ("201X", _("some year of the 2010s")),
    ("2019/..", _("from 2019, end open")),
    ("../2020", _("until 2020, start open")),
]

# Fictional rows showing one case with two events, a person with spellings in three scripts,
# a charge, a place and a source cited with a locator and a claim. They would validate as
# they are, but for their ids (EXAMPLE_PREFIX). Places and charges are from the vocabularies
# every installation starts with (cases/migrations/0003_vocabularies.py).
EXAMPLE_ROWS = [
    {
        "person_external_id": "EXAMPLE-P-1",
        "name_latin": "Example Person",
        "name_cyrillic": "Үлгі Адам",
        "name_chinese": "示例人",
        "person_gender": "male",
        "person_birth_date": "1965",
        "person_ethnicity": "kazakh",
        "person_place_of_origin": "Ili Kazakh Autonomous Prefecture",
        "person_occupation": _("Teacher (fictional example)"),
        "person_public_summary": _("Fictional example person. Delete this row."),
        "case_external_id": "EXAMPLE-C-1",
        "case_public_summary": _(
            "Fictional example case: detained some time between 2019 and 2023; the family "
            "was told in April 2024. Delete this row."
        ),
        "event_external_id": "EXAMPLE-E-1",
        "event_kind": "detained",
        "event_date": "2019/2023",
        "event_place": "Ürümqi",
        "event_charges": "Treason; Art. 103(1)",
        "event_charge_basis": "reported",
        "event_description": _("Fictional example: detained some time between 2019 and 2023."),
        "source_title": _("Example report (fictional)"),
        "source_url": "https://example.org/fictional-report",
        "source_date": "2024-11-05",
        "source_kind": "ngo_report",
        "source_access": "public",
        "source_language": "en",
        "source_locator": "page 3",
        "source_claim": _("Fictional example: the report says he was detained in 2019–2023."),
    },
    {
        "person_external_id": "EXAMPLE-P-1",
        "case_external_id": "EXAMPLE-C-1",
        "event_external_id": "EXAMPLE-E-2",
        "event_kind": "family_notified",
        "event_date": "2024-04",
        "event_place": "Kazakhstan",
        "event_description": _("Fictional example: the family was told in April 2024."),
        "source_title": _("Example report (fictional)"),
        "source_url": "https://example.org/fictional-report",
        "source_kind": "ngo_report",
        "source_locator": "page 4",
        "source_claim": _("Fictional example: the report says the family was told in April 2024."),
    },
]


def is_example_id(value: str) -> bool:
    return value.strip().upper().startswith(EXAMPLE_PREFIX)


# --- What each column accepts ----------------------------------------------------------------


def requirement(column: Column) -> str:
    if column.required:
        return gettext("Required")
    return str(column.required_when) if column.required_when else gettext("Optional")


def accepted(column: Column, code=str, between=", ") -> str:
    """What ``column`` accepts, in sentences; ``code`` marks up values to type as they are,
    ``between`` separates the values of a choice."""
    parts = []
    if column.choices is not None:
        values = [_choice(value, label, code) for value, label in column.choices.choices if value]
        one_of, either = gettext("One of:"), gettext("The value or its label, in any case.")
        if between == "\n":  # a list, a value a line
            parts.append("\n".join([one_of, *values, either]))
        else:
            parts.append(f"{one_of} {between.join(values)}. {either}")
    if column.date:
        parts.append(gettext("A date in EDTF (see Dates)."))
    if column.vocabulary:
        parts.append(str(VOCABULARIES[column.vocabulary]))
    if column.saved_as:
        _script, language, kind = column.saved_as
        parts.append(
            gettext("Saved as: %(kind)s, language %(language)s.")
            % {"kind": NameKind(kind).label, "language": code(language)}
        )
    if column.several:
        parts.append(
            gettext("Several are separated by a semicolon (%(separator)s).")
            % {"separator": code(SEPARATOR)}
        )
    return " ".join(parts)


def _choice(value: str, label, code) -> str:
    # A label that only capitalises its value says nothing more.
    if fold(str(label)) == fold(value):
        return code(value)
    return f"{code(value)} ({label})"


def _example(column: Column) -> str:
    return next((str(row[column.name]) for row in EXAMPLE_ROWS if row.get(column.name)), "")


def general_notes(csv: bool = False) -> list[str]:
    """What to know before filling in the list, a line each."""
    if csv:
        where = gettext(
            "One row per event of a case (detained, sentenced, family notified…), below the "
            "row of column names: keep that row."
        )
    else:
        where = gettext(
            "One row per event of a case (detained, sentenced, family notified…), on the sheet "
            "“%(sheet)s”. Its first row names the columns: keep it."
        ) % {"sheet": sheet_title(LIST_SHEET)}
    return [
        where,
        gettext(
            "The rows below the column names are fictional examples, one case with two events. "
            "Delete them before you upload the file: a row whose ids start with %(prefix)s is "
            "refused, and nothing is imported."
        )
        % {"prefix": EXAMPLE_PREFIX},
        gettext(
            "Required in every row: person_external_id and case_external_id; a new person "
            "also needs at least one name. Leave out the columns you do not use."
        ),
        gettext(
            "Rows for several events of one case repeat the person's and the case's ids; their "
            "other person and case cells may be left empty on all but one row."
        ),
        gettext(
            "Importing a corrected file again updates the records with the same ids. An empty "
            "cell leaves what casetracker holds alone."
        ),
        gettext(
            "Several values in one cell (names, charges, incidents) are separated by %(separator)s"
        )
        % {"separator": SEPARATOR},
        gettext(
            "Places, facilities, charges, incidents and organisations must already be in "
            "casetracker: the columns below say where to find their names."
        ),
        gettext(
            "Do not write formulas. A cell starting with =, +, @ or - (other than a negative "
            "number) is refused, as spreadsheets would run it as a formula."
        ),
        gettext(
            "One error anywhere means nothing is imported; the preview lists every error by "
            "row and column. Nothing is saved until you confirm the preview."
        ),
        gettext(
            "No restricted data: internal notes, contact details, relatives and testifiers are "
            "entered in the admin, where access is controlled."
        ),
    ]


# --- The files ---------------------------------------------------------------------------------


def template_csv() -> bytes:
    """The template as CSV: notes (lines starting with #, which the importer skips), the
    column names, and the example rows. UTF-8 with a byte-order mark, so that Excel reads it
    right."""
    notes = [
        gettext("casetracker: case list import template (CSV)."),
        gettext(
            "Rows above the column names starting with # are notes: the importer skips them "
            "(you may delete them). The XLSX template has these instructions on a sheet of "
            "their own."
        ),
        *general_notes(csv=True),
        gettext(
            "Save the file as CSV UTF-8. Spreadsheets may turn 2024-04 into a date of their own "
            "when they open a CSV file: prefer the XLSX template, whose cells are text."
        ),
        "",
        gettext("Columns:"),
        *(_column_note(column) for column in COLUMNS),
        "",
        gettext("Dates (EDTF), as the source gives them; leave empty if unknown:"),
        *(f"  {form}: {meaning}" for form, meaning in DATE_FORMS),
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    for note in notes:
        # One cell each, quoted where it holds a comma ("# …, …"), so that a spreadsheet
        # shows it whole; the importer skips such a row as it skips # … (imports.parsing).
        writer.writerow([f"{NOTE_PREFIX} {' '.join(str(note).split())}".rstrip()])
    writer.writerow(COLUMN_NAMES)
    for row in EXAMPLE_ROWS:
        writer.writerow([str(row.get(name, "")) for name in COLUMN_NAMES])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _column_note(column: Column) -> str:
    return f"{column.name} ({requirement(column)}): {column.help} {accepted(column)}".strip()


def template_xlsx() -> bytes:
    """The template as a workbook: the sheet "Cases" (the column names, each explained in a
    comment, and the example rows) and the sheet "Instructions". Every cell is text."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(LIST_SHEET)
    example_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(COLUMNS, start=1):
        cell = _text(sheet, 1, index, column.name)
        cell.font = Font(bold=True)
        cell.comment = Comment(f"{column.help} {requirement(column)}.", "casetracker")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 2)
        # Text cells: spreadsheets must not turn 2024-04 into a date or 103(1) into a number.
        sheet.column_dimensions[cell.column_letter].number_format = "@"
        for number, row in enumerate(EXAMPLE_ROWS, start=2):
            cell = _text(sheet, number, index, row.get(column.name, ""))
            cell.fill, cell.font = example_fill, Font(italic=True)
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet(sheet_title(INSTRUCTIONS_SHEET))
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDE", (26, 24, 50, 70, 36), strict=True):
        guide.column_dimensions[letter].width = width
    line = 1
    _text(guide, line, 1, gettext("How to fill in the case list")).font = Font(bold=True, size=14)
    for note in general_notes():
        line += 1
        _text(guide, line, 1, note)
    line += 2
    headings = (
        gettext("column"),
        gettext("required"),
        gettext("what it holds"),
        gettext("accepted values"),
        gettext("example"),
    )
    for index, heading in enumerate(headings, start=1):
        _text(guide, line, index, heading).font = bold
    for group, (title, note) in GROUPS.items():
        line += 1
        _text(guide, line, 1, str(title)).font = bold
        _text(guide, line, 3, str(note)).alignment = wrap
        for column in (c for c in COLUMNS if c.group == group):
            line += 1
            values = (
                column.name,
                requirement(column),
                str(column.help),
                accepted(column, between="\n"),
                _example(column),
            )
            for index, value in enumerate(values, start=1):
                _text(guide, line, index, value).alignment = wrap
    line += 2
    _text(guide, line, 1, gettext("Dates (EDTF)")).font = bold
    _text(guide, line, 3, gettext("As the source gives them; leave empty if unknown.")).font = bold
    for form, meaning in DATE_FORMS:
        line += 1
        _text(guide, line, 1, form)
        _text(guide, line, 3, str(meaning))
    line += 1
    _text(
        guide,
        line,
        3,
        gettext(
            "Two facts with two dates are two events, two rows: detained between 2019 and 2023 "
            "(2019/2023), family told in April 2024 (2024-04)."
        ),
    ).alignment = wrap
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _text(sheet, row: int, column: int, value):
    """A text cell: never a formula, a number or a date, whatever the value looks like."""
    cell = sheet.cell(row=row, column=column)
    cell.value = str(value) if value else None
    if cell.value is not None:
        cell.data_type = "s"
    return cell


# --- imports/TEMPLATE.md -----------------------------------------------------------------------

DOCS_BEGIN = "<!-- generated from imports/template.py: manage.py import_template docs -->"
DOCS_END = "<!-- end of generated columns -->"


def columns_markdown() -> str:
    """The column tables of imports/TEMPLATE.md, in the active language."""

    def code(value) -> str:
        return f"`{value}`"

    def cell(text) -> str:
        return str(text).replace("|", "\\|")

    lines = [
        gettext(
            "Required: %(columns)s, and at least one name for a new person. The template's "
            "example rows (ids starting with %(prefix)s) show a case filled in."
        )
        % {"columns": ", ".join(code(name) for name in REQUIRED), "prefix": code(EXAMPLE_PREFIX)}
    ]
    for group, (title, note) in GROUPS.items():
        lines += ["", f"### {title}", ""]
        if note:
            lines += [str(note), ""]
        lines += [
            f"| {gettext('column')} | {gettext('required')} | {gettext('what it holds')} |",
            "|---|---|---|",
        ]
        for column in (c for c in COLUMNS if c.group == group):
            what = " ".join(filter(None, [str(column.help), accepted(column, code)]))
            lines.append(f"| {code(column.name)} | {requirement(column)} | {cell(what)} |")
    return "\n".join(lines)


def with_columns_markdown(document: str) -> str:
    """``document`` (TEMPLATE.md) with its generated column tables replaced by today's."""
    start, end = document.index(DOCS_BEGIN) + len(DOCS_BEGIN), document.index(DOCS_END)
    return f"{document[:start]}\n\n{columns_markdown()}\n\n{document[end:]}"
