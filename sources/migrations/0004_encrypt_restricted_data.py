"""Encrypt the restricted data already stored: the columns made encrypted by the migrations
before this one, in live and history tables, and every evidence file on disk.

The one sanctioned rewrite of the append-only history tables (casetracker.crypto.reseal_table):
it runs before the audit chain exists. The columns are listed here, not read from the models,
so that this migration means the same thing whatever the models become.
"""

import os
from pathlib import Path

from django.conf import settings
from django.db import migrations

from casetracker import crypto
from casetracker.fields import FILE_PURPOSE, reseal_evidence_file

COLUMNS = [
    ("people_person", "id", ["internal_notes", "contact_details"]),
    ("people_historicalperson", "history_id", ["internal_notes", "contact_details"]),
    ("people_relationship", "id", ["notes"]),
    ("people_historicalrelationship", "history_id", ["notes"]),
    ("cases_case", "id", ["evidence_level_reason", "internal_notes"]),
    ("cases_historicalcase", "history_id", ["evidence_level_reason", "internal_notes"]),
    ("cases_casetransition", "id", ["reason"]),
    ("sources_source", "id", ["author", "notes"]),
    ("sources_historicalsource", "history_id", ["author", "notes"]),
    ("sources_citation", "id", ["claim", "quote"]),
    ("sources_historicalcitation", "history_id", ["claim", "quote"]),
    ("sources_evidencefile", "id", ["original_name", "description"]),
    ("sources_historicalevidencefile", "history_id", ["original_name", "description"]),
]


def encrypt(apps, schema_editor):
    connection = schema_editor.connection
    for table, pk, columns in COLUMNS:
        crypto.reseal_table(connection, table, pk, columns)
    with connection.cursor() as cursor:
        cursor.execute("SELECT file, sha256 FROM sources_evidencefile")
        files = cursor.fetchall()
    for name, sha256 in files:
        try:
            reseal_evidence_file(settings.MEDIA_ROOT, name, sha256)
        except FileNotFoundError:
            print(f"\n  Evidence file {name} is missing from MEDIA_ROOT: nothing to encrypt.")


def decrypt(apps, schema_editor):
    connection = schema_editor.connection
    for table, pk, columns in COLUMNS:
        crypto.decrypt_table(connection, table, pk, columns)
    with connection.cursor() as cursor:
        cursor.execute("SELECT file FROM sources_evidencefile")
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        path = Path(settings.MEDIA_ROOT) / name
        if path.exists() and crypto.stream_key_id(path, FILE_PURPOSE):
            plain = path.with_name(f".{path.name}.plain")
            with open(path, "rb") as source, open(plain, "wb") as target:
                for chunk in crypto.decrypt_stream(source.read, FILE_PURPOSE):
                    target.write(chunk)
            os.replace(plain, path)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_encrypted_fields"),
        ("people", "0005_encrypted_fields"),
        ("sources", "0003_encrypted_fields"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt, elidable=False)]
