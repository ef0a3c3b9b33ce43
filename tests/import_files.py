"""Building import files in tests: rows as dicts, written as CSV or XLSX bytes."""

import csv
import io

from openpyxl import Workbook

from imports.template import COLUMN_NAMES

# One row per event: a detainee with two events, as a rights group's list would have it.
KANAT_ROWS = [
    {
        "person_external_id": "AJ-P-1",
        "name_latin": "Serik Nurbek",
        "name_cyrillic": "Серік Нұрбек",
        "person_gender": "male",
        "person_birth_date": "1965",
        "person_place_of_origin": "Ili Kazakh Autonomous Prefecture",
        "case_external_id": "AJ-C-1",
        "case_public_summary": "Teacher detained in Ili.",
        "event_kind": "detained",
        "event_date": "2019/2023",
        "event_place": "Xinjiang Uyghur Autonomous Region",
        "event_charges": "Treason; Splitting the state",
        "event_charge_basis": "reported",
        "source_title": "Atajurt list 2024",
        "source_kind": "ngo_report",
        "source_url": "https://example.org/atajurt-list",
        "source_access": "public",
        "source_locator": "row 12",
    },
    {
        "person_external_id": "AJ-P-1",
        "case_external_id": "AJ-C-1",
        "event_kind": "family_notified",
        "event_date": "2024-04",
        "event_place": "Ürümqi",
    },
]


def rows_to_csv(rows, columns=None, *, delimiter=",", encoding="utf-8") -> bytes:
    columns = columns or _columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue().encode(encoding)


def rows_to_xlsx(rows, columns=None, *, sheets=1, merge=None) -> bytes:
    columns = columns or _columns(rows)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) or None for column in columns])
    for index in range(1, sheets):
        workbook.create_sheet(f"Sheet{index + 1}")
    if merge:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _columns(rows):
    used = {column for row in rows for column in row}
    return [column for column in COLUMN_NAMES if column in used]
