"""The API request log keeps which parameters a partner used, and the values only of codes,
uids, dates, numbers and page positions: never the text of a search or a place's name.

Rows logged before kept the whole query string: they are rewritten the same way. The log is
no link of the audit chain (casetracker.integrity.LOGS), so no hash depends on these values;
on PostgreSQL its append-only trigger is disabled for the rewrite and enabled again inside
this migration's transaction, so it is never off for any other writer.
"""

import uuid
from urllib.parse import quote, urlencode

from django.db import migrations, models
from django.http import QueryDict

# As api.models had them when this migration was written: a migration keeps its meaning
# whatever the models become.
LOGGED_VALUES = {
    "status",
    "ethnicity",
    "gender",
    "event_kind",
    "min_evidence_level",
    "date_from",
    "date_to",
    "updated_since",
    "since",
    "ordering",
    "page_size",
    "cursor",
    "format",
    "formats",
    "jsonl",
}
LOGGED_UIDS = {"charge", "facility", "incident", "location"}
TRIGGER = "api_apirequest_append_only"


def _is_uid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def loggable_query(raw):
    parts = []
    for name, values in QueryDict(raw).lists():
        for value in values:
            if name in LOGGED_VALUES or (name in LOGGED_UIDS and _is_uid(value)):
                parts.append(urlencode({name: value}))
            elif quote(name) not in parts:
                parts.append(quote(name))
    return "&".join(parts)[:1000]


def scrub(apps, schema_editor):
    ApiRequest = apps.get_model("api", "ApiRequest")
    changed = []
    for pk, query in ApiRequest.objects.exclude(query="").values_list("pk", "query").iterator():
        kept = loggable_query(query)
        if kept != query:
            changed.append((kept, pk))
    if not changed:
        return
    connection = schema_editor.connection
    table = connection.ops.quote_name(ApiRequest._meta.db_table)
    trigger = None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                [TRIGGER, table],
            )
            trigger = connection.ops.quote_name(TRIGGER) if cursor.fetchone() else None
        if trigger:
            # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.executemany(f"UPDATE {table} SET query = %s WHERE id = %s", changed)  # noqa: S608
        if trigger:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_encrypted_partner_contacts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apirequest",
            name="query",
            field=models.CharField(
                blank=True,
                help_text="The parameters asked for. Values are kept only where they are codes, "
                "uids, dates, numbers or page positions; of a search, a place given by its "
                "name or an unknown parameter, only the name.",
                max_length=1000,
            ),
        ),
        # The text is gone for good: going back leaves the rewritten rows as they are.
        migrations.RunPython(scrub, migrations.RunPython.noop),
    ]
