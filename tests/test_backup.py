"""Encrypted backups: written while the application runs, restored only whole and only into an
empty database, refused when truncated, altered or under an unknown key, and verified against
the live database."""

import os
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from casetracker import backups, crypto
from figures import cache as statistics_cache
from people.models import Person
from sources.models import EvidenceFile
from tests.factories import make_person, make_source

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("vocabularies_kept"),
]
# Transactional tests empty every table: put the migrated vocabularies back afterwards.

CONTACT = "Sister: +7 700 123 4567"
SCAN = b"%PDF-1.4 the detention notice"
NEW_KEY = "E9i2RbtUkka6_Gf8pJaZf1febogiY6ZycRXFxwj_hx4="


@pytest.fixture
def records():
    person = make_person(contact_details=CONTACT)
    evidence = EvidenceFile.objects.create(
        source=make_source(),
        file=SimpleUploadedFile("notice.pdf", SCAN, "application/pdf"),
    )
    return person, evidence


@pytest.fixture
def backup_file(records, tmp_path):
    (tmp_path / "backups").mkdir()
    out = tmp_path / "backups" / "casetracker.backup"
    call_command("backup", out=str(out), stdout=StringIO())
    return out


@contextmanager
def empty_database(tmp_path):
    """A new, empty database as a connection alias: a SQLite file or a PostgreSQL database."""
    alias, live = "restore_target", connection
    settings_dict = {**live.settings_dict}
    if live.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "restored.sqlite3")
    else:
        settings_dict["NAME"] = f"casetracker_restore_{os.getpid()}"
        with live.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {settings_dict['NAME']}")
    try:
        with backups.temporary_alias(alias, settings_dict):
            yield alias
    finally:
        if live.vendor == "postgresql":
            with live.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {settings_dict['NAME']}")


def restore_into(path, alias, media_root):
    return backups.restore_backup(Path(path), using=alias, media_root=media_root)


def verify(path):
    out = StringIO()
    call_command("verify_backup", str(path), stdout=out)
    return out.getvalue()


# --- writing -------------------------------------------------------------------------------


def test_a_backup_is_encrypted(backup_file):
    data = backup_file.read_bytes()
    assert data.startswith(crypto.MAGIC)
    assert b"+7 700" not in data
    assert b"people_person" not in data  # not even the table names


def test_a_backup_leaves_no_temporary_file_beside_it(backup_file):
    assert [p.name for p in backup_file.parent.iterdir()] == [backup_file.name]


# --- restoring -----------------------------------------------------------------------------


def test_a_backup_restores_into_an_empty_database_exactly(backup_file, tmp_path):
    generation = statistics_cache.generation()
    with empty_database(tmp_path) as alias:
        restore_into(backup_file, alias, tmp_path / "media")
        assert backups.table_fingerprints(alias) == backups.table_fingerprints("default")
        assert Person.objects.using(alias).get().contact_details == CONTACT
    # Statistics cached before are not served from the restored database.
    assert statistics_cache.generation() != generation


def test_a_restored_evidence_file_opens_to_its_original_bytes(backup_file, records, tmp_path):
    with empty_database(tmp_path) as alias:
        restore_into(backup_file, alias, tmp_path / "media")
    name = records[1].file.name
    restored = tmp_path / "media" / name
    assert restored.read_bytes() == (Path(django_settings.MEDIA_ROOT) / name).read_bytes()
    with open(restored, "rb") as raw:
        assert crypto.DecryptingReader(raw, b"evidence").read() == SCAN


def test_restoring_into_a_database_that_is_not_empty_is_refused(backup_file):
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(backup_file), stdout=StringIO())


def refused_restore(path, tmp_path, match):
    """Restore ``path`` into an empty database: refused with ``match``, and nothing written."""
    with empty_database(tmp_path) as alias:
        with pytest.raises(backups.BackupError, match=match):
            restore_into(path, alias, tmp_path / "media")
        assert backups.database_is_empty(alias)
    assert not any((tmp_path / "media").rglob("*"))


def test_a_truncated_backup_is_refused_and_nothing_is_restored(backup_file, tmp_path):
    data = backup_file.read_bytes()
    backup_file.write_bytes(data[: len(data) - 100])
    refused_restore(backup_file, tmp_path, "truncated")


def test_a_backup_cut_at_a_chunk_boundary_is_refused(backup_file, tmp_path):
    data = backup_file.read_bytes()
    backup_file.write_bytes(data[: crypto.HEADER_SIZE + crypto.CHUNK + 16])
    refused_restore(backup_file, tmp_path, "truncated or altered")


