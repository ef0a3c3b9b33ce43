"""Encryption at rest: restricted fields and evidence files are stored encrypted with keys kept
outside the database, staff still read plain text, keys rotate, and a stolen copy of the
database and media folder holds none of the restricted values."""

import hashlib
import importlib
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.admin.models import LogEntry
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from casetracker import crypto
from casetracker.env import encryption_keys
from casetracker.fields import FILE_PURPOSE
from people.models import Person, Relationship, RelationshipKind
from sources.models import EvidenceFile
from tests import test_api_leaks
from tests.factories import make_case, make_person, make_source

pytestmark = pytest.mark.django_db

# The leak scan's world of restricted sentinels (tests/test_api_leaks.py), reused as fixtures.
secret, world = test_api_leaks.secret, test_api_leaks.world
# Transactional tests empty every table: put the migrated vocabularies back afterwards.

OLD_KEY = os.environ["ENCRYPTION_KEYS"].split(",")[0]
NEW_KEY = "E9i2RbtUkka6_Gf8pJaZf1febogiY6ZycRXFxwj_hx4="
CONTACT = "Sister: +7 700 123 4567, after 18:00"


def raw_column(table, column, pk, pk_column="id"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk_column} = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def write_raw(table, column, pk, value):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def upload(content=b"%PDF-1.4 a scanned detention notice", **kw):
    return EvidenceFile.objects.create(
        source=kw.pop("source", None) or make_source(),
        file=SimpleUploadedFile("Aigul testimony.pdf", content, "application/pdf"),
        **kw,
    )


def on_disk(evidence):
    return (Path(django_settings.MEDIA_ROOT) / evidence.file.name).read_bytes()


# --- values --------------------------------------------------------------------------------


def test_a_restricted_field_reads_back_as_plain_text():
    person = make_person(contact_details=CONTACT)
    assert Person.objects.get(pk=person.pk).contact_details == CONTACT


def test_a_restricted_field_is_stored_encrypted():
    person = make_person(contact_details=CONTACT)
    stored = raw_column("people_person", "contact_details", person.pk)
    assert stored.startswith(crypto.TOKEN_PREFIX)
    assert "700" not in stored


def test_history_rows_of_a_restricted_field_are_encrypted_too():
    person = make_person(contact_details=CONTACT)
    history_id = person.history.latest().history_id
    stored = raw_column("people_historicalperson", "contact_details", history_id, "history_id")
    assert stored.startswith(crypto.TOKEN_PREFIX)


def test_two_encryptions_of_the_same_value_differ():
    first, second = make_person(internal_notes="same"), make_person(internal_notes="same")
    assert raw_column("people_person", "internal_notes", first.pk) != raw_column(
        "people_person", "internal_notes", second.pk
    )


def test_an_empty_restricted_field_stays_empty_and_can_be_filtered():
    person = make_person(internal_notes="")
    assert raw_column("people_person", "internal_notes", person.pk) == ""
    assert Person.objects.filter(internal_notes="", pk=person.pk).exists()


def test_an_encrypted_field_cannot_be_searched():
    with pytest.raises(FieldError):
        list(Person.objects.filter(internal_notes__icontains="sister"))


def test_an_encrypted_field_cannot_be_compared_with_text():
    with pytest.raises(FieldError, match="encrypted"):
        list(Person.objects.filter(contact_details=CONTACT))


def test_a_value_under_an_unknown_key_is_refused_naming_the_field(settings):
    person = make_person(contact_details=CONTACT)
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.DecryptionError, match=r"people\.Person\.contact_details.*not in"):
        Person.objects.get(pk=person.pk)


def test_plain_text_written_behind_the_application_is_refused_not_shown():
    person = make_person()
    write_raw("people_person", "internal_notes", person.pk, "planted by hand")
    with pytest.raises(crypto.DecryptionError, match="not encrypted"):
        Person.objects.get(pk=person.pk)


