"""Chain the history, workflow steps and security events written before the chain existed:
table by table in label order, by primary key within a table (casetracker.integrity).

Runs after the last migration of every app with history tables, the encryption of existing
restricted data included (sources 0004), so that the rows it hashes are final. Encrypted columns
are hashed through casetracker.crypto.audit_digest of their plaintext.
"""

from django.db import migrations

from casetracker.integrity import chain_unlinked_operation


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0003_auditlink"),
        ("people", "0005_encrypted_fields"),
        ("cases", "0006_encrypted_fields"),
        # The encryption of existing restricted data, history tables included.
        ("sources", "0004_encrypt_restricted_data"),
        ("api", "0002_append_only_history"),
    ]

    operations = [chain_unlinked_operation()]
