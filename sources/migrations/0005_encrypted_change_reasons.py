"""The reasons of history rows (they can quote testimonies) encrypted at rest; the values
already stored are encrypted by the last operation (casetracker.crypto)."""

import casetracker.fields
from django.db import migrations

from casetracker.crypto import reseal_columns_operation

COLUMNS = [
    ("sources_historicalcitation", "history_id", ["history_change_reason"]),
    ("sources_historicalevidencefile", "history_id", ["history_change_reason"]),
    ("sources_historicalsource", "history_id", ["history_change_reason"]),
]


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0004_encrypt_restricted_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalcitation",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalevidencefile",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalsource",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        reseal_columns_operation(COLUMNS),
    ]
