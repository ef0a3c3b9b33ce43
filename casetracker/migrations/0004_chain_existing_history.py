"""Chain the history, workflow steps and security events written before the chain existed:
table by table in label order, by primary key within a table (casetracker.integrity).

Runs after the last migration of every app with history tables, the encryption of existing
restricted data included (sources 0004; the history reasons, relationship kinds and partner
contacts: api 0003, cases 0007, people 0006, sources 0005), so that the rows it hashes are
final: those migrations rewrite history rows, which only a chain built after them survives.
Encrypted columns are hashed through casetracker.crypto.audit_digest of their plaintext.
"""

from django.db import migrations

from casetracker.integrity import chain_unlinked_operation


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0003_auditlink"),
        # The encryption of existing restricted data, history tables included.
        ("sources", "0004_encrypt_restricted_data"),
        ("api", "0003_encrypted_partner_contacts"),
        ("cases", "0007_encrypted_change_reasons"),
        ("people", "0006_encrypted_kinds_and_reasons"),
        ("sources", "0005_encrypted_change_reasons"),
    ]

    operations = [chain_unlinked_operation()]
