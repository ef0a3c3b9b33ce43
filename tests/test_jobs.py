"""Background jobs (jobs app): the admin export handed to the worker, who may see, download and
cancel which job, the file encrypted at rest and gone when its time is up, progress, failures,
cancelling, and the jobs of a worker that died."""

import io
import os
import stat
import zipfile
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cases.models import Case
from casetracker import crypto
from casetracker.roles import DATA_ENTRY, VERIFIER
from exports.models import ExportLog
from jobs import services
from jobs.models import Job, Kind, State
from people.models import DuplicateCandidate
from snapshots import writer
from snapshots.models import PublishedCase
from tests import jobs as helpers
from tests.exports import csv_records
from tests.factories import make_case, make_user, person_named, publish
from tests.jobs import EXPORT_PAGE, download_url, job_of, run_jobs

pytestmark = pytest.mark.django_db

# A process id no process has on this host (above Linux's highest pid_max).
DEAD_PID = 4_194_305


@pytest.fixture
def cases():
    shown = publish(
        make_case(person_named("Kanat Yerezhep", "Қанат Ережеп"), public_summary="Held.")
    )
    draft = make_case(person_named("Draft Person"))
    sensitive = make_case(person_named("Sensitive Person"), sensitive=True)
    return {"published": shown, "draft": draft, "sensitive": sensitive}


def references(response) -> list[str]:
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sorted(r["reference"] for r in csv_records(archive.read("cases.csv")))


def queue_export(client, **data) -> Job:
    data = {"scope": "all", "formats": ["csv"], **data}
    return job_of(client.post(EXPORT_PAGE, data))


@pytest.fixture(autouse=True)
def no_behaviour():
    helpers.BEHAVIOUR.clear()
    yield
    helpers.BEHAVIOUR.clear()


def stored_file(job):
    (path,) = services.files_dir().glob(f"{job.pk}-*.bin")
    return path


def counting(user=None, to=3) -> Job:
    return services.start(helpers.counting_job, "export", user=user, parameters={"to": to})


# --- the admin export as a job -----------------------------------------------------------------


