"""The import template: fictional example rows that would validate but are never imported,
instructions written from the columns validation uses, and both files read back as
downloaded."""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

import imports
from cases.models import EventKind
from casetracker.edtf import edtf_bounds
from imports import parsing, services, template
from imports.models import BatchStatus, ImportBatch
from imports.template import COLUMN_NAMES, EXAMPLE_ROWS
from people.models import Person
from tests.factories import make_organisation
from tests.import_files import KANAT_ROWS
from tests.jobs import job_of, run_jobs

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:imports_importbatch_upload")
EXAMPLE_MESSAGE = "This is the template's example row: delete it."


@pytest.fixture
def atajurt():
    return make_organisation("Atajurt Kazakh Human Rights", abbreviation="Atajurt", kind="ngo")


def download(client, fmt) -> bytes:
    response = client.get(reverse("admin:imports_importbatch_template", args=[fmt]))
    assert response.status_code == 200
    return response.content


def upload(client, group, data, fmt):
    """Upload through the admin and run the check it queues; what the batch kept of it."""
    file = SimpleUploadedFile(f"casetracker-import.{fmt}", data)
    job = job_of(client.post(UPLOAD, {"file": file, "group": group.pk}))
    run_jobs()
    batch = ImportBatch.objects.get(pk=job.parameters["batch"])
    return SimpleNamespace(errors=[services.RowError(**error) for error in batch.errors])


def dry_run(data, fmt, user, group):
    return services.import_file(data, f"t.{fmt}", user=user, group=group, dry_run=True)


# Editing a downloaded template as a person would, in a spreadsheet or a text editor.


def csv_lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").splitlines()


def csv_header_index(lines) -> int:
    return next(i for i, line in enumerate(lines) if not line.lstrip('"').startswith("#"))


def csv_example_rows(data: bytes) -> list[int]:
    """The example rows' numbers, as a spreadsheet shows them (the notes counted)."""
    return [n for n, line in enumerate(csv_lines(data), start=1) if line.startswith("EXAMPLE-")]


def csv_without_examples(data: bytes, *rows) -> bytes:
    lines = csv_lines(data)
    lines = lines[: csv_header_index(lines) + 1]
    out = io.StringIO()
    csv.writer(out).writerows([row.get(column, "") for column in COLUMN_NAMES] for row in rows)
    return ("\ufeff" + "\r\n".join(lines) + "\r\n" + out.getvalue()).encode("utf-8")


def xlsx_without_examples(data: bytes, *rows) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    workbook["Cases"].delete_rows(2, len(EXAMPLE_ROWS))
    for row in rows:
        workbook["Cases"].append([row.get(column) for column in COLUMN_NAMES])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def without_examples(data, fmt, *rows) -> bytes:
    return (csv_without_examples if fmt == "csv" else xlsx_without_examples)(data, *rows)


def with_ids_renamed(data: bytes, fmt: str) -> bytes:
    """The template with its example ids made ordinary ids, and nothing else changed."""
    if fmt == "csv":
        return data.replace(b"EXAMPLE-", b"DEMO-")
    workbook = load_workbook(io.BytesIO(data))
    for row in workbook["Cases"].iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = cell.value.replace("EXAMPLE-", "DEMO-")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def instructions(data: bytes) -> dict[str, list[str]]:
    """The Instructions sheet's rows, by their first cell."""
    sheet = load_workbook(io.BytesIO(data))["Instructions"]
    return {
        row[0]: [value or "" for value in row]
        for row in sheet.iter_rows(values_only=True)
        if row[0]
    }


# --- the example rows ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_example_rows_validate_once_their_ids_are_not_example_ids(client, data_entry, atajurt, fmt):
    client.force_login(data_entry)
    result = dry_run(with_ids_renamed(download(client, fmt), fmt), fmt, data_entry, atajurt)
    assert result.plan.errors == []
    assert result.batch.status == BatchStatus.VALIDATED


def test_example_rows_show_one_case_with_two_events(client, data_entry, atajurt):
    client.force_login(data_entry)
    data = with_ids_renamed(download(client, "xlsx"), "xlsx")
    plan = dry_run(data, "xlsx", data_entry, atajurt).plan
    assert (len(plan.people), len(plan.cases)) == (1, 1)
    events = {(event.values["kind"], event.values["date"]) for event in plan.events.values()}
    assert events == {("detained", "2019/2023"), ("family_notified", "2024-04")}
    charges = {c.name for e in plan.events.values() for c in e.charges.values()}
    assert charges == {"Treason", "Splitting the state"}


def test_example_person_is_spelt_in_latin_kazakh_cyrillic_and_chinese(client, data_entry, atajurt):
    client.force_login(data_entry)
    plan = dry_run(
        with_ids_renamed(download(client, "csv"), "csv"), "csv", data_entry, atajurt
    ).plan
    (person,) = plan.people.values()
    names = {(column, language) for _name, _script, language, _kind, column, _row in person.names}
    assert names == {("name_latin", "en"), ("name_cyrillic", "kk"), ("name_chinese", "zh")}
    assert any(set(name) & set("ӘҒҚҢӨҰҮІһ") for name, *_ in person.names)  # Kazakh letters