def test_a_value_altered_in_the_database_is_refused():
    person = make_person(contact_details=CONTACT)
    token = raw_column("people_person", "contact_details", person.pk)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    write_raw("people_person", "contact_details", person.pk, flipped)
    with pytest.raises(crypto.DecryptionError, match="does not authenticate"):
        Person.objects.get(pk=person.pk)


def test_the_audit_digest_is_stable_and_keyed(settings):
    digest = crypto.audit_digest(CONTACT)
    assert digest == crypto.audit_digest(CONTACT)
    assert digest != hashlib.sha256(CONTACT.encode()).hexdigest()
    settings.AUDIT_DIGEST_KEY = NEW_KEY
    assert crypto.audit_digest(CONTACT) != digest


def test_encrypted_fields_say_so_for_the_audit_chain():
    assert Person._meta.get_field("contact_details").encrypted
    assert not hasattr(Person._meta.get_field("occupation"), "encrypted")


# --- values are bound to their column ------------------------------------------------------
# Someone with write access to the database but not the keys copies a token from one column to
# another: it must not decrypt there (casetracker.crypto binds each to <db_table>.<column>).


def copy_raw(source, target):
    """Copy a stored value with SQL alone: ((table, column, pk), (table, column, pk))."""
    write_raw(*target[:2], target[2], raw_column(*source))


@pytest.mark.parametrize(
    ("table", "column", "label"),
    [
        ("sources_source", "author", r"sources\.Source\.author"),
        ("people_person", "internal_notes", r"people\.Person\.internal_notes"),
        ("cases_case", "internal_notes", r"cases\.Case\.internal_notes"),
    ],
)
def test_a_token_copied_into_another_column_does_not_decrypt_there(table, column, label):
    testifier = make_person(contact_details=CONTACT)
    targets = {
        "sources_source": lambda: make_source(author="Staff reporter"),
        "people_person": lambda: testifier,
        "cases_case": lambda: make_case(internal_notes="Second source pending"),
    }
    target = targets[table]()
    copy_raw(("people_person", "contact_details", testifier.pk), (table, column, target.pk))
    model = type(target)
    with pytest.raises(crypto.DecryptionError, match=rf"{label}.*another column") as refused:
        model.objects.get(pk=target.pk)
    assert "700" not in str(refused.value)
    assert raw_column(table, column, target.pk) not in str(refused.value)


def test_a_token_copied_into_the_same_column_of_another_row_still_decrypts():
    # The documented limit: the binding is to the column, not the row.
    first, second = make_person(contact_details=CONTACT), make_person()
    copy_raw(
        ("people_person", "contact_details", first.pk),
        ("people_person", "contact_details", second.pk),
    )
    assert Person.objects.get(pk=second.pk).contact_details == CONTACT


def test_live_and_history_rows_round_trip_each_under_its_own_binding():
    person = make_person(contact_details=CONTACT)
    person.contact_details = "Brother: +7 701 000 0001"
    person.save()
    assert Person.objects.get(pk=person.pk).contact_details == "Brother: +7 701 000 0001"
    history = [row.contact_details for row in person.history.order_by("history_id")]
    assert (history[0], history[-1]) == (CONTACT, "Brother: +7 701 000 0001")
    live = raw_column("people_person", "contact_details", person.pk)
    latest = person.history.latest().history_id
    kept = raw_column("people_historicalperson", "contact_details", latest, "history_id")
    assert crypto.decrypt_text(live, "people_person.contact_details") == history[-1]
    assert crypto.decrypt_text(kept, "people_historicalperson.contact_details") == history[-1]
    with pytest.raises(crypto.DecryptionError, match="another column"):
        crypto.decrypt_text(live, "people_historicalperson.contact_details")
    with pytest.raises(crypto.DecryptionError, match="another column"):
        crypto.decrypt_text(kept, "people_person.contact_details")


