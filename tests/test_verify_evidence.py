"""Evidence files re-verified against what was recorded at upload: ``verify_evidence``, its
record in the security log, and the Administrator page that starts it (sources.integrity,
sources.integrity_views)."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from casetracker import crypto
from casetracker.fields import FILE_PURPOSE
from casetracker.security import SecurityEvent
from sources import integrity, integrity_views
from sources.models import Access, EvidenceFile
from tests.factories import make_source

pytestmark = pytest.mark.django_db

SCAN = b"%PDF-1.4 scan of a detention notice\n" * 200
PAGE = reverse("evidence-check")


@pytest.fixture
def source():
    return make_source("Atajurt list 2024")


def upload(source, content=SCAN, name="notice-of-Kanat.pdf"):
    return EvidenceFile.objects.create(
        source=source, file=SimpleUploadedFile(name, content, "application/pdf")
    )


def stored(evidence) -> Path:
    return Path(evidence.file.storage.path(evidence.file.name))


def verify(*args):
    """(what the command printed, the CommandError it ended with or None)."""
    out = StringIO()
    try:
        call_command("verify_evidence", *args, stdout=out, stderr=StringIO())
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def logged() -> list[str]:
    events = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EVIDENCE_CHECK)
    return list(events.order_by("pk").values_list("detail", flat=True))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- a clean run -----------------------------------------------------------------------------


def test_a_clean_run_exits_0_and_says_how_many_files_it_checked(source):
    upload(source)
    upload(source, b"a second scan")
    out, error = verify()
    assert error is None
    assert "2 evidence files" in out


def test_a_clean_run_is_logged_when_it_starts_and_with_its_counts_when_it_ends(source):
    upload(source)
    verify()
    start, end = logged()
    run = start.split()[0]
    assert start.startswith(f"{run} started scope=all pid={os.getpid()} host=")
    assert end == (f"{run} outcome=ok files=1 bytes={len(SCAN)} missing=0 changed=0 unreadable=0")


def test_the_run_is_logged_under_the_staff_member_it_is_run_as(source, administrator):
    upload(source)
    verify("--as", "administrator")
    usernames = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EVIDENCE_CHECK)
    assert set(usernames.values_list("username", flat=True)) == {"administrator"}


def test_an_unknown_user_is_refused(source):
    _, error = verify("--as", "nobody")
    assert "No user 'nobody'" in str(error)


# --- each problem, reported by source and uid, exit status 1 --------------------------------


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[crypto.HEADER_SIZE + 5] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-40])


def encrypt_other_content(path: Path) -> None:
    path.write_bytes(b"".join(crypto.encrypt_stream([b"a forged scan"], FILE_PURPOSE)))


def write_in_the_clear(path: Path) -> None:
    path.write_bytes(SCAN)


def record_another_size(evidence) -> None:
    EvidenceFile.objects.filter(pk=evidence.pk).update(size=len(SCAN) + 1)


DAMAGE = {
    "deleted": (lambda e: stored(e).unlink(), "missing", "Missing"),
    "ciphertext byte flipped": (lambda e: flip_a_byte(stored(e)), "unreadable", "Unreadable"),
    "truncated": (lambda e: truncate(stored(e)), "unreadable", "Unreadable"),
    "other content": (lambda e: encrypt_other_content(stored(e)), "changed", "Changed"),
    "replaced in the clear": (lambda e: write_in_the_clear(stored(e)), "unreadable", "Unreadable"),
    "other size recorded": (record_another_size, "changed", "Changed"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_file_is_reported_by_its_source_and_uid_and_the_command_exits_1(source, damage):
    upload(source, b"an intact scan")
    evidence = upload(source)
    harm, _, shown = DAMAGE[damage]
    harm(evidence)
    out, error = verify()
    assert error is not None and error.returncode == 1
    assert "1 of 2 evidence files is missing, changed or unreadable" in str(error)
    [line] = out.splitlines()
    assert line.startswith(f"{shown}: evidence file {evidence.uid} of source ")
    assert f"“Atajurt list 2024” ({source.uid})" in line


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_file_is_in_the_security_log_by_uid(source, damage):
    evidence = upload(source)
    harm, problem, _ = DAMAGE[damage]
    harm(evidence)
    verify()
    start, found, end = logged()
    run = start.split()[0]
    assert found == f"{run} file={evidence.uid} source={source.uid} problem={problem}"
    assert " outcome=problems files=1 " in end
    assert f" {problem}=1" in end


def test_a_changed_file_says_what_differs(source):
    evidence = upload(source)
    record_another_size(evidence)
    out, _ = verify()
    assert f"it holds {len(SCAN)} bytes where {len(SCAN) + 1} were recorded at upload" in out
    assert "SHA-256" not in out  # the content is as uploaded


def test_no_file_name_reaches_the_security_log(source):
    evidence = upload(source, name="testimony-of-Aigerim-Nurlan.pdf")
    stored(evidence).unlink()
    verify()
    assert not [detail for detail in logged() if "Aigerim" in detail or "testimony" in detail]


def test_a_confidential_sources_title_is_not_printed(source):
    secret = make_source("Testimony of the sister in Almaty", access=Access.CONFIDENTIAL)
    stored(upload(secret)).unlink()
    out, _ = verify()
    assert "Almaty" not in out
    assert f"confidential source {secret.uid}" in out


def test_the_security_log_lists_a_bounded_number_of_problem_files(monkeypatch, source):
    monkeypatch.setattr(integrity, "PROBLEMS_LOGGED", 2)
    for _ in range(3):
        stored(upload(source)).unlink()
    out, _ = verify()
    assert len(out.splitlines()) == 3  # the command lists them all
    assert sum(" problem=" in detail for detail in logged()) == 2
    assert " missing=3 " in logged()[-1]


@pytest.mark.parametrize(
    ("stop", "outcome"),
    [(RuntimeError("disk on fire"), "error"), (KeyboardInterrupt(), "interrupted")],
)
def test_a_run_that_stops_half_way_says_so_in_the_security_log(monkeypatch, source, stop, outcome):
    upload(source)

    def broken(*args):
        raise stop

    monkeypatch.setattr(integrity, "check_file", broken)
    with pytest.raises(type(stop)):
        verify()
    assert f" outcome={outcome} files=0 " in logged()[-1]


# --- scope -----------------------------------------------------------------------------------


def test_source_checks_only_that_sources_files(source):
    upload(source)
    stored(upload(make_source("Another report"))).unlink()
    out, error = verify("--source", str(source.uid))
    assert error is None
    assert "1 evidence file " in out
    assert logged()[0].split()[2] == f"scope=source:{source.uid}"


def test_an_unknown_source_is_refused():
    _, error = verify("--source", "00000000-0000-4000-8000-000000000000")
    assert "No source has the public id" in str(error)


# --- bounded memory, by design -----------------------------------------------------------------


def test_files_are_read_and_decrypted_a_chunk_at_a_time(monkeypatch, source):
    upload(source, os.urandom(3 * crypto.CHUNK + 5))
    reads = []
    readinto = crypto.DecryptingReader.readinto

    def counted(self, buffer):
        reads.append(len(buffer))
        return readinto(self, buffer)

    monkeypatch.setattr(crypto.DecryptingReader, "readinto", counted)
    _, error = verify()
    assert error is None
    assert len(reads) >= 4
    assert max(reads) <= crypto.CHUNK


def test_rows_are_streamed_without_decrypting_any_file_name(monkeypatch, source):
    upload(source)

    def refuse(*args, **kw):
        raise AssertionError("an encrypted column was decrypted")

    monkeypatch.setattr(crypto, "decrypt_text", refuse)
    _, error = verify()
    assert error is None


def test_rows_are_read_a_few_hundred_at_a_time(monkeypatch, source):
    chunk_sizes = []
    iterator = type(EvidenceFile.objects.all()).iterator

    def spied(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(EvidenceFile.objects.all()), "iterator", spied)
    upload(source)
    verify()
    assert chunk_sizes == [integrity.ROWS_PER_QUERY]


# --- a run started from the admin page ---------------------------------------------------------


def test_a_run_started_from_the_page_logs_its_end_under_the_pages_run_id(source, superuser):
    upload(source)
    integrity.record_start("0123456789ab", scope="all", username="root")
    verify("--run", "0123456789ab", "--as", "root")
    details = logged()
    assert len(details) == 2  # no second start
    assert details[1].startswith("run=0123456789ab outcome=ok files=1 ")


def test_a_run_id_that_is_not_one_is_refused():
    _, error = verify("--run", "x outcome=ok")
    assert "--run" in str(error)


# --- the Administrator page --------------------------------------------------------------------

MATRIX = [
    ("anonymous", 302),
    ("no_role", 403),
    ("data_entry", 403),
    ("verifier", 403),
    ("administrator", 200),
    ("superuser", 200),
]


@pytest.fixture
def spawned(monkeypatch):
    """The page's spawner, replaced: what it was asked to run. The "process" is this one."""
    calls = []

    def spawn(run, username):
        calls.append((run, username))
        return os.getpid()

    monkeypatch.setattr(integrity_views, "spawn_check", spawn)
    return calls