def test_an_altered_backup_is_refused_and_nothing_is_restored(backup_file, tmp_path):
    data = bytearray(backup_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup_file.write_bytes(bytes(data))
    refused_restore(backup_file, tmp_path, "altered")


def test_a_backup_under_a_key_not_in_the_keyring_is_refused(backup_file, tmp_path, settings):
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    refused_restore(backup_file, tmp_path, "not in the keyring")


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_bytes(b"just some text")
    refused_restore(other, tmp_path, "not an encrypted casetracker file")


# --- verifying -----------------------------------------------------------------------------


def test_verify_backup_says_a_fresh_backup_is_an_exact_copy(backup_file):
    assert "exact copy" in verify(backup_file)


def test_verify_backup_names_a_table_that_changed_since(backup_file):
    make_person(internal_notes="added after the backup")
    with pytest.raises(CommandError, match="table people_person: 1 rows in the backup, 2 live"):
        verify(backup_file)


def test_verify_backup_finds_a_row_changed_behind_the_application(backup_file, records):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET occupation = 'edited' WHERE id = %s", [records[0].pk]
        )
    with pytest.raises(CommandError, match="people_person: same row count"):
        verify(backup_file)


def test_verify_backup_finds_a_media_file_that_changed(backup_file, records):
    path = Path(django_settings.MEDIA_ROOT) / records[1].file.name
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    with pytest.raises(CommandError, match="different content"):
        verify(backup_file)


def test_verify_backup_refuses_a_damaged_backup(backup_file):
    backup_file.write_bytes(backup_file.read_bytes()[:-1])
    with pytest.raises(CommandError, match="Nothing was restored"):
        verify(backup_file)


# --- files and folders that cannot be written or read --------------------------------------


def test_a_backup_into_a_missing_folder_is_refused_not_created(records, tmp_path):
    # An unmounted backup disk looks like a missing folder: creating it would fill the
    # system disk instead.
    out = tmp_path / "unmounted" / "casetracker.backup"
    with pytest.raises(CommandError, match=r"does not exist \(is the backup disk mounted\?\)"):
        call_command("backup", out=str(out), stdout=StringIO())
    assert not (tmp_path / "unmounted").exists()


def test_a_backup_into_a_folder_that_is_a_file_fails_naming_the_path(records, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "casetracker.backup"
    with pytest.raises(CommandError, match=f"Cannot write the backup {out}: the folder"):
        call_command("backup", out=str(out), stdout=StringIO())


def test_restoring_a_missing_file_fails_with_a_message(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with empty_database(tmp_path) as alias, pytest.raises(CommandError, match="no such file"):
        call_command("restore", str(tmp_path / "missing.backup"), database=alias)


def test_verify_backup_of_an_unreadable_file_fails_naming_it(backup_file, monkeypatch):
    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(backups, "open", denied, raising=False)
    with pytest.raises(CommandError, match=f"{backup_file} cannot be read: Permission denied"):
        verify(backup_file)


def test_verify_backup_of_a_folder_says_it_is_not_a_file(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        verify(tmp_path)


def test_a_restore_whose_media_folder_cannot_be_made_fails_with_a_message(
    backup_file, tmp_path, settings
):
    (tmp_path / "a-file").write_text("not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    with empty_database(tmp_path) as alias:
        with pytest.raises(CommandError, match=r"Cannot create the folder .*a-file"):
            call_command("restore", str(backup_file), database=alias, stdout=StringIO())
        assert backups.database_is_empty(alias)


# --- a restore that fails half-way leaves the media folder as it was -----------------------


def media_listing(tmp_path):
    """Everything under tmp_path but the backup and the restored database: the media folder,
    and whatever a restore might leave beside it."""
    return sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if "backups" not in p.parts and not p.name.startswith("restored.sqlite3")
    )


@pytest.fixture(params=["media folder with a hidden file", "no media folder"])
def media_target(request, tmp_path, settings):
    media = tmp_path / "media"
    if request.param == "media folder with a hidden file":
        media.mkdir()
        (media / ".keep").write_text("")
    settings.MEDIA_ROOT = media
    return media


def test_media_that_cannot_be_moved_into_place_fail_the_restore_cleanly(
    backup_file, media_target, tmp_path, monkeypatch
):
    before = media_listing(tmp_path)

    def refused(source, target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(backups, "_move_into_place", refused)
    refused_message = r"media files could not be put into .*Permission denied"
    with empty_database(tmp_path) as alias, pytest.raises(CommandError, match=refused_message):
        call_command("restore", str(backup_file), database=alias, stdout=StringIO())
    assert media_listing(tmp_path) == before


def test_a_failed_database_load_leaves_the_media_folder_untouched(
    backup_file, media_target, tmp_path, monkeypatch
):
    before = media_listing(tmp_path)

    def failed(dump, using):
        raise backups.BackupError("Loading the database failed: disk full")

    monkeypatch.setattr(backups, "_load_database", failed)
    with empty_database(tmp_path) as alias, pytest.raises(CommandError, match="disk full"):
        call_command("restore", str(backup_file), database=alias, stdout=StringIO())
    assert media_listing(tmp_path) == before


def test_a_restore_into_a_media_folder_with_a_hidden_file_keeps_it(
    backup_file, records, tmp_path, settings
):
    media = tmp_path / "media"
    (media / "evidence").mkdir(parents=True)  # an empty folder is replaced
    (media / ".keep").write_text("kept")
    settings.MEDIA_ROOT = media
    with empty_database(tmp_path) as alias:
        call_command("restore", str(backup_file), database=alias, stdout=StringIO())
    assert (media / ".keep").read_text() == "kept"
    assert (media / records[1].file.name).read_bytes().startswith(crypto.MAGIC)