def test_every_encrypted_field_binds_to_its_own_table_and_column():
    bindings = [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False)
    ]
    assert any(model._meta.db_table == "people_historicalperson" for model, _ in bindings)
    for model, field in bindings:
        assert field.binding == f"{model._meta.db_table}.{field.column}"


def test_a_text_value_cannot_be_encrypted_or_read_without_a_column():
    with pytest.raises(TypeError, match="column binding"):
        crypto.encrypt_text(CONTACT, crypto.keyring())
    with pytest.raises(TypeError, match="column binding"):
        crypto.decrypt_text(crypto.encrypt_text(CONTACT, "people_person.contact_details"), "")


def test_a_token_of_the_unbound_format_is_refused_not_read_or_wrapped():
    person = make_person()
    write_raw("people_person", "internal_notes", person.pk, "ct1:0123abcd:AAAA")
    with pytest.raises(crypto.DecryptionError, match="ct1 format"):
        Person.objects.get(pk=person.pk)
    with pytest.raises(crypto.DecryptionError, match="ct1 format"):
        crypto.reseal_text("ct1:0123abcd:AAAA", "people_person.internal_notes")


@pytest.fixture
def testifier_contact_as_public_author(world, secret, monkeypatch):
    """The attack: the testifier's encrypted contact details copied with SQL into the author
    of the published source that partners read."""
    from django.core.cache import cache

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", False)  # as API tests do
    cache.clear()  # throttle counters
    copy_raw(
        ("people_person", "contact_details", world.testifier.pk),
        ("sources_source", "author", world.source.pk),
    )
    contact = next(v for v, label in secret.labels.items() if label == "testifier contact details")
    assert contact not in raw_column("sources_source", "author", world.source.pk)
    return contact


def test_a_copied_token_never_reaches_a_partner_through_the_api(
    client, key, world, secret, testifier_contact_as_public_author, caplog
):
    """Decided: the API fails closed. A request that would show the moved value answers 500
    (the generic error page; the server log names the column, never the value), nothing is
    shown in its place, and the requests that do not read it still answer."""
    from tests.partner_api import LIST_ENDPOINTS, get

    client.raise_request_exception = False
    asked = [f"{endpoint}/" for endpoint in LIST_ENDPOINTS]
    asked += [f"sources/{world.source.uid}/", f"cases/{world.case.uid}/"]
    responses = {path: get(client, path, key) for path in asked}
    for path, response in responses.items():
        assert secret.found_in(response.content.decode()) == [], path
        assert response.status_code in (200, 500), path
    assert responses["sources/"].status_code == 500
    assert responses[f"sources/{world.source.uid}/"].status_code == 500
    assert responses["charges/"].status_code == 200
    assert responses["locations/"].status_code == 200
    assert secret.found_in(caplog.text) == []
    assert "sources.Source.author" in caplog.text


def test_a_copied_token_never_reaches_an_export(
    world, secret, testifier_contact_as_public_author, tmp_path
):
    """The published export writes out the stored snapshots (snapshots.writer), which a copy
    made with SQL does not touch: it holds the source's author as it was. Writing the
    snapshots again reads the column, and fails closed naming it, leaving them as they were."""
    from exports import services
    from exports.models import Channel, ExportLog
    from snapshots import writer
    from snapshots.models import PublishedCase

    bundle = tmp_path / "bundle"
    services.export_cases(bundle, channel=Channel.COMMAND)
    left = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert world.case.reference.encode() in left
    assert secret.found_in(left.decode("utf-8", "replace")) == []
    assert ExportLog.objects.count() == 1
    before = dict(PublishedCase.objects.values_list("case_id", "document"))
    with pytest.raises(crypto.DecryptionError, match=r"sources\.Source\.author"):
        writer.rebuild()
    assert dict(PublishedCase.objects.values_list("case_id", "document")) == before
    assert secret.found_in("".join(before.values())) == []