@pytest.mark.parametrize(("persona", "expected"), MATRIX)
def test_who_may_open_the_evidence_check_page(request, client, persona, expected):
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(("persona", "expected"), MATRIX)
def test_who_may_start_a_check(request, client, spawned, persona, expected):
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    response = client.post(PAGE)
    started = expected == 200
    assert response.status_code == (302 if started else expected)
    assert len(spawned) == (1 if started else 0)


def test_starting_a_check_runs_the_command_outside_the_request(client, administrator, spawned):
    client.force_login(administrator)
    response = client.post(PAGE)
    assert response["Location"] == PAGE
    [(run, username)] = spawned
    assert username == "administrator"
    [start] = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EVIDENCE_CHECK)
    assert start.detail.startswith(f"run={run} started scope=all pid={os.getpid()} ")
    assert (start.username, start.path) == ("administrator", PAGE)


def test_the_page_shows_a_started_check_as_running(client, administrator, spawned):
    client.force_login(administrator)
    client.post(PAGE)
    response = client.get(PAGE)
    [run] = response.context["runs"]
    assert run.state == integrity.Outcome.RUNNING
    assert b"A check is running" in response.content
    assert b"Check every evidence file now" not in response.content


def test_a_second_check_is_not_started_while_one_runs(client, administrator, spawned):
    client.force_login(administrator)
    client.post(PAGE)
    client.post(PAGE)
    assert len(spawned) == 1


