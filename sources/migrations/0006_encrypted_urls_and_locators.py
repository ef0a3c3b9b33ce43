"""Sources' URLs and citations' locators encrypted at rest, in live and history tables (a URL
can name a private channel; a locator in a testimony can point at its speaker), and each
source's URL digest filled in so that sources can still be found by their address.

The history rows written before this were chained in the audit chain with these values in
clear: casetracker.integrity.CHAINED_AS_PLAINTEXT keeps hashing them through the plaintext,
so the chain still verifies after this rewrite. The columns are listed here, not read from
the models, so that this migration means the same whatever the models become.
"""

import casetracker.fields
from django.db import migrations

from casetracker import crypto
from casetracker.crypto import reseal_columns_operation

COLUMNS = [
    ("sources_source", "id", ["url"]),
    ("sources_historicalsource", "history_id", ["url"]),
    ("sources_citation", "id", ["locator"]),
    ("sources_historicalcitation", "history_id", ["locator"]),
]


def fill_url_digests(apps, schema_editor):
    # Read and write the columns directly: the digest is that of the plaintext, bound to the
    # live table's url column (casetracker.fields.LookupDigestField.digest_of).
    connection = schema_editor.connection
    binding = crypto.column_binding("sources_source", "url")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, url FROM sources_source WHERE url <> ''")
        rows = cursor.fetchall()
        updates = []
        for pk, stored in rows:
            plain = crypto.decrypt_text(stored, binding) if crypto.is_token(stored) else stored
            plain = (plain or "").strip()
            updates.append([crypto.lookup_digest(plain, binding) if plain else "", pk])
        if updates:
            cursor.executemany("UPDATE sources_source SET url_digest = %s WHERE id = %s", updates)


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0005_encrypted_change_reasons"),
    ]

    operations = [
        migrations.AddField(
            model_name="source",
            name="url_digest",
            field=casetracker.fields.LookupDigestField(db_index=True, default="", source="url"),
        ),
        migrations.AlterField(
            model_name="citation",
            name="locator",
            field=casetracker.fields.EncryptedCharField(
                blank=True,
                help_text="Where in the source: page 3, paragraph 4, 12:30 in the video…",
                max_length=200,
            ),
        ),
        migrations.AlterField(
            model_name="historicalcitation",
            name="locator",
            field=casetracker.fields.EncryptedCharField(
                blank=True,
                help_text="Where in the source: page 3, paragraph 4, 12:30 in the video…",
                max_length=200,
            ),
        ),
        migrations.AlterField(
            model_name="historicalsource",
            name="url",
            field=casetracker.fields.EncryptedURLField(
                blank=True, max_length=1000, verbose_name="URL"
            ),
        ),
        migrations.AlterField(
            model_name="source",
            name="url",
            field=casetracker.fields.EncryptedURLField(
                blank=True, max_length=1000, verbose_name="URL"
            ),
        ),
        migrations.RunPython(fill_url_digests, migrations.RunPython.noop, elidable=False),
        reseal_columns_operation(COLUMNS),
    ]