# --- streams (evidence files, backups) -----------------------------------------------------


def sealed(data, purpose=b"test"):
    return b"".join(crypto.encrypt_stream([data], purpose))


def opened(blob, purpose=b"test"):
    from io import BytesIO

    return b"".join(crypto.decrypt_stream(BytesIO(blob).read, purpose))


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK - 1, crypto.CHUNK, 3 * crypto.CHUNK + 5])
def test_a_stream_round_trips_at_every_chunk_boundary(size):
    data = os.urandom(size)
    assert opened(sealed(data)) == data


def test_a_stream_cut_at_a_chunk_boundary_is_refused():
    blob = sealed(os.urandom(3 * crypto.CHUNK))
    cut = crypto.HEADER_SIZE + 2 * (crypto.CHUNK + 16)
    with pytest.raises(crypto.DecryptionError, match="truncated"):
        opened(blob[:cut])


def test_a_stream_with_two_chunks_swapped_is_refused():
    blob = sealed(os.urandom(3 * crypto.CHUNK))
    size, head = crypto.CHUNK + 16, crypto.HEADER_SIZE
    first, second = blob[head : head + size], blob[head + size : head + 2 * size]
    with pytest.raises(crypto.DecryptionError):
        opened(blob[:head] + second + first + blob[head + 2 * size :])


def test_a_stream_for_another_purpose_is_refused():
    with pytest.raises(crypto.DecryptionError, match="not 'evidence'"):
        opened(sealed(b"x", b"backup"), b"evidence")


# --- evidence files ------------------------------------------------------------------------


def test_an_evidence_file_is_encrypted_on_disk():
    evidence = upload(b"%PDF-1.4 the detention notice of Aigul")
    stored = on_disk(evidence)
    assert stored.startswith(crypto.MAGIC)
    assert b"Aigul" not in stored


def test_an_evidence_file_keeps_the_sha256_and_size_of_the_original_bytes():
    content = os.urandom(200 * 1024)
    evidence = upload(content)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size == len(content)


def test_downloading_an_encrypted_evidence_file_gives_the_original_bytes(admin_client):
    content = os.urandom(200 * 1024)
    evidence = upload(content)
    response = admin_client.get(reverse("evidence-download", kwargs={"uid": evidence.uid}))
    body = b"".join(response.streaming_content)
    assert body == content
    assert int(response["Content-Length"]) == len(content)


def test_an_evidence_file_altered_on_disk_is_refused():
    evidence = upload(os.urandom(1000))
    path = Path(django_settings.MEDIA_ROOT) / evidence.file.name
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(crypto.DecryptionError), evidence.file.open("rb") as handle:
        handle.read()


# --- admin ---------------------------------------------------------------------------------


def test_staff_read_restricted_fields_as_plain_text_in_the_admin(admin_client):
    person = make_person(contact_details=CONTACT, internal_notes="Met at the Almaty office")
    url = reverse("admin:people_person_change", args=[person.pk])
    page = admin_client.get(url).content.decode()
    assert "+7 700 123 4567" in page
    assert "Met at the Almaty office" in page


def test_staff_edit_restricted_fields_as_plain_text_in_the_admin(admin_client):
    from tests.admin_forms import AdminForm, assert_saved

    person = make_person(contact_details=CONTACT)
    form = AdminForm(admin_client, reverse("admin:people_person_change", args=[person.pk]))
    assert_saved(form.post(contact_details="Brother: +7 701 000 0001"))
    person.refresh_from_db()
    assert person.contact_details == "Brother: +7 701 000 0001"
    assert "701" not in raw_column("people_person", "contact_details", person.pk)


# --- keys ----------------------------------------------------------------------------------


def test_production_refuses_to_start_without_encryption_keys(monkeypatch, tmp_path):
    monkeypatch.delenv("ENCRYPTION_KEYS")
    monkeypatch.delenv("ENCRYPTION_KEY_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS"):
        encryption_keys(tmp_path, allow_generated=False)
    assert not list(tmp_path.iterdir())


