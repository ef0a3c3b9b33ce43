"""The record of staff account changes (casetracker.accounts); on PostgreSQL its table
refuses UPDATE and DELETE. It starts empty: nothing earlier was recorded."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0005_security_event_kinds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="when",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("created", "account created"),
                            ("role_granted", "role granted"),
                            ("role_removed", "role removed"),
                            ("password_reset", "password set by someone else"),
                            ("activated", "activated"),
                            ("deactivated", "deactivated"),
                        ],
                        max_length=20,
                        verbose_name="change",
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        blank=True,
                        help_text="The role, status or single permission granted or removed; empty for other changes.",
                        max_length=160,
                        verbose_name="role",
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        help_text="The staff account that was changed.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account_changes",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="account",
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        help_text="The staff member who made the change.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
            ],
            options={
                "verbose_name": "account change",
                "ordering": ["-created_at", "-pk"],
                "default_permissions": ("view",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("kind__in", ["role_granted", "role_removed"]),
                                models.Q(("role", ""), _negated=True),
                            ),
                            models.Q(
                                models.Q(
                                    ("kind__in", ["role_granted", "role_removed"]), _negated=True
                                ),
                                ("role", ""),
                            ),
                            _connector="OR",
                        ),
                        name="casetracker_accountchange_role_iff_role_change",
                    )
                ],
            },
        ),
        append_only_operation("casetracker", extra=("AccountChange",)),
    ]
