"""Making and reading export bundles in tests."""

import csv
import io
import json
import zipfile
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from openpyxl import load_workbook

from exports.tables import split_values, unescape_formula


def export(tmp_path, name="bundle", *args, **options) -> Path:
    """Run export_cases into a new bundle under tmp_path; returns its path."""
    out = tmp_path / name
    call_command("export_cases", "--out", str(out), *args, stdout=StringIO(), **options)
    return out.with_name(out.name + ".zip") if "--zip" in args else out


def files_of(bundle: Path) -> dict[str, bytes]:
    """Every file of a bundle (directory or zip): name → bytes."""
    if bundle.is_file():
        with zipfile.ZipFile(bundle) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    return {p.name: p.read_bytes() for p in sorted(bundle.iterdir())}


def csv_rows(data: bytes) -> list[list[str]]:
    """A CSV file's rows, the header first."""
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def csv_records(data: bytes) -> list[dict[str, str]]:
    header, *rows = csv_rows(data)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_sheets(data: bytes, headings: bool = False) -> dict[str, list[list[str]]]:
    """Each sheet's rows as text. Empty cells are not stored (they read back as None, and a
    row ends at its last filled cell): they are "" here, up to the header's width.

    A table's header row holds headings for people, in the bundle's language; unless
    ``headings``, it is given back as the column codes, read from the Data dictionary sheet
    (which must give exactly those headings, in that order)."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheets = {}
    try:
        for sheet in workbook.worksheets:
            rows = [
                ["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)
            ]
            width = len(rows[0]) if rows else 0
            sheets[sheet.title] = [row + [""] * (width - len(row)) for row in rows]
    finally:
        workbook.close()
    if headings or "Data dictionary" not in sheets:
        return sheets
    columns: dict[str, list[tuple[str, str]]] = {}
    for file, code, heading, *_ in sheets["Data dictionary"][1:]:
        columns.setdefault(file.removesuffix(".csv"), []).append((code, heading))
    for title, rows in sheets.items():
        table = title.split(" (")[0].lower().replace(" ", "_")
        if table in columns and rows:
            assert rows[0] == [heading for _, heading in columns[table]], title
            rows[0] = [code for code, _ in columns[table]]
    return sheets


def json_cases(data: bytes) -> list[dict]:
    return json.loads(data)


def manifest_of(bundle: Path) -> dict:
    return json.loads(files_of(bundle)["manifest.json"])


def values(cell: str) -> list[str]:
    """The values of a multi-valued cell, as a program reading the files would get them."""
    return split_values(unescape_formula(cell))