def test_production_settings_refuse_to_load_without_encryption_keys(tmp_path):
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"ENCRYPTION_KEYS", "AUDIT_DIGEST_KEY", "DEBUG", "DEMO", "DATABASE_URL"}
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="casetracker.settings", VAR_DIR=str(tmp_path), DEBUG="false"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS" in result.stderr


def test_a_malformed_key_is_refused_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("ENCRYPTION_KEYS", "not-a-key")
    with pytest.raises(ImproperlyConfigured, match="Encryption key 1"):
        encryption_keys(tmp_path, allow_generated=False)


def test_demo_mode_generates_an_owner_only_key_file_once(monkeypatch, tmp_path):
    monkeypatch.delenv("ENCRYPTION_KEYS")
    monkeypatch.delenv("AUDIT_DIGEST_KEY")
    first = encryption_keys(tmp_path, allow_generated=True)
    key_file = tmp_path / "encryption_keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert encryption_keys(tmp_path, allow_generated=True) == first


def test_a_key_file_lists_keys_newest_first_and_the_digest_key(monkeypatch, tmp_path):
    monkeypatch.delenv("ENCRYPTION_KEYS")
    monkeypatch.delenv("AUDIT_DIGEST_KEY")
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated 2026-11\n{NEW_KEY}\n{OLD_KEY}\ndigest: {NEW_KEY}\n")
    monkeypatch.setenv("ENCRYPTION_KEY_FILE", str(key_file))
    assert encryption_keys(tmp_path, allow_generated=False) == ([NEW_KEY, OLD_KEY], NEW_KEY)


# --- rotation ------------------------------------------------------------------------------


@pytest.fixture
def under_the_old_key():
    person = make_person(contact_details=CONTACT)
    Relationship.objects.create(
        from_person=make_person(),
        kind=RelationshipKind.TESTIFIER_OF,
        to_person=person,
        notes="Testified in person",
    )
    case = make_case(person, internal_notes="Second source pending")
    return SimpleNamespace(person=person, case=case, evidence=upload(b"%PDF scan"))


def rotate(**options):
    out = StringIO()
    call_command("rotate_keys", stdout=out, **options)
    return out.getvalue()


def test_after_rotation_a_keyring_without_the_old_key_reads_everything(settings, under_the_old_key):
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    assert Person.objects.get(pk=under_the_old_key.person.pk).contact_details == CONTACT
    assert under_the_old_key.person.history.latest().contact_details == CONTACT
    assert Relationship.objects.get(to_person=under_the_old_key.person).notes
    evidence = EvidenceFile.objects.get(pk=under_the_old_key.evidence.pk)
    with evidence.file.open("rb") as handle:
        assert handle.read() == b"%PDF scan"


def test_rotation_reports_what_it_re_encrypted_and_that_old_keys_can_go(
    settings, under_the_old_key
):
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    output = rotate()
    assert re.search(r"Re-encrypted [1-9]\d* rows and 1 evidence files", output)
    assert "can be removed" in output


def test_running_rotation_again_skips_what_is_already_under_the_newest_key(
    settings, under_the_old_key
):
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    assert "Re-encrypted 0 rows and 0 evidence files" in rotate()


def test_rotation_interrupted_part_way_resumes_where_it_stopped(settings, under_the_old_key):
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    crypto.reseal_table(connection, "people_person", "id", ["contact_details", "internal_notes"])
    rotate()  # finishes the other tables
    newest = crypto.keyring().newest
    assert (
        crypto.token_key_id(raw_column("cases_case", "internal_notes", under_the_old_key.case.pk))
        == newest
    )


def test_rotation_refuses_an_evidence_file_that_no_longer_matches_its_hash(
    settings, under_the_old_key
):
    path = Path(django_settings.MEDIA_ROOT) / under_the_old_key.evidence.file.name
    path.write_bytes(sealed(b"a forged scan", FILE_PURPOSE))
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with pytest.raises(Exception, match="does not match its recorded SHA-256"):
        rotate()


