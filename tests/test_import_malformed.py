"""Malformed import files: each gets a clear error naming the row and column where there is
one, never a crash, and nothing is written."""

import codecs
import io
import zipfile

import pytest
from django.apps import apps

from imports import parsing, services
from imports.models import BatchStatus, ImportBatch
from tests.factories import make_organisation, person_named
from tests.import_files import KANAT_ROWS, rows_to_csv, rows_to_xlsx

pytestmark = pytest.mark.django_db

ROW = KANAT_ROWS[0]


@pytest.fixture
def check(data_entry):
    """check(data) -> the errors an import of ``data`` stops at (asserting nothing written)."""
    group = make_organisation("Atajurt", kind="ngo")

    def check(data, name="list.csv"):
        before = counts()
        result = services.import_file(data, name, user=data_entry, group=group)
        assert counts() == before
        assert result.batch.status == BatchStatus.INVALID
        assert result.batch.error_count == len(result.plan.errors) > 0
        return result.plan.errors

    return check


def counts():
    return {m._meta.label: m._base_manager.count() for m in apps.get_models() if m != ImportBatch}


def only(errors):
    assert len(errors) == 1, errors
    return errors[0]


def where(errors):
    return {(error.row, error.column) for error in errors}


# --- the file as a whole -------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n"])
def test_empty_file_is_refused(check, data):
    assert only(check(data)).message == "The file is empty."


def test_file_with_only_a_header_is_refused(check):
    assert "no rows" in only(check(b"person_external_id,case_external_id\r\n")).message


def test_windows_1251_file_is_refused_with_how_to_save_it_as_utf8(check):
    data = rows_to_csv([{**ROW, "name_cyrillic": "Серик Нурбеков"}], encoding="cp1251")
    message = only(check(data)).message
    assert "not UTF-8" in message
    assert "Windows-1251" in message


def test_utf16_file_without_byte_order_mark_is_refused(check):
    data = rows_to_csv([ROW]).decode().encode("utf-16-le")
    assert "UTF-16" in only(check(data)).message


def test_utf16_file_with_byte_order_mark_is_read(data_entry):
    data = codecs.BOM_UTF16_LE + rows_to_csv([ROW]).decode().encode("utf-16-le")
    result = services.import_file(
        data, "x.csv", user=data_entry, group=make_organisation(kind="ngo"), dry_run=True
    )
    assert result.plan.errors == []
    assert result.plan.people["AJ-P-1"].names[1][0] == "Серік Нұрбек"


def test_utf8_file_with_byte_order_mark_is_read():
    table = parsing.read_table(codecs.BOM_UTF8 + rows_to_csv([ROW]))
    assert table.header[0] == "person_external_id"


def test_semicolon_separated_csv_from_a_russian_excel_is_read():
    table = parsing.read_table(rows_to_csv([ROW], delimiter=";"))
    assert table.rows[0][1][0] == "AJ-P-1"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
    ],
    ids=["pdf", "png", "xls"],
)
def test_file_that_is_not_csv_or_xlsx_is_refused(check, data):
    error = only(check(data))
    assert error.row is None
    assert "CSV" in error.message or "UTF-8" in error.message


def test_zip_that_is_not_a_workbook_is_refused(check):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "not an XLSX" in only(check(out.getvalue(), "list.xlsx")).message


def test_file_with_more_rows_than_the_limit_is_refused(check, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 2)
    assert "more than 2 rows" in only(check(rows_to_csv([ROW] * 3))).message


# --- XLSX ----------------------------------------------------------------------------------


def test_xlsx_with_several_sheets_is_refused(check):
    assert "2 sheets" in only(check(rows_to_xlsx([ROW], sheets=2), "list.xlsx")).message


def test_xlsx_with_merged_cells_is_refused(check):
    data = rows_to_xlsx(KANAT_ROWS, merge="A2:A3")
    assert "merged cells (A2:A3)" in only(check(data, "list.xlsx")).message


# --- columns -------------------------------------------------------------------------------


def test_missing_required_column_is_named(check):
    columns = ["person_external_id", "name_latin"]
    assert where(check(rows_to_csv([ROW], columns))) == {(1, "case_external_id")}


def test_unknown_column_is_named_with_the_column_meant(check):
    data = rows_to_csv([ROW]).replace(b"person_birth_date", b"person_birthdate")
    error = only(check(data))
    assert (error.row, error.column) == (1, "person_birthdate")
    assert "Did you mean person_birth_date?" in error.message


def test_column_names_ignore_case_and_spaces(data_entry):
    data = rows_to_csv([ROW]).replace(b"person_external_id", b" Person External ID ")
    result = services.import_file(
        data, "x.csv", user=data_entry, group=make_organisation(kind="ngo"), dry_run=True
    )
    assert result.plan.errors == []


# --- values --------------------------------------------------------------------------------


def test_missing_required_value_is_named(check):
    assert where(check(rows_to_csv([{**ROW, "case_external_id": ""}]))) == {(2, "case_external_id")}


def test_invalid_edtf_names_row_column_and_the_accepted_forms(check):
    error = only(check(rows_to_csv([ROW, {**KANAT_ROWS[1], "event_date": "April 2024"}])))
    assert (error.row, error.column) == (3, "event_date")
    assert "2019/2023" in error.message  # the examples of what is accepted


