"""The data dictionary of an export: DATA-DICTIONARY.md and the XLSX's "Data dictionary"
sheet, both made from the column definitions in exports.tables (so they cannot drift apart).
It says nothing of the export itself (no date, no counts): the same for every export."""

from exports.tables import FORMULA_ESCAPE, SEPARATOR, Table, tables

SHEET_HEADER = ["file", "column", "type", "meaning", "allowed values"]

INTRO = """\
# casetracker case export: data dictionary

This bundle holds detainee cases from casetracker, as the partner API gives them: only the
public fields of each case, never internal notes, contacts, testifiers or restricted and
confidential sources. `manifest.json` says when and how it was made, with which filters,
how many records each file holds, and the SHA-256 of every file.

## Files

| file | what it holds |
|---|---|
{files}

The CSV files and sheets join on `case_reference` and `case_uid` (the `reference` and `uid`
of `cases.csv`). Every file is ordered by case reference, and within a case as the API
orders it (events by earliest date, names preferred first, sources by title).

## Reading the files

- **Encoding.** UTF-8 throughout. CSV files start with a byte-order mark so that Excel reads
  Kazakh Cyrillic, Arabic script and Chinese correctly; lines end in CRLF, and a value with a
  comma, quote or line break is quoted as RFC 4180 says. LibreOffice: choose UTF-8 and the
  comma separator. In Excel, prefer `cases.xlsx`, or Data → From Text/CSV, so that values
  such as `2024-04` stay text.
- **Empty cells** are unknown or not applicable. `true`/`false` are booleans.
- **Several values in one cell** (columns of type "list of …") are separated by a vertical
  bar `{separator}`. A `{separator}` inside a value is written `\\{separator}`, and a backslash
  `\\\\`: split on the bars that follow no backslash, then read `\\x` as `x`. Parallel
  lists (`charge_uids`, `charge_names`, …) hold one entry per charge, in the same order.
- **Formulas are defused.** A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a
  carriage return is written with an apostrophe `{escape}` in front (in CSV and XLSX alike), so
  that no spreadsheet runs it as a formula. A program reading the files drops that one
  apostrophe when the next character is one of those. `cases.json` holds the values as they
  are.
- **Control characters** (U+0000–U+001F other than tab, line feed, carriage return) cannot be
  stored in XLSX; in CSV and XLSX they are written as U+FFFD (�), and every line break as a
  line feed (LF). `cases.json` keeps them as they are.
- **Every XLSX cell is text**, numbers and dates included, so that nothing is converted.
- **URLs** (`url`, `*_url`) are the records' addresses in the partner API, under the base
  URL in `manifest.json`; partners with a token can open them. `link` is the source itself.
- **Integer database keys never appear**: records are identified by their permanent `uid`.

## Dates

Dates are written as the sources give them, in the Library of Congress **Extended
Date/Time Format (EDTF)**, next to the earliest and latest day they can mean:

| EDTF | meaning | earliest | latest |
|---|---|---|---|
| `2024-04-05` | that day | 2024-04-05 | 2024-04-05 |
| `2024-04` | some day in April 2024 | 2024-04-01 | 2024-04-30 |
| `2024` | some day in 2024 | 2024-01-01 | 2024-12-31 |
| `2019/2023` | some time between 2019 and 2023 | 2019-01-01 | 2023-12-31 |
| `2024-04~` | about April 2024 (approximate) | 2024-04-01 | 2024-04-30 |
| `2024-04?` | April 2024, uncertain | 2024-04-01 | 2024-04-30 |
| `201X` | some year of the 2010s | 2010-01-01 | 2019-12-31 |
| `2019/..` | from 2019, end open (e.g. still detained) | 2019-01-01 | (empty) |
| `../2020` | up to 2020, start unknown | (empty) | 2020-12-31 |

`~` and `?` are kept in the EDTF text and do not widen the earliest and latest days. Sort and
filter by the earliest/latest columns; quote the EDTF text. "Detained between 2019 and 2023"
and "family notified in April 2024" are two events, never one fudged date. Times
(`verified_at`, `updated_at`) are ISO 8601 in UTC (`Z`).

## Checking a bundle

`manifest.json` lists the SHA-256 of every file: `sha256sum cases.csv` (Linux),
`shasum -a 256 cases.csv` (macOS) or `Get-FileHash cases.csv` (Windows PowerShell) must give
the same. With casetracker, `python manage.py verify_export BUNDLE` checks every hash, size
and record count and names any difference.
"""


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _allowed(column) -> str:
    return "; ".join(f"{value} ({label})" for value, label in column.allowed)


OTHER_FILES = [
    (
        "cases.json",
        "every case exactly as the partner API's case detail (`/api/v1/cases/<reference>/`) "
        "gives it: a JSON array, one case a line (with `--jsonl`, `cases.jsonl` instead: JSON "
        "Lines, one case a line)",
    ),
    (
        "cases.xlsx",
        "the four tables as sheets (a table longer than a sheet holds goes on in "
        "“Events (2)” and so on), then a “Data dictionary” sheet",
    ),
    ("DATA-DICTIONARY.md", "this file"),
    (
        "manifest.json",
        "generated_at, software version, scope, filters, base URL, and for each file its "
        "SHA-256, size in bytes and record count",
    ),
]


def markdown(staff: bool = False) -> str:
    table_list = tables(staff)
    files = [(t.filename, f"{t.what} (sheet “{t.sheet}”)") for t in table_list] + OTHER_FILES
    files = "\n".join(f"| `{name}` | {what} |" for name, what in files)
    parts = [INTRO.format(files=files, separator=SEPARATOR, escape=FORMULA_ESCAPE)]
    if staff:
        parts.append(
            "## Staff export\n\nThis is a staff export: it may hold cases that are not "
            "published (draft, in review, verified but unpublished, archived), which partners "
            "never see. `cases.csv` and `cases.json` add `review_state`. Keep it within the "
            "organisation.\n"
        )
    for table in table_list:
        parts.append(_table_section(table))
    return "\n".join(parts)


def _table_section(table: Table) -> str:
    lines = [
        f"## `{table.filename}` (sheet “{table.sheet}”): {table.what}",
        "",
        "| column | type | meaning | allowed values |",
        "|---|---|---|---|",
    ]
    for column in table.columns:
        allowed = "; ".join(f"`{value}` {_md(label)}" for value, label in column.allowed)
        lines.append(f"| `{column.name}` | {column.type} | {_md(column.meaning)} | {allowed} |")
    return "\n".join(lines) + "\n"


def sheet_rows(staff: bool = False):
    for table in tables(staff):
        for column in table.columns:
            yield [table.filename, column.name, column.type, column.meaning, _allowed(column)]