def test_example_source_is_cited_twice_with_locators_and_claims(client, data_entry, atajurt):
    client.force_login(data_entry)
    plan = dry_run(
        with_ids_renamed(download(client, "csv"), "csv"), "csv", data_entry, atajurt
    ).plan
    assert len(plan.sources) == 1
    citations = [(c.locator, bool(c.claim)) for c in plan.citations]
    assert citations == [("page 3", True), ("page 4", True)]


def test_example_rows_are_marked_as_fictional():
    assert all(row["person_external_id"].startswith("EXAMPLE-") for row in EXAMPLE_ROWS)
    assert EXAMPLE_ROWS[0]["name_latin"] == "Example Person"
    assert "example.org" in EXAMPLE_ROWS[0]["source_url"]


# --- the untouched template is refused ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_uploading_the_untouched_template_refuses_each_example_row(
    client, data_entry, atajurt, fmt
):
    client.force_login(data_entry)
    data = download(client, fmt)
    errors = upload(client, atajurt, data, fmt).errors
    rows = csv_example_rows(data) if fmt == "csv" else [2, 3]
    assert [(e.row, e.column) for e in errors] == [(row, "person_external_id") for row in rows]
    assert all(EXAMPLE_MESSAGE in error.message for error in errors)
    assert ImportBatch.objects.get().status == BatchStatus.INVALID


def test_refused_example_row_names_its_row_on_the_batch_page(client, data_entry, atajurt):
    client.force_login(data_entry)
    upload(client, atajurt, download(client, "xlsx"), "xlsx")
    page = client.get(
        reverse("admin:imports_importbatch_change", args=[ImportBatch.objects.get().pk])
    )
    assert b"Row 3, column person_external_id: This is the template&#x27;s example row" in (
        page.content
    )


def test_an_example_row_left_among_real_rows_stops_the_whole_import(data_entry, atajurt):
    data = csv_without_examples(template.template_csv(), *KANAT_ROWS, EXAMPLE_ROWS[1])
    result = services.import_file(data, "t.csv", user=data_entry, group=atajurt)
    assert result.batch.status == BatchStatus.INVALID
    assert [e.message.split(":")[0] for e in result.plan.errors] == [
        "This is the template's example row"
    ]
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    "column, value",
    [
        ("person_external_id", "EXAMPLE-P-7"),
        ("case_external_id", "example-c-7"),
        ("event_external_id", " Example-E-7"),
    ],
)
def test_an_example_id_in_any_id_column_refuses_the_row(data_entry, atajurt, column, value):
    row = {**KANAT_ROWS[0], column: value}
    data = csv_without_examples(template.template_csv(), row)
    errors = services.import_file(data, "t.csv", user=data_entry, group=atajurt).plan.errors
    assert [(e.column, EXAMPLE_MESSAGE in e.message) for e in errors] == [(column, True)]


