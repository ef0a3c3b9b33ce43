"""Imports in the admin: upload → preview → confirm, template downloads, and who may use them."""

import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from api.models import Partner
from cases.models import Case
from casetracker.processes import this_host
from imports import services
from imports.models import BatchStatus, ImportBatch
from imports.parsing import read_table
from imports.template import COLUMN_NAMES, EXAMPLE_ROWS
from jobs import services as jobs_services
from jobs.models import Job, Kind
from jobs.models import State as JobState
from people.models import Organisation, Person
from tests.factories import make_organisation, person_named
from tests.import_files import KANAT_ROWS, rows_to_csv
from tests.jobs import job_of, run_jobs

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:imports_importbatch_upload")


@pytest.fixture
def atajurt():
    return make_organisation("Atajurt Kazakh Human Rights", abbreviation="Atajurt", kind="ngo")


def upload(client, group, data=None, name="list.csv"):
    """Upload a file as staff do; when the upload queues its check, run it and open the
    preview it leads to."""
    data = rows_to_csv(KANAT_ROWS) if data is None else data
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, data), "group": group.pk})
    if response.status_code != 302 or "/admin/jobs/job/" not in response.url:
        return response
    job = job_of(response)
    run_jobs()
    return client.get(preview_url(job.parameters["batch"]))


def preview_url(pk):
    return reverse("admin:imports_importbatch_preview", args=[pk])


def confirm(client, batch):
    """Confirm as staff do; when that queues the import, run it. The confirmation's answer."""
    response = client.post(confirm_url(batch))
    if response.status_code == 302 and "/admin/jobs/job/" in response.url:
        run_jobs()
    return response


def confirm_url(batch):
    return reverse("admin:imports_importbatch_confirm", args=[batch.pk])


def template_url(fmt):
    return reverse("admin:imports_importbatch_template", args=[fmt])


# --- upload, preview, confirm --------------------------------------------------------------


def test_preview_shows_what_will_be_created_and_writes_nothing(client, data_entry, atajurt):
    client.force_login(data_entry)
    response = upload(client, atajurt)
    assert response.status_code == 200
    counts = response.context["counts"]
    assert (counts["people_created"], counts["cases_created"], counts["events_created"]) == (
        1,
        1,
        2,
    )
    assert not Case.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.PREVIEWED


def test_confirm_after_preview_imports_the_file(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    response = confirm(client, batch)
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.dry_run, batch.cases_created) == (BatchStatus.IMPORTED, False, 1)
    assert Case.objects.get().created_by == data_entry


