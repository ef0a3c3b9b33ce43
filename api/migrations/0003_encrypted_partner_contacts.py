"""Partners' contact details and notes, and the reasons of history rows, encrypted at rest;
the values already stored are encrypted by the last operation (casetracker.crypto)."""

import casetracker.fields
from django.db import migrations

from casetracker.crypto import reseal_columns_operation

COLUMNS = [
    ("api_partner", "id", ["contact_name", "contact_email", "notes"]),
    (
        "api_historicalpartner",
        "history_id",
        ["contact_name", "contact_email", "notes", "history_change_reason"],
    ),
    ("api_historicalpartnertoken", "history_id", ["history_change_reason"]),
]


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_append_only_history"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalpartner",
            name="contact_email",
            field=casetracker.fields.EncryptedEmailField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name="historicalpartner",
            name="contact_name",
            field=casetracker.fields.EncryptedCharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="historicalpartner",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalpartner",
            name="notes",
            field=casetracker.fields.EncryptedTextField(
                blank=True, help_text="Restricted. Staff only."
            ),
        ),
        migrations.AlterField(
            model_name="historicalpartnertoken",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="partner",
            name="contact_email",
            field=casetracker.fields.EncryptedEmailField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name="partner",
            name="contact_name",
            field=casetracker.fields.EncryptedCharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="partner",
            name="notes",
            field=casetracker.fields.EncryptedTextField(
                blank=True, help_text="Restricted. Staff only."
            ),
        ),
        reseal_columns_operation(COLUMNS),
    ]
