"""Relationship kinds encrypted at rest (a stolen database must not show who testified about
whom), so their unique constraint goes (Relationship.clean() checks instead); merge and
dismissal reasons and the reasons of history rows encrypted too. The values already stored
are encrypted by the last operation (casetracker.crypto)."""

import casetracker.fields
from django.db import migrations

from casetracker.crypto import reseal_columns_operation

COLUMNS = [
    ("people_relationship", "id", ["kind"]),
    ("people_historicalrelationship", "history_id", ["kind", "history_change_reason"]),
    ("people_duplicatecandidate", "id", ["decision_reason"]),
    (
        "people_historicalduplicatecandidate",
        "history_id",
        ["decision_reason", "history_change_reason"],
    ),
    ("people_personalias", "id", ["reason"]),
    ("people_historicalpersonalias", "history_id", ["reason", "history_change_reason"]),
    ("people_historicalaffiliation", "history_id", ["history_change_reason"]),
    ("people_historicalorganisation", "history_id", ["history_change_reason"]),
    ("people_historicalperson", "history_id", ["history_change_reason"]),
    ("people_historicalpersonname", "history_id", ["history_change_reason"]),
]


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0005_encrypted_fields"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="relationship",
            options={
                "ordering": ["from_person", "pk"],
                "verbose_name": "relationship (restricted)",
                "verbose_name_plural": "relationships (restricted)",
            },
        ),
        migrations.RemoveConstraint(
            model_name="relationship",
            name="people_relationship_unique",
        ),
        migrations.AlterField(
            model_name="duplicatecandidate",
            name="decision_reason",
            field=casetracker.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="historicalaffiliation",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalduplicatecandidate",
            name="decision_reason",
            field=casetracker.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="historicalduplicatecandidate",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalorganisation",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalperson",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalpersonalias",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalpersonalias",
            name="reason",
            field=casetracker.fields.EncryptedTextField(
                blank=True, help_text="Encrypted at rest: it can quote sources."
            ),
        ),
        migrations.AlterField(
            model_name="historicalpersonname",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalrelationship",
            name="history_change_reason",
            field=casetracker.fields.EncryptedTextField(null=True),
        ),
        migrations.AlterField(
            model_name="historicalrelationship",
            name="kind",
            field=casetracker.fields.EncryptedCharField(
                choices=[
                    ("parent_of", "is a parent of"),
                    ("child_of", "is a child of"),
                    ("spouse_of", "is the spouse of"),
                    ("sibling_of", "is a sibling of"),
                    ("relative_of", "is another relative of"),
                    ("testifier_of", "testified about"),
                    ("colleague_of", "is a colleague of"),
                    ("other", "is otherwise connected to"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="personalias",
            name="reason",
            field=casetracker.fields.EncryptedTextField(
                blank=True, help_text="Encrypted at rest: it can quote sources."
            ),
        ),
        migrations.AlterField(
            model_name="relationship",
            name="kind",
            field=casetracker.fields.EncryptedCharField(
                choices=[
                    ("parent_of", "is a parent of"),
                    ("child_of", "is a child of"),
                    ("spouse_of", "is the spouse of"),
                    ("sibling_of", "is a sibling of"),
                    ("relative_of", "is another relative of"),
                    ("testifier_of", "testified about"),
                    ("colleague_of", "is a colleague of"),
                    ("other", "is otherwise connected to"),
                ],
                max_length=20,
            ),
        ),
        reseal_columns_operation(COLUMNS),
    ]