def test_confirmed_batch_no_longer_keeps_the_file(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    confirm(client, batch)
    batch.refresh_from_db()
    assert batch.content is None


def test_preview_lists_every_error_and_offers_no_confirmation(client, data_entry, atajurt):
    client.force_login(data_entry)
    rows = [{**KANAT_ROWS[0], "event_date": "spring"}, {**KANAT_ROWS[1], "event_place": "X"}]
    response = upload(client, atajurt, rows_to_csv(rows))
    assert [(e["row"], e["column"]) for e in response.context["batch"].errors] == [
        (2, "event_date"),
        (3, "event_place"),
    ]
    table = response.content.decode().split('id="import-errors"')[1]
    assert "event_date" in table and "event_place" in table
    assert b"Import this file" not in response.content
    assert ImportBatch.objects.get().status == BatchStatus.INVALID


def test_preview_shows_a_possible_duplicate(client, data_entry, atajurt):
    kanat = person_named("Kanat Yerezhep", "Қанат Ережеп")
    client.force_login(data_entry)
    rows = [{"person_external_id": "P1", "name_latin": "Qanat Erejep", "case_external_id": "C1"}]
    response = upload(client, atajurt, rows_to_csv(rows))
    assert response.context["counts"]["duplicates_flagged"] == 1
    assert reverse("admin:people_person_change", args=[kanat.pk]).encode() in response.content


def test_batch_cannot_be_confirmed_twice(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    confirm(client, batch)
    confirm(client, batch)
    assert Case.objects.count() == 1


def test_someone_elses_preview_cannot_be_confirmed(client, data_entry, verifier, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    client.force_login(verifier)
    assert confirm(client, batch).status_code == 404
    assert not Case.objects.exists()


def test_confirm_validates_again_against_the_database_as_it_now_is(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    services.import_file(rows_to_csv(KANAT_ROWS), "same.csv", user=data_entry, group=atajurt)
    confirm(client, batch)
    assert (Person.objects.count(), Case.objects.count()) == (1, 1)


def test_batch_page_lists_the_errors(admin_client, data_entry, atajurt):
    result = services.import_file(
        rows_to_csv([{**KANAT_ROWS[0], "event_date": "spring"}]),
        "bad.csv",
        user=data_entry,
        group=atajurt,
    )
    page = admin_client.get(reverse("admin:imports_importbatch_change", args=[result.batch.pk]))
    assert b"Row 2, column event_date" in page.content


# --- templates -----------------------------------------------------------------------------


def test_csv_template_has_every_column(client, data_entry):
    client.force_login(data_entry)
    content = client.get(template_url("csv")).content
    assert read_table(content).header == COLUMN_NAMES


def test_xlsx_template_has_every_column_on_its_cases_sheet(client, data_entry):
    client.force_login(data_entry)
    workbook = load_workbook(io.BytesIO(client.get(template_url("xlsx")).content))
    assert workbook.sheetnames == ["Cases", "Instructions"]
    assert [cell.value for cell in workbook["Cases"][1]] == COLUMN_NAMES


def test_filled_in_xlsx_template_imports(client, data_entry, atajurt):
    client.force_login(data_entry)
    workbook = load_workbook(io.BytesIO(client.get(template_url("xlsx")).content))
    workbook.active.delete_rows(2, len(EXAMPLE_ROWS))
    workbook.active.append([KANAT_ROWS[0].get(column) for column in COLUMN_NAMES])
    out = io.BytesIO()
    workbook.save(out)
    result = services.import_file(out.getvalue(), "t.xlsx", user=data_entry, group=atajurt)
    assert result.batch.status == BatchStatus.IMPORTED, result.plan.errors


def test_template_instructions_document_every_column():
    from pathlib import Path

    import imports

    text = (Path(imports.__file__).parent / "TEMPLATE.md").read_text()
    missing = [column for column in COLUMN_NAMES if f"`{column}`" not in text]
    assert missing == []


# --- who may import ------------------------------------------------------------------------


MATRIX = [
    # (persona, view, expected status)
    ("data_entry", "upload", 200),
    ("data_entry", "preview", 200),
    ("data_entry", "confirm", 302),
    ("data_entry", "template.csv", 200),
    ("data_entry", "template.xlsx", 200),
    ("data_entry", "batches", 200),
    ("verifier", "upload", 200),
    ("verifier", "preview", 200),
    ("verifier", "confirm", 302),
    ("verifier", "template.csv", 200),
    ("verifier", "template.xlsx", 200),
    ("verifier", "batches", 200),
    ("administrator", "upload", 403),
    ("administrator", "preview", 403),
    ("administrator", "confirm", 403),
    ("administrator", "template.csv", 403),
    ("administrator", "batches", 403),
    ("no_role", "upload", 403),
    ("no_role", "preview", 403),
    ("no_role", "confirm", 403),
    ("no_role", "template.xlsx", 403),
    ("no_role", "batches", 403),
    ("anonymous", "upload", 302),
    ("anonymous", "preview", 302),
    ("anonymous", "confirm", 302),
    ("anonymous", "template.csv", 302),
    ("anonymous", "batches", 302),
]


@pytest.mark.parametrize(("persona", "view", "expected"), MATRIX)
def test_import_permission_matrix(request, client, data_entry, atajurt, persona, view, expected):
    # A batch previewed by its persona (or by data entry, for those who cannot preview).
    batch = services.preview_file(
        rows_to_csv(KANAT_ROWS), "list.csv", user=data_entry, group=atajurt
    ).batch
    user = request.getfixturevalue(persona)
    if user is not None and services.can_import(user):
        batch = services.preview_file(
            rows_to_csv(KANAT_ROWS), "list.csv", user=user, group=atajurt
        ).batch
    if user is not None:
        client.force_login(user)
    response = {
        "upload": lambda: client.get(UPLOAD),
        "preview": lambda: upload(client, atajurt),
        "confirm": lambda: confirm(client, batch),
        "template.csv": lambda: client.get(template_url("csv")),
        "template.xlsx": lambda: client.get(template_url("xlsx")),
        "batches": lambda: client.get(reverse("admin:imports_importbatch_changelist")),
    }[view]()
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    "url",
    [UPLOAD, template_url("csv"), reverse("admin:imports_importbatch_changelist")],
)
def test_partner_token_opens_no_import_page(client, url):
    _, key = Partner.objects.create(name="Kazakh Rights Watch").issue_token("sync")
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_nothing_is_imported_for_a_persona_refused_confirmation(
    client, no_role, data_entry, atajurt
):
    batch = services.preview_file(
        rows_to_csv(KANAT_ROWS), "list.csv", user=data_entry, group=atajurt
    ).batch
    client.force_login(no_role)
    confirm(client, batch)
    assert not Case.objects.exists()


# --- whose batches staff see ---------------------------------------------------------------
# A batch's file name, counts and stored errors repeat what the file said (a verifier's batch
# may name a person or a case of a sensitive case): staff see the batches they uploaded, and
# those who may see every sensitive case see them all; anyone else's is absent (404).


@pytest.fixture
def other_data_entry():
    from casetracker.roles import DATA_ENTRY
    from tests.factories import staff_in

    return staff_in(DATA_ENTRY, "other_data_entry")


def batch_urls(batch):
    return {
        "change": reverse("admin:imports_importbatch_change", args=[batch.pk]),
        "history": reverse("admin:imports_importbatch_history", args=[batch.pk]),
    }


BATCH_VISIBILITY = [
    # (persona, view, expected status): a preview uploaded by data_entry, with a stored error
    ("data_entry", "list", 200),
    ("data_entry", "change", 200),
    ("data_entry", "history", 200),
    ("data_entry", "confirm", 302),
    ("other_data_entry", "list", 200),
    ("other_data_entry", "change", 404),
    ("other_data_entry", "history", 404),
    ("other_data_entry", "confirm", 404),
    ("verifier", "list", 200),
    ("verifier", "change", 200),
    ("verifier", "history", 200),
    ("verifier", "confirm", 404),  # sees it, but only its uploader confirms it
    ("administrator", "list", 403),
    ("administrator", "change", 403),
    ("administrator", "confirm", 403),
    ("superuser", "list", 200),
    ("superuser", "change", 200),
]


@pytest.mark.parametrize(("persona", "view", "expected"), BATCH_VISIBILITY)
def test_batches_are_seen_by_their_uploader_and_whoever_sees_every_case(
    request, client, data_entry, atajurt, persona, view, expected
):
    batch = services.preview_file(
        rows_to_csv(KANAT_ROWS), "uploader-only.csv", user=data_entry, group=atajurt
    ).batch
    refused = services.import_file(
        rows_to_csv([{**KANAT_ROWS[0], "event_date": "Sekret Nurbek"}]),
        "refused.csv",
        user=data_entry,
        group=atajurt,
    ).batch
    client.force_login(request.getfixturevalue(persona))
    if view == "list":
        response = client.get(reverse("admin:imports_importbatch_changelist"))
    elif view == "confirm":
        response = confirm(client, batch)
    else:
        response = client.get(batch_urls(refused)[view])
    assert response.status_code == expected
    sees = expected == 200
    if view == "list" and expected == 200:
        assert {b.pk for b in response.context["cl"].result_list} == (
            {batch.pk, refused.pk} if persona != "other_data_entry" else set()
        )
        assert (b"uploader-only.csv" in response.content) is (persona != "other_data_entry")
    elif view in ("change", "history"):
        assert (b"Sekret Nurbek" in response.content) is (sees and view == "change")
    if view == "confirm" and expected != 302:
        assert not Case.objects.exists()


def test_other_importers_batches_are_hidden_but_their_own_are_listed(
    client, data_entry, other_data_entry, atajurt
):
    mine = services.import_file(
        rows_to_csv(KANAT_ROWS), "mine.csv", user=other_data_entry, group=atajurt, dry_run=True
    ).batch
    services.import_file(
        rows_to_csv(KANAT_ROWS), "theirs.csv", user=data_entry, group=atajurt, dry_run=True
    )
    client.force_login(other_data_entry)
    page = client.get(reverse("admin:imports_importbatch_changelist"))
    assert [b.pk for b in page.context["cl"].result_list] == [mine.pk]
    assert b"theirs.csv" not in page.content
    assert client.get(batch_urls(mine)["change"]).status_code == 200


def test_confirming_a_stale_preview_is_refused_with_a_clear_message(client, data_entry, atajurt):
    from datetime import timedelta

    from django.contrib.messages import get_messages
    from django.utils import timezone

    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    then = timezone.now() - timedelta(hours=25)  # checked then
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=then, finished_at=then)
    response = confirm(client, batch)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "This preview is more than 24 hours old: its file was discarded and it can no longer "
        "be imported. Upload the file again."
    ]
    batch.refresh_from_db()
    assert (batch.status, batch.content) == (BatchStatus.EXPIRED, None)
    assert not Case.objects.exists()


# --- the check and the import run as background jobs --------------------------------------------


def test_an_upload_only_keeps_the_file_and_queues_its_check(client, data_entry, atajurt):
    client.force_login(data_entry)
    data = rows_to_csv(KANAT_ROWS)
    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("list.csv", data), "group": atajurt.pk}
    )
    job = job_of(response)
    assert job.kind == Kind.IMPORT_CHECK and job.requested_by == data_entry
    batch = ImportBatch.objects.get(pk=job.parameters["batch"])
    assert batch.status == BatchStatus.QUEUED and batch.rows == 0  # not read yet
    assert bytes(batch.content) != data and b"Serik" not in bytes(batch.content)  # sealed
    preview = client.get(preview_url(batch.pk))
    assert b"being checked in the background" in preview.content
    assert b"Import this file" not in preview.content

    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.outcome["rows"] == 2
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert preview_url(batch.pk) in page  # the job leads to what the check found
    preview = client.get(preview_url(batch.pk))
    assert b"Import this file" in preview.content
    assert "Serik Nurbek" in preview.content.decode()