def test_the_export_page_queues_a_job_and_its_page_gives_the_bundle(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    assert job.state == State.QUEUED and job.kind == Kind.EXPORT
    assert job.requested_by == data_entry
    assert not ExportLog.objects.exists()  # nothing was written inside the request
    page = client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200
    assert b'http-equiv="refresh"' in page.content  # it follows the job by itself
    assert client.get(download_url(job)).status_code == 404  # not ready yet

    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error
    assert job.outcome["cases"] == 1 and (job.done, job.total) == (1, 1)
    log = ExportLog.objects.get()
    assert (log.user, log.channel, log.case_count) == (data_entry, "admin", 1)
    assert job.outcome["manifest_sha256"] == log.manifest_sha256
    page = client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert b'http-equiv="refresh"' not in page.content
    assert download_url(job).encode() in page.content
    response = client.get(download_url(job))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert references(response) == [cases["published"].reference]
    job.refresh_from_db()
    assert job.downloads == 1


def test_the_file_is_encrypted_at_rest_readable_by_its_owner_alone(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    run_jobs()
    job.refresh_from_db()
    stored = stored_file(job).read_bytes()
    plain = b"".join(client.get(download_url(job)).streaming_content)
    assert plain.startswith(b"PK") and not stored.startswith(b"PK")
    assert cases["published"].reference.encode() not in stored
    assert job.file_size == len(plain)
    mode = os.stat(stored_file(job)).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_selection_is_checked_again_when_the_job_runs(client, outsider, cases):
    """Need to know: a sensitive case posted by hand is not exported, and a case that became
    sensitive between the request and the run is left out too."""
    client.force_login(outsider)
    posted = [cases["published"].pk, cases["sensitive"].pk]
    job = queue_export(client, scope="selected", ids=posted)
    assert job.parameters["selected"] == [cases["published"].pk]
    Case.objects.filter(pk=cases["published"].pk).update(sensitive=True)
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert job.outcome["cases"] == 0


def test_a_right_withdrawn_before_the_run_is_withdrawn_for_the_export(client, verifier, cases):
    client.force_login(verifier)
    ids = [cases["draft"].pk]
    job = queue_export(client, scope="unpublished", ids=ids)
    verifier.groups.remove(Group.objects.get(name=VERIFIER))
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert "may no longer see cases" in job.error or "may not export" in job.error
    assert not job.file_name and not ExportLog.objects.exists()
    assert not list(services.files_dir().glob(f"{job.pk}*"))


def test_a_staff_export_job_holds_the_unpublished_cases(client, verifier, cases):
    client.force_login(verifier)
    job = queue_export(client, scope="unpublished", ids=[cases["draft"].pk])
    run_jobs()
    assert references(client.get(download_url(Job.objects.get(pk=job.pk)))) == [
        cases["draft"].reference
    ]


# --- who sees, downloads and cancels which job ------------------------------------------------


@pytest.fixture
def finished(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    run_jobs()
    client.logout()
    return Job.objects.get(pk=job.pk)


# persona: (sees the job in the list, its page, download, cancel)
MATRIX = {
    "anonymous": (None, 302, 302, 302),
    "no_role": (None, 403, 403, 403),
    "data_entry": (True, 200, 200, 302),  # the owner
    "outsider": (False, 404, 404, 404),
    "verifier": (False, 404, 404, 404),
    "administrator": (True, 200, 404, 404),  # sees every job, never another's file
}


@pytest.mark.parametrize("persona", MATRIX)
def test_who_sees_downloads_and_cancels_a_job(request, client, finished, persona):
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    listed, page, download, cancel = MATRIX[persona]
    changelist = client.get("/admin/jobs/job/")
    if listed is None:
        assert changelist.status_code in {302, 403}
    else:
        assert changelist.status_code == 200
        assert (finished in changelist.context["cl"].queryset) is listed
    assert client.get(f"/admin/jobs/job/{finished.pk}/change/").status_code == page
    assert client.get(download_url(finished)).status_code == download
    assert client.post(f"/admin/jobs/job/{finished.pk}/cancel/").status_code == cancel
    finished.refresh_from_db()
    assert finished.state == State.SUCCEEDED  # nobody cancels a finished job


def test_an_unknown_or_malformed_job_is_not_found(client, data_entry):
    client.force_login(data_entry)
    assert (
        client.get("/admin/jobs/job/00000000-0000-0000-0000-000000000000/download/").status_code
        == 404
    )
    assert client.get("/admin/jobs/job/not-a-uuid/download/").status_code == 404


# persona: may start (duplicate scan, snapshot rebuild)
STARTERS = {
    "data_entry": (True, False),
    "verifier": (True, False),
    "administrator": (False, True),
    "no_role": (False, False),
}


@pytest.mark.parametrize("persona", STARTERS)
def test_who_may_start_which_job(request, client, persona):
    client.force_login(request.getfixturevalue(persona))
    for kind, allowed in zip([Kind.DUPLICATES, Kind.SNAPSHOTS], STARTERS[persona], strict=True):
        url = f"/admin/jobs/job/start/{kind}/"
        assert client.get(url).status_code in {405, 403}
        response = client.post(url)
        if allowed:
            assert job_of(response).kind == kind
        else:
            assert response.status_code == 403
    assert not Job.objects.filter(requested_by__username="staff_without_role").exists()


def test_the_buttons_shown_are_those_the_user_may_press(client, administrator, verifier):
    client.force_login(administrator)
    page = client.get("/admin/jobs/job/").content.decode()
    assert "/start/snapshots/" in page and "/start/duplicates/" not in page
    client.force_login(verifier)
    page = client.get("/admin/jobs/job/").content.decode()
    assert "/start/duplicates/" in page and "/start/snapshots/" not in page


# --- the maintenance jobs ---------------------------------------------------------------------


def test_the_snapshot_rebuild_job_repairs_the_snapshots(client, administrator, cases):
    PublishedCase.objects.update(document="{}")
    client.force_login(administrator)
    job = job_of(client.post("/admin/jobs/job/start/snapshots/"))
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert job.outcome == {"snapshots written": 1, "snapshots removed": 0}
    stored = PublishedCase.objects.get()
    assert stored.document == writer.rendered([cases["published"].pk])[0].document


def test_the_duplicate_scan_job_lists_the_pairs(client, verifier):
    make_case(person_named("Kanat Yerezhep", birth_date="1960"))
    make_case(person_named("Қанат Ережеп", birth_date="1960"))
    client.force_login(verifier)
    job = job_of(client.post("/admin/jobs/job/start/duplicates/"))
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error
    assert job.outcome["created"] == 1 == DuplicateCandidate.objects.count()
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "New possible duplicates" in page


def test_the_commands_queue_jobs_in_the_background(capsys):
    call_command("rebuild_snapshots", "--background")
    call_command("find_duplicates", "--background")
    assert sorted(Job.objects.values_list("kind", flat=True)) == [Kind.DUPLICATES, Kind.SNAPSHOTS]
    assert Job.objects.filter(requested_by=None, state=State.QUEUED).count() == 2
    run_jobs()
    assert set(Job.objects.values_list("state", flat=True)) == {State.SUCCEEDED}


# --- how jobs end -----------------------------------------------------------------------------


def test_an_expected_failure_keeps_its_message(data_entry):
    def fail(job, progress, i):
        raise services.JobFailed("The file is too large.")

    helpers.BEHAVIOUR["during"] = fail
    job = counting(data_entry)
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.error) == (State.FAILED, "The file is too large.")


def test_an_unexpected_error_is_reported_without_its_details(data_entry, caplog):
    def fail(job, progress, i):
        raise ValueError("secret testifier name")

    helpers.BEHAVIOUR["during"] = fail
    job = counting(data_entry)
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert "ValueError" in job.error and "secret testifier name" not in job.error
    assert "secret testifier name" in caplog.text  # the server's log has it
    # The queue's own record of it holds no traceback either.
    assert not DBTaskResult.objects.filter(traceback__contains="secret").exists()


def test_a_failed_export_leaves_no_file_and_no_log(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    with mock.patch("exports.bundle.write_files", side_effect=OSError("disk full")):
        run_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED and "OSError" in job.error
    assert not ExportLog.objects.exists()
    assert not job.file_name and not list(services.files_dir().glob(f"{job.pk}*"))


def test_the_job_runs_in_the_language_of_who_asked(client, data_entry, cases):
    client.force_login(data_entry)
    job = job_of(
        client.post(EXPORT_PAGE, {"scope": "all", "formats": ["csv"]}, HTTP_ACCEPT_LANGUAGE="kk")
    )
    assert job.language == "kk"

    def fail(job, progress, i):
        raise ValueError

    helpers.BEHAVIOUR["during"] = fail
    other = counting(data_entry)
    Job.objects.filter(pk=other.pk).update(language="ru")
    run_jobs()
    other.refresh_from_db()
    assert "Непредвиденная ошибка" in other.error


def test_a_job_runs_once(data_entry):
    job = counting(data_entry)
    run_jobs()
    services.run(str(job.pk), helpers.work)  # a second delivery of the same entry
    job.refresh_from_db()
    assert (job.state, job.attempts) == (State.SUCCEEDED, 1)


# --- cancelling -------------------------------------------------------------------------------


def test_a_waiting_job_is_cancelled_at_once_and_never_runs(client, data_entry):
    ran = []
    helpers.BEHAVIOUR["during"] = lambda job, progress, i: ran.append(i)
    job = counting(data_entry)
    client.force_login(data_entry)
    response = client.post(f"/admin/jobs/job/{job.pk}/cancel/")
    assert response.status_code == 302
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.CANCELLED and ran == []
    assert client.get(f"/admin/jobs/job/{job.pk}/cancel/").status_code == 405


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")  # a transactional test empties them
def test_a_running_job_stops_at_its_next_step_and_keeps_nothing(data_entry, monkeypatch):
    monkeypatch.setattr(services, "HEARTBEAT", 0.01)
    counted = []

    def cancel_at_two(job, progress, i):
        if i == 1:
            assert services.cancel(job) == State.RUNNING
            progress.cancelled.wait(5)  # the heartbeat reads it
        counted.append(i)

    helpers.BEHAVIOUR["during"] = cancel_at_two
    job = counting(data_entry, to=5)
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.CANCELLED
    assert counted == [0, 1]  # the advance after step 1 saw the request
    assert job.outcome == {}


# --- progress ---------------------------------------------------------------------------------


def seen_elsewhere(pk) -> tuple:
    """The job's progress as another process (the admin) reads it."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT done, total, stage FROM jobs_job WHERE id = %s", [pk])
            return cursor.fetchone()
    finally:
        other.close()


@pytest.mark.postgresql  # SQLite has one writer: the work's transaction holds it
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")  # a transactional test empties them
def test_progress_shows_while_the_work_is_in_a_transaction(data_entry, monkeypatch):
    """The work's own transaction shows nothing until it commits; the progress must show
    meanwhile (it is written on a connection of its own)."""
    monkeypatch.setattr(services, "HEARTBEAT", 0.01)
    seen = []

    def look(job, progress, i):
        if i == 2:
            progress.beaten.clear()
            progress.beaten.wait(5)
            seen.append(seen_elsewhere(job.pk))

    counting_work = helpers.work

    def work_in_a_transaction(job, progress):
        with transaction.atomic():
            return counting_work(job, progress)

    helpers.BEHAVIOUR["during"] = look
    job = counting(data_entry, to=4)
    with mock.patch.object(helpers, "work", work_in_a_transaction):
        run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert seen == [(2, 4, "Counting")]
    assert (job.done, job.total) == (4, 4)


# --- the jobs of a worker that died --------------------------------------------------------------


def running_in_a_dead_process(job: Job, attempts: int = 1) -> None:
    Job.objects.filter(pk=job.pk).update(
        state=State.RUNNING,
        host=services.this_host(),
        pid=DEAD_PID,
        attempts=attempts,
        started_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    DBTaskResult.objects.filter(pk=job.task_id).update(status="RUNNING", started_at=timezone.now())


def test_a_job_whose_worker_died_is_queued_again_and_finishes(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    assert services.recover() == {"queued again": 1, "interrupted": 0}
    job.refresh_from_db()
    assert job.state == State.QUEUED
    assert DBTaskResult.objects.get(pk=job.task_id).status == "READY"
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (State.SUCCEEDED, 2)


def test_a_job_of_a_live_worker_is_left_alone(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    Job.objects.filter(pk=job.pk).update(pid=os.getpid())
    assert services.recover() == {"queued again": 0, "interrupted": 0}
    assert Job.objects.get(pk=job.pk).state == State.RUNNING


def test_a_job_on_another_host_counts_as_gone_once_not_seen_for_long(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    Job.objects.filter(pk=job.pk).update(host="elsewhere", pid=os.getpid())
    assert services.recover()["queued again"] == 0
    later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
    assert services.recover(now=later)["queued again"] == 1


def test_a_job_that_keeps_killing_its_worker_is_given_up(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job, attempts=services.MAX_ATTEMPTS)
    assert services.recover() == {"queued again": 0, "interrupted": 1}
    job.refresh_from_db()
    assert job.state == State.INTERRUPTED
    assert str(services.MAX_ATTEMPTS) in job.error
    run_jobs()
    assert Job.objects.get(pk=job.pk).state == State.INTERRUPTED


def test_a_worker_stopped_in_the_middle_of_a_job_puts_it_back(data_entry):
    """A second Ctrl-C (or SIGTERM) stops the worker inside the job: the job goes back on the
    queue, and the next worker (here the same loop) runs it from the start."""
    first = []

    def stop(job, progress, i):
        if i == 1 and job.attempts == 1:
            first.append(Job.objects.get(pk=job.pk).task_id)
            raise SystemExit(1)

    helpers.BEHAVIOUR["during"] = stop
    job = counting(data_entry)
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (State.SUCCEEDED, 2)
    assert DBTaskResult.objects.get(pk=first[0]).status == "FAILED"
    assert job.task_id != first[0]


def test_a_waiting_job_whose_entry_was_taken_by_a_dead_worker_is_queued_again(data_entry):
    job = counting(data_entry)
    long_ago = timezone.now() - services.STALE_AFTER - timedelta(minutes=1)
    Job.objects.filter(pk=job.pk).update(requested_at=long_ago)
    DBTaskResult.objects.filter(pk=job.task_id).update(status="RUNNING", started_at=long_ago)
    assert services.recover()["queued again"] == 1
    run_jobs()
    assert Job.objects.get(pk=job.pk).state == State.SUCCEEDED


def test_the_worker_command_recovers_then_works_the_queue(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("run_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)
    assert Job.objects.get(pk=job.pk).state == State.SUCCEEDED


# --- files are kept for a while -----------------------------------------------------------------


def test_a_file_is_removed_when_its_time_is_up(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    run_jobs()
    job.refresh_from_db()
    assert job.file_expires_at - timezone.now() > timedelta(hours=23)
    later = job.file_expires_at + timedelta(seconds=1)
    path = stored_file(job)
    assert services.prune(now=later)["files"] == 1
    assert not path.exists()
    assert client.get(download_url(job)).status_code == 404
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "Its file was removed" in page


def test_an_expired_file_is_not_served_even_before_it_is_pruned(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    run_jobs()
    Job.objects.filter(pk=job.pk).update(file_expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(download_url(job)).status_code == 404


def test_files_no_job_owns_are_removed(data_entry):
    services.files_dir().mkdir(parents=True, exist_ok=True)
    stray = services.files_dir() / "0123.part"
    stray.write_bytes(b"left by a crash")
    work = services.files_dir() / "4567-1.abc"
    work.mkdir()
    (work / "casetracker-cases.zip").write_bytes(b"PK unencrypted work file")
    services.prune()
    assert not stray.exists() and not work.exists()


def test_the_work_files_of_a_running_job_are_left_alone(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    job.refresh_from_db()
    work = services.work_dir(job)
    services.prune()
    assert work.is_dir()


# --- the file follows its requester's rights ----------------------------------------------------


def test_a_staff_export_is_not_served_once_the_right_is_withdrawn(client, verifier, cases):
    client.force_login(verifier)
    job = queue_export(client, scope="unpublished", ids=[cases["draft"].pk])
    run_jobs()
    job.refresh_from_db()
    assert client.get(download_url(job)).status_code == 200
    verifier.groups.remove(Group.objects.get(name=VERIFIER))
    # Without a role the admin refuses them outright (403); with another role, not found.
    assert client.get(download_url(job)).status_code == 403
    verifier.groups.add(Group.objects.get(name=DATA_ENTRY))
    assert client.get(download_url(job)).status_code == 404


def test_a_sensitive_case_taken_away_takes_the_file_away(client, cases):
    """A Verifier who may see every sensitive case exports one; once that right is gone and
    they are not assigned to it, the bundle holding it is no longer theirs to download."""
    holder = make_user("exporter")
    holder.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_case", "export_unpublished", "view_sensitive_case"]
        )
    )
    client.force_login(holder)
    job = queue_export(client, scope="unpublished", ids=[cases["sensitive"].pk])
    run_jobs()
    job.refresh_from_db()
    assert job.file_requires["cases"] == [cases["sensitive"].pk]
    assert client.get(download_url(job)).status_code == 200
    holder.user_permissions.remove(Permission.objects.get(codename="view_sensitive_case"))
    holder = type(holder).objects.get(pk=holder.pk)  # permissions are cached per object
    client.force_login(holder)
    assert client.get(download_url(job)).status_code == 404
    cases["sensitive"].assigned_staff.add(holder)
    assert client.get(download_url(job)).status_code == 200


# --- one at a time, and runs that lost their job ----------------------------------------------


def test_a_second_scan_while_one_waits_shows_the_first(client, verifier, data_entry):
    client.force_login(data_entry)
    first = job_of(client.post("/admin/jobs/job/start/duplicates/"))
    client.force_login(verifier)
    response = client.post("/admin/jobs/job/start/duplicates/")
    assert Job.objects.filter(kind=Kind.DUPLICATES).count() == 1
    # Not theirs to open: the list, which does not show it either.
    assert response.url == "/admin/jobs/job/"
    client.force_login(data_entry)
    assert job_of(client.post("/admin/jobs/job/start/duplicates/")) == first


def test_a_running_job_whose_entry_ended_is_recovered(data_entry):
    """The worker finished with the entry but could not record the job's end: the job does not
    stay running for ever, though its process lives on."""
    job = counting(data_entry)
    running_in_a_dead_process(job)
    Job.objects.filter(pk=job.pk).update(pid=os.getpid())
    DBTaskResult.objects.filter(pk=job.task_id).update(status="FAILED")
    assert services.recover()["queued again"] == 1


def test_a_starting_worker_does_not_take_an_old_jobs_process_id_for_alive(data_entry):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    Job.objects.filter(pk=job.pk).update(pid=os.getpid())
    assert services.recover()["queued again"] == 0
    assert services.recover(starting_pid=os.getpid())["queued again"] == 1


def test_a_run_that_lost_its_job_keeps_no_file(data_entry, tmp_path):
    job = counting(data_entry)
    running_in_a_dead_process(job)
    job.refresh_from_db()
    services.recover()  # judged gone: queued again
    source = tmp_path / "bundle.zip"
    source.write_bytes(b"PK the old run's bundle")
    with pytest.raises(services.JobTakenOver):
        services.keep_file(job, source, "bundle.zip")
    assert not list(services.files_dir().glob(f"{job.pk}-*.bin"))
    job.refresh_from_db()
    assert job.file_name == ""


def test_a_key_rotation_removes_the_files_sealed_under_older_keys(client, data_entry, cases):
    client.force_login(data_entry)
    job = queue_export(client)
    run_jobs()
    assert services.discard_files_not_under(crypto.keyring().newest) == 0
    assert services.discard_files_not_under("another") == 1
    job.refresh_from_db()
    assert job.file_name == "" and client.get(download_url(job)).status_code == 404
