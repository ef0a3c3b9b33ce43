"""The data dictionary of an export: DATA-DICTIONARY.md and the XLSX's "Data dictionary"
sheet, both made from the column definitions in exports.tables (so they cannot drift apart).
It says nothing of the export itself (no date, no counts): the same for every export.

Written in the active language (the staff member's, or the partner's Accept-Language); file
names, sheet names and column codes stay as they are, as programs read them."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.tables import FORMULA_ESCAPE, SEPARATOR, Table, heading, tables

SHEET_HEADER = [
    _("file"),
    _("column"),
    _("heading in cases.xlsx"),
    _("type"),
    _("meaning"),
    _("allowed values"),
]

# The EDTF forms of the "Dates" table: (form, what it means, earliest day, latest day).
DATE_FORMS = [
    ("2024-04-05", _("that day"), "2024-04-05", "2024-04-05"),
    ("2024-04", _("some day in April 2024"), "2024-04-01", "2024-04-30"),
    ("2024", _("some day in 2024"), "2024-01-01", "2024-12-31"),
    ("2019/2023", _("some time between 2019 and 2023"), "2019-01-01", "2023-12-31"),
    ("2024-04~", _("about April 2024 (approximate)"), "2024-04-01", "2024-04-30"),
    ("2024-04?", _("April 2024, uncertain"), "2024-04-01", "2024-04-30"),
    ("201X", _("some year of the 2010s"), "2010-01-01", "2019-12-31"),
    ("2019/..", _("from 2019, end open (e.g. still detained)"), "2019-01-01", None),
    ("../2020", _("up to 2020, start unknown"), None, "2020-12-31"),
]


def sheet_header() -> list[str]:
    return [str(name) for name in SHEET_HEADER]


def intro(files: str) -> str:
    """What the bundle is and how to read it, above the tables' columns; ``files`` is the
    rows of the table of files."""
    values = {"separator": SEPARATOR, "escape": FORMULA_ESCAPE}
    empty = gettext("(empty)")
    dates = [
        f"| `{form}` | {meaning} | {earliest or empty} | {latest or empty} |"
        for form, meaning, earliest, latest in DATE_FORMS
    ]
    lines = [
        "# " + gettext("casetracker case export: data dictionary"),
        "",
        gettext(
            "This bundle holds detainee cases from casetracker, as the partner API gives them: "
            "only the\n"
            "public fields of each case, never internal notes, contacts, testifiers or restricted "
            "and\n"
            "confidential sources. `manifest.json` says when and how it was made, with which "
            "filters,\n"
            "how many records each file holds, and the SHA-256 of every file."
        ),
        "",
        "## " + gettext("Files"),
        "",
        f"| {gettext('file')} | {gettext('what it holds')} |",
        "|---|---|",
        files,
        "",
        gettext(
            "The CSV files and sheets join on `case_reference` and `case_uid` (the `reference` and "
            "`uid`\n"
            "of `cases.csv`). Every file is ordered by case reference, and within a case as the "
            "API\n"
            "orders it (events by earliest date, names preferred first, sources by title)."
        ),
        "",
        "## " + gettext("Reading the files"),
        "",
        "- "
        + gettext(
            "**Encoding.** UTF-8 throughout. CSV files start with a byte-order mark so that Excel "
            "reads\n"
            "  Kazakh Cyrillic, Arabic script and Chinese correctly; lines end in CRLF, and a "
            "value with a\n"
            "  comma, quote or line break is quoted as RFC 4180 says. LibreOffice: choose UTF-8 "
            "and the\n"
            "  comma separator. In Excel, prefer `cases.xlsx`, or Data → From Text/CSV, so that "
            "values\n"
            "  such as `2024-04` stay text."
        ),
        "- "
        + gettext("**Empty cells** are unknown or not applicable. `true`/`false` are booleans."),
        "- "
        + gettext(
            '**Several values in one cell** (columns of type "list of …") are separated by a '
            "vertical\n"
            "  bar `%(separator)s`. A `%(separator)s` inside a value is written `\\%(separator)s`, "
            "and a backslash\n"
            "  `\\\\`: split on the bars that follow no backslash, then read `\\x` as `x`. "
            "Parallel\n"
            "  lists (`charge_uids`, `charge_names`, …) hold one entry per charge, in the same "
            "order."
        )
        % values,
        "- "
        + gettext(
            "**Formulas are defused.** A cell whose text starts with `=`, `+`, `-`, `@`, a tab or "
            "a\n"
            "  carriage return is written with an apostrophe `%(escape)s` in front (in CSV and "
            "XLSX alike), so\n"
            "  that no spreadsheet runs it as a formula. A program reading the files drops that "
            "one\n"
            "  apostrophe when the next character is one of those. `cases.json` holds the values "
            "as they\n"
            "  are."
        )
        % values,
        "- "
        + gettext(
            "**Control characters** (U+0000–U+001F other than tab, line feed, carriage return) "
            "cannot be\n"
            "  stored in XLSX; in CSV and XLSX they are written as U+FFFD (�), and every line "
            "break as a\n"
            "  line feed (LF). `cases.json` keeps them as they are."
        ),
        "- "
        + gettext(
            "**Every XLSX cell is text**, numbers and dates included, so that nothing is converted."
        ),
        "- "
        + gettext(
            "**URLs** (`url`, `*_url`) are the records' addresses in the partner API, under the "
            "base\n"
            "  URL in `manifest.json`; partners with a token can open them. `link` is the source "
            "itself."
        ),
        "- "
        + gettext(
            "**Integer database keys never appear**: records are identified by their permanent "
            "`uid`."
        ),
        "",
        "## " + gettext("Dates"),
        "",
        gettext(
            "Dates are written as the sources give them, in the Library of Congress **Extended\n"
            "Date/Time Format (EDTF)**, next to the earliest and latest day they can mean:"
        ),
        "",
        f"| EDTF | {gettext('meaning')} | {gettext('earliest')} | {gettext('latest')} |",
        "|---|---|---|---|",
        *dates,
        "",
        gettext(
            "`~` and `?` are kept in the EDTF text and do not widen the earliest and latest days. "
            "Sort and\n"
            'filter by the earliest/latest columns; quote the EDTF text. "Detained between 2019 '
            'and 2023"\n'
            'and "family notified in April 2024" are two events, never one fudged date. Times\n'
            "(`verified_at`, `updated_at`) are ISO 8601 in UTC (`Z`)."
        ),
        "",
        "## " + gettext("Checking a bundle"),
        "",
        gettext(
            "`manifest.json` lists the SHA-256 of every file: `sha256sum cases.csv` (Linux),\n"
            "`shasum -a 256 cases.csv` (macOS) or `Get-FileHash cases.csv` (Windows PowerShell) "
            "must give\n"
            "the same. With casetracker, `python manage.py verify_export BUNDLE` checks every "
            "hash, size\n"
            "and record count and names any difference."
        ),
        "",
    ]
    return "\n".join(lines)


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _allowed(column) -> str:
    return "; ".join(f"{value} ({label})" for value, label in column.allowed)


OTHER_FILES = [
    (
        "cases.json",
        _(
            "every case exactly as the partner API's case detail (`/api/v1/cases/<reference>/`) "
            "gives it: a JSON array, one case a line (with `--jsonl`, `cases.jsonl` instead: JSON "
            "Lines, one case a line)"
        ),
    ),
    (
        "cases.xlsx",
        _(
            "the four tables as sheets (a table longer than a sheet holds goes on in "
            "“Events (2)” and so on), then a “Data dictionary” sheet"
        ),
    ),
    ("DATA-DICTIONARY.md", _("this file")),
    (
        "manifest.json",
        _(
            "generated_at, software version, scope, filters, base URL, and for each file its "
            "SHA-256, size in bytes and record count"
        ),
    ),
]


STATISTICS_FILE = (
    "statistics.csv",
    _(
        "the statistics of the exported cases, as /api/v1/statistics/ gives them, one row per "
        "count (also the “Statistics” sheet of cases.xlsx)"
    ),
)
STAFF_STATISTICS_FILE = (
    "statistics.csv",
    _(
        "the statistics of the exported cases, as the staff's statistics page counts them "
        "(the staff's own breakdowns included, every count exact), one row per count (also "
        "the “Statistics” sheet of cases.xlsx)"
    ),
)
# statistics.csv's columns (figures.breakdowns.TABLE_HEADER): (name, type, meaning).
STATISTICS_COLUMNS = [
    ("breakdown", _("code"), _("Which breakdown: total, detention_year, status, charges, …")),
    (
        "value",
        _("text"),
        _(
            "What the row counts: a code (detained), a band (18-29), a year, the uid of a place "
            "or charge, uncertain (too uncertain for one row) or unknown."
        ),
    ),
    (
        "detail",
        _("text"),
        _(
            "detention_year: exact (dated within the year) or range (a range covering the "
            "year, so these overlap and must not be added up); charges: the article."
        ),
    ),
    ("label", _("text"), _("The row's name in the export's language.")),
    (
        "count",
        _("integer"),
        _("Cases in the row; empty when hidden (see suppressed)."),
    ),
    (
        "suppressed",
        _("boolean (true/false)"),
        _(
            "true when the count is hidden: too small to show without pointing at a person, or "
            "one that could be worked out from the others."
        ),
    ),
]


def _statistics_section(staff: bool) -> str:
    """statistics.csv's columns, as a table's are described."""
    name, what = STAFF_STATISTICS_FILE if staff else STATISTICS_FILE
    rows = [(n, kind, meaning, "") for n, kind, meaning in STATISTICS_COLUMNS]
    return _section(name, "Statistics", what, rows)


def markdown(staff: bool = False) -> str:
    table_list = tables(staff)
    files = (
        [
            (
                t.filename,
                gettext("%(what)s (sheet “%(sheet)s”)") % {"what": t.what, "sheet": t.sheet},
            )
            for t in table_list
        ]
        + [STAFF_STATISTICS_FILE if staff else STATISTICS_FILE]
        + OTHER_FILES
    )
    files = "\n".join(f"| `{name}` | {what} |" for name, what in files)
    parts = [intro(files)]
    if staff:
        parts.append(
            "## "
            + gettext("Staff export")
            + "\n\n"
            + gettext(
                "This is a staff export: it may hold cases that are not published (draft, in "
                "review, verified but unpublished, archived), which partners never see. "
                "`cases.csv` and `cases.json` add `review_state`. Keep it within the "
                "organisation."
            )
            + "\n"
        )
    for table in table_list:
        parts.append(_table_section(table))
    parts.append(_statistics_section(staff))
    return "\n".join(parts)


def _table_section(table: Table) -> str:
    rows = [
        (
            column.name,
            column.type,
            column.meaning,
            "; ".join(f"`{value}` {_md(label)}" for value, label in column.allowed),
        )
        for column in table.columns
    ]
    return _section(table.filename, table.sheet, table.what, rows)


def _section(file: str, sheet: str, what, rows) -> str:
    """A file's heading and the table of its columns: (name, type, meaning, allowed)."""
    heading = gettext("`%(file)s` (sheet “%(sheet)s”): %(what)s") % {
        "file": file,
        "sheet": sheet,
        "what": what,
    }
    lines = [
        f"## {heading}",
        "",
        f"| {gettext('column')} | {gettext('type')} | {gettext('meaning')} | "
        f"{gettext('allowed values')} |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{name}` | {kind} | {_md(meaning)} | {allowed} |"
        for name, kind, meaning, allowed in rows
    ]
    return "\n".join(lines) + "\n"


def sheet_rows(staff: bool = False):
    for table in tables(staff):
        for column in table.columns:
            yield [
                table.filename,
                column.name,
                heading(table.name, column),
                str(column.type),
                str(column.meaning),
                _allowed(column),
            ]
    for name, kind, meaning in STATISTICS_COLUMNS:
        yield ["statistics.csv", name, name, str(kind), str(meaning), ""]
