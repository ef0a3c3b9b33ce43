"""Reading an uploaded list (CSV or XLSX) into rows of strings with their row numbers.

Nothing here knows what the columns mean (imports.template does). Everything that makes the
file unreadable as a whole raises :class:`FileRefused` with a message for staff; what is
wrong in one cell is left to the validation in imports.services.

Two things of the template's layout are known here, so that a downloaded template is read
back as it is: rows above the column names whose first cell starts with ``#`` are notes
(the CSV template's instructions) and are skipped, as are empty rows there; and a workbook
may keep the template's *Instructions* sheet beside the one sheet holding the list.
"""

import codecs
import csv
import datetime
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Documented in imports/TEMPLATE.md.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
# XLSX is a zip: refuse one that unpacks to far more than any real list (a "zip bomb").
MAX_XLSX_UNPACKED_BYTES = 400 * 1024 * 1024

# A row above the column names whose first cell starts with this is a note, not data.
NOTE_PREFIX = "#"
# The template's sheets (imports.template): the list, and instructions, which an uploaded
# workbook may keep.
LIST_SHEET = _("Cases")
INSTRUCTIONS_SHEET = _("Instructions")
# The interface's languages (DESIGN.md) until settings name them: a template downloaded in
# one of them is read back whatever the language of whoever uploads it.
INTERFACE_LANGUAGES = ("en", "kk", "ru", "zh-hans")


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why and what to do, and ``row``
    which row, when one row is to blame."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class Table:
    format: str  # "csv" or "xlsx"
    header: list[str]
    # (row number as a spreadsheet shows it, notes above the header counted; cells in header
    # order)
    rows: list[tuple[int, list[str]]]
    header_row: int = 1  # the row naming the columns, below any notes


def sheet_title(text) -> str:
    """``text`` as a worksheet may be called: at most 31 characters, none of []:*?/\\."""
    return "".join(" " if char in "[]:*?/\\" else char for char in str(text)).strip()[:31]


@lru_cache(maxsize=1)
def instructions_sheet_titles() -> frozenset[str]:
    """The template's instructions sheet as it is called in every interface language,
    casefolded."""
    languages = (
        [code for code, _name in settings.LANGUAGES]
        if settings.is_overridden("LANGUAGES")
        else INTERFACE_LANGUAGES
    )
    titles = set()
    for language in ("en", *languages):
        with translation.override(language):
            titles.add(sheet_title(INSTRUCTIONS_SHEET).casefold())
    return frozenset(titles)


def too_many_rows() -> str:
    return gettext("The file has more than %(rows)s rows; split it.") % {"rows": f"{MAX_ROWS:,}"}


def beyond_last_column(header_row: int) -> str:
    return gettext(
        "The row has values beyond the last named column; name the column in row %(row)s or "
        "delete the values."
    ) % {"row": header_row}


def is_note(cells: list[str]) -> bool:
    """Whether a row above the column names is a note (or empty) and not the header."""
    first = next((cell.strip() for cell in cells if cell.strip()), "")
    return not first or first.startswith(NOTE_PREFIX)


def sniff_format(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            gettext(
                "This is an old Excel (.xls) file. Save it as “Excel Workbook (.xlsx)” or as "
                "“CSV UTF-8” and upload that."
            )
        )
    if data.startswith(b"%PDF"):
        raise FileRefused(gettext("This is a PDF, not a CSV or XLSX file."))
    return "csv"


