"""The reasons of history rows (they can quote testimonies) encrypted at rest; the values
already stored are encrypted by the last operation (casetracker.crypto)."""

import casetracker.fields
from django.db import migrations

from casetracker.crypto import reseal_columns_operation

COLUMNS = [
    ("cases_historicalcase", "history_id", ["history_change_reason"]),
    ("cases_historicalcharge", "history_id", ["history_change_reason"]),
    ("cases_historicaldetentionevent", "history_id", ["history_change_reason"]),
    ("cases_historicalincident", "history_id", ["history_change_reason"]),
    ("cases_historicallocation", "history_id", ["history_change_reason"]),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_encrypted_fields"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalcase",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalcharge",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicaldetentionevent",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalincident",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicallocation",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        reseal_columns_operation(COLUMNS),
    ]