def test_the_stored_preview_is_encrypted(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT preview FROM imports_importbatch WHERE id = %s", [batch.pk])
        stored = cursor.fetchone()[0]
    assert "Serik Nurbek" in batch.preview and "Serik" not in stored


def test_only_the_uploader_is_offered_the_import(client, data_entry, verifier, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    client.force_login(verifier)  # sees every batch, confirms none but their own
    preview = client.get(preview_url(batch.pk))
    assert preview.status_code == 200 and b"Import this file" not in preview.content


def test_someone_elses_preview_is_not_found(client, data_entry, other_data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    client.force_login(other_data_entry)
    assert client.get(preview_url(batch.pk)).status_code == 404


def test_the_import_job_reports_what_it_wrote(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    job = job_of(client.post(confirm_url(batch)))
    assert job.kind == Kind.IMPORT and not Case.objects.exists()  # nothing inside the request
    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert (job.outcome["people_created"], job.outcome["cases_created"]) == (1, 1)
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.IMPORTED


def test_an_import_that_no_longer_passes_the_checks_fails_saying_why(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    job = job_of(client.post(confirm_url(batch)))
    Organisation.objects.filter(pk=atajurt.pk).update(name="Renamed")  # harmless change
    with mock.patch.object(services.Plan, "ok", new_callable=mock.PropertyMock, return_value=False):
        run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "no longer passes the checks" in job.error
    assert not Case.objects.exists()


def test_a_check_interrupted_by_a_dead_worker_runs_again(client, data_entry, atajurt):
    client.force_login(data_entry)
    response = client.post(
        UPLOAD,
        {"file": SimpleUploadedFile("list.csv", rows_to_csv(KANAT_ROWS)), "group": atajurt.pk},
    )
    job = job_of(response)
    # The worker took it and died: the batch says running under a process that is gone.
    ImportBatch.objects.filter(pk=job.parameters["batch"]).update(
        status=BatchStatus.RUNNING, host=this_host(), pid=4_194_305
    )
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, host=this_host(), pid=4_194_305, attempts=1
    )
    jobs_services.recover()
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 2)
    assert ImportBatch.objects.get(pk=job.parameters["batch"]).status == BatchStatus.PREVIEWED


def test_an_import_interrupted_by_a_dead_worker_asks_for_the_file_again(
    client, data_entry, atajurt
):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    job = job_of(client.post(confirm_url(batch)))
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, dry_run=False, content=None, host=this_host(), pid=4_194_305
    )
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, host=this_host(), pid=4_194_305, attempts=1
    )
    jobs_services.recover()
    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "interrupted" in job.error and "Upload the file again" in job.error
    assert not Case.objects.exists()


def test_a_check_that_fails_keeps_neither_the_file_nor_a_preview(client, data_entry, atajurt):
    client.force_login(data_entry)
    file = SimpleUploadedFile("list.csv", rows_to_csv(KANAT_ROWS))
    job = job_of(client.post(UPLOAD, {"file": file, "group": atajurt.pk}))
    with mock.patch("imports.tasks.render_preview", side_effect=RuntimeError("template broke")):
        run_jobs()
    job.refresh_from_db()
    batch = ImportBatch.objects.get(pk=job.parameters["batch"])
    assert job.state == JobState.FAILED
    assert batch.status == BatchStatus.FAILED and batch.content is None and batch.preview == ""
    page = client.get(preview_url(batch.pk))
    assert b"Import this file" not in page.content
    assert "RuntimeError" in page.content.decode()


def test_a_check_done_before_its_worker_died_is_not_done_twice(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    job = Job.objects.get(kind=Kind.IMPORT_CHECK)
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, host=this_host(), pid=4_194_305, attempts=1
    )
    jobs_services.recover()
    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.outcome["rows"] == 2
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.PREVIEWED


def test_confirming_twice_shows_the_same_import(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    first = job_of(client.post(confirm_url(batch)))
    assert job_of(client.post(confirm_url(batch))) == first
    assert Job.objects.filter(kind=Kind.IMPORT).count() == 1


def test_the_import_job_leads_to_the_batch_and_the_preview_is_gone(
    client, data_entry, administrator, atajurt
):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    job = job_of(client.post(confirm_url(batch)))
    run_jobs()
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert reverse("admin:imports_importbatch_change", args=[batch.pk]) in page
    assert ImportBatch.objects.get(pk=batch.pk).preview == ""
    client.force_login(administrator)  # sees every job, may not open import batches
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert f"/imports/importbatch/{batch.pk}/" not in page


def test_a_preview_address_that_is_not_a_number_is_not_found(client, data_entry):
    client.force_login(data_entry)
    assert client.get("/admin/imports/importbatch/abc/preview/").status_code == 404


def test_a_preview_expires_a_day_after_its_check_not_its_upload(client, data_entry, atajurt):
    client.force_login(data_entry)
    batch = upload(client, atajurt).context["batch"]
    checked = timezone.now()
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_at=checked - timedelta(days=2), finished_at=checked
    )
    services.expire_stale_previews()
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.PREVIEWED
    services.expire_stale_previews(now=checked + services.PREVIEW_KEPT + timedelta(seconds=1))
    batch.refresh_from_db()
    assert (batch.status, batch.content, batch.preview) == (BatchStatus.EXPIRED, None, "")
