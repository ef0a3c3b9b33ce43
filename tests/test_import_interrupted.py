"""An import whose process died (kill -9, a crash, a restart) is shown as interrupted, with when
it was last seen, and does not stop the file from being imported again (imports.services
.mark_interrupted_batches, the heartbeat, ImportBatch's one-running-import-per-file rule)."""

import importlib
import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casetracker.processes import this_host
from imports import services
from imports.models import BatchStatus, ImportBatch
from people.models import Person
from tests.factories import make_organisation
from tests.import_files import KANAT_ROWS, rows_to_csv

pytestmark = pytest.mark.django_db

DATA = rows_to_csv(KANAT_ROWS)


@pytest.fixture
def atajurt():
    return make_organisation("Atajurt Kazakh Human Rights", abbreviation="Atajurt", kind="ngo")


def dead_pid() -> int:
    """The id of a process of this host that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def left_running(user, group, *, data=DATA, **kw) -> ImportBatch:
    """A batch as a killed import leaves it: running, never finished."""
    kw.setdefault("host", this_host())
    kw.setdefault("pid", dead_pid())
    kw.setdefault("last_seen_at", timezone.now() - timedelta(seconds=20))
    return ImportBatch.objects.create(
        file_name="list.csv",
        sha256=services.hashlib.sha256(data).hexdigest(),
        size=len(data),
        group=group,
        created_by=user,
        status=BatchStatus.RUNNING,
        **kw,
    )


def status_of(batch) -> str:
    batch.refresh_from_db()
    return batch.status


# --- what a batch records of its process ---------------------------------------------------


def test_an_import_records_its_host_process_and_when_it_was_last_seen(data_entry, atajurt):
    before = timezone.now()
    batch = services.import_file(DATA, "list.csv", user=data_entry, group=atajurt).batch
    assert (batch.host, batch.pid) == (this_host(), os.getpid())
    assert before <= batch.last_seen_at == batch.finished_at


def test_the_heartbeat_keeps_last_seen_fresh_while_the_import_works(
    monkeypatch, data_entry, atajurt
):
    monkeypatch.setattr(services, "HEARTBEAT_EVERY", 0)
    seen = []

    def progress(stage, n):
        if stage == "checked":
            seen.append(ImportBatch.objects.get().last_seen_at)

    services.import_file(DATA, "list.csv", user=data_entry, group=atajurt, progress=progress)
    assert len(seen) == 2
    assert seen[1] > seen[0]


def heartbeat_updates(queries) -> int:
    return sum('SET "last_seen_at" = ' in query["sql"] for query in queries)


def test_the_heartbeat_writes_at_most_once_per_interval_not_once_per_row(data_entry, atajurt):
    rows = [
        {**KANAT_ROWS[0], "person_external_id": f"P{n}", "case_external_id": f"C{n}"}
        for n in range(20)
    ]
    with CaptureQueriesContext(connection) as queries:
        services.import_file(rows_to_csv(rows), "list.csv", user=data_entry, group=atajurt)
    # The batch's creation and its end say when it was seen; 20 rows in under 30 seconds add
    # no heartbeat of their own.
    assert heartbeat_updates(queries.captured_queries) == 0


# --- telling a dead process ------------------------------------------------------------------


def test_a_running_batch_whose_process_has_died_on_this_host_is_interrupted(data_entry, atajurt):
    batch = left_running(data_entry, atajurt, last_seen_at=timezone.now())
    assert services.mark_interrupted_batches() == 1
    assert status_of(batch) == BatchStatus.INTERRUPTED


def test_a_running_batch_whose_process_lives_stays_running(data_entry, atajurt):
    batch = left_running(data_entry, atajurt, pid=os.getpid())
    assert services.mark_interrupted_batches() == 0
    assert status_of(batch) == BatchStatus.RUNNING


@pytest.mark.parametrize(
    ("minutes_ago", "status"),
    [(2, BatchStatus.RUNNING), (11, BatchStatus.INTERRUPTED)],
)
def test_a_batch_of_another_host_is_interrupted_once_not_seen_for_ten_minutes(
    data_entry, atajurt, minutes_ago, status
):
    batch = left_running(
        data_entry,
        atajurt,
        host="another-app-server",
        pid=os.getpid(),  # a live process here says nothing of one over there
        last_seen_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    services.mark_interrupted_batches()
    assert status_of(batch) == status


def test_an_interrupted_batch_keeps_when_it_was_last_seen_and_has_no_end_time(data_entry, atajurt):
    last_seen = timezone.now() - timedelta(minutes=3)
    batch = left_running(data_entry, atajurt, last_seen_at=last_seen)
    services.mark_interrupted_batches()
    batch.refresh_from_db()
    assert (batch.last_seen_at, batch.finished_at) == (last_seen, None)


def test_finished_batches_are_left_as_they_are(data_entry, atajurt):
    batch = left_running(data_entry, atajurt)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.IMPORTED)
    assert services.mark_interrupted_batches() == 0
    assert status_of(batch) == BatchStatus.IMPORTED


# --- importing the file again ----------------------------------------------------------------


def test_a_reimport_of_the_file_is_not_blocked_by_an_interrupted_import(data_entry, atajurt):
    killed = left_running(data_entry, atajurt)
    result = services.import_file(DATA, "list.csv", user=data_entry, group=atajurt)
    assert result.batch.status == BatchStatus.IMPORTED
    assert status_of(killed) == BatchStatus.INTERRUPTED
    assert Person.objects.count() == 1


def test_an_import_of_a_file_that_a_live_process_is_importing_is_refused(data_entry, atajurt):
    left_running(data_entry, atajurt, pid=os.getpid())
    with pytest.raises(services.ImportRefused, match="already being imported"):
        services.import_file(DATA, "list.csv", user=data_entry, group=atajurt)
    assert not Person.objects.exists()


def test_the_command_says_the_file_is_being_imported(tmp_path, data_entry, atajurt):
    left_running(data_entry, atajurt, pid=os.getpid())
    path = tmp_path / "list.csv"
    path.write_bytes(DATA)
    with pytest.raises(CommandError, match="already being imported"):
        call_command("import_cases", str(path), "--as", "data_entry", "--group", "Atajurt")


def test_a_dry_run_or_a_preview_goes_ahead_while_the_file_is_being_imported(data_entry, atajurt):
    left_running(data_entry, atajurt, pid=os.getpid())
    dry = services.import_file(DATA, "list.csv", user=data_entry, group=atajurt, dry_run=True)
    preview = services.preview_file(DATA, "list.csv", user=data_entry, group=atajurt)
    assert (dry.batch.status, preview.batch.status) == (
        BatchStatus.VALIDATED,
        BatchStatus.PREVIEWED,
    )


def test_another_group_may_import_the_same_file_meanwhile(data_entry, atajurt):
    left_running(data_entry, make_organisation("Another group"), pid=os.getpid())
    result = services.import_file(DATA, "list.csv", user=data_entry, group=atajurt)
    assert result.batch.status == BatchStatus.IMPORTED


def test_confirming_a_preview_of_a_file_being_imported_is_refused(data_entry, atajurt):
    preview = services.preview_file(DATA, "list.csv", user=data_entry, group=atajurt).batch
    left_running(data_entry, atajurt, pid=os.getpid())
    with pytest.raises(services.ImportRefused, match="already being imported"):
        services.import_batch(preview, data_entry)
    assert status_of(preview) == BatchStatus.PREVIEWED


def test_confirming_a_preview_records_the_confirming_process(data_entry, atajurt):
    preview = services.preview_file(DATA, "list.csv", user=data_entry, group=atajurt).batch
    ImportBatch.objects.filter(pk=preview.pk).update(host="web-1", pid=1)
    batch = services.import_batch(preview, data_entry).batch
    assert (batch.status, batch.host, batch.pid) == (
        BatchStatus.IMPORTED,
        this_host(),
        os.getpid(),
    )


# --- stopped on the spot ---------------------------------------------------------------------


def test_ctrl_c_marks_the_batch_interrupted_at_once(monkeypatch, data_entry, atajurt):
    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(services, "_apply", interrupted)
    with pytest.raises(KeyboardInterrupt):
        services.import_file(DATA, "list.csv", user=data_entry, group=atajurt)
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.INTERRUPTED
    assert batch.finished_at is not None
    assert not Person.objects.exists()


def test_an_unexpected_error_marks_the_batch_failed_with_what_it_was(
    monkeypatch, data_entry, atajurt
):
    def broken(*args, **kw):
        raise TypeError("a bug")

    monkeypatch.setattr(services, "_match_existing", broken)
    with pytest.raises(TypeError):
        services.import_file(DATA, "list.csv", user=data_entry, group=atajurt)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, "TypeError: a bug")


# --- the admin -------------------------------------------------------------------------------


def test_the_batch_list_shows_an_interrupted_batch_and_when_it_was_last_seen(
    admin_client, data_entry, atajurt
):
    batch = left_running(data_entry, atajurt)
    page = admin_client.get(reverse("admin:imports_importbatch_changelist"))
    assert status_of(batch) == BatchStatus.INTERRUPTED
    assert "Interrupted: the process stopped" in page.text
    assert "last seen" in page.text.lower()


def test_the_status_filter_finds_interrupted_batches(admin_client, data_entry, atajurt):
    batch = left_running(data_entry, atajurt)
    url = reverse("admin:imports_importbatch_changelist") + "?status__exact=interrupted"
    response = admin_client.get(url)
    assert list(response.context["cl"].result_list) == [batch]


def test_the_batch_page_shows_the_process_and_when_it_was_last_seen(
    admin_client, data_entry, atajurt
):
    batch = left_running(data_entry, atajurt)
    page = admin_client.get(reverse("admin:imports_importbatch_change", args=[batch.pk]))
    assert "Interrupted: the process stopped" in page.text
    assert f"{batch.pid} on {this_host()}" in page.text


# --- the migration ---------------------------------------------------------------------------


def test_the_migration_interrupts_batches_left_running_before_heartbeats(data_entry, atajurt):
    batch = left_running(data_entry, atajurt, host="", pid=None, last_seen_at=None)
    migration = importlib.import_module("imports.migrations.0003_batch_heartbeat_and_interrupted")
    migration.interrupt_batches_left_running(apps, SimpleNamespace(connection=connection))
    batch.refresh_from_db()
    assert (batch.status, batch.last_seen_at) == (BatchStatus.INTERRUPTED, batch.created_at)


# --- the heartbeat inside the import's transaction (PostgreSQL) ------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_the_heartbeat_is_seen_outside_the_transaction_that_writes_the_rows(
    monkeypatch, data_entry, atajurt
):
    monkeypatch.setattr(services, "HEARTBEAT_EVERY", 0)
    apply, seen = services._apply, {}

    def timed_apply(*args, **kw):
        seen["writing from"] = timezone.now()
        return apply(*args, **kw)

    def progress(stage, n):
        if stage == "written" and "outside" not in seen:
            outside = connections.create_connection("default")
            try:
                with outside.cursor() as cursor:
                    cursor.execute("SELECT last_seen_at FROM imports_importbatch")
                    seen["outside"] = cursor.fetchone()[0]
                    cursor.execute("SELECT count(*) FROM people_person")
                    seen["people outside"] = cursor.fetchone()[0]
            finally:
                outside.close()

    monkeypatch.setattr(services, "_apply", timed_apply)
    services.import_file(DATA, "list.csv", user=data_entry, group=atajurt, progress=progress)
    assert seen["people outside"] == 0  # the rows are not committed yet...
    assert seen["outside"] > seen["writing from"]  # ...but the heartbeat is


# --- a real import_cases killed with SIGKILL (SQLite file database) --------------------------

# Runs import_cases with the write slowed down: once the first rows are written (inside the
# import's transaction) it touches a marker file and sleeps, to be killed there.
SLOW_IMPORT = """
import sys, time
import django
django.setup()
from django.core.management import call_command
from imports import services
bulk_create = services._bulk_create
def slow_bulk_create(*args, **kw):
    bulk_create(*args, **kw)
    open(sys.argv[1], "w").close()
    time.sleep(120)