def read_table(data: bytes) -> Table:
    """The file's header and non-empty rows. Raises FileRefused."""
    if not data or not data.strip():
        raise FileRefused(gettext("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(
            gettext(
                "The file is %(size)s MB; the limit is %(limit)s MB. Split it into several files."
            )
            % {"size": f"{len(data) / 2**20:.0f}", "limit": MAX_FILE_BYTES // 2**20}
        )
    table = _read_xlsx(data) if sniff_format(data) == "xlsx" else _read_csv(data)
    if not table.header or not any(table.header):
        raise FileRefused(
            gettext(
                "No row names the columns: the first row (below any notes starting with #) "
                "must hold the template's column names."
            )
        )
    if not table.rows:
        raise FileRefused(gettext("The file has column names but no rows below them."))
    return table


# --- CSV -------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), or UTF-16 with its byte-order mark.

    Anything else is refused rather than guessed: a wrong guess turns every Kazakh name into
    nonsense without an error.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused(
                gettext("The file says it is UTF-16 but is not valid UTF-16.")
            ) from None
    if b"\x00" in data[:4096]:
        raise FileRefused(
            gettext(
                "The file is not text (it contains NUL bytes): perhaps UTF-16 without a "
                "byte-order mark, or not a CSV or XLSX file at all. Save it as “CSV UTF-8”."
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        sample = data[max(0, error.start - 40) : error.start + 40]
        if _looks_like_cp1251(sample):
            message = gettext(
                "The file is not UTF-8 text (byte %(byte)s cannot be read). It looks like "
                "Windows-1251 (Cyrillic). In Excel choose “Save as… CSV UTF-8 (comma "
                "delimited)”; in LibreOffice tick “Edit filter settings” and choose “Unicode "
                "(UTF-8)”."
            )
        else:
            message = gettext(
                "The file is not UTF-8 text (byte %(byte)s cannot be read). In Excel choose "
                "“Save as… CSV UTF-8 (comma delimited)”; in LibreOffice tick “Edit filter "
                "settings” and choose “Unicode (UTF-8)”."
            )
        raise FileRefused(message % {"byte": error.start + 1}) from None
    return text.removeprefix("\ufeff")


def _looks_like_cp1251(sample: bytes) -> bool:
    letters = sum(1 for byte in sample if byte >= 0xC0)
    return letters >= max(1, len([b for b in sample if b >= 0x80]) // 2)


def _delimiter(header_line: str) -> str:
    # Excel saves CSV with semicolons where the comma is the decimal sign (Russian, Kazakh).
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _header_line(text: str) -> str:
    """The first line that is neither empty nor a note: the one naming the columns. A note
    may be quoted by a spreadsheet that saved it ("# …, …")."""
    for line in text.splitlines():
        start = line.lstrip(' \t,;"')  # as is_note(): the first cell that is not empty
        if start and not start.startswith(NOTE_PREFIX):
            return line
    return ""


def _read_csv(data: bytes) -> Table:
    text = decode(data)
    delimiter = _delimiter(_header_line(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, header_row, rows, number = None, 1, [], 0
    try:
        for number, record in enumerate(reader, start=1):
            if header is None:
                if is_note(record):
                    continue  # the template's notes, or empty rows, above the column names
                header, header_row = record, number
                while header and not header[-1].strip():
                    header.pop()  # a trailing delimiter names no column
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise FileRefused(too_many_rows())
            rows.append((number, record))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            # The csv module's own cell size limit, far above MAX_CELL_CHARS.
            message = gettext(
                "The row cannot be read as CSV: a cell is longer than %(limit)s characters."
            ) % {"limit": f"{csv.field_size_limit():,}"}
        else:
            # The csv module's own words: untranslated.
            message = gettext("The row cannot be read as CSV: %(reason)s.") % {"reason": error}
        raise FileRefused(message, row=number + 1) from None
    for number, record in rows:
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
            raise FileRefused(beyond_last_column(header_row), row=number)
    width = len(header or [])
    rows = [(n, (r + [""] * width)[:width]) for n, r in rows]
    return Table("csv", header or [], rows, header_row)


# --- XLSX ------------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise FileRefused(
            gettext("The file is neither CSV nor a readable XLSX workbook.")
        ) from None
    if "xl/workbook.xml" not in names:
        raise FileRefused(gettext("The file is a zip archive, not an XLSX workbook."))
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise FileRefused(
            gettext("The workbook unpacks to far more data than a case list can hold.")
        )
    try:
        # Not read-only mode: that mode cannot see merged cells. Formulas are read as their
        # text (data_only=False) so that they are refused, never evaluated.
        workbook = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as error:  # openpyxl raises many kinds on a damaged file
        raise FileRefused(
            gettext("The XLSX workbook cannot be read (%(error)s).")
            % {"error": type(error).__name__}
        ) from None
    try:
        sheet = _list_sheet(workbook)
        merged = [str(cells) for cells in sheet.merged_cells.ranges]
        if merged:
            raise FileRefused(
                gettext(
                    "The sheet has merged cells (%(cells)s); unmerge them and write the value "
                    "into every row it belongs to."
                )
                % {"cells": ", ".join(merged[:5])}
            )
        if sheet.max_row > MAX_ROWS + 1:
            raise FileRefused(too_many_rows())
        header, header_row, rows = None, 1, []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if header is None:
                if is_note(cells):
                    continue
                header, header_row = cells, number
                while header and not header[-1].strip():
                    header.pop()
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if any(cell.strip() for cell in cells[len(header) :]):
                raise FileRefused(beyond_last_column(header_row), row=number)
            rows.append((number, (cells + [""] * len(header))[: len(header)]))
    finally:
        workbook.close()
    return Table("xlsx", header or [], rows, header_row)


def _list_sheet(workbook):
    """The one sheet holding the list. The template's Instructions sheet may stay beside it;
    any other sheet is refused rather than ignored, as it may hold rows meant for import."""
    instructions = instructions_sheet_titles()
    others = [name for name in workbook.sheetnames if name.strip().casefold() not in instructions]
    if len(others) == 1 and others[0] in [sheet.title for sheet in workbook.worksheets]:
        return workbook[others[0]]
    if not others:
        raise FileRefused(
            gettext(
                "The workbook holds only the instructions sheet; write the list on the "
                "template's sheet “%(sheet)s”."
            )
            % {"sheet": sheet_title(LIST_SHEET)}
        )
    raise FileRefused(
        gettext(
            "The workbook has %(count)s sheets (%(names)s); put the list on a single sheet "
            "and delete the others (the template's “%(instructions)s” sheet may stay)."
        )
        % {
            "count": len(workbook.sheetnames),
            "names": ", ".join(workbook.sheetnames),
            "instructions": sheet_title(INSTRUCTIONS_SHEET),
        }
    )


def _cell_text(value) -> str:
    """A cell as the text a person would type into a CSV file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
