"""The export log keeps which case filters an export used, and the values only of codes, uids,
dates and numbers: never a partner's search text or a place given by its name (as the API
request log, api 0004). The manifest, which goes to whoever asked, still has them.

Rows logged before are rewritten the same way. The export log is no link of the audit chain
(casetracker.integrity.LOGS); on PostgreSQL its append-only trigger is disabled for the rewrite
and enabled again inside this migration's transaction.
"""

import json
import uuid

from django.db import migrations, models

# As api.models had them when this migration was written.
LOGGED_VALUES = {
    "status",
    "ethnicity",
    "gender",
    "event_kind",
    "min_evidence_level",
    "date_from",
    "date_to",
    "dates",
    "updated_since",
    "ordering",
}
LOGGED_UIDS = {"charge", "facility", "incident", "location"}
TABLE = "exports_exportlog"
TRIGGER = "exports_exportlog_append_only"


def _is_uid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _kept(name, value):
    return name in LOGGED_VALUES or (name in LOGGED_UIDS and _is_uid(value))


def scrub(apps, schema_editor):
    ExportLog = apps.get_model("exports", "ExportLog")
    changed = []
    for pk, filters in ExportLog.objects.values_list("pk", "filters").iterator():
        if not isinstance(filters, dict):
            continue
        kept = {
            name: [v for v in (values or []) if _kept(name, v)] for name, values in filters.items()
        }
        if kept != filters:
            changed.append((json.dumps(kept), pk))
    if not changed:
        return
    connection = schema_editor.connection
    table = connection.ops.quote_name(TABLE)
    trigger = None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                [TRIGGER, table],
            )
            trigger = connection.ops.quote_name(TRIGGER) if cursor.fetchone() else None
        if trigger:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        cursor.executemany(
            f"UPDATE {table} SET filters = {value} WHERE id = %s",  # noqa: S608
            changed,
        )
        if trigger:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0002_append_only_export_log"),
    ]

    # The text is gone for good: going back leaves the rewritten rows as they are.
    operations = [
        migrations.AlterField(
            model_name="exportlog",
            name="filters",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Filters used, with their values where they are codes, uids, dates or "
                "numbers; of a search or a place given by its name, only that it was given.",
            ),
        ),
        migrations.RunPython(scrub, migrations.RunPython.noop),
    ]