def test_unknown_charge_is_named_with_close_matches(check):
    error = only(check(rows_to_csv([{**ROW, "event_charges": "Treason; Spliting the state"}])))
    assert (error.row, error.column) == (2, "event_charges")
    assert "Close matches: Splitting the state" in error.message


def test_unknown_place_is_named(check):
    error = only(check(rows_to_csv([{**ROW, "event_place": "Urumchi"}])))
    assert (error.row, error.column) == (2, "event_place")
    assert "No place called “Urumchi”" in error.message


def test_unknown_vocabulary_value_lists_the_accepted_values(check):
    error = only(check(rows_to_csv([{**ROW, "person_gender": "m"}])))
    assert (error.row, error.column) == (2, "person_gender")
    assert "male, female, other, unknown" in error.message


def test_place_where_a_facility_is_expected_is_an_error_of_its_column(check):
    error = only(check(rows_to_csv([{**ROW, "event_facility": "Ürümqi"}])))
    assert (error.row, error.column) == (2, "event_facility")
    assert "No facility called “Ürümqi”" in error.message


def test_model_validation_errors_land_in_their_column(check):
    error = only(check(rows_to_csv([{**ROW, "event_sentence": "15 years"}])))
    assert (error.row, error.column) == (2, "event_sentence")


def test_name_in_the_wrong_script_column_is_an_error(check):
    error = only(check(rows_to_csv([{**ROW, "name_latin": "Серік Нұрбек"}])))
    assert (error.row, error.column) == (2, "name_latin")


def test_new_person_without_a_name_is_an_error(check):
    rows = [{**ROW, "name_latin": "", "name_cyrillic": ""}]
    assert where(check(rows_to_csv(rows, ["person_external_id", "name_latin", "case_external_id"])))


def test_same_external_id_twice_with_conflicting_values_is_an_error(check):
    rows = [ROW, {**KANAT_ROWS[1], "person_birth_date": "1970"}]
    error = only(check(rows_to_csv(rows)))
    assert (error.row, error.column) == (3, "person_birth_date")
    assert "on row 2" in error.message


def test_case_id_repeated_for_several_events_is_not_an_error(data_entry):
    result = services.import_file(
        rows_to_csv(KANAT_ROWS),
        "x.csv",
        user=data_entry,
        group=make_organisation(kind="ngo"),
        dry_run=True,
    )
    assert result.plan.errors == []


def test_one_case_id_for_two_people_is_an_error(check):
    rows = [ROW, {**ROW, "person_external_id": "AJ-P-2", "event_date": "2018"}]
    assert (3, "person_external_id") in where(check(rows_to_csv(rows)))


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+7 700 000", "@SUM(A1)", "-cmd", "\tx", "\rx", " =1+1"]
)
def test_formula_like_value_is_refused(check, value):
    error = only(check(rows_to_csv([{**ROW, "person_occupation": value}])))
    assert (error.row, error.column) == (2, "person_occupation")
    assert "formula" in error.message


def test_negative_number_is_not_taken_for_a_formula():
    assert not services.formula_like("-5 years")


def test_cell_over_the_documented_limit_is_refused(check):
    error = only(check(rows_to_csv([{**ROW, "person_public_summary": "x" * 20_000}])))
    assert (error.row, error.column) == (2, "person_public_summary")
    assert "at most 10,000" in error.message


def test_cell_of_one_megabyte_is_refused(check):
    error = only(check(rows_to_csv([{**ROW, "person_public_summary": "x" * 2**20}])))
    assert error.row == 2
    assert "longer than 131,072 characters" in error.message


def test_cell_of_one_megabyte_in_xlsx_is_refused(check):
    data = rows_to_xlsx([{**ROW, "person_public_summary": "x" * 2**20}])
    error = only(check(data, "list.xlsx"))
    assert (error.row, error.column) == (2, "person_public_summary")


def test_every_error_of_the_file_is_reported_at_once(check):
    rows = [
        {**ROW, "event_date": "soon"},
        {**KANAT_ROWS[1], "event_place": "Atlantis", "event_kind": "vanished"},
    ]
    assert where(check(rows_to_csv(rows))) == {
        (2, "event_date"),
        (3, "event_kind"),
        (3, "event_place"),
    }


def test_ambiguous_place_asks_for_the_parent_or_the_public_id(check, data_entry):
    from cases.models import Location

    china = Location.objects.get(name_en="China")
    kazakhstan = Location.objects.get(name_en="Kazakhstan")
    for country in (china, kazakhstan):
        Location.objects.create(name_en="Altay", kind="region", parent=country)
    error = only(check(rows_to_csv([{**ROW, "event_place": "Altay"}])))
    assert "Parent / Name" in error.message
    group = make_organisation(kind="ngo")
    result = services.import_file(
        rows_to_csv([{**ROW, "event_place": "China / Altay"}]),
        "x.csv",
        user=data_entry,
        group=group,
        dry_run=True,
    )
    assert result.plan.errors == []


def test_seed_like_person_does_not_stop_an_import(data_entry):
    person_named("Serik Nurbek")
    result = services.import_file(
        rows_to_csv([ROW]), "x.csv", user=data_entry, group=make_organisation(kind="ngo")
    )
    assert result.batch.status == BatchStatus.IMPORTED