def test_rotation_names_the_row_it_cannot_decrypt(settings, under_the_old_key):
    unknown = crypto.encrypt_text(
        "x", "people_person.internal_notes", crypto._keyring((NEW_KEY,), NEW_KEY)
    )
    write_raw("people_person", "internal_notes", under_the_old_key.person.pk, unknown)
    with pytest.raises(CommandError, match=rf"people_person row {under_the_old_key.person.pk}:"):
        rotate()


def test_rotation_keeps_values_bound_to_their_column(settings, under_the_old_key):
    person = under_the_old_key.person
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    token = raw_column("people_person", "contact_details", person.pk)
    assert crypto.token_key_id(token) == crypto.keyring().newest
    history_id = person.history.latest().history_id
    kept = raw_column("people_historicalperson", "contact_details", history_id, "history_id")
    assert crypto.token_key_id(kept) == crypto.keyring().newest
    assert person.history.latest().contact_details == CONTACT
    write_raw("people_person", "internal_notes", person.pk, token)
    with pytest.raises(crypto.DecryptionError, match=r"Person\.internal_notes.*another column"):
        Person.objects.get(pk=person.pk)


def test_rotation_stops_at_a_token_copied_from_another_column(settings, under_the_old_key):
    person = under_the_old_key.person
    copy_raw(
        ("people_person", "contact_details", person.pk),
        ("people_person", "internal_notes", person.pk),
    )
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with pytest.raises(CommandError, match=rf"people_person row {person.pk}:.*another column"):
        rotate()


@pytest.mark.postgresql
def test_history_tables_are_append_only_again_after_rotation(settings, under_the_old_key):
    from django.db import DatabaseError, transaction

    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE people_historicalperson SET contact_details = ''")


# --- the data migration --------------------------------------------------------------------


def test_the_data_migration_encrypts_plain_text_stored_before_it(tmp_path):
    person = make_person()
    write_raw("people_person", "contact_details", person.pk, CONTACT)
    evidence = upload(b"%PDF old")
    path = Path(django_settings.MEDIA_ROOT) / evidence.file.name
    path.write_bytes(b"%PDF old")  # as stored before encryption
    migration = importlib.import_module("sources.migrations.0004_encrypt_restricted_data")
    migration.encrypt(apps, SimpleNamespace(connection=connection))
    assert raw_column("people_person", "contact_details", person.pk).startswith(crypto.TOKEN_PREFIX)
    assert Person.objects.get(pk=person.pk).contact_details == CONTACT
    assert path.read_bytes().startswith(crypto.MAGIC)


def test_the_data_migration_binds_values_to_their_column_and_undoes_it():
    person = make_person()
    write_raw("people_person", "contact_details", person.pk, CONTACT)
    migration = importlib.import_module("sources.migrations.0004_encrypt_restricted_data")
    migration.encrypt(apps, SimpleNamespace(connection=connection))
    token = raw_column("people_person", "contact_details", person.pk)
    assert crypto.decrypt_text(token, "people_person.contact_details") == CONTACT
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(token, "people_person.internal_notes")
    migration.decrypt(apps, SimpleNamespace(connection=connection))
    assert raw_column("people_person", "contact_details", person.pk) == CONTACT


def test_a_freshly_migrated_database_loads_the_demo_and_its_audit_chain_verifies(demo):
    # The test database is built by running every migration, the reseal operations included.
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("OK: ")
    assert any("+7 700" in value for value in every_note())  # read back through the bindings


# --- the proof: a stolen copy holds no restricted value ------------------------------------

