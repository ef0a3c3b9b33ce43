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
    with empty_database(tmp_path) as alias:
        restore_into(backup_file, alias, tmp_path / "media")
        assert backups.table_fingerprints(alias) == backups.table_fingerprints("default")
        assert Person.objects.using(alias).get().contact_details == CONTACT


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
