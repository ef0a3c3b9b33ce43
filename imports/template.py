"""The import template: its columns, what each means, and the blank CSV and XLSX files staff
download from the admin. imports/TEMPLATE.md documents the same columns for people filling
the file in (a test keeps the two in step)."""

import csv
import io
from dataclasses import dataclass

# Several values in one cell (names, charges, incidents) are separated by this.
SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    name: str
    group: str
    help: str
    required: bool = False


COLUMNS = [
    Column(
        "person_external_id",
        "person",
        "Your group's own id for the person, e.g. AJ-P-0042. Same person, same id, in every "
        "row and every file.",
        required=True,
    ),
    Column("name_latin", "person", "Spellings in Latin letters, separated by ;"),
    Column("name_cyrillic", "person", "Spellings in Cyrillic (Kazakh or Russian), separated by ;"),
    Column("name_arabic", "person", "Spellings in Arabic script (as written in Xinjiang)."),
    Column("name_chinese", "person", "Chinese-character names, e.g. 卡纳提·叶热杰普."),
    Column("person_gender", "person", "male, female, other or unknown."),
    Column("person_birth_date", "person", "EDTF: 1965, 1965-03, 196X, 1964/1966."),
    Column("person_ethnicity", "person", "kazakh, uyghur, kyrgyz, hui, … (see the list)."),
    Column("person_place_of_origin", "person", "A place already in casetracker."),
    Column("person_occupation", "person", "e.g. Retired journalist, Xinjiang Daily."),
    Column("person_public_summary", "person", "Public once a case is published."),
    Column(
        "case_external_id",
        "case",
        "Your group's own id for the case file, e.g. AJ-C-0042. Rows for several events of "
        "one case repeat it.",
        required=True,
    ),
    Column("case_public_summary", "case", "Public once the case is published."),
    Column("case_incidents", "case", "Names of incidents already in casetracker, separated by ;"),
    Column(
        "event_external_id",
        "event",
        "Optional: your id for the event. Without it, an event is matched by case, kind and date.",
    ),
    Column("event_kind", "event", "detained, arrested, charged, tried, sentenced, …"),
    Column("event_date", "event", "EDTF: 2024-04, 2019/2023, 2024-04~."),
    Column("event_place", "event", "A place already in casetracker."),
    Column("event_facility", "event", "A facility already in casetracker."),
    Column("event_authority", "event", "An organisation already in casetracker."),
    Column("event_charges", "event", "Charges already in casetracker, separated by ;"),
    Column("event_charge_basis", "event", "official or reported."),
    Column("event_sentence", "event", "Sentencing events only, e.g. 15 years."),
    Column("event_description", "event", "Public: what happened, briefly."),
    Column("source_title", "source", "Title of the report, list or article."),
    Column("source_url", "source", "Its address, if online."),
    Column("source_publisher", "source", "An organisation already in casetracker."),
    Column("source_date", "source", "EDTF publication date."),
    Column("source_kind", "source", "news_report, ngo_report, testimony, …"),
    Column("source_access", "source", "public, restricted (the default) or confidential."),
    Column("source_language", "source", "en, kk, ru, zh, ug, …"),
    Column("source_locator", "source", "Where in the source: page 3, paragraph 4, 12:30."),
    Column("source_claim", "source", "What the source says, in your words. Optional."),
]
COLUMN_NAMES = [column.name for column in COLUMNS]
REQUIRED = [column.name for column in COLUMNS if column.required]
NAME_COLUMNS = ["name_latin", "name_cyrillic", "name_arabic", "name_chinese"]


def template_csv() -> bytes:
    """The blank template as CSV: UTF-8 with a byte-order mark, so that Excel reads it right."""
    out = io.StringIO()
    csv.writer(out).writerow(COLUMN_NAMES)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The blank template as a single-sheet workbook; each column's header says what it holds
    in a comment."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "cases"
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = Font(bold=True)
        required = " Required." if column.required else ""
        cell.comment = Comment(f"{column.help}{required}", "casetracker")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 2)
        # Text cells: spreadsheets must not turn 2024-04 into a date or 103(1) into a number.
        sheet.column_dimensions[cell.column_letter].number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
