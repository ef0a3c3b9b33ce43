"""The audit chain (casetracker.integrity); on PostgreSQL its table refuses UPDATE and DELETE."""

import django.utils.timezone
from django.db import migrations, models

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0002_append_only_security_log"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditLink",
            fields=[
                (
                    "position",
                    models.BigIntegerField(editable=False, primary_key=True, serialize=False),
                ),
                (
                    "record_type",
                    models.CharField(
                        help_text="The record's model, as app_label.model.",
                        max_length=100,
                        verbose_name="record type",
                    ),
                ),
                ("record_pk", models.BigIntegerField(verbose_name="record ID")),
                (
                    "content_hash",
                    models.CharField(
                        help_text="SHA-256 of the record's canonical content.", max_length=64
                    ),
                ),
                (
                    "previous_hash",
                    models.CharField(help_text="The hash of the link before.", max_length=64),
                ),
                (
                    "hash",
                    models.CharField(
                        help_text="SHA-256 of the previous hash, position, record and content hash.",
                        max_length=64,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="when"
                    ),
                ),
            ],
            options={
                "verbose_name": "audit chain link",
                "ordering": ["-position"],
                "default_permissions": ("view",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("record_type", "record_pk"),
                        name="casetracker_auditlink_one_per_record",
                    )
                ],
            },
        ),
        append_only_operation("casetracker", extra=("AuditLink",)),
    ]