def test_opening_the_page_starts_nothing(client, administrator, spawned):
    client.force_login(administrator)
    client.get(PAGE)
    assert spawned == []
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EVIDENCE_CHECK).exists()


def test_starting_a_check_needs_the_csrf_token(administrator, spawned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    assert client.post(PAGE).status_code == 403
    assert spawned == []


def test_the_page_shows_a_finished_check_and_its_problem_files(client, administrator, source):
    evidence = upload(source)
    stored(evidence).unlink()
    verify("--as", "administrator")
    client.force_login(administrator)
    response = client.get(PAGE)
    [run] = response.context["runs"]
    assert (run.state, run.counts["missing"]) == (integrity.Outcome.PROBLEMS, 1)
    page = response.content.decode()
    assert str(evidence.uid) in page
    assert reverse("admin:sources_source_change", args=[source.pk]) in page
    assert "Atajurt list 2024" in page


def test_a_check_whose_process_died_shows_it_stopped_without_a_result(client, administrator):
    integrity.record_start("0123456789ab", scope="all", pid=dead_pid())
    client.force_login(administrator)
    response = client.get(PAGE)
    [run] = response.context["runs"]
    assert run.state == integrity.Outcome.GONE
    assert b"Check every evidence file now" in response.content


def test_the_spawner_starts_the_command_in_a_session_of_its_own(monkeypatch, settings):
    started = {}

    class FakeProcess:
        pid = 4242

        def __init__(self, command, **options):
            started.update(command=command, **options)

        def wait(self):
            return 0

    monkeypatch.setattr(integrity_views.subprocess, "Popen", FakeProcess)
    assert integrity_views.spawn_check("0123456789ab", "administrator") == 4242
    command = started["command"]
    assert command[0] == sys.executable
    assert command[2:] == [
        "verify_evidence",
        "--run",
        "0123456789ab",
        "--verbosity",
        "0",
        "--as",
        "administrator",
    ]
    assert started["start_new_session"] is True
    assert started["env"]["DJANGO_SETTINGS_MODULE"] == settings.SETTINGS_MODULE