services._bulk_create = slow_bulk_create
call_command("import_cases", sys.argv[2], "--as", "data_entry", "--group", "Atajurt")
"""


def run_env(database):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }


def rows(database, sql):
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchall()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a file database a subprocess shares")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_import_cases_killed_mid_write_is_shown_interrupted_and_the_file_imports_again(
    tmp_path, data_entry, atajurt
):
    database, marker, upload = tmp_path / "db.sqlite3", tmp_path / "writing", tmp_path / "l.csv"
    upload.write_bytes(DATA)
    connection.ensure_connection()
    with sqlite3.connect(database) as copy:
        connection.connection.backup(copy)  # the test database, committed, as a file
    env = run_env(database)
    killed = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", SLOW_IMPORT, str(marker), str(upload)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), killed.stderr.read().decode()
    killed.kill()
    killed.wait()
    killed.stderr.close()

    assert rows(database, "SELECT status, pid FROM imports_importbatch") == [
        ("running", killed.pid)
    ]
    assert rows(database, "SELECT count(*) FROM people_person") == [(0,)]

    command = ["import_cases", str(upload), "--as", "data_entry", "--group", "Atajurt"]
    again = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    statuses = rows(
        database, "SELECT status, last_seen_at IS NOT NULL FROM imports_importbatch ORDER BY id"
    )
    assert statuses == [("interrupted", 1), ("imported", 1)]
    assert rows(database, "SELECT count(*) FROM people_person") == [(1,)]