# Labels of the leak scan's sentinels (tests/test_api_leaks.py) that sit in encrypted fields,
# and the reason given in a workflow step (reason_sentinel), which history rows repeat.
ENCRYPTED_LABELS = re.compile(
    r"((notes|contact details|contact name|contact email|author|file name|file description"
    r"|level reason|workflow reason|history reason)$|citation claim|citation quote)"
)
# What a stolen database must not say about a relationship: the stored kind and its label.
RELATIONSHIP_KIND_WORDS = ("testifier_of", "testified about")


def sqlite_bytes() -> bytes:
    """The database file's bytes exactly as SQLite holds them (the test database lives in
    memory, inside the test's transaction: serialize() is its file image)."""
    connection.ensure_connection()
    return connection.connection.serialize()


def media_bytes() -> bytes:
    return b"".join(
        p.read_bytes() for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()
    )


def restricted_sentinels(secret):
    found = {
        value: label for value, label in secret.labels.items() if ENCRYPTED_LABELS.search(label)
    }
    assert len(found) > 40, found  # the scan really covers the leak test's restricted values
    return found


# Staff's free text in encrypted fields. Not checked here: a source's author and the workflow
# reasons, which can rightly also stand in the clear elsewhere (an organisation's name; the
# reason a history row gives for a change).
NOTES = {
    "people.Person": ["internal_notes", "contact_details"],
    "people.Relationship": ["notes"],
    "cases.Case": ["internal_notes"],
    "sources.Source": ["notes"],
    "sources.Citation": ["claim", "quote"],
    "sources.EvidenceFile": ["original_name", "description"],
}


def every_note() -> set[str]:
    """The plain text of every staff note in an encrypted field."""
    values = set()
    for label, fields in NOTES.items():
        for row in apps.get_model(label)._base_manager.values_list(*fields):
            values.update(v for v in row if v)
    return values


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    call_command("load_demo", stdout=StringIO())


@pytest.fixture
def reason_sentinel(secret):
    """A reason given in a workflow step: kept with the transition and, as the reason of the
    step's history row, in the case's history."""
    from cases import services
    from tests.factories import cited_case, fresh, make_user

    user = make_user("reason-writer", is_superuser=True, is_staff=True)
    case = cited_case(user)
    reason = secret("history reason")
    services.submit_for_review(case, user, f"The sister's testimony: {reason}")
    assert reason in fresh(case).history.latest().history_change_reason
    return reason


@pytest.fixture
def testifier_added_in_the_admin(admin_client):
    """A testifier recorded on a person's admin page, which also writes the admin's log of
    changes (django_admin_log) and a message naming the relationship."""
    from tests.admin_forms import AdminForm, assert_saved

    detainee, testifier = make_person(), make_person()
    form = AdminForm(admin_client, reverse("admin:people_person_change", args=[testifier.pk]))
    form.add_row(Relationship, kind=RelationshipKind.TESTIFIER_OF, to_person=str(detainee.pk))
    assert_saved(form.post())
    added = Relationship.objects.get(from_person=testifier, to_person=detainee)
    assert added.kind == RelationshipKind.TESTIFIER_OF
    logged = LogEntry.objects.get(object_id=str(testifier.pk)).get_change_message()
    assert f"Added relationship (restricted) “{added}”" in logged  # named, kind left out
    return added


def assert_no_relationship_kind(stolen: str) -> None:
    assert Relationship.objects.filter(pk__isnull=False).count() >= 3  # the demo's, the world's
    assert [word for word in RELATIONSHIP_KIND_WORDS if word in stolen] == []


def stolen_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").lower()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file")
def test_a_stolen_sqlite_file_and_media_folder_hold_no_restricted_sentinel(
    demo, world, secret, reason_sentinel, testifier_added_in_the_admin, tmp_path
):
    stolen = stolen_text(sqlite_bytes() + media_bytes())
    assert "history reason" in restricted_sentinels(secret).values()
    leaked = [label for value, label in restricted_sentinels(secret).items() if value in stolen]
    assert leaked == []
    assert_no_relationship_kind(stolen)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file")
