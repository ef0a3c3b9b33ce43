"""Bulk import of case lists (imports.services, the import_cases command): what an import
writes, how a re-import updates, and what it flags."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from cases.models import Case, DetentionEvent, ReviewState
from imports import services
from imports.models import BatchStatus, ExternalRecord, ImportBatch
from people.models import DuplicateCandidate, Person, PersonName
from sources.models import Citation, Source
from tests.factories import (
    fresh,
    make_case,
    make_organisation,
    make_user,
    person_named,
    verified,
)
from tests.import_files import KANAT_ROWS, rows_to_csv, rows_to_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def atajurt():
    return make_organisation("Atajurt Kazakh Human Rights", abbreviation="Atajurt", kind="ngo")


@pytest.fixture
def run(data_entry, atajurt):
    """run(data, **kw) -> ImportResult, imported by the data-entry persona for Atajurt."""

    def run(data, name="list.csv", user=None, group=None, **kw):
        return services.import_file(
            data, name, user=user or data_entry, group=group or atajurt, **kw
        )

    return run


def imported_person(external_id="AJ-P-1"):
    return ExternalRecord.objects.get(kind="person", external_id=external_id).person


def imported_case(external_id="AJ-C-1"):
    return ExternalRecord.objects.get(kind="case", external_id=external_id).case


def row_counts():
    """Rows in every table but the import batches (one more per run, by design)."""
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model is not ImportBatch
    }


# --- the happy path ------------------------------------------------------------------------


def test_csv_import_creates_the_person_with_every_name(run):
    run(rows_to_csv(KANAT_ROWS))
    person = imported_person()
    assert set(person.names.values_list("name", "script", "language")) == {
        ("Serik Nurbek", "Latn", "en"),
        ("Серік Нұрбек", "Cyrl", "kk"),
    }
    assert (person.display_name, person.birth_date) == ("Serik Nurbek", "1965")


def test_csv_import_creates_the_case_with_both_events_and_their_charges(run):
    run(rows_to_csv(KANAT_ROWS))
    case = imported_case()
    events = {(e.kind, e.date): e for e in case.events.all()}
    assert set(events) == {("detained", "2019/2023"), ("family_notified", "2024-04")}
    charges = set(events["detained", "2019/2023"].charges.values_list("name", flat=True))
    assert charges == {"Treason", "Splitting the state"}


def test_imported_case_situation_is_derived_from_its_events(run):
    run(rows_to_csv(KANAT_ROWS))
    assert imported_case().status == "detained"


def test_csv_import_cites_the_source_on_the_event_of_its_row(run):
    run(rows_to_csv(KANAT_ROWS))
    citation = Citation.objects.get()
    assert (citation.event.kind, citation.locator) == ("detained", "row 12")
    assert citation.source.url == "https://example.org/atajurt-list"


def test_xlsx_import_creates_the_same_records_as_csv(run):
    result = run(rows_to_xlsx(KANAT_ROWS), name="list.xlsx")
    assert result.batch.format == "xlsx"
    assert imported_case().events.count() == 2
    assert imported_person().names.count() == 2


def test_imported_case_is_a_draft_created_by_the_importer(run, data_entry):
    run(rows_to_csv(KANAT_ROWS))
    case = imported_case()
    assert (case.review_state, case.is_published) == (ReviewState.DRAFT, False)
    assert (case.created_by, case.person.created_by) == (data_entry, data_entry)


def test_batch_records_the_file_hash_who_and_the_counts(run, data_entry, atajurt):
    data = rows_to_csv(KANAT_ROWS)
    batch = run(data).batch
    import hashlib

    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    assert (batch.created_by, batch.group, batch.status) == (
        data_entry,
        atajurt,
        BatchStatus.IMPORTED,
    )
    counts = (batch.rows, batch.people_created, batch.cases_created, batch.events_created)
    assert counts == (2, 1, 1, 2)


def test_history_rows_name_the_importer_and_the_batch(run, data_entry):
    batch = run(rows_to_csv(KANAT_ROWS)).batch
    for model in (Person, PersonName, Case, DetentionEvent, Source, Citation):
        rows = model.history.all()
        assert rows.exists(), model
        assert {(r.history_user_id, r.history_change_reason) for r in rows} == {
            (data_entry.pk, batch.reason)
        }, model


def test_value_or_label_is_accepted_in_any_case(run):
    rows = [{**KANAT_ROWS[0], "person_gender": " MALE ", "event_kind": "Formally arrested"}]
    assert run(rows_to_csv(rows)).ok
    assert imported_case().events.get().kind == "arrested"
    assert imported_person().gender == "male"


def test_charge_can_be_given_by_its_article(run):
    rows = [{**KANAT_ROWS[0], "event_charges": "Art. 102"}]
    run(rows_to_csv(rows))
    assert list(imported_case().events.get().charges.values_list("name", flat=True)) == ["Treason"]


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_writes_nothing_but_its_batch(run):
    before = row_counts()
    result = run(rows_to_csv(KANAT_ROWS), dry_run=True)
    assert row_counts() == before
    assert (result.batch.status, result.batch.dry_run) == (BatchStatus.VALIDATED, True)


def test_dry_run_counts_what_an_import_would_create(run):
    counts = run(rows_to_csv(KANAT_ROWS), dry_run=True).plan.counts()
    assert (counts["people_created"], counts["cases_created"], counts["events_created"]) == (
        1,
        1,
        2,
    )


# --- re-import -----------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_no_table(run):
    data = rows_to_csv(KANAT_ROWS)
    run(data)
    before = row_counts()
    result = run(data)
    assert result.batch.status == BatchStatus.IMPORTED
    assert row_counts() == before


def test_reimport_of_an_updated_file_updates_the_case_by_external_id(run):
    run(rows_to_csv(KANAT_ROWS))
    updated = [{**KANAT_ROWS[0], "case_public_summary": "Teacher, detained in Ili in 2019."}]
    result = run(rows_to_csv(updated))
    assert Case.objects.count() == 1
    assert imported_case().public_summary == "Teacher, detained in Ili in 2019."
    assert (result.batch.cases_created, result.batch.cases_updated) == (0, 1)


def test_reimport_adds_a_new_spelling_without_repeating_the_old_ones(run):
    run(rows_to_csv(KANAT_ROWS))
    updated = [{**KANAT_ROWS[0], "name_latin": "Serik Nurbek; Serik Nurbekov"}]
    run(rows_to_csv(updated))
    assert Person.objects.count() == 1
    assert sorted(imported_person().names.values_list("name", flat=True)) == [
        "Serik Nurbek",
        "Serik Nurbekov",
        "Серік Нұрбек",
    ]


def test_empty_cell_in_a_reimport_leaves_the_stored_value(run):
    run(rows_to_csv(KANAT_ROWS))
    run(rows_to_csv([{**KANAT_ROWS[0], "person_birth_date": ""}]))
    assert imported_person().birth_date == "1965"


def test_event_without_external_id_is_found_again_by_case_kind_and_date(run):
    run(rows_to_csv(KANAT_ROWS))
    updated = [{**KANAT_ROWS[1], "event_description": "Told verbally."}]
    run(rows_to_csv(updated))
    event = imported_case().events.get(kind="family_notified")
    assert (event.description, DetentionEvent.objects.count()) == ("Told verbally.", 2)


def test_event_external_id_lets_a_reimport_correct_the_date(run):
    run(rows_to_csv([{**KANAT_ROWS[0], "event_external_id": "E1"}]))
    run(rows_to_csv([{**KANAT_ROWS[0], "event_external_id": "E1", "event_date": "2019/2022"}]))
    assert list(imported_case().events.values_list("date", flat=True)) == ["2019/2022"]


def test_external_ids_are_kept_per_group(run, atajurt):
    run(rows_to_csv(KANAT_ROWS))
    other = make_organisation("Another group", kind="ngo")
    run(rows_to_csv(KANAT_ROWS), group=other)
    assert Person.objects.filter(external_records__isnull=False).distinct().count() == 2


def test_updating_a_verified_case_sends_it_back_to_review(run, data_entry, verifier, atajurt):
    case = verified(data_entry, verifier)
    earlier = ImportBatch.objects.create(
        file_name="earlier.csv",
        sha256="0" * 64,
        group=atajurt,
        created_by=data_entry,
        status=BatchStatus.IMPORTED,
    )
    for kind, target in (("person", {"person": case.person}), ("case", {"case": case})):
        ExternalRecord.objects.create(
            group=atajurt,
            kind=kind,
            external_id=f"X-{kind}",
            first_batch=earlier,
            last_batch=earlier,
            **target,
        )
    rows = [
        {
            "person_external_id": "X-person",
            "case_external_id": "X-case",
            "case_public_summary": "A new summary.",
        }
    ]
    columns = ["person_external_id", "name_latin", "case_external_id", "case_public_summary"]
    result = run(rows_to_csv(rows, columns))
    assert result.batch.status == BatchStatus.IMPORTED, result.plan.errors
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def test_a_database_error_rolls_back_and_records_the_batch_as_failed(run, monkeypatch):
    before = row_counts()

    def refuse(*args, **kwargs):
        raise DatabaseError("disk full")

    # Citations are written after the people, cases, events and sources.
    monkeypatch.setattr(Citation.objects, "bulk_create", refuse)
    result = run(rows_to_csv(KANAT_ROWS))
    assert row_counts() == before
    assert (result.batch.status, result.batch.failure) == (
        BatchStatus.FAILED,
        "DatabaseError: disk full",
    )


# --- the file kept for a preview ----------------------------------------------------------


def stored_content(batch) -> bytes | None:
    """The content column as the database holds it (no field conversion)."""
    from django.db import connection

    table = connection.ops.quote_name(ImportBatch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT content FROM {table} WHERE id = %s", [batch.pk])  # noqa: S608
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def preview(data=None, *, user, group):
    data = rows_to_csv(KANAT_ROWS) if data is None else data
    return services.preview_file(data, "list.csv", user=user, group=group).batch


def age(batch, **delta):
    from datetime import timedelta

    from django.utils import timezone

    # Expiry counts from the end of the check (the upload, for a file never checked).
    then = timezone.now() - timedelta(**delta)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=then, finished_at=then)


@pytest.mark.parametrize("to_bytes", [rows_to_csv, rows_to_xlsx])
def test_a_previewed_file_is_stored_encrypted(data_entry, atajurt, to_bytes):
    from casetracker import crypto

    data = to_bytes(KANAT_ROWS)
    batch = preview(data, user=data_entry, group=atajurt)
    raw = stored_content(batch)
    assert raw is not None and raw.startswith(crypto.MAGIC)
    values = {v for row in KANAT_ROWS for v in row.values() if v} | {"AJ-P-1", "Nurbek"}
    leaked = [v for v in values if v.encode("utf-8") in raw]
    assert leaked == []
    assert services.open_content(raw) == data


def test_an_encrypted_preview_is_confirmed_and_its_file_deleted(data_entry, atajurt):
    batch = preview(user=data_entry, group=atajurt)
    result = services.import_batch(batch, data_entry)
    assert result.batch.status == BatchStatus.IMPORTED, result.plan.errors
    assert imported_case().person == imported_person()
    assert stored_content(result.batch) is None


def test_refused_and_failed_batches_keep_no_file(data_entry, atajurt, monkeypatch):
    bad = rows_to_csv([{**KANAT_ROWS[0], "event_date": "spring"}])
    refused = preview(bad, user=data_entry, group=atajurt)
    assert (refused.status, stored_content(refused)) == (BatchStatus.INVALID, None)
    batch = preview(user=data_entry, group=atajurt)

    def refuse(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Citation.objects, "bulk_create", refuse)
    failed = services.import_batch(batch, data_entry).batch
    assert (failed.status, stored_content(failed)) == (BatchStatus.FAILED, None)


def test_a_stale_preview_cannot_be_confirmed_and_its_file_is_deleted(data_entry, atajurt):
    batch = preview(user=data_entry, group=atajurt)
    age(batch, hours=24, minutes=1)
    with pytest.raises(services.ImportRefused, match="more than 24 hours old"):
        services.import_batch(batch, data_entry)
    batch.refresh_from_db()
    assert (batch.status, stored_content(batch)) == (BatchStatus.EXPIRED, None)
    assert not Case.objects.exists()
    with pytest.raises(services.ImportRefused, match="more than 24 hours old"):
        services.import_batch(batch, data_entry)


def test_a_preview_younger_than_the_limit_is_still_confirmed(data_entry, atajurt):
    batch = preview(user=data_entry, group=atajurt)
    age(batch, hours=23)
    assert services.import_batch(batch, data_entry).batch.status == BatchStatus.IMPORTED


def test_each_new_upload_deletes_the_files_of_abandoned_previews(run, data_entry, atajurt):
    stale = preview(user=data_entry, group=atajurt)
    recent = preview(user=data_entry, group=atajurt)
    age(stale, hours=25)
    age(recent, hours=1)
    run(rows_to_csv(KANAT_ROWS), dry_run=True)  # anyone's upload, the command's too
    stale.refresh_from_db()
    recent.refresh_from_db()
    assert (stale.status, stored_content(stale)) == (BatchStatus.EXPIRED, None)
    assert recent.status == BatchStatus.PREVIEWED and stored_content(recent) is not None


# --- possible duplicates -------------------------------------------------------------------


def seed_person():
    return person_named("Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ")


def test_latin_and_chinese_spellings_of_the_seed_person_are_flagged(run):
    kanat = seed_person()
    rows = [
        {"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"},
        {"person_external_id": "P2", "name_chinese": "卡纳提·叶热杰普", "case_external_id": "C2"},
    ]
    result = run(rows_to_csv(rows))
    flagged = {p.external_id for p in result.plan.possible_duplicates}
    assert flagged == {"P1", "P2"}
    for external_id in ("P1", "P2"):
        pair = {imported_person(external_id).pk, kanat.pk}
        assert DuplicateCandidate.objects.filter(
            person_a_id__in=pair, person_b_id__in=pair, status="open"
        ).exists()


def test_preview_lists_the_possible_duplicate_without_writing_it(run):
    kanat = seed_person()
    rows = [{"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"}]
    result = run(rows_to_csv(rows), dry_run=True)
    (person,) = result.plan.possible_duplicates
    assert [m.person for m in person.matches] == [kanat]
    assert not DuplicateCandidate.objects.exists()


def test_duplicates_are_sought_only_among_people_the_importer_may_see(run):
    hidden = seed_person()
    make_case(hidden, sensitive=True)
    rows = [{"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"}]
    result = run(rows_to_csv(rows), dry_run=True)
    assert result.plan.possible_duplicates == []


def test_two_rows_naming_one_person_under_two_ids_are_flagged(run):
    rows = [
        {"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"},
        {"person_external_id": "P2", "name_latin": "Kanat Yerezhep", "case_external_id": "C2"},
    ]
    run(rows_to_csv(rows))
    assert DuplicateCandidate.objects.filter(status="open").count() == 1


# --- refusals ------------------------------------------------------------------------------


def test_user_without_the_import_permission_is_refused(no_role, atajurt):
    with pytest.raises(services.ImportRefused):
        services.import_file(rows_to_csv(KANAT_ROWS), "x.csv", user=no_role, group=atajurt)


def test_case_already_recorded_for_another_person_is_an_error(run):
    run(rows_to_csv(KANAT_ROWS))
    moved = [{**KANAT_ROWS[0], "person_external_id": "AJ-P-2"}]
    (error,) = run(rows_to_csv(moved)).plan.errors
    assert (error.row, error.column) == (2, "person_external_id")


def test_person_in_a_sensitive_case_hidden_from_the_importer_is_an_error(run, verifier):
    run(rows_to_csv(KANAT_ROWS), user=verifier)
    Case.objects.update(sensitive=True)
    errors = run(rows_to_csv(KANAT_ROWS)).plan.errors
    assert {(e.row, e.column) for e in errors} == {
        (2, "person_external_id"),
        (2, "case_external_id"),
    }


# --- the command ---------------------------------------------------------------------------


def command(tmp_path, data, *args):
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    out = StringIO()
    call_command("import_cases", str(path), *args, stdout=out)
    return out.getvalue()


def test_command_imports_and_prints_the_counts(tmp_path, data_entry, atajurt):
    out = command(tmp_path, rows_to_csv(KANAT_ROWS), "--as", "data_entry", "--group", "Atajurt")
    assert "Imported. people created: 1" in out
    assert imported_case().events.count() == 2


def test_command_dry_run_writes_nothing(tmp_path, data_entry, atajurt):
    out = command(
        tmp_path, rows_to_csv(KANAT_ROWS), "--dry-run", "--as", "data_entry", "--group", "Atajurt"
    )
    assert "Dry run, nothing written" in out
    assert not Case.objects.exists()


def test_command_prints_every_error_and_fails(tmp_path, data_entry, atajurt):
    rows = [{**KANAT_ROWS[0], "event_date": "spring"}, {**KANAT_ROWS[1], "event_place": "Atlantis"}]
    out = StringIO()
    path = tmp_path / "bad.csv"
    path.write_bytes(rows_to_csv(rows))
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_cases", str(path), "--as", "data_entry", "--group", "Atajurt", stdout=out
        )
    assert "Row 2, column event_date" in out.getvalue()
    assert "Row 3, column event_place" in out.getvalue()


def test_command_refuses_an_unknown_group(tmp_path, data_entry):
    with pytest.raises(CommandError, match="No organisation"):
        command(tmp_path, rows_to_csv(KANAT_ROWS), "--as", "data_entry", "--group", "Nobody")


def test_command_refuses_a_user_without_the_permission(tmp_path, atajurt):
    make_user("outsider")
    with pytest.raises(CommandError, match="permission"):
        command(tmp_path, rows_to_csv(KANAT_ROWS), "--as", "outsider", "--group", "Atajurt")


# --- the acceptance story: import, flag, merge, re-import ----------------------------------


@pytest.fixture
def seed_list():
    return [
        {"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"},
        {"person_external_id": "P2", "name_chinese": "卡纳提·叶热杰普", "case_external_id": "C2"},
    ]


def merge_into(survivor, external_ids, user):
    from people.services import merge_people

    for external_id in external_ids:
        merge_people(survivor, imported_person(external_id), user=user, reason="Same person.")


def test_merging_the_flagged_people_leaves_one_person_with_every_spelling_and_case(
    run, seed_list, verifier
):
    kanat = seed_person()
    run(rows_to_csv(seed_list))
    merge_into(kanat, ["P1", "P2"], verifier)
    assert set(kanat.names.values_list("name", flat=True)) >= {
        "Kanat Yerezhep",
        "Qanat Erejep",
        "卡纳提·叶热杰普",
    }
    assert kanat.cases.count() == 2


def test_reimport_after_a_merge_updates_the_survivor_and_creates_nobody(run, seed_list, verifier):
    kanat = seed_person()
    data = rows_to_csv(seed_list)
    run(data)
    merge_into(kanat, ["P1", "P2"], verifier)
    before = row_counts()
    result = run(data)
    assert result.batch.status == BatchStatus.IMPORTED, result.plan.errors
    assert row_counts() == before
    assert imported_person("P2") == kanat