# --- the template read back ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_with_its_examples_deleted_has_no_rows(client, data_entry, atajurt, fmt):
    client.force_login(data_entry)
    errors = upload(client, atajurt, without_examples(download(client, fmt), fmt), fmt).errors
    assert [error.message for error in errors] == [
        "The file has column names but no rows below them."
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_filled_in_after_its_examples_are_deleted_imports(
    client, data_entry, atajurt, fmt
):
    client.force_login(data_entry)
    data = without_examples(download(client, fmt), fmt, *KANAT_ROWS)
    result = services.import_file(data, f"t.{fmt}", user=data_entry, group=atajurt)
    assert result.batch.status == BatchStatus.IMPORTED, result.plan.errors
    assert result.batch.events_created == 2


def test_errors_in_the_csv_template_name_rows_as_a_spreadsheet_numbers_them(data_entry, atajurt):
    data = csv_without_examples(template.template_csv(), {**KANAT_ROWS[0], "event_date": "x"})
    (error,) = services.import_file(data, "t.csv", user=data_entry, group=atajurt).plan.errors
    assert (error.row, error.column) == (len(csv_lines(data)), "event_date")


def test_errors_in_the_column_names_name_the_row_below_the_notes(data_entry, atajurt):
    data = csv_without_examples(template.template_csv(), KANAT_ROWS[0])
    data = data.replace(b"person_birth_date", b"person_birthdate")
    (error,) = services.import_file(data, "t.csv", user=data_entry, group=atajurt).plan.errors
    assert (error.row, error.column) == (csv_header_index(csv_lines(data)) + 1, "person_birthdate")


def test_notes_quoted_by_a_spreadsheet_do_not_decide_the_delimiter():
    # A Russian Excel saves with semicolons and quotes notes that hold one.
    data = (
        '"# a note; with; semicolons"\r\n# a, b, c, d\r\n'
        "person_external_id;case_external_id\r\nP;C\r\n"
    )
    table = parsing.read_table(data.encode())
    assert (table.header, table.rows, table.header_row) == (
        ["person_external_id", "case_external_id"],
        [(4, ["P", "C"])],
        3,
    )


def test_a_hash_below_the_column_names_is_data_not_a_note():
    table = parsing.read_table(b"person_external_id,case_external_id\r\n#P,C\r\n")
    assert table.rows == [(2, ["#P", "C"])]


def test_workbook_with_a_sheet_besides_cases_and_instructions_is_refused(check_xlsx):
    workbook = load_workbook(io.BytesIO(template.template_xlsx()))
    workbook.create_sheet("Sheet3")
    message = check_xlsx(workbook)
    assert "3 sheets (Cases, Instructions, Sheet3)" in message
    assert "“Instructions” sheet may stay" in message


def test_workbook_of_only_the_instructions_sheet_is_refused(check_xlsx):
    workbook = load_workbook(io.BytesIO(template.template_xlsx()))
    del workbook["Cases"]
    assert "only the instructions sheet" in check_xlsx(workbook)


def test_the_list_may_be_on_a_sheet_after_the_instructions(data_entry, atajurt):
    workbook = load_workbook(io.BytesIO(xlsx_without_examples(template.template_xlsx())))
    workbook.move_sheet("Instructions", offset=-1)
    workbook["Cases"].append([KANAT_ROWS[0].get(column) for column in COLUMN_NAMES])
    out = io.BytesIO()
    workbook.save(out)
    assert dry_run(out.getvalue(), "xlsx", data_entry, atajurt).plan.errors == []


@pytest.fixture
def check_xlsx(data_entry, atajurt):
    def check(workbook) -> str:
        out = io.BytesIO()
        workbook.save(out)
        (error,) = dry_run(out.getvalue(), "xlsx", data_entry, atajurt).plan.errors
        return error.message

    return check


# --- the instructions ---------------------------------------------------------------------------


def test_instructions_sheet_explains_every_column():
    rows = instructions(template.template_xlsx())
    assert [name for name in rows if name in COLUMN_NAMES] == COLUMN_NAMES
    assert rows["person_external_id"][1] == "Required"
    assert rows["source_kind"][1] == "For a source"
    assert rows["person_occupation"][1] == "Optional"


def test_instructions_list_the_values_validation_accepts():
    rows = instructions(template.template_xlsx())
    kinds = rows["event_kind"][3].splitlines()
    assert {kind.split(" ")[0] for kind in kinds[1:-1]} == set(EventKind.values)
    assert "ngo_report (NGO report or list)" in rows["source_kind"][3].splitlines()
    assert "kk (Kazakh)" in rows["source_language"][3]


def test_instructions_say_where_to_find_places_and_charges():
    rows = instructions(template.template_xlsx())
    assert "Cases › Places" in rows["event_place"][3]
    assert "Cases › Charges" in rows["event_charges"][3]
    assert "Art. 103(1)" in rows["event_charges"][3]


def test_instructions_give_each_edtf_date_form_and_each_is_valid():
    rows = instructions(template.template_xlsx())
    for form, _meaning in template.DATE_FORMS:
        assert form in rows
        edtf_bounds(form)  # raises if the instructions teach an invalid date


def test_instructions_show_each_columns_example_value():
    rows = instructions(template.template_xlsx())
    assert (rows["event_date"][4], rows["event_charges"][4]) == (
        "2019/2023",
        "Treason; Art. 103(1)",
    )


def test_every_cell_of_the_xlsx_template_is_text():
    workbook = load_workbook(io.BytesIO(template.template_xlsx()))
    kinds = {
        cell.data_type
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }
    assert kinds == {"s"}


def test_csv_template_starts_with_notes_on_every_column():
    lines = csv_lines(template.template_csv())
    notes = lines[: csv_header_index(lines)]
    assert notes and all(line.lstrip('"').startswith("#") for line in notes)
    for column in COLUMN_NAMES:
        assert any(note.lstrip('"').startswith(f"# {column} (") for note in notes), column
    assert any("EXAMPLE-" in note and "refused" in note for note in notes)


def test_csv_notes_are_one_cell_each_so_a_spreadsheet_shows_them_whole():
    lines = csv_lines(template.template_csv())
    notes = list(csv.reader(lines[: csv_header_index(lines)]))
    assert all(len(note) == 1 for note in notes)


def test_instructions_are_translated_when_read(monkeypatch):
    seen = []
    real = template.gettext
    monkeypatch.setattr(template, "gettext", lambda text: seen.append(text) or real(text))
    template.template_xlsx()
    assert "How to fill in the case list" in seen
    assert "The value or its label, in any case." in seen


# --- one source of truth -----------------------------------------------------------------------


def test_template_md_column_tables_are_generated_from_the_columns():
    docs = Path(imports.__file__).with_name("TEMPLATE.md").read_text()
    with translation.override("en"):
        expected = template.with_columns_markdown(docs)
    assert docs == expected, "Run: python manage.py import_template docs"


def test_command_writes_the_template(tmp_path):
    call_command("import_template", "xlsx", "--out", str(tmp_path / "t.xlsx"))
    assert load_workbook(tmp_path / "t.xlsx").sheetnames == ["Cases", "Instructions"]