def test_a_stolen_sqlite_file_holds_none_of_the_demo_restricted_values(demo, tmp_path):
    values = every_note()
    assert any("+7 700" in v for v in values)  # the demo's family contact is among them
    stolen = stolen_text(sqlite_bytes())
    leaked = [v for v in values if v.lower() in stolen]
    assert leaked == [], leaked


def test_the_admin_shows_and_filters_the_encrypted_relationship_kind(demo, admin_client):
    testified = next(
        r for r in Relationship.objects.all() if r.kind == RelationshipKind.TESTIFIER_OF
    )
    change = reverse("admin:people_relationship_change", args=[testified.pk])
    page = admin_client.get(change).content.decode()
    assert re.search(r'<option value="testifier_of" selected>testified about</option>', page)
    listing = reverse("admin:people_relationship_changelist")
    shown = admin_client.get(listing, {"kind": "testifier_of"})
    assert [r.pk for r in shown.context["cl"].result_list] == [testified.pk]
    assert "testified about" in shown.content.decode()
    person = reverse("admin:people_person_change", args=[testified.from_person.pk])
    assert "testified about</option>" in admin_client.get(person).content.decode()


def test_the_admin_shows_every_restricted_sentinel(demo, world, secret, admin_client):
    pages = [
        reverse("admin:people_person_change", args=[world.person.pk]),
        reverse("admin:people_person_change", args=[world.testifier.pk]),
        reverse("admin:cases_case_change", args=[world.case.pk]),
    ]
    text = "".join(admin_client.get(url).content.decode() for url in pages)
    for label in (
        "published person contact details",
        "testifier contact details",
        "published case internal notes",
    ):
        value = next(v for v, lbl in secret.labels.items() if lbl == label)
        assert value in text, label


def pg_dump_text(tmp_path) -> str:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    args = ["pg_dump", "--no-owner", "-h", db["HOST"] or "localhost", "-U", db["USER"], db["NAME"]]
    if db["PORT"]:
        args[1:1] = ["-p", str(db["PORT"])]
    return subprocess.run(args, env=env, capture_output=True, check=True).stdout.decode()  # noqa: S603


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_a_pg_dump_and_media_folder_hold_no_restricted_sentinel(
    demo, world, secret, reason_sentinel, testifier_added_in_the_admin, tmp_path
):
    stolen = stolen_text(pg_dump_text(tmp_path).encode() + media_bytes())
    leaked = [label for value, label in restricted_sentinels(secret).items() if value in stolen]
    assert leaked == []
    assert_no_relationship_kind(stolen)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="history rows are append-only")
def test_the_data_migration_encrypts_stored_relationship_kinds_and_history_reasons():
    relationship = Relationship.objects.create(
        from_person=make_person(), kind=RelationshipKind.TESTIFIER_OF, to_person=make_person()
    )
    history_id = relationship.history.latest().history_id
    write_raw("people_relationship", "kind", relationship.pk, "testifier_of")  # as before
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_historicalrelationship SET kind = %s, history_change_reason = %s "
            "WHERE history_id = %s",
            ["testifier_of", "Recorded from the sister's testimony", history_id],
        )
    migration = importlib.import_module("people.migrations.0006_encrypted_kinds_and_reasons")
    migration.Migration.operations[-1].code(apps, SimpleNamespace(connection=connection))
    assert raw_column("people_relationship", "kind", relationship.pk).startswith(
        crypto.TOKEN_PREFIX
    )
    stored = raw_column(
        "people_historicalrelationship", "history_change_reason", history_id, "history_id"
    )
    assert stored.startswith(crypto.TOKEN_PREFIX)
    assert Relationship.objects.get(pk=relationship.pk).kind == RelationshipKind.TESTIFIER_OF
    row = relationship.history.get(history_id=history_id)
    assert row.history_change_reason == "Recorded from the sister's testimony"
